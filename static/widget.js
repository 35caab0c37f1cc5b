/*
 * Status widget: a small banner on another site while an incident or maintenance is under way.
 *
 * Copy and paste this before </body> on any page of your site:
 *
 *   <script src="https://status.example.com/static/widget.js"
 *           data-status-url="https://status.example.com" async></script>
 *
 * It reads <data-status-url>/api/v2/summary.json (served with Access-Control-Allow-Origin: *)
 * when the page loads and every two minutes after. While an incident is unresolved or a
 * maintenance is in progress, it shows a banner fixed at the bottom of the window with the
 * incident's name, its status and a link to its page; when all is well it shows nothing.
 * A visitor can dismiss the banner; it comes back only when the incident changes.
 *
 * No dependencies. Every text is set with textContent, and the banner lives in a shadow root
 * so the host page's styles and the banner's do not touch each other.
 */
(function () {
  "use strict";

  if (window.__statusWidgetLoaded) {
    return;
  }
  window.__statusWidgetLoaded = true;

  var REFRESH_MS = 120000;
  var STORAGE_PREFIX = "status-widget-dismissed:";
  var STATUS_LABELS = {
    investigating: "Investigating",
    identified: "Identified",
    monitoring: "Monitoring",
    in_progress: "Maintenance in progress",
    verifying: "Verifying maintenance"
  };
  var COLOURS = {
    critical: "#b42318",
    major: "#c4320a",
    minor: "#8a5a00",
    none: "#344054",
    maintenance: "#175cd3"
  };
  var IMPACT_RANK = { none: 0, maintenance: 1, minor: 2, major: 3, critical: 4 };

  var script = document.currentScript;
  var statusUrl = statusPageUrl(script);
  if (!statusUrl) {
    return;
  }
  var host = null;

  function statusPageUrl(element) {
    var configured = element && element.getAttribute("data-status-url");
    var base = configured || (element && element.src ? new URL(element.src).origin : "");
    try {
      var url = new URL(base, window.location.href);
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        return null;
      }
      return url.href.replace(/\/+$/, "");
    } catch (error) {
      return null;
    }
  }

  function safeLink(href) {
    try {
      var url = new URL(href, statusUrl);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : statusUrl;
    } catch (error) {
      return statusUrl;
    }
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  function dismissalKey(incident) {
    return STORAGE_PREFIX + incident.id + ":" + incident.status + ":" + incident.updated_at;
  }

  function isDismissed(incident) {
    var store = storage();
    return Boolean(store && store.getItem(dismissalKey(incident)));
  }

  function dismiss(incident) {
    var store = storage();
    if (store) {
      try {
        store.setItem(dismissalKey(incident), "1");
      } catch (error) {
        // Storage full or refused: the banner simply comes back on the next page.
      }
    }
    removeBanner();
  }

  // Unresolved incidents first, worst impact first; then running maintenances.
  function activeItems(summary) {
    var incidents = (summary.incidents || []).slice().sort(function (a, b) {
      return (IMPACT_RANK[b.impact] || 0) - (IMPACT_RANK[a.impact] || 0);
    });
    var running = (summary.scheduled_maintenances || []).filter(function (m) {
      return m.status === "in_progress" || m.status === "verifying";
    });
    return incidents.concat(running);
  }

  function removeBanner() {
    if (host && host.parentNode) {
      host.parentNode.removeChild(host);
    }
    host = null;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  var STYLE =
    ":host{all:initial}" +
    ".banner{position:fixed;left:16px;right:16px;bottom:16px;z-index:2147483647;" +
    "max-width:720px;margin:0 auto;display:flex;align-items:center;gap:12px;" +
    "padding:12px 12px 12px 16px;border-radius:8px;color:#fff;" +
    "box-shadow:0 4px 16px rgba(0,0,0,.25);" +
    "font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".text{flex:1;min-width:0}" +
    ".name{font-weight:600;overflow-wrap:anywhere}" +
    ".status{opacity:.9}" +
    ".more{display:block;opacity:.9}" +
    "a{color:#fff;font-weight:600;text-decoration:underline;white-space:nowrap}" +
    "a:focus-visible,button:focus-visible{outline:2px solid #fff;outline-offset:2px}" +
    "button{flex:none;width:32px;height:32px;border:0;border-radius:4px;cursor:pointer;" +
    "background:rgba(255,255,255,.15);color:#fff;font:20px/1 system-ui,sans-serif}" +
    "button:hover{background:rgba(255,255,255,.3)}" +
    "@media print{.banner{display:none}}";

  function showBanner(incident, others) {
    removeBanner();
    host = document.createElement("div");
    host.setAttribute("data-status-widget", "");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

    var style = document.createElement("style");
    style.textContent = STYLE;
    root.appendChild(style);

    var banner = element("div", "banner");
    banner.setAttribute("role", "region");
    banner.setAttribute("aria-label", "Service status");
    banner.style.background = COLOURS[incident.impact] || COLOURS.none;

    var text = element("div", "text");
    text.setAttribute("role", "status");
    text.appendChild(element("span", "name", incident.name));
    var label = STATUS_LABELS[incident.status] || String(incident.status).replace(/_/g, " ");
    text.appendChild(element("span", "status", " \u2014 " + label + " "));
    var link = element("a", "", "View status");
    link.href = safeLink(incident.shortlink);
    link.target = "_blank";
    link.rel = "noopener";
    text.appendChild(link);
    if (others > 0) {
      var more = element("a", "more", "and " + others + " more on the status page");
      more.href = statusUrl;
      more.target = "_blank";
      more.rel = "noopener";
      text.appendChild(more);
    }
    banner.appendChild(text);

    var close = element("button", "", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss the status message");
    close.addEventListener("click", function () {
      dismiss(incident);
    });
    banner.appendChild(close);

    root.appendChild(banner);
    document.body.appendChild(host);
  }

  function render(summary) {
    var items = activeItems(summary);
    var shown = items.filter(function (item) {
      return !isDismissed(item);
    });
    if (shown.length === 0) {
      removeBanner();
      return;
    }
    showBanner(shown[0], items.length - 1);
  }

  function refresh() {
    if (!window.fetch) {
      return;
    }
    window
      .fetch(statusUrl + "/api/v2/summary.json", { credentials: "omit" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status page answered " + response.status);
        }
        return response.json();
      })
      .then(render)
      .catch(function () {
        // The status page is unreachable: leave the host page as it is.
      });
  }

  function start() {
    refresh();
    window.setInterval(refresh, REFRESH_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
