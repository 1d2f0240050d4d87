// The upload form on /welcome/. Files and whole folders (picked, or dropped
// anywhere on the page) gather in a queue, checked against the limits
// before anything is sent. Sending goes in two steps (SPEC §4.1, §4.4b):
// 1. POST /api/shares with `uploading=true`, the options and the text (if
//    any), no files (a small body): the share exists at once, so its code,
//    link and QR code are shown while the files are still on their way;
// 2. one resumable tus upload per file to /api/uploads/ with `share=<id>`
//    (resumable.js), one after the other, each with its own progress,
//    speed, time left and cancel, and "resuming" / "offline" when the
//    network drops; then PATCH `complete: true` (or DELETE when every file
//    was cancelled).
// A text alone goes in one POST, complete at once.
// The share being filled is remembered in localStorage (STORE_KEY) until it
// is completed: a page reloaded or closed mid-upload shows that share again
// and asks for the same files, which continue where they stopped (browsers
// cannot keep the chosen files across a reload).
// The page is session-authenticated: Django's CSRF token goes in
// X-CSRFToken, which DRF's SessionAuthentication requires (tus creation
// too; the upload URL it answers is then the only credential). A text goes
// as a `text` part holding a UTF-8 Blob, because multipart encoding rewrites
// every newline of a plain string field to CRLF and the text must arrive
// byte for byte. A file's relativePath is its path inside the chosen
// folder, so the share keeps the folders.
(function () {
  "use strict";
  var section = document.getElementById("upload");
  if (!section) { return; }
  var msg = section.dataset;
  var form = document.getElementById("upload-form");
  var fileInput = document.getElementById("upload-file");
  var folderInput = document.getElementById("upload-folder");
  var zone = document.getElementById("dropzone");
  var queueBox = document.getElementById("upload-queue-box");
  var queueList = document.getElementById("upload-queue");
  var button = document.getElementById("upload-button");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var percent = document.getElementById("upload-percent");
  var errorBox = document.getElementById("upload-error");
  var pickError = document.getElementById("upload-pick-error");
  var result = document.getElementById("upload-result");
  var announce = document.getElementById("upload-announce");
  var textArea = document.getElementById("upload-text");
  var textFormat = document.getElementById("upload-text-format");
  var textSize = document.getElementById("upload-text-size");
  var password = document.getElementById("upload-password");
  var cancelAll = document.getElementById("upload-cancel");
  var maxFile = parseInt(msg.maxFile, 10) || Infinity;
  var maxShare = parseInt(msg.maxShare, 10) || Infinity;
  var maxItems = parseInt(msg.maxItems, 10) || Infinity;
  // [{file: File, path: "folder/sub/name.ext", state: "queued"|"sending"|"done"|"cancelled"|"failed", ...}]
  var queue = [];
  var sending = false;
  var STORE_KEY = "pan.upload.share";
  var resumeBox = document.getElementById("upload-resume");
  // The share an earlier page left uploading ({id, code_display, share_url, qr, title, expected}), or null.
  var pending = null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }

  function humanSize(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? String(value) : value.toFixed(1)) + "\u00a0" + units[unit];
  }

  function timeLeft(seconds) {
    if (!isFinite(seconds)) { return ""; }
    if (seconds < 90) { return fill(msg.msgSecondsLeft, { count: Math.max(1, Math.ceil(seconds)) }); }
    return fill(msg.msgMinutesLeft, { count: Math.ceil(seconds / 60) });
  }

  // One row per file: name, size, and while sending a bar, speed and time left.
  function row(entry) {
    var li = document.createElement("li");
    li.className = "queue-item";
    var name = document.createElement("span");
    name.className = "queue-path";
    name.textContent = entry.path;
    var size = document.createElement("span");
    size.className = "queue-size";
    size.textContent = humanSize(entry.file.size);
    var action = document.createElement("button");
    action.type = "button";
    action.className = "link queue-remove";
    var bar = document.createElement("progress");
    bar.className = "queue-bar";
    bar.max = entry.file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", entry.path);
    var status = document.createElement("span");
    status.className = "queue-status";
    li.append(name, size, action, bar, status);
    entry.row = { li: li, action: action, bar: bar, status: status };
    action.addEventListener("click", function () {
      if (entry.state === "queued" && !sending) {
        queue.splice(queue.indexOf(entry), 1);
        render();
      } else {
        entryCancel(entry);
      }
    });
    show(entry);
    return li;
  }

  function show(entry) {
    var parts = entry.row;
    var active = entry.state === "queued" || entry.state === "sending";
    parts.li.dataset.state = entry.state;
    parts.action.hidden = !active;
    parts.action.textContent = sending ? msg.msgCancel : msg.msgRemove;
    parts.action.setAttribute("aria-label", fill(sending ? msg.msgCancelLabel : msg.msgRemoveLabel, { name: entry.path }));
    parts.bar.hidden = !sending;
    parts.bar.value = entry.state === "done" ? parts.bar.max : entry.loaded || 0;
    var text = "";
    if (sending) {
      if (entry.state === "queued") { text = msg.msgWaiting; }
      if (entry.state === "done") { text = msg.msgDone; }
      if (entry.state === "cancelled") { text = msg.msgItemCancelled; }
      if (entry.state === "failed") { text = entry.error || msg.msgFailed; }
      if (entry.state === "sending") { text = sendingText(entry); }
      var resumed = entry.job ? panResumable.resumedNote(entry.job, msg, humanSize) : "";
      if (resumed && (entry.state === "sending" || entry.state === "done")) { text = resumed + " · " + text; }
    }
    parts.li.dataset.phase = entry.state === "sending" && entry.job ? entry.job.phase : entry.state;
    parts.status.textContent = text;
  }

  // Offline, resuming, or "3.0 MB of 40.0 MB · 5.0 MB/s · 8 s left".
  function sendingText(entry) {
    var job = entry.job;
    var said = job ? panResumable.describe(job, msg) : "";
    if (said) { return said; }
    var speed = job ? job.speed() : 0;
    var text = fill(msg.msgProgress, {
      done: humanSize(entry.loaded || 0), total: humanSize(entry.file.size), speed: humanSize(Math.round(speed)),
    });
    if (speed > 0) { text += " · " + timeLeft((entry.file.size - entry.loaded) / speed); }
    return text;
  }

  function render() {
    queueList.textContent = "";
    var total = 0;
    queue.forEach(function (entry) {
      total += entry.file.size;
      queueList.appendChild(row(entry));
    });
    document.getElementById("upload-count").textContent = String(queue.length);
    document.getElementById("upload-total").textContent = humanSize(total);
    queueBox.hidden = queue.length === 0;
    document.getElementById("upload-clear").hidden = sending;
  }

  // An error is said where it happened (a refused file under the picker, a
  // failed send under the button) and brought into view: on a phone either
  // place can sit below the fold, where nobody would see it.
  function showError(message, fields, box) {
    box = box || errorBox;
    box.textContent = "";
    [message].concat(fields || []).forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      box.appendChild(p);
    });
    box.hidden = false;
    box.scrollIntoView({ block: "nearest", behavior: "instant" });
  }

  // The result is what the person came for: into view and focused, on a
  // phone too, as soon as the code exists (long before a big upload ends).
  function bringResultIntoView() {
    result.scrollIntoView({ block: "start", behavior: "instant" });
    result.focus({ preventScroll: true });
  }

  // Files | Text: two tabs of one form; what both hold goes into one share.
  var tabs = Array.prototype.slice.call(section.querySelectorAll("[role=tab]"));
  function selectTab(tab, focus) {
    tabs.forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    });
    if (focus) { tab.focus(); }
  }
  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () {
      selectTab(tab, false);
      if (tab.id === "tab-text") { textArea.focus(); }
    });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (step) { selectTab(tabs[(index + step + tabs.length) % tabs.length], true); }
    });
  });

  function textBytes() {
    return new TextEncoder().encode(textArea.value).length;
  }
  function hasText() { return textArea.value.trim() !== ""; }
  textArea.addEventListener("input", function () {
    textSize.textContent = hasText() ? humanSize(textBytes()) : "";
    errorBox.hidden = true;
    pickError.hidden = true;
  });

  // New files join the queue unless they break a limit; those are named, not sent.
  function add(entries) {
    if (sending) { return; }
    var refused = [];
    var total = queue.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    entries.forEach(function (entry) {
      if (queue.some(function (queued) { return queued.path === entry.path; })) { return; }
      if (entry.file.size > maxFile) {
        refused.push(fill(msg.msgTooBig, { name: entry.path, size: humanSize(maxFile) }));
        return;
      }
      if (total + entry.file.size > maxShare) {
        refused.push(fill(msg.msgShareTooBig, { size: humanSize(maxShare) }));
        return;
      }
      if (queue.length >= maxItems) {
        refused.push(fill(msg.msgTooMany, { count: maxItems }));
        return;
      }
      total += entry.file.size;
      entry.state = "queued";
      entry.loaded = 0;
      queue.push(entry);
    });
    errorBox.hidden = true;
    pickError.hidden = true;
    if (refused.length) {
      var others = refused.slice(1).filter(function (text, index, all) { return all.indexOf(text) === index; });
      showError(refused[0], others, pickError);
    }
    if (!result.hidden && !sending) { result.hidden = true; }
    render();
  }

  function fromInput(input) {
    var files = Array.prototype.slice.call(input.files);
    add(files.map(function (file) { return { file: file, path: file.webkitRelativePath || file.name }; }));
    input.value = "";  // the same file can be picked again after a removal
  }
  fileInput.addEventListener("change", function () { fromInput(fileInput); });
  folderInput.addEventListener("change", function () { fromInput(folderInput); });
  document.getElementById("upload-clear").addEventListener("click", function () {
    if (!sending) { queue = []; render(); }
  });
  zone.addEventListener("keydown", function (event) {
    if (event.target === zone && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      fileInput.click();
    }
  });

  // Dropped folders arrive as entries, read recursively; readEntries answers
  // in batches (100 in Chromium) until it returns an empty one.
  function readEntry(entry, prefix) {
    return new Promise(function (resolve) {
      if (entry.isFile) {
        entry.file(function (file) { resolve([{ file: file, path: prefix + file.name }]); }, function () { resolve([]); });
        return;
      }
      var reader = entry.createReader();
      var found = [];
      (function more() {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(found.map(function (child) { return readEntry(child, prefix + entry.name + "/"); }))
              .then(function (lists) { resolve([].concat.apply([], lists)); });
            return;
          }
          found = found.concat(Array.prototype.slice.call(batch));
          more();
        }, function () { resolve([]); });
      })();
    });
  }

  // Every dropped file is kept: an item that is a folder is read as one; any
  // other (no entry API, a synthetic drop) is taken as the file it holds.
  // Items are read at once: the browser empties the DataTransfer after the event.
  function dropped(transfer) {
    var items = Array.prototype.slice.call(transfer.items || []).filter(function (item) { return item.kind === "file"; });
    if (!items.length) {
      add(Array.prototype.slice.call(transfer.files || []).map(function (file) { return { file: file, path: file.name }; }));
      return;
    }
    var pending = items.map(function (item) {
      var entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry && entry.isDirectory) { return readEntry(entry, ""); }
      var file = item.getAsFile();
      return Promise.resolve(file ? [{ file: file, path: file.name }] : []);
    });
    Promise.all(pending).then(function (lists) { add([].concat.apply([], lists)); });
  }

  function carriesFiles(event) {
    var types = event.dataTransfer ? Array.prototype.slice.call(event.dataTransfer.types || []) : [];
    return types.indexOf("Files") !== -1;
  }

  // Files dropped anywhere on the page land in the queue instead of the
  // browser opening them and leaving Pan. Other drags (text into a field)
  // keep the browser's behaviour.
  ["dragenter", "dragover"].forEach(function (name) {
    window.addEventListener(name, function (event) {
      if (!carriesFiles(event)) { return; }
      event.preventDefault();
      zone.classList.add("dragover");
    });
  });
  window.addEventListener("dragleave", function (event) {
    if (!event.relatedTarget) { zone.classList.remove("dragover"); }
  });
  window.addEventListener("drop", function (event) {
    zone.classList.remove("dragover");
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    selectTab(tabs[0], false);
    dropped(event.dataTransfer);
  });

  function setProgress(value) {
    bar.value = value;
    percent.textContent = value + "%";
  }

  function overallProgress() {
    var total = 0;
    var loaded = 0;
    queue.forEach(function (entry) {
      if (entry.state === "cancelled") { return; }
      total += entry.file.size;
      loaded += entry.state === "done" ? entry.file.size : entry.loaded || 0;
    });
    setProgress(total ? Math.min(100, Math.floor((loaded / total) * 100)) : 100);
  }

  function fieldMessages(error) {
    var messages = [];
    Object.keys((error && error.fields) || {}).forEach(function (name) {
      messages = messages.concat(error.fields[name]);
    });
    return messages;
  }

  function errorOf(xhr) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
    var error = body && body.error;
    return error ? [error.message].concat(fieldMessages(error)).join(" ") : msg.msgFailed;
  }

  // One request with the CSRF token; resolves with the XMLHttpRequest once it ends.
  function request(method, url, body, onProgress) {
    var xhr = new XMLHttpRequest();
    var done = new Promise(function (resolve) {
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
      xhr.setRequestHeader("Accept", "application/json");
      if (typeof body === "string") { xhr.setRequestHeader("Content-Type", "application/json"); }
      if (onProgress) { xhr.upload.addEventListener("progress", onProgress); }
      xhr.addEventListener("loadend", function () { resolve(xhr); });
      xhr.send(body);
    });
    done.xhr = xhr;
    return done;
  }

  // While uploading, `expected` counts what is on its way (the text and the queue).
  function showResult(body, state, expected) {
    var first = body.items && body.items[0];
    var name = body.title || (first ? first.name : "") || (queue[0] ? queue[0].path : "");
    var count = expected || (body.items ? body.items.length : 0);
    document.getElementById("result-name").textContent = name;
    document.getElementById("result-items").textContent = count > 1 ? "(" + count + ")" : "";
    document.getElementById("result-code").textContent = body.code_display;
    document.getElementById("result-link").value = body.share_url;
    document.getElementById("result-open").href = body.share_url;
    if (body.qr) {
      document.getElementById("result-qr").src = body.qr;
      document.getElementById("result-qr-download").href = body.qr;
      document.getElementById("result-qr-download").download = "share-" + body.code_display + ".svg";
    }
    document.getElementById("result-state").textContent = state;
    document.getElementById("result-state").classList.toggle("uploading", state === msg.msgUploading);
    document.getElementById("share-more").hidden = state === msg.msgUploading;
    result.hidden = false;
  }

  function finished(body) {
    showResult(body, msg.msgComplete);
    announce.textContent = fill(msg.msgAnnounce, { code: body.code_display });
    bringResultIntoView();
  }

  function entryCancel(entry) {
    if (entry.state === "sending" && entry.job) { entry.job.cancel(); }
    if (entry.state === "queued" || entry.state === "sending") { entry.state = "cancelled"; }
    show(entry);
    overallProgress();
  }
  cancelAll.addEventListener("click", function () { queue.forEach(entryCancel); });

  function sendItem(share, entry) {
    entry.state = "sending";
    entry.loaded = 0;
    show(entry);
    entry.job = panResumable.send({
      file: entry.file,
      path: entry.path,
      target: "share:" + share.id,
      metadata: { share: share.id },
      headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      messages: { failed: msg.msgFailed },
      onChange: function (job) {
        if (entry.state !== "sending") { return; }
        entry.loaded = Math.min(job.loaded, entry.file.size);
        show(entry);
        overallProgress();
      },
    });
    return entry.job.done.then(function (job) {
      if (entry.state === "cancelled") { return; }
      if (job.phase === "done") {
        entry.state = "done";
      } else {
        entry.state = "failed";
        entry.error = job.error || msg.msgFailed;
      }
      show(entry);
      overallProgress();
    });
  }

  // The share being filled, kept across a reload until it is completed.
  function remember(share, expected) {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({
        id: share.id, code_display: share.code_display, share_url: share.share_url, qr: share.qr,
        title: share.title, expected: expected,
      }));
    } catch (ignored) { /* no localStorage: a reload starts over */ }
  }

  function forgetShare(share) {
    try { localStorage.removeItem(STORE_KEY); } catch (ignored) { /* nothing stored */ }
    if (share) { panResumable.forget("share:" + share.id); }
    pending = null;
    resumeBox.hidden = true;
  }

  function clearText() {
    textArea.value = "";
    textSize.textContent = "";
    password.value = "";
  }

  // After a run only the files that failed stay in the queue, ready to try
  // again; when the share could not even be created, all of them do.
  function whenDone(keepAll) {
    sending = false;
    button.disabled = false;
    cancelAll.hidden = true;
    queue = queue.filter(function (entry) { return keepAll || entry.state === "failed"; });
    queue.forEach(function (entry) { entry.state = "queued"; entry.loaded = 0; });
    render();
  }

  // A new share from the form's options and text (no files: a small body).
  function createShare(withFiles) {
    var data = new FormData();
    if (form.elements.title.value.trim()) { data.append("title", form.elements.title.value.trim()); }
    data.append("expires_in", form.elements.expires_in.value);
    if (form.elements.max_downloads.value) { data.append("max_downloads", form.elements.max_downloads.value); }
    if (password.value) { data.append("password", password.value); }
    if (form.elements.listed.checked) { data.append("listed", "true"); }
    if (hasText()) {
      data.append("text", new Blob([textArea.value], { type: "text/plain;charset=utf-8" }), "text.txt");
      data.append("text_format", textFormat.value);
    }
    if (withFiles) { data.append("uploading", "true"); }
    return request("POST", section.dataset.endpoint, data).then(function (xhr) {
      var share = null;
      try { share = JSON.parse(xhr.responseText); } catch (ignored) { share = null; }
      if (xhr.status !== 201 || !share) {
        whenDone(true);
        showError(xhr.status ? errorOf(xhr) : msg.msgNetwork);
        return null;
      }
      share.itemsBefore = hasText() ? 1 : 0;
      return share;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }
    if (pending && hasText()) { showError(msg.msgResumeNoText); return; }
    if (!queue.length && !hasText()) { showError(msg.msgEmpty); return; }
    var withFiles = queue.length > 0;
    sending = true;
    errorBox.hidden = true;
    pickError.hidden = true;
    result.hidden = true;
    progress.hidden = !withFiles;
    cancelAll.hidden = false;
    button.disabled = true;
    setProgress(0);
    queue.forEach(function (entry) { entry.state = "queued"; entry.loaded = 0; });
    render();

    (pending ? Promise.resolve(pending) : createShare(withFiles)).then(function (share) {
      if (!share) { return null; }
      if (!withFiles) {
        whenDone();
        clearText();
        finished(share);
        return null;
      }
      var expected = pending ? Math.max(pending.expected || 0, share.itemsBefore + queue.length)
        : queue.length + share.itemsBefore;
      remember(share, expected);
      resumeBox.hidden = true;
      // The code exists now: show it while the files travel.
      showResult(share, msg.msgUploading, expected);
      bringResultIntoView();
      return queue.reduce(function (previous, entry) {
        return previous.then(function () { return entry.state === "queued" ? sendItem(share, entry) : null; });
      }, Promise.resolve()).then(function () { return share; });
    }).then(function (share) {
      if (!share) { return; }
      var stored = queue.filter(function (entry) { return entry.state === "done"; }).length + share.itemsBefore;
      var failed = queue.filter(function (entry) { return entry.state === "failed"; });
      var url = section.dataset.endpoint + "/" + share.id;
      if (!stored) {
        // Nothing arrived: the reserved share goes away rather than wait empty.
        return request("DELETE", url, null).then(function () {
          forgetShare(share);
          whenDone();
          result.hidden = true;
          showError(failed.length ? failed[0].error : msg.msgAllCancelled);
        });
      }
      return request("PATCH", url, JSON.stringify({ complete: true })).then(function (xhr) {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
        whenDone();
        if (xhr.status !== 200 || !body) { showError(xhr.status ? errorOf(xhr) : msg.msgNetwork); return; }
        forgetShare(share);
        body.qr = body.qr || share.qr;
        setProgress(100);
        if (failed.length) {
          showError(failed[0].error, failed.slice(1).map(function (entry) { return entry.error; }));
        }
        clearText();
        finished(body);
      });
    });
  });

  // A share an earlier page left uploading: shown again with its code, and
  // the files still missing named, to be chosen again (or the share finished
  // with what arrived, or discarded). Gone or completed meanwhile: forgotten.
  function offerToResume(stored) {
    request("GET", section.dataset.endpoint + "/" + stored.id, null).then(function (xhr) {
      var share = null;
      try { share = JSON.parse(xhr.responseText); } catch (ignored) { share = null; }
      if (xhr.status !== 200 || !share || share.state !== "uploading") {
        if (xhr.status === 200 || xhr.status === 404) { forgetShare(stored); }
        return;
      }
      pending = stored;
      pending.itemsBefore = (share.items || []).length;
      var missing = panResumable.unfinished("share:" + stored.id);
      document.getElementById("upload-resume-text").textContent = fill(msg.msgInterrupted, { code: stored.code_display });
      var list = document.getElementById("upload-resume-files");
      list.textContent = "";
      missing.forEach(function (file) {
        var li = document.createElement("li");
        li.textContent = file.path + " · " + humanSize(file.size);
        list.appendChild(li);
      });
      list.hidden = !missing.length;
      resumeBox.hidden = false;
      showResult(stored, msg.msgUploading, stored.expected);
    });
  }

  document.getElementById("upload-resume-finish").addEventListener("click", function () {
    if (!pending || sending) { return; }
    var share = pending;
    var url = section.dataset.endpoint + "/" + share.id;
    var nothing = !share.itemsBefore;
    request(nothing ? "DELETE" : "PATCH", url, nothing ? null : JSON.stringify({ complete: true })).then(function (xhr) {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
      forgetShare(share);
      if (nothing) { result.hidden = true; showError(msg.msgAllCancelled); return; }
      if (xhr.status !== 200 || !body) { showError(xhr.status ? errorOf(xhr) : msg.msgNetwork); return; }
      body.qr = body.qr || share.qr;
      finished(body);
    });
  });

  document.getElementById("upload-resume-discard").addEventListener("click", function () {
    if (!pending || sending) { return; }
    var share = pending;
    request("DELETE", section.dataset.endpoint + "/" + share.id, null).then(function () {
      forgetShare(share);
      result.hidden = true;
    });
  });

  (function () {
    var stored = null;
    try { stored = JSON.parse(localStorage.getItem(STORE_KEY) || "null"); } catch (ignored) { stored = null; }
    if (stored && stored.id) { offerToResume(stored); }
  })();

  document.getElementById("share-more").addEventListener("click", function () {
    result.hidden = true;
    progress.hidden = true;
    errorBox.hidden = true;
    pickError.hidden = true;
    announce.textContent = "";
    form.elements.title.value = "";
    form.scrollIntoView({ block: "start" });
    zone.focus();
  });
})();
