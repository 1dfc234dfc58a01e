/* Live progress by short polling (issue 27): an element with data-progress-url gets that URL's
   JSON every few seconds, writes data.fields[name] into each [data-field=name] inside it (and
   the page's other [data-field] elements), moves its <progress> to data.finished of data.total,
   and stops when data.done. No request is held open; no framework. When data.reload is true
   the page is reloaded once (the work finished and the page has more to show). */
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress-url");
  var every = parseInt(box.getAttribute("data-progress-every") || "2000", 10);
  function show(data) {
    var fields = data.fields || {};
    Object.keys(fields).forEach(function (name) {
      document.querySelectorAll('[data-field="' + name + '"]').forEach(function (element) {
        element.textContent = String(fields[name]);
      });
    });
    var bar = box.querySelector("progress");
    if (bar && data.total) { bar.max = data.total; bar.value = data.finished; }
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.done) {
          box.setAttribute("data-done", "true");
          if (data.reload) { window.location.reload(); }
        } else {
          window.setTimeout(tick, every);
        }
      })
      .catch(function () { window.setTimeout(tick, every * 3); });  // a restart, a blip: slower
  }
  tick();
})();
