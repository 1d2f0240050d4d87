// Resumable uploads for the upload page and the drop-off page (SPEC §4.4b):
// one tus 1.0.0 upload per file to /api/uploads/ through the vendored
// tus-js-client (static/vendor/tus-js-client/), wrapped in one small job
// object the pages render. Loaded before upload.js / dropoff.js, which call
// `window.panResumable.send(...)`.
//
// What a job goes through, and what the queue says (`job.phase`):
// - "uploading": bytes are moving; `job.loaded` of `job.total`.
// - "resuming": a request failed (network, 5xx, 409 offset mismatch, 423,
//   429) and tus-js-client retries after `RETRY_DELAYS`, or a file picked
//   again after a reload continues an upload this browser started. The next
//   request is a HEAD asking the server how much it has; its answer becomes
//   `job.resumedFrom`, shown for the rest of the file ("resumed from 12 MB"),
//   so "resuming" is only ever said when the bytes really continue.
// - "offline": the browser says it has no network (`navigator.onLine` false,
//   the `offline` event). The request in flight is aborted (the server keeps
//   every byte that arrived), nothing is retried in vain, and the `online`
//   event resumes the job without the person doing anything.
// - "done", "failed" (with the server's own message: its JSON error body),
//   "cancelled" (the upload is deleted on the server).
// When the retry delays are used up while the browser still claims to be
// online (a dead Wi-Fi often does), the job keeps trying every
// RETRY_LATER ms until it succeeds or is cancelled. Client errors other
// than 409/423/429 are not retried: they will not change by waiting.
//
// Resuming after a reload: tus-js-client stores each upload's URL in
// localStorage under a fingerprint (`storeFingerprintForResuming`) and drops
// it on success (`removeFingerprintOnSuccess`). Browsers cannot keep a
// chosen File across a reload, so the person picks the same file again;
// its fingerprint (target, path, size, modification time, type) finds the
// stored URL and the upload continues from the server's offset. The target
// (a share id or a request code) is part of the fingerprint, so the same
// file sent to two places never continues the wrong upload.
(function () {
  "use strict";

  var ENDPOINT = "/api/uploads/";
  // One PATCH per 50 MiB. Pan keeps the bytes of a PATCH that breaks off
  // (SPEC §4.4b), so a dropped connection loses nothing whatever the chunk
  // size; chunks only bound a single request body, for proxies that cap it
  // (100 MB on Cloudflare's free plan), and 50 MiB is ten whole S3 parts of
  // 5 MiB, so a chunk never leaves a short tail behind on S3. Smaller chunks
  // would add a round trip and a database write per chunk for nothing.
  var CHUNK_SIZE = 50 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 30000, 30000, 30000];
  var RETRY_LATER = 30000;
  var FINGERPRINT_PREFIX = "pan-tus/";
  var jobs = [];  // live jobs, for the offline and online events

  function statusOf(error) {
    return error && error.originalResponse ? error.originalResponse.getStatus() : 0;
  }

  function methodOf(error) {
    return error && error.originalRequest ? error.originalRequest.getMethod() : "";
  }

  // Worth trying again: no answer at all, a server error, a busy upload
  // (423, or 409 on a PATCH whose offset the server no longer agrees with:
  // the HEAD that follows finds the right one), or 429. A 409 on creation
  // means a full request and stays an error.
  function retriable(error) {
    var status = statusOf(error);
    if (status === 0 || status >= 500 || status === 423 || status === 429) { return true; }
    return status === 409 && methodOf(error) !== "POST";
  }

  // The server's own message (Pan's JSON error body, in the page's language).
  function messageOf(error, fallback) {
    var body = null;
    try { body = JSON.parse(error.originalResponse.getBody()); } catch (ignored) { body = null; }
    var detail = body && body.error;
    if (!detail) { return fallback; }
    var fields = [];
    Object.keys(detail.fields || {}).forEach(function (name) { fields = fields.concat(detail.fields[name]); });
    return [detail.message].concat(fields).join(" ");
  }

  function fingerprintOf(target, path, file) {
    return FINGERPRINT_PREFIX + [target, path, file.size, file.lastModified, file.type].map(encodeURIComponent).join("/");
  }

  // Uploads this browser started for `target` and did not finish:
  // [{path, size}], read from tus-js-client's own localStorage entries.
  function unfinished(target) {
    var prefix = "tus::" + FINGERPRINT_PREFIX + encodeURIComponent(target) + "/";
    var found = [];
    try {
      for (var index = 0; index < localStorage.length; index += 1) {
        var key = localStorage.key(index);
        if (key.indexOf(prefix) !== 0) { continue; }
        var stored = JSON.parse(localStorage.getItem(key));
        var metadata = stored.metadata || {};
        found.push({ path: metadata.relativePath || metadata.filename || "", size: stored.size });
      }
    } catch (ignored) {
      return [];  // no localStorage (private mode): nothing to resume
    }
    return found;
  }

  // Forgets what this browser kept for `target` (a share completed or
  // discarded) and deletes those unfinished uploads on the server (tus
  // termination) rather than leave them to expire.
  function forget(target) {
    var prefix = "tus::" + FINGERPRINT_PREFIX + encodeURIComponent(target) + "/";
    try {
      var keys = [];
      for (var index = 0; index < localStorage.length; index += 1) { keys.push(localStorage.key(index)); }
      keys.filter(function (key) { return key.indexOf(prefix) === 0; }).forEach(function (key) {
        var stored = null;
        try { stored = JSON.parse(localStorage.getItem(key)); } catch (ignored) { stored = null; }
        localStorage.removeItem(key);
        if (stored && stored.uploadUrl) {
          var xhr = new XMLHttpRequest();
          xhr.open("DELETE", stored.uploadUrl);
          xhr.setRequestHeader("Tus-Resumable", "1.0.0");
          xhr.send();
        }
      });
    } catch (ignored) { /* nothing stored */ }
  }

  // send({file, path, target, metadata, headers, messages: {failed}, onChange})
  // -> job: {phase, loaded, total, resumedFrom, error, share, receiptUrl,
  //          speed(), cancel(), done: Promise<job>}
  function send(options) {
    var file = options.file;
    var job = {
      phase: "uploading", loaded: 0, total: file.size, resumedFrom: null,
      error: "", share: null, receiptUrl: null, url: null,
    };
    var finish;
    var retryTimer = null;
    var mark = { at: Date.now(), loaded: 0 };
    job.done = new Promise(function (resolve) { finish = resolve; });

    function change(phase) {
      if (phase) { job.phase = phase; }
      options.onChange(job);
    }

    function settle(phase) {
      clearTimeout(retryTimer);
      jobs.splice(jobs.indexOf(job), 1);
      change(phase);
      finish(job);
    }

    // Bytes per second since this stretch of uploading began (a resume starts a new one).
    job.speed = function () {
      var seconds = (Date.now() - mark.at) / 1000;
      return seconds > 0.2 ? (job.loaded - mark.loaded) / seconds : 0;
    };

    var metadata = { filename: file.name, filetype: file.type || "application/octet-stream" };
    if (options.path && options.path !== file.name) { metadata.relativePath = options.path; }
    Object.keys(options.metadata || {}).forEach(function (key) {
      if (options.metadata[key] !== "" && options.metadata[key] != null) { metadata[key] = String(options.metadata[key]); }
    });

    var upload = new window.tus.Upload(file, {
      endpoint: ENDPOINT,
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      metadata: metadata,
      headers: Object.assign({ Accept: "application/json" }, options.headers || {}),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fingerprint: function () { return Promise.resolve(fingerprintOf(options.target, options.path, file)); },
      onUploadUrlAvailable: function () { job.url = upload.url; },
      onProgress: function (sent, total) {
        job.loaded = sent;
        job.total = total;
        if (job.phase !== "uploading") { job.phase = "uploading"; }
        change();
      },
      onAfterResponse: function (request, response) {
        var status = response.getStatus();
        if (request.getMethod() === "HEAD" && status >= 200 && status < 300) {
          var offset = parseInt(response.getHeader("Upload-Offset"), 10);
          if (!isNaN(offset)) {
            job.resumedFrom = offset;
            job.loaded = offset;
            mark = { at: Date.now(), loaded: offset };
            change("uploading");
          }
        }
        job.share = response.getHeader("Pan-Share") || job.share;
        job.receiptUrl = response.getHeader("Pan-Receipt") || job.receiptUrl;
      },
      onShouldRetry: function (error) {
        if (!navigator.onLine) { return false; }  // onError waits for the network instead
        if (!retriable(error)) { return false; }
        change("resuming");
        return true;
      },
      onError: function (error) {
        if (!navigator.onLine) { change("offline"); return; }
        if (retriable(error)) {
          change("resuming");
          retryTimer = setTimeout(resume, RETRY_LATER);
          return;
        }
        job.error = messageOf(error, options.messages.failed);
        settle("failed");
      },
      onSuccess: function () {
        job.loaded = job.total;
        if (job.share || job.receiptUrl) { settle("done"); return; }
        // Completed by a HEAD (the last byte had arrived before a drop) or at
        // creation (an empty file): the upload's own JSON names the share.
        var xhr = new XMLHttpRequest();
        xhr.open("GET", upload.url);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.addEventListener("loadend", function () {
          var body = null;
          try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
          if (body) {
            job.share = body.share;
            job.receiptUrl = body.receipt_url;
          }
          settle("done");
        });
        xhr.send();
      },
    });

    function resume() {
      clearTimeout(retryTimer);
      if (job.phase === "done" || job.phase === "failed" || job.phase === "cancelled") { return; }
      upload.abort();
      change("resuming");
      upload.start();
    }
    job.offline = function () {
      if (job.phase !== "uploading" && job.phase !== "resuming") { return; }
      clearTimeout(retryTimer);
      upload.abort();  // the server keeps what arrived; `online` resumes
      change("offline");
    };
    job.online = function () {
      if (job.phase === "offline") { resume(); }
    };
    job.cancel = function () {
      if (job.phase === "done" || job.phase === "failed" || job.phase === "cancelled") { return; }
      upload.abort(Boolean(upload.url)).catch(function () { /* the server expires it */ });
      settle("cancelled");
    };

    jobs.push(job);
    upload.findPreviousUploads().then(function (previous) {
      if (job.phase === "cancelled") { return; }
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        job.url = previous[0].uploadUrl;
        change("resuming");
      } else {
        change("uploading");
      }
      if (!navigator.onLine) { change("offline"); return; }
      upload.start();
    });
    return job;
  }

  window.addEventListener("offline", function () { jobs.slice().forEach(function (job) { job.offline(); }); });
  window.addEventListener("online", function () { jobs.slice().forEach(function (job) { job.online(); }); });

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }

  // The queue's words for a job that is not simply moving bytes, or "" when
  // it is (each page then shows its own progress). `msg` is the page's
  // dataset: msgResuming, msgResumedFrom, msgOffline.
  function describe(job, msg) {
    if (job.phase === "offline") { return msg.msgOffline; }
    if (job.phase === "resuming") { return msg.msgResuming; }
    return "";
  }

  function resumedNote(job, msg, size) {
    return job.resumedFrom ? fill(msg.msgResumedFrom, { offset: size(job.resumedFrom) }) : "";
  }

  window.panResumable = {
    send: send, unfinished: unfinished, forget: forget, describe: describe, resumedNote: resumedNote,
    fill: fill, chunkSize: CHUNK_SIZE,
  };
})();
