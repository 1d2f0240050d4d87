// The upload form on /welcome/: drag and drop, XMLHttpRequest so the
// browser's upload progress events drive a real <progress> bar, then the
// share link, code and QR code from the API's answer. Uses the session
// (Django's CSRF token in X-CSRFToken).
(function () {
  "use strict";
  var section = document.getElementById("upload");
  if (!section) { return; }
  var form = document.getElementById("upload-form");
  var input = document.getElementById("upload-file");
  var zone = document.getElementById("dropzone");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var percent = document.getElementById("upload-percent");
  var errorBox = document.getElementById("upload-error");
  var result = document.getElementById("upload-result");
  var dropped = null;

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragover"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("dragover"); });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      dropped = event.dataTransfer.files[0];
      input.required = false;
      zone.querySelector("p").textContent = dropped.name;
    }
  });
  input.addEventListener("change", function () { dropped = null; });

  function showError(message) {
    errorBox.textContent = "";
    var p = document.createElement("p");
    p.textContent = message;
    errorBox.appendChild(p);
    errorBox.hidden = false;
  }

  function setProgress(value) {
    bar.value = value;
    percent.textContent = value + "%";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = dropped || input.files[0];
    if (!file) { input.reportValidity(); return; }
    var data = new FormData();
    data.append("file", file, file.name);
    data.append("expires_in", form.elements.expires_in.value);
    if (form.elements.max_downloads.value) { data.append("max_downloads", form.elements.max_downloads.value); }
    var xhr = new XMLHttpRequest();
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
        document.getElementById("result-name").textContent = body.file_name;
        document.getElementById("result-code").textContent = body.share_code;
        document.getElementById("result-link").value = body.share_url;
        document.getElementById("result-qr").src = body.qr;
        result.hidden = false;
      } else {
        showError(body && body.error ? body.error.message : section.dataset.msgFailed);
      }
    });
    xhr.addEventListener("error", function () { showError(section.dataset.msgNetwork); });
    errorBox.hidden = true;
    result.hidden = true;
    progress.hidden = false;
    setProgress(0);
    document.getElementById("upload-button").disabled = true;
    xhr.addEventListener("loadend", function () { document.getElementById("upload-button").disabled = false; });
    xhr.send(data);
  });
})();
