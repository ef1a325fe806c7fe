/* Candor public report: draws the charts from the figures in the page's JSON data block.
   No fetch, no storage, no other origin (the page's CSP forbids them anyway). */
(function () {
  "use strict";
  const figures = JSON.parse(document.getElementById("report-data").textContent);
  const PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#ec4899"];

  function draw(id, type, labels, sets, options) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    canvas.setAttribute("data-points", String(labels.length));
    new Chart(canvas, {
      type: type,
      data: {
        labels: labels,
        datasets: sets.map((s, i) => Object.assign({ backgroundColor: PALETTE[i % PALETTE.length], borderColor: PALETTE[i % PALETTE.length], borderRadius: 3 }, s)),
      },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: sets.length > 1 } } }, options || {}),
    });
  }

  function horizontal(id, rows, label) {
    draw(id, "bar", rows.map((r) => r.name), [{ label: label, data: rows.map((r) => r.installations) }], { indexAxis: "y" });
  }

  if (!figures.withheld && typeof Chart !== "undefined") {
    const weeks = figures.weekly_active.rows;
    draw("chart-weekly", "bar", weeks.map((w) => w.week + (w.partial ? " (partial)" : "")),
      [{ label: "active installations", data: weeks.map((w) => w.installations) }]);
    horizontal("chart-commands", figures.commands.rows, "installations");
    const durations = figures.durations_by_command.rows;
    draw("chart-durations", "bar", durations.map((r) => r.command),
      [{ label: "p50 (ms)", data: durations.map((r) => r.p50) }, { label: "p90 (ms)", data: durations.map((r) => r.p90) }]);
    horizontal("chart-errors", figures.errors.rows, "installations hit");
    horizontal("chart-platforms", figures.platforms.rows, "installations");
    horizontal("chart-versions", figures.versions.rows, "installations");
    document.body.setAttribute("data-state", "ready");
  } else {
    document.body.setAttribute("data-state", figures.withheld ? "withheld" : "no-charts");
  }
})();
