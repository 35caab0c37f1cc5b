// The history page's component filter: shows only the incidents that affected the chosen
// component. Without JavaScript the select stays hidden and the whole list shows. The choice is
// kept for the session, so it holds across the history's pages.
(function () {
  "use strict";
  var KEY = "statuspage.history.component";

  function apply(select) {
    var chosen = select.value;
    document.querySelectorAll(".month").forEach(function (month) {
      var items = month.querySelectorAll(".history-item");
      var shown = 0;
      items.forEach(function (item) {
        var ids = (item.getAttribute("data-components") || "").split(" ");
        var visible = !chosen || ids.indexOf(chosen) !== -1;
        item.hidden = !visible;
        if (visible) shown += 1;
      });
      var none = month.querySelector(".history-none");
      if (none) none.hidden = !(chosen && items.length && shown === 0);
    });
    try {
      if (chosen) sessionStorage.setItem(KEY, chosen);
      else sessionStorage.removeItem(KEY);
    } catch (e) { /* storage refused: the filter still works on this page */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("history-component");
    if (!select) return;
    select.closest(".history-filter").hidden = false;
    var kept = null;
    try { kept = sessionStorage.getItem(KEY); } catch (e) { kept = null; }
    if (kept && select.querySelector('option[value="' + kept.replace(/[^a-z0-9]/g, "") + '"]')) {
      select.value = kept;
    }
    select.addEventListener("change", function () { apply(select); });
    apply(select);
  });
})();
