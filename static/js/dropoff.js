// Drop-off pages: the sender's form (/r/<code>/) and the requester's list
// (/requests/), which asks before deleting. The sender's files go one by
// one as resumable tus uploads to /api/uploads/ with `request=<code>` (and
// the name and note), through resumable.js: each file is its own drop with
// its own receipt, linked in the queue as soon as it arrives; a dropped
// network resumes by itself and a reloaded page resumes when the same
// files are chosen again (the page names them). Without JavaScript both
// forms still work as plain posts.
(function () {
  "use strict";

  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  var form = document.getElementById("drop-form");
  if (!form) return;
  var msg = form.dataset;
  var filesInput = document.getElementById("drop-files");
  var folderInput = document.getElementById("drop-folder");
  var zone = document.getElementById("drop-zone");
  var queue = document.getElementById("drop-queue");
  var progress = document.getElementById("drop-progress");
  var statusLine = document.getElementById("drop-status");
  var send = document.getElementById("drop-send");
  var target = "request:" + msg.code;
  var chosen = [];  // {file, path, state: "queued"|"sending"|"done"|"failed", job, row}
  var sending = false;

  function formatSize(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"], value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  // Per file: its name and size, then waiting / N% / resuming / offline /
  // sent with its receipt link / the server's reason it was refused.
  function show(entry) {
    var row = entry.row;
    var job = entry.job;
    row.li.dataset.state = entry.state;
    row.li.dataset.phase = entry.state === "sending" && job ? job.phase : entry.state;
    var text = "";
    if (entry.state === "queued" && sending) { text = msg.msgWaiting; }
    if (entry.state === "sending" && job) {
      text = panResumable.describe(job, msg) ||
        panResumable.fill(msg.msgPercent, { percent: Math.floor((100 * job.loaded) / (job.total || 1)) });
    }
    if (entry.state === "done") { text = msg.msgSent; }
    if (entry.state === "failed") { text = entry.error; }
    var resumed = job ? panResumable.resumedNote(job, msg, formatSize) : "";
    if (resumed && (entry.state === "sending" || entry.state === "done")) { text = resumed + " · " + text; }
    row.status.textContent = text;
    row.receipt.hidden = !(entry.state === "done" && job && job.receiptUrl);
    if (!row.receipt.hidden) { row.receipt.href = job.receiptUrl; }
  }

  function render() {
    queue.textContent = "";
    chosen.forEach(function (entry) {
      var li = document.createElement("li");
      li.className = "drop-item";
      var name = document.createElement("span");
      name.className = "drop-path";
      name.textContent = entry.path + " · " + formatSize(entry.file.size);
      var status = document.createElement("span");
      status.className = "drop-item-status";
      var receipt = document.createElement("a");
      receipt.className = "drop-receipt-link";
      receipt.textContent = msg.msgReceipt;
      receipt.hidden = true;
      li.append(name, " ", status, " ", receipt);
      entry.row = { li: li, status: status, receipt: receipt };
      show(entry);
      queue.appendChild(li);
    });
  }

  function add(files) {
    if (sending) return;
    // After a send, the files that went are done; a new choice starts a new queue.
    chosen = chosen.filter(function (entry) { return entry.state !== "done"; });
    Array.prototype.forEach.call(files, function (file) {
      chosen.push({ file: file, path: file.webkitRelativePath || file.name, state: "queued" });
    });
    render();
  }

  filesInput.addEventListener("change", function () { add(filesInput.files); filesInput.value = ""; });
  folderInput.addEventListener("change", function () { add(folderInput.files); folderInput.value = ""; });
  zone.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); filesInput.click(); }
  });
  // A drop anywhere on the page lands in the form, never navigates away from it.
  window.addEventListener("dragover", function (event) { event.preventDefault(); });
  window.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files) add(event.dataTransfer.files);
  });

  function fail(message) {
    statusLine.textContent = message;
    statusLine.classList.add("error");
    send.disabled = false;
  }

  function overall() {
    var total = 0, loaded = 0;
    chosen.forEach(function (entry) {
      total += entry.file.size;
      loaded += entry.state === "done" ? entry.file.size : entry.job ? entry.job.loaded : 0;
    });
    progress.value = total ? Math.floor((100 * loaded) / total) : 100;
  }

  function sendOne(entry) {
    entry.state = "sending";
    entry.job = panResumable.send({
      file: entry.file,
      path: entry.path,
      target: target,
      metadata: {
        request: msg.code,
        name: document.getElementById("drop-name").value,
        note: document.getElementById("drop-note").value,
      },
      headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      messages: { failed: msg.msgFailed },
      onChange: function () { show(entry); overall(); },
    });
    show(entry);
    return entry.job.done.then(function (job) {
      entry.state = job.phase === "done" ? "done" : "failed";
      entry.error = job.error;
      show(entry);
      overall();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) return;
    statusLine.classList.remove("error");
    var waiting = chosen.filter(function (entry) { return entry.state !== "done"; });
    if (!waiting.length) return fail(msg.msgEmpty);
    var total = waiting.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    if (waiting.length > Number(msg.maxFiles)) return fail(msg.msgTooMany);
    if (total > Number(msg.maxBytes)) return fail(msg.msgTooLarge);
    sending = true;
    send.disabled = true;
    progress.hidden = false;
    statusLine.textContent = "";
    document.getElementById("drop-resume").hidden = true;
    waiting.forEach(function (entry) { entry.state = "queued"; show(entry); });
    waiting.reduce(function (previous, entry) {
      return previous.then(function () { return sendOne(entry); });
    }, Promise.resolve()).then(function () {
      sending = false;
      var failed = waiting.filter(function (entry) { return entry.state === "failed"; });
      if (failed.length) return fail(failed[0].error || msg.msgFailed);
      send.disabled = false;
      statusLine.textContent = msg.msgAllSent;
    });
  });

  // Files an earlier visit did not finish sending: named, to be chosen again.
  var unfinished = panResumable.unfinished(target);
  if (unfinished.length) {
    var list = document.getElementById("drop-resume-files");
    unfinished.forEach(function (file) {
      var li = document.createElement("li");
      li.textContent = file.path + " · " + formatSize(file.size);
      list.appendChild(li);
    });
    document.getElementById("drop-resume").hidden = false;
  }
}());
