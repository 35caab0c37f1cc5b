// The staff time zone page: offer the browser's own zone in one click.
(function () {
  "use strict";
  var button = document.getElementById("use-browser-zone");
  var select = document.getElementById("id_time_zone");
  if (!button || !select || !window.Intl) {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var known = Array.prototype.some.call(select.options, function (option) {
    return option.value === zone;
  });
  if (!zone || !known) {
    return;
  }
  button.textContent = "Use this browser's zone (" + zone + ")";
  button.hidden = false;
  button.addEventListener("click", function () {
    select.value = zone;
  });
})();
