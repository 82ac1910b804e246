// The console's monitoring: a function's Monitoring tab (its AWS/Lambda metrics over 1 h,
// 24 h or 7 d, from the server's own CloudWatch with GetMetricData), its Cost tab (the
// metered use priced by GET /_hearth/cost, and power tuning run by POST /_hearth/tune/<name>),
// and the function list's sparklines of the last hour. The charts are inline SVG drawn here
// (no library, nothing from another site), each with a text alternative: a summary the chart
// is labelled by, and a table of its figures.
import { alertBox, api, apiJson, el, field, onLeave, registerListColumn, registerTab } from "./core.js";

// ---- CloudWatch ----------------------------------------------------------------------------

const NAMESPACE = "AWS/Lambda";

/** A CloudWatch operation in its AWS JSON 1.0 protocol, as the signed-in principal. */
async function cloudwatch(operation, body) {
  const resp = await api("POST", "/", JSON.stringify(body), {
    "X-Amz-Target": `GraniteServiceVersion20100801.${operation}`,
    "Content-Type": "application/x-amz-json-1.0",
  });
  return resp.json();
}

/** A query of one AWS/Lambda metric of a function. */
function metricQuery(id, functionName, metric, stat, period) {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: NAMESPACE, MetricName: metric, Dimensions: [{ Name: "FunctionName", Value: functionName }] },
      Period: period,
      Stat: stat,
    },
  };
}

/** GetMetricData, every page of it: `Map(id -> Map(epoch seconds -> value))`. */
async function metricData(queries, start, end) {
  const out = new Map(queries.map((q) => [q.Id, new Map()]));
  let token;
  do {
    const body = { MetricDataQueries: queries, StartTime: start, EndTime: end, ScanBy: "TimestampAscending" };
    if (token) body.NextToken = token;
    const page = await cloudwatch("GetMetricData", body);
    for (const r of page.MetricDataResults || []) {
      const points = out.get(r.Id) || new Map();
      (r.Timestamps || []).forEach((t, i) => points.set(Number(t), r.Values[i]));
      out.set(r.Id, points);
    }
    token = page.NextToken;
  } while (token);
  return out;
}

/** `count` periods ending with the one now is in: their start times (epoch seconds). */
function buckets(period, count) {
  const now = Math.floor(Date.now() / 1000);
  const last = now - (now % period);
  return { start: last - (count - 1) * period, end: now + 1, times: Array.from({ length: count }, (_, i) => last - (count - 1 - i) * period) };
}

// ---- formatting ----------------------------------------------------------------------------

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const significant = new Intl.NumberFormat("en", { maximumSignificantDigits: 6 });

function fmt(value, unit) {
  if (value === null || value === undefined) return "—";
  if (unit === "ms") return `${decimal.format(value)} ms`;
  return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

function plural(n, noun) {
  return `${fmt(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function usd(value) {
  if (!value) return "$0.00";
  return `$${new Intl.NumberFormat("en", { maximumSignificantDigits: 4 }).format(value)}`;
}

function timeLabel(epochSeconds, withDay) {
  const d = new Date(epochSeconds * 1000);
  const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (withDay) opts.weekday = "short";
  return d.toLocaleString([], opts);
}

function fullTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// ---- SVG ------------------------------------------------------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element (attributes set as they are; children appended). */
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A round number at or above `v` (1, 2 or 4 times a power of ten: its half is round too),
 * for an axis's top. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const CHART = { width: 440, height: 180, left: 50, right: 10, top: 12, bottom: 28 };

/**
 * A chart of `series` (each `{label, values: [number|null per time], cls}`) over `times` (the
 * periods' starts): bars for one count series, lines otherwise; axes with their labels. The
 * SVG is an image labelled by `labelledBy` (the summary beside it).
 */
function drawChart({ times, period, series, kind, unit, withDay, labelledBy }) {
  const { width, height, left, right, top, bottom } = CHART;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = series.flatMap((s) => s.values).filter((v) => v !== null);
  // Counts have whole-number gridlines: the top is at least 2.
  const max = niceMax(Math.max(unit === "ms" ? 0 : 2, ...all));
  const slot = plotW / Math.max(1, times.length);
  const x = (i) => left + i * slot;
  const y = (v) => top + plotH - (v / max) * plotH;
  const parts = [];
  for (const frac of [0, 0.5, 1]) {
    const yy = y(max * frac);
    parts.push(svg("line", { class: "grid", x1: left, x2: width - right, y1: yy, y2: yy }));
    parts.push(svg("text", { class: "axis", x: left - 6, y: yy + 4, "text-anchor": "end" }, fmt(max * frac, unit)));
  }
  // Three time labels: they fit a phone's width.
  const ticks = 2;
  for (let k = 0; k <= ticks; k++) {
    const i = Math.min(times.length - 1, Math.round((k * (times.length - 1)) / ticks));
    const anchor = k === 0 ? "start" : k === ticks ? "end" : "middle";
    const xx = k === ticks ? x(i) + slot : x(i);
    parts.push(svg("text", { class: "axis", x: xx, y: height - 8, "text-anchor": anchor }, timeLabel(times[i], withDay)));
  }
  parts.push(svg("line", { class: "axis-line", x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }));
  if (kind === "bar") {
    const s = series[0];
    s.values.forEach((v, i) => {
      if (!v) return;
      const h = Math.max(1, (v / max) * plotH);
      parts.push(
        svg(
          "rect",
          { class: `bar ${s.cls || ""}`, x: x(i) + slot * 0.1, y: top + plotH - h, width: Math.max(1, slot * 0.8), height: h },
          svg("title", {}, `${timeLabel(times[i], withDay)}: ${fmt(v, unit)}`),
        ),
      );
    });
  } else {
    for (const s of series) {
      let d = "";
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        d += `${pen ? "L" : "M"}${(x(i) + slot / 2).toFixed(1)} ${y(v).toFixed(1)} `;
        pen = true;
        const alone = (i === 0 || s.values[i - 1] === null) && (i === s.values.length - 1 || s.values[i + 1] === null);
        if (alone) parts.push(svg("circle", { class: `dot ${s.cls || ""}`, cx: x(i) + slot / 2, cy: y(v), r: 2.5 }));
      });
      if (d) parts.push(svg("path", { class: `line ${s.cls || ""}`, d: d.trim() }));
    }
  }
  return svg(
    "svg",
    { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": labelledBy, focusable: "false" },
    parts,
  );
}

/** A table of the periods that have data, for the chart's readers (in a <details>). */
function dataTable(caption, times, series, unit, period) {
  const rows = times
    .map((t, i) => ({ t, values: series.map((s) => s.values[i]) }))
    .filter((r) => r.values.some((v) => v !== null && v !== 0));
  if (!rows.length) return el("p", { class: "muted" }, "No data in this range.");
  return scroller(
    `${caption}: the figures`,
    el(
      "table",
      { class: "chart-data" },
      el("caption", {}, `${caption}, per ${periodName(period)} (periods without data left out)`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Period starting"), series.map((s) => el("th", { scope: "col", class: "num" }, s.label)))),
      el(
        "tbody",
        {},
        rows.map((r) => el("tr", {}, el("th", { scope: "row" }, fullTime(r.t)), r.values.map((v) => el("td", { class: "num" }, fmt(v, unit))))),
      ),
    ),
  );
}

/** A table that scrolls sideways on a narrow screen: a region a keyboard can scroll. */
function scroller(label, table) {
  return el("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: 0 }, table);
}

function periodName(period) {
  if (period === 60) return "minute";
  if (period === 3600) return "hour";
  if (period % 60 === 0) return `${period / 60} minutes`;
  return `${period} seconds`;
}

// ---- the Monitoring tab -------------------------------------------------------------------

const RANGES = [
  { id: "1h", label: "Last hour", words: "in the last hour", seconds: 3600, period: 60 },
  { id: "24h", label: "Last 24 hours", words: "in the last 24 hours", seconds: 86400, period: 300 },
  { id: "7d", label: "Last 7 days", words: "in the last 7 days", seconds: 604800, period: 3600, withDay: true },
];

/** The charts: each a metric (or two) of the function, its statistic and how it is drawn. */
const CHARTS = [
  { id: "invocations", title: "Invocations", one: "invocation", kind: "bar", total: true, series: [{ q: "inv", metric: "Invocations", stat: "Sum", label: "Invocations" }] },
  { id: "errors", title: "Errors", one: "error", kind: "bar", total: true, series: [{ q: "err", metric: "Errors", stat: "Sum", label: "Errors", cls: "bad" }] },
  { id: "throttles", title: "Throttles", one: "throttle", kind: "bar", total: true, series: [{ q: "thr", metric: "Throttles", stat: "Sum", label: "Throttles", cls: "warn" }] },
  {
    id: "duration",
    title: "Duration",
    kind: "line",
    unit: "ms",
    gaps: true,
    series: [
      { q: "p50", metric: "Duration", stat: "p50", label: "p50", cls: "s0" },
      { q: "p99", metric: "Duration", stat: "p99", label: "p99", cls: "s1" },
    ],
  },
  { id: "concurrency", title: "Concurrent executions", kind: "line", peak: true, series: [{ q: "conc", metric: "ConcurrentExecutions", stat: "Maximum", label: "Concurrent executions", cls: "s0" }] },
];

/** What a chart's figures say, in a sentence (its text alternative). */
function summary(chart, series, range) {
  if (chart.total) {
    const total = series[0].values.reduce((a, v) => a + (v || 0), 0);
    const most = Math.max(0, ...series[0].values.map((v) => v || 0));
    const noun = total === 1 ? chart.one : chart.title.toLowerCase();
    const tail = total ? ` (at most ${fmt(most)} in one ${periodName(range.period)})` : "";
    return `${fmt(total)} ${noun} ${range.words}${tail}.`;
  }
  if (chart.peak) {
    const most = Math.max(0, ...series[0].values.map((v) => v || 0));
    return `At most ${fmt(most)} at once ${range.words}.`;
  }
  const said = series.map((s) => {
    const known = s.values.filter((v) => v !== null);
    if (!known.length) return null;
    return `${s.label} latest ${fmt(known[known.length - 1], chart.unit)}, highest ${fmt(Math.max(...known), chart.unit)}`;
  });
  if (said.every((s) => s === null)) return `No invocations ${range.words}.`;
  return `${said.filter(Boolean).join("; ")} (per ${periodName(range.period)}).`;
}

function figure(chart, times, series, range) {
  const titleId = `chart-${chart.id}-title`;
  const summaryId = `chart-${chart.id}-summary`;
  const legend =
    series.length > 1
      ? el("ul", { class: "legend", "aria-hidden": "true" }, series.map((s) => el("li", {}, el("span", { class: `swatch ${s.cls}` }), s.label)))
      : null;
  return el(
    "figure",
    { class: "chart", id: `chart-${chart.id}` },
    el("h3", { id: titleId }, chart.title),
    drawChart({ times, period: range.period, series, kind: chart.kind, unit: chart.unit, withDay: range.withDay, labelledBy: `${titleId} ${summaryId}` }),
    legend,
    el("figcaption", { id: summaryId, class: "chart-summary" }, summary(chart, series, range)),
    el("details", {}, el("summary", {}, `${chart.title}: the figures`), dataTable(chart.title, times, series, chart.unit, range.period)),
  );
}

async function monitoringTab(panel, name) {
  const range = el(
    "select",
    { name: "range" },
    RANGES.map((r) => el("option", { value: r.id }, r.label)),
  );
  const refresh = el("button", { type: "button" }, "Refresh");
  const readAt = el("p", { class: "muted" });
  // Said to a screen reader when the user asked for the charts, not at each minute's redraw.
  const said = el("p", { class: "skip", role: "status" });
  const charts = el("div", { class: "charts", "aria-busy": "true" });
  panel.replaceChildren(
    el("div", { class: "toolbar" }, field("Time range", range), refresh),
    readAt,
    said,
    charts,
  );
  let generation = 0;
  const load = async (asked) => {
    const mine = ++generation;
    const r = RANGES.find((x) => x.id === range.value) || RANGES[0];
    const count = Math.round(r.seconds / r.period);
    const b = buckets(r.period, count);
    const queries = CHARTS.flatMap((c) => c.series.map((s) => metricQuery(s.q, name, s.metric, s.stat, r.period)));
    charts.setAttribute("aria-busy", "true");
    try {
      const data = await metricData(queries, b.start, b.end);
      if (mine !== generation) return;
      // A table the user opened stays open when the charts are drawn again.
      const open = new Set([...charts.querySelectorAll("details[open]")].map((d) => d.closest("figure").id));
      charts.replaceChildren(
        ...CHARTS.map((c) => {
          const series = c.series.map((s) => {
            const points = data.get(s.q) || new Map();
            return { ...s, values: b.times.map((t) => (points.has(t) ? points.get(t) : c.gaps ? null : 0)) };
          });
          const node = figure(c, b.times, series, r);
          node.querySelector("details").open = open.has(node.id);
          return node;
        }),
      );
      readAt.textContent = `${r.label}, per ${periodName(r.period)}; read at ${new Date().toLocaleTimeString()}.`;
      if (asked) said.textContent = `Charts of the ${r.label.toLowerCase()} drawn: ${charts.querySelector("#chart-invocations figcaption").textContent}`;
    } catch (err) {
      if (mine !== generation) return;
      charts.replaceChildren(alertBox("bad", String(err)));
      readAt.textContent = "";
    } finally {
      if (mine === generation) charts.setAttribute("aria-busy", "false");
    }
  };
  range.addEventListener("change", () => load(true));
  refresh.addEventListener("click", () => load(true));
  // New minutes keep coming while the tab is open.
  const timer = setInterval(() => load(false), 60_000);
  onLeave(() => {
    clearInterval(timer);
    generation++;
  });
  await load(false);
}

// ---- the function list's sparklines -------------------------------------------------------

const SPARK = { period: 300, count: 12, width: 96, height: 24 };

/**
 * The function list's column of sparklines: invocations (bars) and errors (over them) of
 * each function in the last hour, per 5 minutes, with the totals in words beside them.
 * `load(names)` reads every listed function's metrics in one GetMetricData call (two
 * queries a function, split in calls of 500 queries); `cell(name)` draws a function's cell
 * from what was read (a dash before, or when the metrics could not be read).
 */
export function sparklineColumn() {
  const read = new Map();
  let failure = null;
  return {
    label: "Last hour",
    async load(names) {
      const b = buckets(SPARK.period, SPARK.count);
      const perCall = 250;
      try {
        for (let i = 0; i < names.length; i += perCall) {
          const some = names.slice(i, i + perCall);
          const queries = some.flatMap((n, j) => [
            metricQuery(`i${i + j}`, n, "Invocations", "Sum", SPARK.period),
            metricQuery(`e${i + j}`, n, "Errors", "Sum", SPARK.period),
          ]);
          const data = await metricData(queries, b.start, b.end);
          some.forEach((n, j) => {
            const series = (id) => b.times.map((t) => (data.get(id) || new Map()).get(t) || 0);
            read.set(n, { invocations: series(`i${i + j}`), errors: series(`e${i + j}`) });
          });
        }
        failure = null;
      } catch (err) {
        failure = err;
      }
      return failure;
    },
    cell(name) {
      const got = read.get(name);
      if (!got && failure) {
        const why = String(failure);
        return el("span", { class: "spark muted", title: why }, "unavailable", el("span", { class: "skip" }, ` (${why})`));
      }
      if (!got) return el("span", { class: "spark muted" }, "…", el("span", { class: "skip" }, "not read yet"));
      return sparkline(got.invocations, got.errors);
    },
  };
}

function sparkline(invocations, errors) {
  const { width, height } = SPARK;
  const max = Math.max(1, ...invocations, ...errors);
  const slot = width / invocations.length;
  const bar = (v, i, cls) => {
    const h = Math.max(v ? 1 : 0, (v / max) * (height - 2));
    return v ? svg("rect", { class: cls, x: i * slot + 0.5, y: height - h, width: Math.max(1, slot - 1), height: h }) : null;
  };
  const total = invocations.reduce((a, b) => a + b, 0);
  const failed = errors.reduce((a, b) => a + b, 0);
  return el(
    "span",
    { class: "spark" },
    svg(
      "svg",
      { class: "spark-svg", viewBox: `0 0 ${width} ${height}`, width, height, "aria-hidden": "true", focusable: "false" },
      svg("line", { class: "axis-line", x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5 }),
      invocations.map((v, i) => bar(v, i, "bar")),
      errors.map((v, i) => bar(v, i, "bar bad")),
    ),
    el("span", { class: "spark-text" }, `${plural(total, "invocation")}, ${plural(failed, "error")}`),
  );
}

// ---- the Cost tab -------------------------------------------------------------------------

const PERIODS = [
  { id: "1d", label: "Today and yesterday" },
  { id: "7d", label: "Last 7 days" },
  { id: "30d", label: "Last 30 days" },
];

async function costTab(panel, name) {
  const since = el("select", { name: "cost-period" }, PERIODS.map((p) => el("option", { value: p.id }, p.label)));
  const freeTier = el("input", { type: "checkbox", name: "free-tier" });
  const figures = el("div", {});
  const said = el("p", { class: "skip", role: "status" });
  const tuning = el("section", { "aria-labelledby": "tune-title" });
  panel.replaceChildren(
    el("h2", {}, "Metered use"),
    el(
      "div",
      { class: "toolbar" },
      field("Period", since, "whole UTC days, today included"),
      el("div", { class: "field check" }, el("label", {}, freeTier, " Take off AWS's monthly free tier")),
    ),
    said,
    figures,
    tuning,
  );
  const load = async (asked) => {
    const q = new URLSearchParams({ since: since.value, function: name, free_tier: String(freeTier.checked) });
    try {
      const doc = await apiJson("GET", `/_hearth/cost?${q}`);
      figures.replaceChildren(...costFigures(doc, name));
      const f = (doc.Functions || {})[name];
      if (asked) said.textContent = f ? `${plural(f.Requests, "request")}, AWS-equivalent cost ${usd(f.Total)}.` : "No metered use in the period.";
    } catch (err) {
      figures.replaceChildren(alertBox("bad", String(err)));
    }
  };
  since.addEventListener("change", () => load(true));
  freeTier.addEventListener("change", () => load(true));
  tuningSection(tuning, name);
  await load(false);
}

function costFigures(doc, name) {
  const f = (doc.Functions || {})[name];
  const note = el(
    "p",
    { class: "muted" },
    `AWS Lambda prices for ${doc.Region} (${doc.Currency}), read on ${doc.PricesReadOn}; ${doc.FreeTier ? "the free tier taken off each month" : "without the free tier"}. Months: ${(doc.Months || []).join(", ") || "none"}.`,
  );
  if (!f) return [el("p", { id: "cost-none" }, "No metered use of this function in the period."), note];
  const c = f.Charges || {};
  return [
    scroller(
      "Metered use",
      el(
        "table",
        { id: "cost-figures" },
        el("caption", { class: "skip" }, `Metered use of ${name} and its AWS-equivalent cost`),
        el(
          "tbody",
          {},
          [
            ["Requests", fmt(f.Requests)],
            ["GB-seconds", significant.format(f.GbSeconds)],
            ["of which INIT", significant.format(f.InitGbSeconds)],
            ["Provisioned GB-seconds", significant.format(f.ProvisionedGbSeconds)],
            ["Requests charge", usd(c.Requests)],
            ["Duration charge", usd(c.Duration)],
            ["Provisioned concurrency charge", usd(c.Provisioned)],
            ["Ephemeral storage charge", usd(c.Ephemeral)],
            ["AWS-equivalent cost", usd(f.Total)],
            ["Host CPU-seconds (measured, not priced)", significant.format(f.HostCpuSeconds)],
            ["Host memory GB-seconds (measured, not priced)", significant.format(f.HostMemoryGbSeconds)],
          ].map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", { class: "num" }, v))),
        ),
      ),
    ),
    note,
  ];
}

// ---- power tuning -------------------------------------------------------------------------

function tuneKey(name) {
  return `hearth.console.tune.${name}`;
}

/** The power-tuning form and the last run's chart (kept in this browser per function). */
function tuningSection(into, name) {
  const memory = el("input", { name: "tune-memory", value: "128,256,512,1024,1769,3008", spellcheck: "false" });
  const invocations = el("input", { name: "tune-invocations", type: "number", min: 1, max: 10000, value: 10 });
  const strategy = el("select", { name: "tune-strategy" }, ["cost", "speed", "balanced"].map((s) => el("option", { value: s }, s)));
  const payload = el("textarea", { class: "code small", name: "tune-payload", spellcheck: "false" }, "{}");
  const run = el("button", { type: "submit", class: "primary" }, "Run power tuning");
  const out = el("div", { "aria-live": "polite" });
  const result = el("div", {});
  let last = null;
  try {
    last = JSON.parse(localStorage.getItem(tuneKey(name)) || "null");
  } catch (_) {
    last = null;
  }
  if (last) result.replaceChildren(...tuneResult(last));
  // One run at a time; the button keeps the focus (a disabled button would drop it).
  let running = false;
  const form = el(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        if (running) return;
        out.replaceChildren();
        let event;
        try {
          event = JSON.parse(payload.value || "{}");
        } catch (err) {
          out.append(alertBox("bad", `The event is not JSON: ${err.message}`));
          return;
        }
        const sizes = memory.value.split(/[\s,]+/).filter(Boolean).map(Number);
        running = true;
        run.setAttribute("aria-disabled", "true");
        out.append(el("p", { class: "loading" }, `Measuring ${sizes.length} memory sizes, ${invocations.value} invocations each…`));
        try {
          const doc = await apiJson("POST", `/_hearth/tune/${encodeURIComponent(name)}`, {
            Memory: sizes,
            Invocations: Number(invocations.value),
            Strategy: strategy.value,
            Payload: event,
          });
          localStorage.setItem(tuneKey(name), JSON.stringify(doc));
          result.replaceChildren(...tuneResult(doc));
          out.replaceChildren(alertBox("good", `Tuned: ${recommendation(doc)}`));
        } catch (err) {
          out.replaceChildren(alertBox("bad", String(err)));
        } finally {
          running = false;
          run.removeAttribute("aria-disabled");
        }
      },
    },
    el("div", { class: "toolbar" }, field("Memory sizes (MB)", memory, "comma-separated, 128 to 10,240"), field("Invocations per size", invocations), field("Strategy", strategy)),
    field("Event JSON", payload),
    run,
  );
  into.replaceChildren(
    el("h2", { id: "tune-title" }, "Power tuning"),
    el(
      "p",
      { class: "muted" },
      "Runs a copy of this function at each memory size (the function itself is left as it is), and charts its duration and cost per million invocations (hearth tune).",
    ),
    form,
    out,
    result,
  );
}

function recommendation(doc) {
  return doc.Recommended ? `recommended (${doc.Strategy}): ${doc.Recommended} MB.` : "no size recommended.";
}

function tuneResult(doc) {
  const sizes = doc.Sizes || [];
  const summaryText = `${doc.FunctionName}, ${sizes.length} sizes, ${sizes[0] ? sizes[0].Invocations : 0} invocations each: ${recommendation(doc)} Prices of ${doc.Region} ${doc.Architecture}, read on ${doc.PricesReadOn}.`;
  return [
    el(
      "figure",
      { class: "chart", id: "tune-chart" },
      el("h3", { id: "tune-chart-title" }, "Duration (p50) and cost per million invocations by memory size"),
      tuneChart(sizes, doc.Recommended, "tune-chart-title tune-chart-summary"),
      el(
        "ul",
        { class: "legend", "aria-hidden": "true" },
        el("li", {}, el("span", { class: "swatch s0" }), "p50 duration (bars, left axis)"),
        el("li", {}, el("span", { class: "swatch s1" }), "cost per 1M invocations (line, right axis)"),
      ),
      el("figcaption", { id: "tune-chart-summary", class: "chart-summary" }, summaryText),
    ),
    scroller(
      "Power tuning figures",
      el(
        "table",
        { id: "tune-figures" },
        el("caption", {}, "Power tuning figures"),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["Memory (MB)", "p50 (ms)", "p95 (ms)", "Average billed (ms)", "Cost per 1M invocations"].map((h) => el("th", { scope: "col", class: "num" }, h)),
          ),
        ),
        el(
          "tbody",
          {},
          sizes.map((s) =>
            el(
              "tr",
              { class: s.MemoryMB === doc.Recommended ? "recommended" : null },
              el("th", { scope: "row", class: "num" }, `${s.MemoryMB}${s.MemoryMB === doc.Recommended ? " (recommended)" : ""}`),
              el("td", { class: "num" }, decimal.format(s.P50Ms)),
              el("td", { class: "num" }, decimal.format(s.P95Ms)),
              el("td", { class: "num" }, decimal.format(s.AverageBilledMs)),
              el("td", { class: "num" }, usd(s.CostPerMillion)),
            ),
          ),
        ),
      ),
    ),
  ];
}

/** Bars of p50 duration (left axis) and a line of cost per million (right axis) per size. */
function tuneChart(sizes, recommended, labelledBy) {
  const width = 480;
  const height = 220;
  const left = 56;
  const right = 70;
  const top = 14;
  const bottom = 30;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const maxTime = niceMax(Math.max(0, ...sizes.map((s) => s.P50Ms)));
  const maxCost = Math.max(1e-12, ...sizes.map((s) => s.CostPerMillion)) * 1.1;
  const slot = plotW / Math.max(1, sizes.length);
  const cx = (i) => left + i * slot + slot / 2;
  const parts = [
    svg("line", { class: "axis-line", x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }),
    svg("text", { class: "axis", x: left - 6, y: top + 4, "text-anchor": "end" }, `${decimal.format(maxTime)} ms`),
    svg("text", { class: "axis", x: left - 6, y: top + plotH + 4, "text-anchor": "end" }, "0 ms"),
    svg("text", { class: "axis", x: width - right + 6, y: top + 4 }, usd(maxCost)),
    svg("text", { class: "axis", x: width - right + 6, y: top + plotH + 4 }, "$0"),
  ];
  let d = "";
  sizes.forEach((s, i) => {
    const h = Math.max(1, (s.P50Ms / maxTime) * plotH);
    const mark = s.MemoryMB === recommended;
    parts.push(
      svg(
        "rect",
        { class: `bar s0${mark ? " recommended" : ""}`, x: left + i * slot + slot * 0.2, y: top + plotH - h, width: slot * 0.6, height: h },
        svg("title", {}, `${s.MemoryMB} MB: p50 ${decimal.format(s.P50Ms)} ms`),
      ),
    );
    parts.push(svg("text", { class: "axis", x: cx(i), y: height - 10, "text-anchor": "middle" }, `${s.MemoryMB} MB${mark ? " ★" : ""}`));
    const cy = top + plotH - (s.CostPerMillion / maxCost) * plotH;
    d += `${i ? "L" : "M"}${cx(i).toFixed(1)} ${cy.toFixed(1)} `;
    parts.push(svg("circle", { class: "dot s1", cx: cx(i), cy, r: 3.5 }, svg("title", {}, `${s.MemoryMB} MB: ${usd(s.CostPerMillion)} per 1M`)));
  });
  if (d) parts.push(svg("path", { class: "line s1", d: d.trim() }));
  return svg("svg", { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": labelledBy, focusable: "false" }, parts);
}

registerTab({ id: "monitoring", label: "Monitoring", order: 60, render: monitoringTab });
registerTab({ id: "cost", label: "Cost", order: 70, render: costTab });
registerListColumn(sparklineColumn());
