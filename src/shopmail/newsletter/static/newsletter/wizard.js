// The newsletter wizard: text part follows the HTML while "generate" is ticked, the recipient
// count follows the filters as you type, the time field follows "send at a scheduled time".
(function () {
  "use strict";

  var generate = document.getElementById("id_generate_text");
  var text = document.getElementById("id_text");
  if (generate && text) {
    var syncText = function () {
      text.readOnly = generate.checked;
      text.setAttribute("aria-readonly", generate.checked ? "true" : "false");
    };
    generate.addEventListener("change", syncText);
    syncText();
  }

  var form = document.getElementById("segment-form");
  if (form) {
    var count = document.getElementById("recipient-count");
    var plural = document.getElementById("recipient-plural");
    var described = document.getElementById("segment-described");
    var saved = document.getElementById("id_saved");
    var filters = document.getElementById("filters");
    var timer = null;
    var latest = 0;
    var update = function () {
      var params = new URLSearchParams();
      if (saved && saved.value) {
        params.set("saved", saved.value);
      } else {
        new FormData(form).forEach(function (value, key) {
          if (key !== "csrfmiddlewaretoken" && key !== "save_as" && key !== "saved" && String(value).trim()) {
            params.set(key, String(value));
          }
        });
      }
      var ticket = ++latest;
      count.setAttribute("aria-busy", "true");
      fetch(form.dataset.countUrl + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (ticket !== latest) { return; }
          count.removeAttribute("aria-busy");
          if (data.errors) {
            count.textContent = "?";
            described.textContent = data.errors.map(function (e) { return e.loc.join(".") + ": " + e.msg; }).join("; ");
            return;
          }
          count.textContent = String(data.count);
          plural.textContent = data.count === 1 ? "" : "s";
          described.textContent = data.described.join("; ");
        })
        .catch(function () { count.removeAttribute("aria-busy"); });
    };
    var later = function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(update, 250);
    };
    var syncSaved = function () {
      if (filters && saved) { filters.disabled = Boolean(saved.value); }
    };
    form.addEventListener("input", later);
    form.addEventListener("change", function (event) {
      if (event.target === saved) { syncSaved(); }
      later();
    });
    syncSaved();
  }

  var at = document.getElementById("id_at");
  if (at) {
    var radios = document.querySelectorAll("input[name=when]");
    var syncWhen = function () {
      var later = document.querySelector("input[name=when]:checked");
      var on = Boolean(later && later.value === "later");
      at.disabled = !on;
      at.closest(".field").hidden = !on;
    };
    radios.forEach(function (radio) { radio.addEventListener("change", syncWhen); });
    syncWhen();
  }
})();
