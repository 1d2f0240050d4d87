// Site-wide behaviour. No inline handlers: everything hooks in from here.
(function () {
  "use strict";

  // The pickup box sets a code large and spaced for reading it aloud; a
  // pasted link or chat message in that type shows a few letters at a time,
  // so longer input is shown as ordinary text (the server finds the code in
  // it, pan/codes.py). A code is at most 9 characters (XXXX-XXXX).
  document.querySelectorAll("input.pickup-input").forEach(function (input) {
    function fit() { input.classList.toggle("is-text", input.value.trim().length > 10); }
    input.addEventListener("input", fit);
    fit();
  });

  // The language menu switches as soon as a language is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Client-side validation mirrors the server's rules (required, length,
  // pattern, matching passwords) and shows the messages in the same place
  // the server's messages appear. The words come from the site's catalogue
  // (data-msg-* on <body>, set with setCustomValidity), not from the
  // browser, whose bubbles speak the browser's language, not the page's.
  var words = document.body.dataset;
  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }
  function messageFor(input) {
    var validity = input.validity;
    if (validity.valid) { return ""; }
    if (validity.valueMissing) { return words.msgRequired; }
    if (validity.tooShort) { return fill(words.msgTooShort, { min: input.minLength }); }
    if (validity.tooLong) { return fill(words.msgTooLong, { max: input.maxLength }); }
    if (validity.patternMismatch) { return input.title || words.msgInvalid; }
    if (validity.typeMismatch) { return input.type === "url" ? words.msgUrl : words.msgInvalid; }
    if (validity.rangeUnderflow) { return fill(words.msgMin, { min: input.min }); }
    if (validity.rangeOverflow) { return fill(words.msgMax, { max: input.max }); }
    if (validity.badInput || validity.stepMismatch) { return words.msgNumber; }
    return input.validationMessage;
  }
  function fieldErrorBox(input) {
    return document.querySelector('.field-errors[data-for="' + input.id + '"]');
  }
  function check(input) {
    input.setCustomValidity("");
    var same = input.dataset.sameAs && document.getElementById(input.dataset.sameAs);
    var message = same && same.value !== input.value && input.validity.valid ? input.dataset.mismatch : messageFor(input);
    input.setCustomValidity(message || "");
    var box = fieldErrorBox(input);
    if (box) {
      box.textContent = "";
      if (!input.validity.valid) {
        var p = document.createElement("p");
        p.textContent = input.validationMessage;
        box.appendChild(p);
      }
    }
    if (input.closest(".field")) { input.closest(".field").classList.toggle("has-error", !input.validity.valid); }
    input.setAttribute("aria-invalid", input.validity.valid ? "false" : "true");
    return input.validity.valid;
  }
  document.querySelectorAll("form[data-validate]").forEach(function (form) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input:not([type=hidden])"));
    inputs.forEach(function (input) {
      // A form the browser checks itself (no novalidate) shows our words in its bubble.
      input.addEventListener("invalid", function () { if (!input.validity.customError) { input.setCustomValidity(messageFor(input)); } });
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

  // Copying, one helper for every copy button (<button data-copy="#id">,
  // delegated, so buttons revealed later work too), in three steps, never
  // an exception:
  // 1. navigator.clipboard.writeText: only in secure contexts (https,
  //    localhost); on a plain-HTTP LAN address navigator.clipboard is
  //    undefined, and reading .writeText of it threw before.
  // 2. a hidden textarea, selected, and document.execCommand("copy"):
  //    deprecated but still the only way on plain HTTP.
  // 3. when both refuse: the text in a selected field beside the button and
  //    a hint to press Ctrl+C, so the person copies it by hand.
  function copyByHand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.setAttribute("aria-hidden", "true");
    area.tabIndex = -1;
    area.className = "copy-buffer";
    var focused = document.activeElement;
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy") === true; } catch (ignored) { copied = false; }
    document.body.removeChild(area);
    if (focused && focused.focus) { focused.focus({ preventScroll: true }); }
    return copied;
  }
  function copyText(text) {
    var clipboard = window.isSecureContext && navigator.clipboard;
    if (clipboard && typeof clipboard.writeText === "function") {
      try {
        return clipboard.writeText(text).then(function () { return true; }, function () { return copyByHand(text); });
      } catch (ignored) { /* fall through to the hand copy */ }
    }
    return Promise.resolve(copyByHand(text));
  }
  window.panCopyText = copyText;

  var live = document.createElement("div");
  live.className = "visually-hidden";
  live.id = "copy-status";
  live.setAttribute("role", "status");
  document.body.appendChild(live);

  function copyFallbackField(button, text) {
    // Step 3: a field the person can copy from, selected, with a hint.
    var box = button.nextElementSibling;
    if (!box || !box.classList.contains("copy-fallback")) {
      box = document.createElement("span");
      box.className = "copy-fallback";
      var field = document.createElement("input");
      field.type = "text";
      field.readOnly = true;
      field.className = "copy-fallback-field";
      var hint = document.createElement("span");
      hint.className = "help copy-fallback-hint";
      hint.id = "copy-hint-" + Math.random().toString(36).slice(2, 9);
      hint.textContent = document.body.dataset.msgCopyHint || "Ctrl+C";
      field.setAttribute("aria-describedby", hint.id);
      field.setAttribute("aria-label", button.getAttribute("aria-label") || button.textContent);
      box.append(field, hint);
      button.insertAdjacentElement("afterend", box);
    }
    var input = box.querySelector("input");
    input.value = text;
    input.focus();
    input.select();
    live.textContent = box.querySelector(".copy-fallback-hint").textContent;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.dataset.copy);
    if (!source) { return; }
    var raw = source.value !== undefined ? source.value : source.textContent;
    // data-copy-raw: a shared text goes to the clipboard exactly as it was written.
    var text = button.hasAttribute("data-copy-raw") ? raw : raw.trim();
    copyText(text).then(function (copied) {
      if (!copied) { copyFallbackField(button, text); return; }
      if (!button.dataset.label) { button.dataset.label = button.textContent; }
      button.textContent = button.dataset.copied || "\u2713";
      live.textContent = button.dataset.copied || "";
      clearTimeout(button.copyTimer);
      button.copyTimer = setTimeout(function () { button.textContent = button.dataset.label; }, 1500);
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
