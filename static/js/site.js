// Site-wide behaviour. No inline handlers: everything hooks in from here.
(function () {
  "use strict";

  // The language menu switches as soon as a language is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Client-side validation mirrors the server's rules (required, length,
  // pattern, matching passwords) and shows the browser's own messages in
  // the same place the server's messages appear.
  function fieldErrorBox(input) {
    return document.querySelector('.field-errors[data-for="' + input.id + '"]');
  }
  function check(input) {
    var same = input.dataset.sameAs && document.getElementById(input.dataset.sameAs);
    input.setCustomValidity(same && same.value !== input.value ? input.dataset.mismatch : "");
    var box = fieldErrorBox(input);
    if (box) {
      box.textContent = "";
      if (!input.validity.valid) {
        var p = document.createElement("p");
        p.textContent = input.validationMessage;
        box.appendChild(p);
      }
    }
    input.closest(".field") && input.closest(".field").classList.toggle("has-error", !input.validity.valid);
    return input.validity.valid;
  }
  document.querySelectorAll("form[data-validate]").forEach(function (form) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input:not([type=hidden])"));
    inputs.forEach(function (input) {
      // Re-check while the person edits, never on blur: clearing a message
      // on blur moves the submit button between mouse-down and mouse-up,
      // and the click that caused the blur is lost.
      input.addEventListener("input", function () { check(input); });
    });
    form.addEventListener("submit", function (event) {
      var ok = inputs.map(check).every(Boolean);
      if (!ok) { event.preventDefault(); }
    });
  });

  // Copy buttons: <button data-copy="#id-of-input-or-text">. Delegated, so
  // buttons revealed later (the upload result) work too. navigator.clipboard
  // exists only in secure contexts; on a plain-HTTP address the hidden
  // textarea and execCommand("copy") still work.
  function copyByHand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (ignored) { copied = false; }
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyByHand(text); });
    }
    return copyByHand(text);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.dataset.copy);
    if (!source) { return; }
    var text = source.value !== undefined ? source.value : source.textContent;
    // data-copy-raw: a shared text goes to the clipboard exactly as it was written.
    copyText(button.hasAttribute("data-copy-raw") ? text : text.trim()).then(function () {
      button.dataset.label = button.dataset.label || button.textContent;
      button.textContent = button.dataset.copied || "\u2713";
      setTimeout(function () { button.textContent = button.dataset.label; }, 1500);
    }, function () {
      // Copying was refused: select the text so the person can copy it by hand.
      if (source.select) { source.select(); }
    });
  });

  // Waiting out a 429: <p data-retry-after="SECONDS" [data-retry-done="text"]
  // [data-retry-form="form-id"]> disables the submit buttons of its form (the
  // form it sits in, or the one named) until the time has passed, then
  // enables them and, with data-retry-done, says so. The deadline is wall-clock
  // time, so a tab the browser throttled in the background catches up at once.
  function retryAfterCountdown(element) {
    if (element.dataset.retryBound) { return; }
    element.dataset.retryBound = "1";
    var seconds = parseInt(element.dataset.retryAfter, 10);
    var form = element.closest("form") ||
      (element.dataset.retryForm && document.getElementById(element.dataset.retryForm));
    if (!form || !(seconds > 0)) { return; }
    var buttons = Array.prototype.slice.call(form.querySelectorAll("button[type=submit], button:not([type])"));
    var deadline = Date.now() + seconds * 1000;
    // A button with data-countdown also shows the time left: "Open (14:59)".
    var labels = buttons.map(function (button) { return button.textContent; });
    function showTimeLeft() {
      var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      var clock = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      buttons.forEach(function (button, index) {
        if (button.hasAttribute("data-countdown")) { button.textContent = labels[index] + " (" + clock + ")"; }
      });
    }
    buttons.forEach(function (button) { button.disabled = true; });
    showTimeLeft();
    var timer = setInterval(function () {
      if (Date.now() < deadline) { showTimeLeft(); return; }
      clearInterval(timer);
      buttons.forEach(function (button, index) {
        button.disabled = false;
        if (button.hasAttribute("data-countdown")) { button.textContent = labels[index]; }
      });
      if (element.dataset.retryDone) { element.textContent = element.dataset.retryDone; }
      element.dataset.retryOver = "1";
    }, 250);
  }
  document.querySelectorAll("[data-retry-after]").forEach(retryAfterCountdown);

  // Forms that destroy something ask first: <form data-confirm="Delete …?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!event.defaultPrevented && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
