/* Draws the report's charts with the vendored Chart.js (assets/chart.umd.min.js).
 * Each page carries its chart specs as JSON in <script type="application/json" id="report-data">:
 * {"charts": [{"canvas": id, "type": "bar"|"line", "title", "unit", "labels": [...],
 *              "datasets": [{"label", "data": [...]}], "highlight": [bool, ...]?}]}
 * Labels are drawn on the canvas, never inserted into the DOM as HTML.
 */
(function () {
  "use strict";

  var node = document.getElementById("report-data");
  if (!node) {
    return;
  }
  var spec;
  try {
    spec = JSON.parse(node.textContent || "{}");
  } catch (err) {
    return;
  }
  var charts = spec.charts || [];

  function fallback(message) {
    charts.forEach(function (c) {
      var canvas = document.getElementById(c.canvas);
      if (!canvas || !canvas.parentNode) {
        return;
      }
      var p = document.createElement("p");
      p.className = "note";
      p.textContent = message;
      canvas.parentNode.replaceChild(p, canvas);
    });
  }

  if (typeof window.Chart === "undefined") {
    fallback(node.getAttribute("data-unavailable") || "Chart library not loaded.");
    return;
  }

  var BLUE = "#2f6fb3";
  var BLUE_FILL = "rgba(47, 111, 179, 0.75)";
  var RED_FILL = "rgba(200, 62, 62, 0.8)";
  // One colour per series when a chart has several (KPI trends, rep vs team median).
  var PALETTE = ["#2f6fb3", "#9aa5b1", "#d9822b", "#3d9970", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"];

  function fmt(value, unit) {
    if (value === null || value === undefined || isNaN(value)) {
      return "—";
    }
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 }) + (unit || "");
  }

  charts.forEach(function (c) {
    var canvas = document.getElementById(c.canvas);
    if (!canvas) {
      return;
    }
    var several = (c.datasets || []).length > 1;
    var datasets = (c.datasets || []).map(function (ds, n) {
      var out = { label: ds.label, data: ds.data };
      if (several) {
        var colour = PALETTE[n % PALETTE.length];
        out.borderColor = colour;
        out.backgroundColor = colour;
        if (c.type === "line") {
          out.pointRadius = 3;
          out.tension = 0.2;
          out.spanGaps = true;
        } else {
          out.borderRadius = 3;
          out.maxBarThickness = 32;
        }
      } else if (c.type === "line") {
        out.borderColor = BLUE;
        out.backgroundColor = BLUE_FILL;
        out.pointRadius = 3;
        out.tension = 0.2;
        out.spanGaps = true;
      } else {
        out.backgroundColor = (ds.data || []).map(function (_, i) {
          return c.highlight && c.highlight[i] ? RED_FILL : BLUE_FILL;
        });
        out.borderRadius = 3;
        out.maxBarThickness = 48;
      }
      return out;
    });
    new window.Chart(canvas, {
      type: c.type,
      data: { labels: c.labels || [], datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return fmt(ctx.parsed.y, c.unit);
              },
            },
          },
        },
        scales: {
          y: {
            beginAtZero: true,
            ticks: {
              callback: function (value) {
                return fmt(value, c.unit);
              },
            },
          },
        },
      },
    });
  });
})();
