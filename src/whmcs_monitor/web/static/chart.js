// Draws a check's latency with uPlot from the check's JSON twin (data-src on the chart element).
(function () {
  "use strict";
  function draw(el, points) {
    var xs = points.map(function (p) { return Date.parse(p[0]) / 1000; });
    var ys = points.map(function (p) { return p[1]; });
    var style = getComputedStyle(document.documentElement);
    var stroke = style.getPropertyValue("--accent").trim() || "#2158d6";
    var axis = { stroke: style.getPropertyValue("--muted").trim(), grid: { stroke: style.getPropertyValue("--line").trim() } };
    var opts = {
      width: el.clientWidth, height: 260,
      series: [{}, { label: "latency (ms)", stroke: stroke, width: 2 }],
      axes: [axis, axis],
    };
    var plot = new window.uPlot(opts, [xs, ys], el);
    window.addEventListener("resize", function () { plot.setSize({ width: el.clientWidth, height: 260 }); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("latency-chart");
    if (!el || !window.uPlot) { return; }
    fetch(el.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (doc) { draw(el, doc.latency || []); });
  });
})();
