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

// The simple editor: a formatting toolbar for the extra text (it writes the small Markdown-like
// subset the server understands: **bold**, *italic*, [text](url), "- " lists) and variables
// inserted by a click, at the cursor of the subject or the extra text (whichever was last used).
(function () {
  "use strict";
  var extra = document.getElementById("id_extra_text");
  if (!extra || !document.querySelector(".simple-editor")) { return; }
  var subject = document.getElementById("id_subject");
  var target = extra;

  [extra, subject].forEach(function (field) {
    if (field) { field.addEventListener("focus", function () { target = field; }); }
  });

  function changed(field) {
    field.dispatchEvent(new Event("input", { bubbles: true }));  // the live preview listens
  }

  function replace(field, start, end, text, selectFrom, selectTo) {
    field.focus();
    field.setRangeText(text, start, end, "end");
    if (selectFrom !== undefined) { field.setSelectionRange(start + selectFrom, start + selectTo); }
    changed(field);
  }

  function wrap(before, after, placeholder) {
    var start = extra.selectionStart, end = extra.selectionEnd;
    var chosen = extra.value.slice(start, end) || placeholder;
    replace(extra, start, end, before + chosen + after, before.length, before.length + chosen.length);
  }

  function list() {
    var value = extra.value;
    var start = value.lastIndexOf("\n", extra.selectionStart - 1) + 1;
    var end = value.indexOf("\n", extra.selectionEnd);
    if (end < 0) { end = value.length; }
    var lines = value.slice(start, end).split("\n").map(function (line) {
      return /^\s*[-*]\s+/.test(line) ? line : "- " + line;
    });
    var text = lines.join("\n");
    replace(extra, start, end, text, text.length, text.length);
  }

  function link() {
    var start = extra.selectionStart, end = extra.selectionEnd;
    var label = extra.value.slice(start, end) || "link text";
    var url = window.prompt("Link address (https://… or mailto:…)", "https://");
    if (!url) { extra.focus(); return; }
    replace(extra, start, end, "[" + label + "](" + url.trim() + ")", 1, 1 + label.length);
  }

  var actions = {
    bold: function () { wrap("**", "**", "bold text"); },
    italic: function () { wrap("*", "*", "italic text"); },
    link: link,
    list: list
  };
  document.querySelectorAll("[data-format]").forEach(function (button) {
    button.addEventListener("click", function () { actions[button.getAttribute("data-format")](); });
  });
  document.querySelectorAll("[data-variable]").forEach(function (button) {
    button.addEventListener("click", function () {
      var token = "{{ " + button.getAttribute("data-variable") + " }}";
      replace(target, target.selectionStart, target.selectionEnd, token);
    });
  });
})();
