// The upload form on /welcome/: files and whole folders (picked or dropped)
// gather in a queue, then go as ONE share in one multipart POST to
// /api/shares, one `file` part per file whose filename is the file's path
// inside the chosen folder (webkitRelativePath), so the share keeps the
// folders. XMLHttpRequest, because only its upload events drive a real
// <progress> bar. The page is session-authenticated: Django's CSRF token
// goes in X-CSRFToken, which DRF's SessionAuthentication requires.
// The "Text" tab adds a text to the same share: it goes as a `text` part
// holding a UTF-8 Blob, because multipart encoding rewrites every newline
// of a plain string field to CRLF and the text must arrive byte for byte.
(function () {
  "use strict";
  var section = document.getElementById("upload");
  if (!section) { return; }
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
  var result = document.getElementById("upload-result");
  var textArea = document.getElementById("upload-text");
  var textFormat = document.getElementById("upload-text-format");
  var textSize = document.getElementById("upload-text-size");
  var password = document.getElementById("upload-password");
  var queue = [];  // [{file: File, path: "folder/sub/name.ext"}]
  var xhr = null;

  function humanSize(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? String(value) : value.toFixed(1)) + "\u00a0" + units[unit];
  }

  function render() {
    queueList.textContent = "";
    var total = 0;
    queue.forEach(function (entry, index) {
      total += entry.file.size;
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "queue-path";
      name.textContent = entry.path;
      var size = document.createElement("span");
      size.className = "queue-size";
      size.textContent = humanSize(entry.file.size);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link queue-remove";
      remove.textContent = section.dataset.msgRemove;
      remove.addEventListener("click", function () { queue.splice(index, 1); render(); });
      li.append(name, size, remove);
      queueList.appendChild(li);
    });
    document.getElementById("upload-count").textContent = String(queue.length);
    document.getElementById("upload-total").textContent = humanSize(total);
    queueBox.hidden = queue.length === 0;
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
  });

  function add(entries) {
    entries.forEach(function (entry) {
      var same = queue.some(function (queued) { return queued.path === entry.path; });
      if (!same) { queue.push(entry); }
    });
    errorBox.hidden = true;
    render();
  }

  function fromInput(input) {
    var files = Array.prototype.slice.call(input.files);
    add(files.map(function (file) { return { file: file, path: file.webkitRelativePath || file.name }; }));
    input.value = "";  // the same file can be picked again after a removal
  }
  fileInput.addEventListener("change", function () { fromInput(fileInput); });
  folderInput.addEventListener("change", function () { fromInput(folderInput); });
  document.getElementById("upload-clear").addEventListener("click", function () { queue = []; render(); });

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

  function dropped(event) {
    var transfer = event.dataTransfer;
    if (!transfer) { return; }
    var items = Array.prototype.slice.call(transfer.items || []);
    var entries = items.map(function (item) { return item.webkitGetAsEntry && item.webkitGetAsEntry(); })
      .filter(Boolean);
    if (entries.length) {
      Promise.all(entries.map(function (entry) { return readEntry(entry, ""); }))
        .then(function (lists) { add([].concat.apply([], lists)); });
    } else {
      add(Array.prototype.slice.call(transfer.files).map(function (file) { return { file: file, path: file.name }; }));
    }
  }

  // Drops anywhere on the page land in the queue instead of opening the file.
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragover"); });
  });
  document.addEventListener("dragleave", function (event) {
    if (!event.relatedTarget) { zone.classList.remove("dragover"); }
  });
  document.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("dragover");
    if (event.target === textArea) {
      // Text dropped on the text box is typed in; files dropped there still join the queue.
      var droppedText = event.dataTransfer && event.dataTransfer.getData("text/plain");
      if (droppedText && !(event.dataTransfer.files || []).length) {
        textArea.setRangeText(droppedText, textArea.selectionStart, textArea.selectionEnd, "end");
        textArea.dispatchEvent(new Event("input"));
        return;
      }
    }
    if (event.dataTransfer && (event.dataTransfer.files || []).length) { selectTab(tabs[0], false); }
    dropped(event);
  });

  function showError(message, fields) {
    errorBox.textContent = "";
    [message].concat(fields || []).forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      errorBox.appendChild(p);
    });
    errorBox.hidden = false;
  }

  function setProgress(value) {
    bar.value = value;
    percent.textContent = value + "%";
  }

  function fieldMessages(error) {
    var messages = [];
    Object.keys((error && error.fields) || {}).forEach(function (name) {
      messages = messages.concat(error.fields[name]);
    });
    return messages;
  }

  function showResult(body) {
    var first = body.items && body.items[0];
    var name = body.title || (first ? first.name : body.id);
    document.getElementById("result-name").textContent = name;
    document.getElementById("result-items").textContent =
      body.items && body.items.length > 1 ? "(" + body.items.length + ")" : "";
    document.getElementById("result-code").textContent = body.code_display;
    document.getElementById("result-link").value = body.share_url;
    document.getElementById("result-qr").src = body.qr;
    result.hidden = false;
    result.scrollIntoView({ block: "nearest" });
    result.focus();
  }

  var cancel = document.getElementById("upload-cancel");
  cancel.addEventListener("click", function () { if (xhr) { xhr.abort(); } });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!queue.length && !hasText()) { showError(section.dataset.msgEmpty); return; }
    var data = new FormData();
    if (form.elements.title.value.trim()) { data.append("title", form.elements.title.value.trim()); }
    data.append("expires_in", form.elements.expires_in.value);
    if (form.elements.max_downloads.value) { data.append("max_downloads", form.elements.max_downloads.value); }
    if (password.value) { data.append("password", password.value); }
    if (hasText()) {
      data.append("text", new Blob([textArea.value], { type: "text/plain;charset=utf-8" }), "text.txt");
      data.append("text_format", textFormat.value);
    }
    queue.forEach(function (entry) { data.append("file", entry.file, entry.path); });
    xhr = new XMLHttpRequest();
    xhr.open("POST", section.dataset.endpoint);
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { setProgress(Math.floor((e.loaded / e.total) * 100)); }
    });
    xhr.upload.addEventListener("load", function () { setProgress(100); });
    xhr.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
      if (xhr.status === 201 && body) {
        setProgress(100);
        queue = [];
        render();
        textArea.value = "";
        textSize.textContent = "";
        password.value = "";
        showResult(body);
      } else {
        var error = body && body.error;
        showError(error ? error.message : section.dataset.msgFailed, fieldMessages(error));
      }
    });
    xhr.addEventListener("error", function () { showError(section.dataset.msgNetwork); });
    xhr.addEventListener("abort", function () { showError(section.dataset.msgCancelled); });
    xhr.addEventListener("loadend", function () {
      button.disabled = false;
      cancel.hidden = true;
      xhr = null;
    });
    errorBox.hidden = true;
    result.hidden = true;
    progress.hidden = false;
    cancel.hidden = false;
    setProgress(0);
    button.disabled = true;
    xhr.send(data);
  });
})();
