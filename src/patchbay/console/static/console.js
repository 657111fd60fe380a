// Patchbay console: draws the usage charts from the page's JSON data block (no inline script:
// the Content-Security-Policy allows scripts from /ui/static only). uPlot is vendored beside it.
"use strict";
(function () {
  function data() {
    var node = document.getElementById("chart-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function width(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width) || 560);
  }

  function dayChart(el, d) {
    var xs = d.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    var opts = {
      width: width(el), height: 220,
      series: [
        {},
        { label: "points", stroke: "#2f6fde", fill: "rgba(47,111,222,0.12)", width: 2 },
        { label: "calls", stroke: "#999", width: 1, scale: "calls" }
      ],
      axes: [{}, { label: "points" }, { side: 1, scale: "calls", grid: { show: false } }],
      scales: { x: { time: true } }
    };
    return new uPlot(opts, [xs, d.points, d.calls], el);
  }

  function modelChart(el, d) {
    var xs = d.models.map(function (_, i) { return i; });
    var opts = {
      width: width(el), height: 220,
      series: [
        { value: function (u, v) { return d.models[v] || ""; } },
        { label: "points", stroke: "#1b9e77", fill: "rgba(27,158,119,0.35)",
          paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }
      ],
      axes: [
        { values: function (u, splits) { return splits.map(function (v) { return d.models[v] || ""; }); },
          incrs: [1] },
        { label: "points" }
      ],
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, xs.length - 0.5)] } }
    };
    return new uPlot(opts, [xs, d.model_points], el);
  }

  function draw() {
    var d = data();
    if (!d || typeof uPlot === "undefined") return;
    var charts = { days: dayChart, models: modelChart };
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var make = charts[el.getAttribute("data-chart")];
      if (!make) return;
      make(el, d);
      var values = el.getAttribute("data-chart") === "days" ? d.points : d.model_points;
      el.setAttribute("data-total", String(values.reduce(function (a, b) { return a + b; }, 0)));
      el.setAttribute("data-drawn", "true");
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
