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

  // Copy buttons: <button data-copy="#id-of-input-or-text">.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.dataset.copy);
      var text = source.value !== undefined ? source.value : source.textContent;
      navigator.clipboard.writeText(text).then(function () {
        button.dataset.label = button.dataset.label || button.textContent;
        button.textContent = button.dataset.copied || "✓";
        setTimeout(function () { button.textContent = button.dataset.label; }, 1500);
      });
    });
  });
})();
