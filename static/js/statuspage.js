/* Progressive enhancement for the public pages; everything works without it.
 *
 * - Every <time datetime data-style> is rewritten in the visitor's own time zone; the UTC
 *   text the server wrote stays as the element's title.
 * - Uptime-bar days and component hints open their popover on tap and close on Escape or a
 *   tap elsewhere; the arrow keys move between the days of a bar, so a bar is one Tab stop,
 *   and the incident links of a day are in the Tab order only while that day has the focus.
 * - Both run again on content swapped in by htmx.
 */
(function () {
  "use strict";

  var FORMATS = {
    datetime: {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short",
    },
    time: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    date: { year: "numeric", month: "short", day: "numeric" },
  };
  var formatters = {};

  function formatter(style) {
    if (!formatters[style]) {
      formatters[style] = new Intl.DateTimeFormat(undefined, FORMATS[style] || FORMATS.datetime);
    }
    return formatters[style];
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime][data-style]").forEach(function (el) {
      if (el.hasAttribute("data-localized")) return;
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.title = el.textContent.trim();
      el.textContent = formatter(el.getAttribute("data-style")).format(when);
      el.setAttribute("data-localized", "");
    });
  }

  function describeZone() {
    var note = document.querySelector("[data-time-note]");
    if (!note) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone || zone === "UTC" || zone === "Etc/UTC") return;
    note.textContent = "Times are shown in your time zone (" + zone + ").";
  }

  /* Popovers: uptime days and component hints. */

  // A day of an uptime bar: an item of its list (the popover's incidents are a list inside).
  var DAY = ".uptime__days > li";

  // The date of a compact day: its place in the bar, counted from the bar's first day.
  function dayDate(day) {
    var first = Date.parse((day.parentNode.getAttribute("data-first") || "") + "T00:00:00Z");
    if (isNaN(first)) return "";
    var index = Array.prototype.indexOf.call(day.parentNode.children, day);
    return new Date(first + index * 86400000).toISOString().slice(0, 10);
  }

  // Days without incidents come compact, their text in `title`; they get the same popover
  // as the others the first time they are pointed at, focused or tapped.
  function ensureTip(day) {
    if (!day || day.querySelector(".day__tip") || !day.title) return;
    var text = day.title;
    var cut = text.indexOf(" · ");
    var tip = document.createElement("div");
    tip.className = "day__tip";
    var date = document.createElement("time");
    date.className = "day__date";
    date.setAttribute("datetime", dayDate(day));
    date.textContent = cut < 0 ? text : text.slice(0, cut);
    var summary = document.createElement("span");
    summary.className = "day__summary";
    summary.textContent = cut < 0 ? "" : text.slice(cut + 3);
    tip.appendChild(date);
    tip.appendChild(document.createTextNode(" "));
    tip.appendChild(summary);
    day.setAttribute("aria-label", text);
    day.removeAttribute("title");
    day.appendChild(tip);
  }

  ["mouseover", "focusin", "touchstart", "click"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var target = event.target instanceof Element ? event.target : null;
      if (target) ensureTip(target.closest(DAY));
    }, { capture: true, passive: true });
  });

  var POPOVER = DAY + ", .hint";

  function closeAll(except) {
    document.querySelectorAll(DAY + ".is-open, .hint.is-open").forEach(function (el) {
      if (el !== except) el.classList.remove("is-open");
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("a")) return; // a link inside a popover just navigates
    var owner = target && target.closest(POPOVER);
    if (owner && target.closest(".day__tip, .hint__text")) return; // reading the popover
    closeAll(owner);
    if (!owner) return;
    if (owner.classList.contains("is-open")) {
      owner.classList.remove("is-open");
      owner.blur();
    } else {
      owner.classList.remove("is-dismissed");
      owner.classList.add("is-open");
    }
  });

  // Escape hides the popover but leaves the focus where it was (on the day, or back on it).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    closeAll(null);
    var focused = document.activeElement;
    var owner = focused && focused.closest(POPOVER);
    if (!owner) return;
    owner.classList.add("is-dismissed");
    if (owner !== focused) owner.focus();
  });

  document.addEventListener("focusin", function (event) {
    document.querySelectorAll(".is-dismissed").forEach(function (el) {
      if (!el.contains(event.target)) el.classList.remove("is-dismissed");
    });
  });

  /* One Tab stop per uptime bar; arrows, Home and End move between its days. */

  function visibleDays(bar) {
    return Array.prototype.filter.call(bar.children, function (day) {
      return day.offsetParent !== null;
    });
  }

  function setLinksTabbable(root, tabbable) {
    root.querySelectorAll(".day__tip a").forEach(function (link) {
      link.tabIndex = tabbable ? 0 : -1;
    });
  }

  function rove(bar) {
    if (bar.hasAttribute("data-roving")) return;
    bar.setAttribute("data-roving", "");
    var days = Array.prototype.slice.call(bar.children);
    days.forEach(function (day, i) {
      day.tabIndex = i === days.length - 1 ? 0 : -1;
    });
    setLinksTabbable(bar, false);
    bar.addEventListener("focusin", function (event) {
      var day = event.target.closest(DAY);
      if (day) setLinksTabbable(day, true);
    });
    bar.addEventListener("focusout", function (event) {
      var day = event.target.closest(DAY);
      if (day && !day.contains(event.relatedTarget)) setLinksTabbable(day, false);
    });
    bar.addEventListener("keydown", function (event) {
      var current = event.target.closest(DAY);
      if (!current) return;
      var shown = visibleDays(bar);
      var index = shown.indexOf(current);
      var next = null;
      if (event.key === "ArrowLeft") next = shown[index - 1];
      else if (event.key === "ArrowRight") next = shown[index + 1];
      else if (event.key === "Home") next = shown[0];
      else if (event.key === "End") next = shown[shown.length - 1];
      else return;
      event.preventDefault();
      if (!next) return;
      current.tabIndex = -1;
      next.tabIndex = 0;
      closeAll(null);
      next.focus();
    });
  }

  function enhance(root) {
    localizeTimes(root);
    root.querySelectorAll(".uptime__days").forEach(rove);
  }

  function start() {
    describeZone();
    enhance(document);
    document.body.addEventListener("htmx:afterSwap", function (event) {
      enhance(event.target);
    });
    // Live updates replace the page's sections out of band.
    document.body.addEventListener("htmx:oobAfterSwap", function (event) {
      enhance(event.detail.target || event.target);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
