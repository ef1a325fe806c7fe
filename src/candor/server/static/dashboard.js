// Candor dashboard: asks for the admin token, then draws /v1/stats/* answers with Chart.js.
// The token lives in this tab's sessionStorage and travels only in the Authorization header.
// Filters live in the URL's #fragment (never sent to a server), so a view can be bookmarked.
"use strict";

(function () {
  const TOKEN_KEY = "candor.admin-token";
  const SECTIONS = ["overview", "commands", "performance", "errors", "installations", "adoption", "platforms"];
  const FILTERS = [["f-command", "command"], ["f-version", "cli_version"], ["f-os", "os_arch"], ["f-interactive", "interactive"]];
  const PALETTE = ["#2563eb", "#f97316", "#10b981", "#a855f7", "#ef4444", "#14b8a6", "#eab308", "#64748b", "#ec4899", "#84cc16"];
  const TOP_ERRORS = 10;
  const RELEASE_LINES = 6; // the busiest commands get a line in "p90 by release"
  const ALL_TIME = "since=3660d"; // the longest range the API answers: every version ever seen
  const ENDPOINT_VARIABLE = "YOUR_PLATFORM_TELEMETRY_ENDPOINT"; // the demo CLI's; yours has its own prefix
  const charts = {};
  const numbers = new Intl.NumberFormat();
  let generation = 0; // answers of an older load are dropped when a newer one started
  let hidden = {}; // table → names `candor publish` would hide (GET /v1/stats/public)
  const versionColours = new Map();

  const $ = (id) => document.getElementById(id);
  const percent = (x) => (x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0) + " %";
  const setState = (state) => { document.body.dataset.state = state; };
  const pub = (kind, name) => (hidden[kind] && hidden[kind].has(name) ? `${name} ⊘` : name);

  class AuthError extends Error {}

  async function api(path, params) {
    const token = sessionStorage.getItem(TOKEN_KEY) || "";
    const response = await fetch(`/v1/stats/${path}?${params}`, {
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store",
      credentials: "omit",
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) throw new AuthError(body.message || "the token was refused");
    if (!response.ok) throw new Error(body.message || `the collector answered ${response.status}`);
    return body;
  }

  function rangeParams() {
    const params = new URLSearchParams();
    if ($("f-range").value === "custom") {
      if ($("f-from").value) params.set("from", $("f-from").value);
      if ($("f-to").value) params.set("to", $("f-to").value);
    } else {
      params.set("since", $("f-range").value);
    }
    return params;
  }

  function allParams() {
    const params = rangeParams();
    for (const [id, name] of FILTERS) if ($(id).value) params.set(name, $(id).value);
    return params;
  }

  function restoreFromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.get("from") || params.get("to")) {
      $("f-range").value = "custom";
      $("f-from").value = params.get("from") || "";
      $("f-to").value = params.get("to") || "";
    } else if (params.get("since")) {
      ensureOption($("f-range"), params.get("since"));
    }
    for (const [id, name] of FILTERS) if (params.get(name)) ensureOption($(id), params.get(name));
    $("filters").classList.toggle("with-custom", $("f-range").value === "custom");
  }

  function ensureOption(select, value) {
    if (![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
    select.value = value;
  }

  function fillMenu(select, values) {
    const current = select.value;
    select.length = 1; // keep "All"
    for (const value of values) select.add(new Option(value, value));
    if (current) ensureOption(select, current);
  }

  async function load() {
    const mine = ++generation;
    setState("loading");
    $("problem").textContent = "";
    const params = allParams();
    history.replaceState(null, "", `#${params}`);
    try {
      const [dimensions, allTime, marks, ...answers] = await Promise.all([
        api("dimensions", rangeParams()), api("dimensions", ALL_TIME), api("public", params),
        ...SECTIONS.map((name) => api(name, params))]);
      if (mine !== generation) return;
      hidden = {};
      for (const [kind, names] of Object.entries(marks.data.hidden)) hidden[kind] = new Set(names.map(String));
      $("public-k").textContent = String(marks.data.min_installations);
      fillMenu($("f-command"), dimensions.data.commands);
      fillMenu($("f-version"), dimensions.data.cli_versions);
      fillMenu($("f-os"), dimensions.data.os_archs);
      const data = {};
      SECTIONS.forEach((name, i) => { data[name] = answers[i].data; });
      // A release keeps its colour whatever the range: its place among all versions ever seen.
      allTime.data.cli_versions.forEach((v, i) => versionColours.set(v, PALETTE[i % PALETTE.length]));
      const empty = emptiness(data.overview, allTime.data);
      document.body.dataset.empty = empty;
      if (!empty) render(data, answers[0]);
      else showEmpty(empty, answers[0]);
      setState("ready");
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin("The collector refused this token.");
        return;
      }
      $("problem").textContent = `Could not load: ${error.message}`;
      setState("error");
    }
  }

  // "" when there is something to draw; "store" when no event ever arrived; "range" when none
  // is in this range or matches these filters.
  function emptiness(overview, allTime) {
    if (overview.events > 0) return "";
    return allTime.commands.length === 0 ? "store" : "range";
  }

  function showEmpty(kind, envelope) {
    const range = envelope.range;
    $("range-label").textContent = `${range.start} to ${range.end} (UTC), ${range.days} day${range.days === 1 ? "" : "s"}`;
    const endpoint = `${location.origin}/v1/event`;
    $("empty-title").textContent = kind === "store"
      ? "No events yet"
      : "No events in this range or with these filters";
    $("empty-endpoint").textContent = endpoint;
    $("empty-command").textContent = `${ENDPOINT_VARIABLE}=${endpoint} your-cli build`;
  }

  function showLogin(message) {
    $("login-problem").textContent = message || "";
    $("token").value = "";
    setState("login");
    $("token").focus();
  }

  // ------------------------------------------------------------------ drawing

  function draw(id, config, points) {
    if (charts[id]) charts[id].destroy();
    delete charts[id];
    const canvas = $(id);
    canvas.dataset.points = String(points);
    // Nothing to draw: a sentence instead of empty axes running 0 to 1.
    canvas.parentElement.classList.toggle("nothing", points === 0);
    if (points === 0) return;
    if (config.options && config.options.indexAxis === "y") { // one readable row per bar group
      canvas.parentElement.style.height = `${Math.max(240, 90 + 34 * config.data.labels.length)}px`;
    }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new Chart(canvas, config);
  }

  function bars(labels, sets, options) {
    return {
      type: "bar",
      data: { labels, datasets: sets.map((s, i) => Object.assign({ backgroundColor: PALETTE[i % PALETTE.length], borderRadius: 3 }, s)) },
      options: options || {},
    };
  }

  function oneAxis(label) { // horizontal bars, every bar on the same scale so lengths compare
    return {
      indexAxis: "y",
      scales: {
        y: { ticks: { autoSkip: false } },
        x: { position: "bottom", title: { display: true, text: label }, beginAtZero: true, ticks: { precision: 0 } },
      },
    };
  }

  // Doughnut legends and tooltips with each slice's share, e.g. "linux-x86_64 · 45 %".
  function doughnut(labels, values, shares, colours) {
    return {
      type: "doughnut",
      data: {
        labels: labels.map((label, i) => `${label} · ${percent(shares[i])}`),
        datasets: [{ data: values, backgroundColor: colours }],
      },
      options: {
        plugins: {
          legend: { position: "right" },
          tooltip: { callbacks: { label: (c) => `${numbers.format(c.parsed)} (${percent(shares[c.dataIndex])})` } },
        },
      },
    };
  }

  // The last day of a range that ends today is not over: drawn dashed and labelled "so far".
  function partialDay(days) {
    const today = new Date().toISOString().slice(0, 10);
    return days.length && days[days.length - 1] === today ? days.length - 1 : -1;
  }

  const percentAxis = { y: { beginAtZero: true, ticks: { callback: (v) => percent(v) } } };
  const percentTooltip = { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${percent(c.parsed.y)}` } } };

  function render(data, envelope) {
    const range = envelope.range;
    $("range-label").textContent = `${range.start} to ${range.end} (UTC), ${range.days} day${range.days === 1 ? "" : "s"}`;
    $("percentile-method").textContent = envelope.percentile_method;
    $("distinct-method").textContent = envelope.distinct_method === "exact" ? "exactly" : envelope.distinct_method;

    const o = data.overview;
    setValue("ov-events", o.events, numbers.format(o.events));
    setValue("ov-installations", o.installations, numbers.format(o.installations));
    setValue("ov-new", o.new_installations, numbers.format(o.new_installations));
    setValue("ov-failure-rate", o.failure_rate, percent(o.failure_rate));
    setValue("ov-interactive", o.interactive_share, percent(o.interactive_share));

    const daily = data.installations.daily;
    const partial = partialDay(daily.map((d) => d.day));
    const dashed = { borderDash: (c) => (c.p1DataIndex === partial ? [5, 4] : undefined) };
    draw("chart-active", {
      type: "line",
      data: {
        labels: daily.map((d, i) => (i === partial ? `${d.day} (so far)` : d.day)),
        datasets: [
          { label: "Active", data: daily.map((d) => d.active), borderColor: PALETTE[0], backgroundColor: "rgba(37,99,235,.12)", fill: true, cubicInterpolationMode: "monotone", pointRadius: 0, segment: dashed },
          { label: "New", data: daily.map((d) => d.new), borderColor: PALETTE[1], cubicInterpolationMode: "monotone", pointRadius: 0, segment: dashed },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, interaction: { mode: "index", intersect: false } },
    }, daily.length);
    $("chart-active").dataset.partialDay = partial >= 0 ? daily[partial].day : "";

    const weekly = data.installations.weekly;
    draw("chart-weekly", bars(
      weekly.map((w) => pub("weeks", w.week) + (w.partial ? " *" : "")),
      [{ label: "Active installations (* part of the week)", data: weekly.map((w) => w.active) }],
      { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }), weekly.length);

    drawAdoption(data.adoption, daily);

    const os = data.platforms.os_arch;
    draw("chart-platforms", doughnut(os.map((s) => pub("os_arch", s.name)), os.map((s) => s.installations),
      os.map((s) => s.installation_share), PALETTE), os.length);

    const commands = data.commands;
    draw("chart-commands", bars(commands.map((c) => pub("commands", c.command)), [
      { label: "Invocations", data: commands.map((c) => c.events) },
      { label: "Installations", data: commands.map((c) => c.installations) },
    ], oneAxis("invocations or installations")), commands.length);

    const kinds = data.platforms.interactive;
    draw("chart-interactive", doughnut(
      kinds.map((s) => (s.name === "ci" ? "CI & scripts" : "Interactive")), kinds.map((s) => s.events),
      kinds.map((s) => s.event_share), kinds.map((s) => (s.name === "ci" ? PALETTE[7] : PALETTE[0]))), kinds.length);

    const latency = data.performance.by_command;
    draw("chart-latency", bars(latency.map((l) => pub("latency", l.command)), [
      { label: "p50", data: latency.map((l) => l.p50) },
      { label: "p90", data: latency.map((l) => l.p90) },
      { label: "p99", data: latency.map((l) => l.p99) },
    ], { scales: { y: { type: "logarithmic", title: { display: true, text: "ms" } } } }), latency.length);

    drawReleases(data.performance.by_version, commands, data.adoption.versions);
    showRegressions(data.performance.by_version);

    const top = data.errors.top.slice(0, TOP_ERRORS);
    draw("chart-errors", bars(top.map((e) => pub("error_code", e.error_code)), [
      { label: "Occurrences", data: top.map((e) => e.events), backgroundColor: PALETTE[4] },
      { label: "Installations hit", data: top.map((e) => e.installations), backgroundColor: PALETTE[7] },
    ], oneAxis("occurrences or installations")), top.length);

    const byVersion = data.errors.failure_by_version;
    draw("chart-failure-version", bars(byVersion.map((r) => r.name),
      [{ label: "Failure rate", data: byVersion.map((r) => r.rate), backgroundColor: PALETTE[4] }],
      { scales: percentAxis, plugins: percentTooltip }), byVersion.length);

    const byCommand = data.errors.failure_by_command;
    draw("chart-failure-command", bars(byCommand.map((r) => r.name),
      [{ label: "Failure rate", data: byCommand.map((r) => r.rate), backgroundColor: PALETTE[4] }],
      { scales: percentAxis, plugins: percentTooltip }), byCommand.length);
  }

  function setValue(id, raw, text) {
    $(id).textContent = text;
    $(id).dataset.value = String(raw);
  }

  function drawAdoption(adoption, daily) {
    // Every day of the range; a day nobody was active has no share at all (a gap, not 0 %).
    const days = daily.map((d) => d.day);
    const partial = partialDay(days);
    const active = new Set(daily.filter((d) => d.active > 0).map((d) => d.day));
    const versions = adoption.versions.map((v) => v.cli_version);
    const share = new Map(adoption.daily.map((v) => [`${v.day} ${v.cli_version}`, v.share]));
    const colour = (version, i) => versionColours.get(version) || PALETTE[i % PALETTE.length];
    draw("chart-adoption", {
      type: "line",
      data: {
        labels: days.map((day, i) => (i === partial ? `${day} (so far)` : day)),
        datasets: versions.map((version, i) => ({
          label: pub("cli_version", version),
          data: days.map((day) => (active.has(day) ? share.get(`${day} ${version}`) ?? 0 : null)),
          borderColor: colour(version, i),
          backgroundColor: colour(version, i),
          segment: { borderDash: (c) => (c.p1DataIndex === partial ? [5, 4] : undefined) },
          cubicInterpolationMode: "monotone",
          pointRadius: days.length > 45 ? 0 : 2,
        })),
      },
      options: { scales: percentAxis, plugins: percentTooltip, interaction: { mode: "index", intersect: false } },
    }, adoption.daily.length);
  }

  function drawReleases(byVersion, commands, versionSummary) {
    const versions = versionSummary.map((v) => v.cli_version);
    const busiest = commands.slice(0, RELEASE_LINES).map((c) => c.command);
    const p90 = new Map(byVersion.map((r) => [`${r.command} ${r.cli_version}`, r.p90]));
    draw("chart-releases", {
      type: "line",
      data: {
        labels: versions,
        datasets: busiest.map((command, i) => ({
          label: command,
          data: versions.map((v) => p90.get(`${command} ${v}`) ?? null),
          borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length],
          spanGaps: true,
        })),
      },
      options: { scales: { y: { type: "logarithmic", title: { display: true, text: "p90 ms" } } } },
    }, byVersion.length);
  }

  function showRegressions(byVersion) {
    const flagged = byVersion.filter((r) => r.regression);
    const box = $("regressions");
    box.replaceChildren();
    if (!flagged.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "No release is markedly slower than the one before it (p90 at least 25 % worse, with 200 runs or more on each side).";
      box.append(p);
      return;
    }
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>Command</th><th>Release</th><th class='num'>p90</th><th class='num'>vs previous</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const r of flagged) {
      const row = body.insertRow();
      row.insertCell().textContent = r.command;
      row.insertCell().textContent = `${r.previous_version} → ${r.cli_version}`;
      const ms = row.insertCell();
      ms.className = "num";
      ms.textContent = `${numbers.format(r.p90)} ms`;
      const change = row.insertCell();
      change.className = "num";
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = `+${Math.round((r.p90_ratio - 1) * 100)} %`;
      change.append(badge);
    }
    table.append(body);
    box.append(table);
  }

  // ------------------------------------------------------------------ wiring

  document.addEventListener("DOMContentLoaded", () => {
    restoreFromHash();
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      load();
    });
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("filters").addEventListener("change", (event) => {
      const custom = $("f-range").value === "custom";
      $("filters").classList.toggle("with-custom", custom);
      if (custom && event.target.id === "f-range") return; // wait for the dates
      load();
    });
    $("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("");
    });
    if (sessionStorage.getItem(TOKEN_KEY)) load();
    else showLogin("");
  });
})();
