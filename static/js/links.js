// Short links (/short/) and drop-off requests (/requests/).
// 1. A new short link is what the person came for: into view and focused,
//    as the upload page does with a new share ([data-focus-on-load]).
// 2. "Manage" opens the link's tools in the full-width row below it, never
//    inside the last column. Without JavaScript the toggle is a plain link
//    to that row, which CSS shows while it is the :target.
(function () {
  "use strict";

  var result = document.querySelector("[data-focus-on-load]");
  if (result) {
    result.scrollIntoView({ block: "start", behavior: "instant" });
    result.focus({ preventScroll: true });
  }

  function toggle(button) {
    var row = document.getElementById(button.getAttribute("aria-controls"));
    if (!row) { return; }
    var open = button.getAttribute("aria-expanded") !== "true";
    row.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.querySelectorAll(".link-tools-toggle").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      toggle(button);
    });
    // A link in the role of a button answers Space as well as Enter.
    button.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); toggle(button); }
    });
  });
})();
