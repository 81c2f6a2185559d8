// The dashboard's only script: the theme toggle and the live event stream. No inline scripts
// (the CSP forbids them); rows are built with DOM calls, never innerHTML, so event text is inert.
(function () {
  "use strict";

  function toggleTheme() {
    var root = document.documentElement;
    var current = root.getAttribute("data-theme") ||
      (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    var next = current === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { window.localStorage.setItem("wm-theme", next); } catch (e) { /* private mode */ }
  }

  function formatWhen(iso) {
    return iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
  }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    return td;
  }

  function eventRow(e) {
    var tr = document.createElement("tr");
    tr.className = "sev-" + e.severity + " fresh";
    tr.appendChild(cell(formatWhen(e.occurred_at), "nowrap"));
    var sev = cell("", "");
    var badge = document.createElement("span");
    badge.className = "badge sev-" + e.severity;
    badge.textContent = e.severity;
    sev.appendChild(badge);
    tr.appendChild(sev);
    tr.appendChild(cell(e.site, "hide-narrow"));
    var kind = cell("", "hide-narrow");
    var code = document.createElement("code");
    code.textContent = e.kind;
    kind.appendChild(code);
    tr.appendChild(kind);
    var summary = cell("", "");
    var link = document.createElement("a");
    link.href = "/events/" + encodeURIComponent(e.seq);
    link.textContent = e.summary;
    summary.appendChild(link);
    tr.appendChild(summary);
    return tr;
  }

  function startLive(tbody, state) {
    var maxRows = 50;
    var source = new EventSource("/api/v1/stream");
    source.addEventListener("hello", function () {
      state.textContent = "live";
      state.setAttribute("data-state", "live");
    });
    source.addEventListener("event", function (message) {
      var e = JSON.parse(message.data);
      var empty = document.getElementById("no-events");
      if (empty) { empty.remove(); }
      tbody.insertBefore(eventRow(e), tbody.firstChild);
      while (tbody.children.length > maxRows) { tbody.removeChild(tbody.lastChild); }
    });
    source.addEventListener("end", function () {
      source.close();  // logged out, token revoked or user disabled: reconnecting cannot help
      state.textContent = "stopped: log in again";
      state.setAttribute("data-state", "stopped");
    });
    source.onerror = function () {
      state.textContent = "reconnecting…";
      state.setAttribute("data-state", "reconnecting");
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-toggle");
    if (toggle) { toggle.addEventListener("click", toggleTheme); }
    var tbody = document.getElementById("live-events");
    var state = document.getElementById("live-state");
    if (tbody && state && window.EventSource) { startLive(tbody, state); }
  });
})();
