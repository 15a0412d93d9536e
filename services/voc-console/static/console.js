// Draws the product view's volume chart from the JSON block the page carries (no inline script,
// so the Content-Security-Policy can forbid them).
(function () {
  var el = document.getElementById("chart");
  var data = document.getElementById("chart-data");
  if (!el || !data || typeof uPlot === "undefined") return;
  var d = JSON.parse(data.textContent);
  if (!d.days.length) { el.textContent = "—"; return; }
  var xs = d.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var series = [{}].concat(d.topics.map(function (t, i) {
    return { label: t, stroke: palette[i % palette.length], width: 2 };
  }));
  new uPlot({ width: Math.min(960, el.clientWidth || 960), height: 300, series: series }, [xs].concat(d.series), el);
  el.setAttribute("data-drawn", "true");
})();
