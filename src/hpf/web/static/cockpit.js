/* The leadership cockpit's charts (领导驾驶舱): each <div data-chart="binding"> is drawn with
   ECharts from the JSON of <script type="application/json" id="cockpit-data"> (no inline scripts:
   CSP script-src 'self'). Monthly bars for this year and the same months of last year, the
   cumulative line and, for the whole centre, the annual target. Drawn again after htmx swaps
   the trends (branch drill-down). A drawn chart gets data-drawn="1" (the browser test waits). */
(function () {
  "use strict";
  var COLORS = ["#0d6efd", "#adb5bd", "#198754", "#dc3545"];

  function readData() {
    var el = document.getElementById("cockpit-data");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent || "{}"); } catch (e) { return null; }
  }

  function option(chart) {
    var series = [
      { name: chart.series[0].name, type: "bar", data: chart.series[0].data },
      { name: chart.series[1].name, type: "bar", data: chart.series[1].data },
      { name: chart.cumulative_name, type: "line", yAxisIndex: 1, data: chart.cumulative, smooth: true }
    ];
    if (chart.target !== null && chart.target !== undefined) {
      series[2].markLine = {
        symbol: "none", lineStyle: { type: "dashed", color: COLORS[3] },
        label: { formatter: chart.target_name + " {c}" }, data: [{ yAxis: chart.target }]
      };
    }
    return {
      animation: false,
      color: COLORS,
      textStyle: { fontSize: 15 },
      tooltip: { trigger: "axis" },
      legend: { top: 0, textStyle: { fontSize: 15 } },
      grid: { left: 60, right: 70, top: 50, bottom: 40 },
      xAxis: { type: "category", data: chart.months, axisLabel: { fontSize: 14 } },
      yAxis: [
        { type: "value", axisLabel: { fontSize: 14 } },
        { type: "value", axisLabel: { fontSize: 14 }, splitLine: { show: false } }
      ],
      series: series
    };
  }

  function drawAll() {
    if (typeof window.echarts === "undefined") { return; }
    var data = readData();
    if (!data || !data.charts) { return; }
    var nodes = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (node) {
      var chart = data.charts[node.getAttribute("data-chart")];
      if (!chart) { return; }
      var instance = window.echarts.getInstanceByDom(node) || window.echarts.init(node, null, { renderer: "canvas" });
      instance.on("finished", function () { node.setAttribute("data-drawn", "1"); });
      instance.setOption(option(chart), true);
    });
  }

  function resizeAll() {
    if (typeof window.echarts === "undefined") { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (node) {
      var instance = window.echarts.getInstanceByDom(node);
      if (instance) { instance.resize(); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", drawAll);
  window.addEventListener("resize", resizeAll);
})();
