/* Component checkboxes of the subscription forms: a group's "All of ..." box ticks or clears
   its components and follows them (ticked when all are, mixed when some are), and the summary
   says how many are chosen. Without this script the forms still work: the server reads a
   ticked group box as the whole group. Listeners sit on the document, so forms that htmx
   swaps in need nothing more, and loading the script twice changes nothing. */
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
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { settle(document); });
  } else {
    settle(document);
  }
})();
