// Draws every chart a page carries: a JSON block `<script type="application/json"
// data-chart="ID">` with {days, topics, series} becomes a uPlot line chart in the element ID (no
// inline script, so the Content-Security-Policy can forbid them).
(function () {
  if (typeof uPlot === "undefined") return;
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  document.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (block) {
    var el = document.getElementById(block.getAttribute("data-chart"));
    if (!el) return;
    var d = JSON.parse(block.textContent);
    if (!d.days.length) { el.textContent = "—"; return; }
    var xs = d.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    var series = [{}].concat(d.topics.map(function (t, i) {
      return { label: t, stroke: palette[i % palette.length], width: 2 };
    }));
    var height = el.classList.contains("small") ? 200 : 300;
    new uPlot({ width: Math.min(960, el.clientWidth || 960), height: height, series: series }, [xs].concat(d.series), el);
    el.setAttribute("data-drawn", "true");
  });
})();
