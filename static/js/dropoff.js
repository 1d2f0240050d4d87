// Drop-off pages: the sender's form (/r/<code>/) sends with progress, and
// the requester's list (/requests/) asks before deleting. Without
// JavaScript both forms still work as plain posts.
(function () {
  "use strict";

  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  var form = document.getElementById("drop-form");
  if (!form) return;
  var filesInput = document.getElementById("drop-files");
  var folderInput = document.getElementById("drop-folder");
  var zone = document.getElementById("drop-zone");
  var queue = document.getElementById("drop-queue");
  var progress = document.getElementById("drop-progress");
  var statusLine = document.getElementById("drop-status");
  var send = document.getElementById("drop-send");
  var chosen = [];  // {file, path}

  function formatSize(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"], value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function render() {
    queue.textContent = "";
    chosen.forEach(function (entry) {
      var li = document.createElement("li");
      li.textContent = entry.path + " · " + formatSize(entry.file.size);
      queue.appendChild(li);
    });
  }

  function add(files) {
    Array.prototype.forEach.call(files, function (file) {
      chosen.push({ file: file, path: file.webkitRelativePath || file.name });
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

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    statusLine.classList.remove("error");
    if (!chosen.length) return fail(form.dataset.msgEmpty);
    var total = chosen.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    if (chosen.length > Number(form.dataset.maxFiles)) return fail(form.dataset.msgTooMany);
    if (total > Number(form.dataset.maxBytes)) return fail(form.dataset.msgTooLarge);
    var body = new FormData();
    chosen.forEach(function (entry) { body.append("file", entry.file, entry.path); });
    body.append("name", document.getElementById("drop-name").value);
    body.append("note", document.getElementById("drop-note").value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.endpoint);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    xhr.upload.addEventListener("progress", function (progressEvent) {
      if (progressEvent.lengthComputable) progress.value = Math.round(100 * progressEvent.loaded / progressEvent.total);
    });
    xhr.addEventListener("load", function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (ignored) { answer = {}; }
      if (xhr.status === 201 && answer.receipt_url) {
        window.location.assign(answer.receipt_url);
        return;
      }
      fail((answer.error && answer.error.message) || form.dataset.msgFailed);
    });
    xhr.addEventListener("error", function () { fail(form.dataset.msgNetwork); });
    send.disabled = true;
    progress.hidden = false;
    xhr.send(body);
  });
}());
