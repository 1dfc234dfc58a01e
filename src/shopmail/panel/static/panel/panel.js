/* shopmail control panel: the menu behind a button at phone width (issue 27). Plain script, no
   framework. Without it the menu stays open (the button is only shown by this script). */
(function () {
  "use strict";
  var header = document.querySelector(".sidebar");
  var button = document.getElementById("menu-toggle");
  var nav = document.getElementById("main-nav");
  if (!header || !button || !nav || !nav.querySelector("a")) { return; }
  function set(open) {
    header.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  button.hidden = false;
  header.classList.add("menu-ready");
  button.addEventListener("click", function () { set(!header.classList.contains("open")); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && header.classList.contains("open")) { set(false); button.focus(); }
  });
})();
