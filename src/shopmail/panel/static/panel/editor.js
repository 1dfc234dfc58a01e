// Live preview for the template editor: while you type, the draft is rendered on the server
// (POST to the form's data-preview-url, with the page's CSRF token) and shown in the sandboxed
// frame. Nothing is saved. Without JavaScript the "Preview" button does the same.
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-preview-url");
  var frame = document.getElementById("preview-frame");
  var subject = document.getElementById("preview-subject");
  var text = document.getElementById("preview-text");
  var problems = document.getElementById("preview-problems");
  var timer = null;
  var sequence = 0;

  function showProblems(list) {
    problems.textContent = "";
    if (!list || !list.length) { return; }
    var heading = document.createElement("p");
    heading.textContent = "The draft has problems:";
    var ul = document.createElement("ul");
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.label;
      ul.appendChild(li);
    });
    problems.appendChild(heading);
    problems.appendChild(ul);
  }

  function refresh() {
    var mine = ++sequence;
    var data = new FormData(form);
    data.delete("action");
    form.setAttribute("aria-busy", "true");
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken"), "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("preview failed (" + response.status + ")"); }
      return response.json();
    }).then(function (result) {
      if (mine !== sequence) { return; }  // a newer request is on its way
      if (result.ok) {
        showProblems([]);
        subject.textContent = result.subject;
        frame.srcdoc = result.html;  // the frame is sandboxed: no scripts, no same-origin access
        text.textContent = result.text;
      } else {
        showProblems(result.problems);
      }
    }).catch(function (error) {
      if (mine === sequence) { showProblems([{ label: String(error.message || error) }]); }
    }).finally(function () {
      if (mine === sequence) { form.removeAttribute("aria-busy"); }
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.value === "preview") {
      event.preventDefault();
      window.clearTimeout(timer);
      refresh();
    }
  });
  if (!frame.getAttribute("srcdoc")) { refresh(); }
})();
