/* Component checkboxes of the subscription forms: a group's "All of ..." box ticks or clears
   its components and follows them (ticked when all are, mixed when some are), and the summary
   says how many are chosen. Without this script the forms still work: the server reads a
   ticked group box as the whole group. Listeners sit on the document, so forms that htmx
   swaps in need nothing more, and loading the script twice changes nothing. A form htmx posts
   says so when the post fails. */
(function () {
  "use strict";
  if (window.subscriptionChoices) return;
  window.subscriptionChoices = true;

  function summarize(form) {
    var summary = form.querySelector("[data-choice-summary]");
    if (!summary) return;
    var chosen = form.querySelectorAll('input[name="components"]:checked').length;
    summary.textContent = chosen ? "(" + chosen + " chosen)" : "(none chosen: all of them)";
  }

  function follow(group) {
    var all = group.querySelector("[data-select-all]");
    if (!all) return;
    var boxes = group.querySelectorAll('input[name="components"]');
    var ticked = group.querySelectorAll('input[name="components"]:checked').length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  function settle(root) {
    root.querySelectorAll("[data-choice-group]").forEach(follow);
    root.querySelectorAll("form").forEach(summarize);
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    var group = box.closest("[data-choice-group]");
    if (!group) return;
    if (box.hasAttribute("data-select-all")) {
      group.querySelectorAll('input[name="components"]').forEach(function (component) {
        component.checked = box.checked;
      });
    }
    follow(group);
    if (box.form) summarize(box.form);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    settle(event.target);
  });

  /* htmx swaps only 2xx answers, so a form posted while the site cannot take it (a 503 while
     its database is away) or that never reached it would otherwise say nothing at all. */
  function tell(form, text) {
    var note = form.querySelector("[data-send-error]");
    if (!note) {
      note = document.createElement("p");
      note.className = "subscribe__error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-send-error", "");
      var title = form.querySelector(".subscribe__title");
      form.insertBefore(note, title ? title.nextSibling : form.firstChild);
    }
    note.textContent = text;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    tell(form, status === 503
      ? "We cannot take sign-ups for a few minutes, so nothing was recorded. Please try again shortly."
      : "Something went wrong on our side and nothing was recorded. Please try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    tell(form, "Your request did not reach us. Check your connection and try again.");
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { settle(document); });
  } else {
    settle(document);
  }
})();
