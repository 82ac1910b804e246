// The triggers tab of a function's page: what invokes the function (its URLs, event-source
// mappings, EventBridge rules, EventBridge Scheduler schedules and SNS subscriptions), each
// read with its own service's operations (ListFunctionUrlConfigs, ListEventSourceMappings,
// ListRuleNamesByTarget + DescribeRule, ListSchedules + GetSchedule, ListSubscriptions),
// and enabled or disabled with them (UpdateEventSourceMapping, EnableRule/DisableRule,
// UpdateSchedule). Each section loads on its own: a denied call shows its error in its
// section, the others still show. After a change the section is read again from the API.

import { alertBox, api, ApiError, apiJson, csrfHeaders, el, fn, onLeave, registerTab } from "./core.js";

/** The most pages one listing reads: a bound on a token that never ends. */
const PAGES_MAX = 50;
/** A mapping in one of these states is being changed; Lambda refuses another change meanwhile. */
const MAPPING_TRANSITIONAL = new Set(["Creating", "Enabling", "Updating", "Disabling", "Deleting"]);
/** How often, and how many times, mappings in a transitional state are read again. */
const MAPPING_POLL_MS = 1000;
const MAPPING_POLLS_MAX = 60;
/** UpdateSchedule's members (botocore's scheduler model), besides `Name` in the path. */
const SCHEDULE_INPUT = [
  "ActionAfterCompletion",
  "Description",
  "EndDate",
  "FlexibleTimeWindow",
  "GroupName",
  "KmsKeyArn",
  "ScheduleExpression",
  "ScheduleExpressionTimezone",
  "StartDate",
  "State",
  "Target",
];

// ---- the services' wire protocols ---------------------------------------------------------

async function jsonOf(resp) {
  const text = await resp.text();
  return text ? JSON.parse(text) : {};
}

/** An EventBridge operation (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<op>`). */
async function events(op, body) {
  const resp = await api("POST", "/", JSON.stringify(body), {
    "X-Amz-Target": `AWSEvents.${op}`,
    "Content-Type": "application/x-amz-json-1.1",
  });
  return jsonOf(resp);
}

function xmlText(node, tag) {
  const found = node.getElementsByTagNameNS("*", tag)[0];
  return found ? found.textContent : "";
}

/** An SNS operation (query protocol: a form, an XML answer). Its errors are XML
 * (`<ErrorResponse><Error><Code>`), which core's api() does not read, hence fetch here. */
async function sns(params) {
  const resp = await fetch("/console/api/", {
    method: "POST",
    credentials: "same-origin",
    headers: csrfHeaders({ "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" }),
    body: new URLSearchParams({ Version: "2010-03-31", ...params }).toString(),
  });
  const text = await resp.text();
  const doc = new DOMParser().parseFromString(text, "application/xml");
  const parsed = doc.getElementsByTagName("parsererror").length === 0;
  if (resp.ok && parsed) return doc;
  let code = (resp.headers.get("x-amzn-errortype") || "").split(":")[0];
  let message = "";
  if (parsed) {
    code = xmlText(doc, "Code") || code;
    message = xmlText(doc, "Message");
  } else {
    try {
      const body = JSON.parse(text);
      message = body.message || body.Message || "";
    } catch (_) {
      /* neither XML nor JSON: the status line stands */
    }
  }
  throw new ApiError(resp.status, code, message || `${resp.status} ${resp.statusText}`);
}

// ---- what names what ----------------------------------------------------------------------

/** The qualifier of a function ARN (`...:function:name:live` is `live`), `$LATEST` when none. */
function invokes(arn) {
  const parts = String(arn || "").split(":");
  return parts.length > 7 ? parts.slice(7).join(":") : "$LATEST";
}

/** The last part of an ARN (a queue's or topic's name). */
function lastPart(arn) {
  const parts = String(arn || "").split(":");
  return parts[parts.length - 1] || String(arn || "");
}

/** Whether `arn` is the function's own ARN or a qualified one of it. */
function isTheFunction(arn, functionArn) {
  return arn === functionArn || String(arn || "").startsWith(`${functionArn}:`);
}

// ---- the sections ---------------------------------------------------------------------------

/** A section: a heading, a live region for what a change did, and the listing's place. */
function section(key, title, intro) {
  const hid = `triggers-${key}`;
  const heading = el("h2", { id: hid, tabindex: "-1" }, title);
  const out = el("div", { "aria-live": "polite" });
  const body = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const root = el(
    "section",
    { class: "triggers", "aria-labelledby": hid, "aria-busy": "true" },
    heading,
    intro ? el("p", { class: "muted" }, intro) : null,
    out,
    body,
  );
  return { key, hid, heading, out, body, root };
}

/** Shows `content` in the section; the focus goes back to the control of `focusKey`
 * (the button just pressed, drawn anew), or to the heading when it is gone or disabled. */
function place(sec, content, focusKey) {
  sec.body.replaceChildren(content);
  sec.root.setAttribute("aria-busy", "false");
  if (!focusKey) return;
  const again = [...sec.body.querySelectorAll("[data-key]")].find((b) => b.getAttribute("data-key") === focusKey);
  if (again && !again.disabled) again.focus();
  else sec.heading.focus();
}

function table(caption, headers, rows) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "triggers-table" },
      el("caption", {}, caption),
      el(
        "thead",
        {},
        // A header in `[text, "wide"]` is of a column a phone's narrow screen leaves out.
        el("tr", {}, headers.map((h) => (Array.isArray(h) ? el("th", { scope: "col", class: h[1] }, h[0]) : el("th", { scope: "col" }, h)))),
      ),
      el("tbody", {}, rows),
    ),
  );
}

function stateCell(text, on, why) {
  return el(
    "td",
    {},
    el("span", { class: `trigger-state ${on ? "on" : "off"}` }, text),
    why ? el("div", { class: "muted small" }, why) : null,
  );
}

/** The Enable/Disable button of a trigger: its accessible name says what it does to which.
 * `busy` (a mapping changing state, which Lambda refuses another change of) disables it. */
function toggleButton(sec, { key, on, what, busy, change, reload, describe }) {
  const verb = on ? "Disable" : "Enable";
  const button = el(
    "button",
    {
      type: "button",
      "data-key": key,
      "aria-label": `${verb} ${what}`,
      disabled: busy,
      onclick: async () => {
        sec.out.replaceChildren();
        button.disabled = true;
        try {
          await change(!on);
        } catch (err) {
          button.disabled = false;
          button.focus();
          sec.out.replaceChildren(alertBox("bad", `${verb} ${what}: ${err}`));
          return;
        }
        const rows = await reload(key);
        if (!rows) {
          sec.out.replaceChildren(alertBox("bad", `${verb} ${what}: done, but the listing could not be read again.`));
          return;
        }
        const now = rows.find((r) => r.key === key);
        sec.out.replaceChildren(alertBox("good", now ? describe(now) : `${what}: changed; it is no longer listed.`));
      },
    },
    verb,
  );
  return button;
}

/** Loads and draws a section; returns the rows drawn (null when the listing failed). */
async function fill(sec, load, draw, focusKey) {
  sec.root.setAttribute("aria-busy", "true");
  let rows;
  try {
    rows = await load();
  } catch (err) {
    place(sec, alertBox("bad", String(err)), focusKey);
    return null;
  }
  place(sec, draw(rows), focusKey);
  return rows;
}

// ---- function URLs --------------------------------------------------------------------------

async function listUrls(name) {
  const urls = [];
  let marker;
  for (let i = 0; i < PAGES_MAX; i++) {
    const q = new URLSearchParams({ MaxItems: "50" });
    if (marker) q.set("Marker", marker);
    const page = await apiJson("GET", `/2021-10-31/functions/${encodeURIComponent(name)}/urls?${q}`);
    urls.push(...(page.FunctionUrlConfigs || []));
    marker = page.NextMarker;
    if (!marker) break;
  }
  return urls;
}

function cors(c) {
  if (!c || Object.keys(c).length === 0) return "None";
  const list = (v) => (v && v.length ? v.join(", ") : null);
  const parts = [
    ["Origins", list(c.AllowOrigins)],
    ["Methods", list(c.AllowMethods)],
    ["Headers", list(c.AllowHeaders)],
    ["Exposed headers", list(c.ExposeHeaders)],
    ["Credentials", c.AllowCredentials ? "allowed" : null],
    ["Max age", c.MaxAge ? `${c.MaxAge} s` : null],
  ].filter(([, v]) => v);
  return parts.length ? el("ul", { class: "plain" }, parts.map(([k, v]) => el("li", {}, `${k}: ${v}`))) : "None";
}

function urlsSection(name) {
  const sec = section("urls", "Function URLs", "A function URL has no enabled or disabled state: it serves while it exists.");
  const draw = (urls) =>
    urls.length
      ? table(
          `Function URLs of ${name} (${urls.length})`,
          ["URL", "Invokes", "Auth type", "CORS", ["Invoke mode", "wide"]],
          urls.map((u) =>
            el(
              "tr",
              {},
              el("th", { scope: "row" }, el("a", { href: u.FunctionUrl, rel: "noreferrer" }, u.FunctionUrl)),
              el("td", {}, invokes(u.FunctionArn)),
              el("td", {}, u.AuthType),
              el("td", {}, cors(u.Cors)),
              el("td", { class: "wide" }, u.InvokeMode || "BUFFERED"),
            ),
          ),
        )
      : el("p", { class: "muted" }, "No function URL.");
  return { sec, start: () => fill(sec, () => listUrls(name), draw) };
}

// ---- event-source mappings ------------------------------------------------------------------

async function listMappings(names) {
  const found = new Map();
  for (const functionName of names) {
    let marker;
    for (let i = 0; i < PAGES_MAX; i++) {
      const q = new URLSearchParams({ FunctionName: functionName, MaxItems: "100" });
      if (marker) q.set("Marker", marker);
      const page = await apiJson("GET", `/2015-03-31/event-source-mappings?${q}`);
      for (const m of page.EventSourceMappings || []) found.set(m.UUID, m);
      marker = page.NextMarker;
      if (!marker) break;
    }
  }
  return [...found.values()].map((m) => ({ key: `mapping:${m.UUID}`, m }));
}

function mappingsSection(name, aliases) {
  const sec = section("mappings", "Event-source mappings");
  let timer = null;
  let polls = 0;
  onLeave(() => clearTimeout(timer));
  const names = [name, ...aliases.map((a) => `${name}:${a}`)];
  const what = (m) => {
    const to = invokes(m.FunctionArn);
    return `event-source mapping from ${lastPart(m.EventSourceArn)}${to === "$LATEST" ? "" : ` to ${to}`}`;
  };
  const describe = (row) => `The ${what(row.m)} is ${row.m.State}.`;
  // Announced when the mapping whose change was asked for has settled.
  let waitingFor = null;
  // `polled`: read again while a mapping is changing, not after a press: the focus stays
  // where it is, and the change asked for is announced once it has settled.
  const reload = async (focusKey, polled) => {
    clearTimeout(timer);
    const rows = await fill(sec, () => listMappings(names), draw, focusKey);
    if (!rows) return rows;
    const moving = rows.some((r) => MAPPING_TRANSITIONAL.has(r.m.State));
    if (moving && polls < MAPPING_POLLS_MAX && sec.root.isConnected) {
      polls++;
      timer = setTimeout(() => {
        const active = document.activeElement;
        const keep = active && sec.root.contains(active) ? active.getAttribute("data-key") : null;
        reload(keep, true);
      }, MAPPING_POLL_MS);
    } else {
      polls = 0;
    }
    if (waitingFor && polled) {
      const row = rows.find((r) => r.key === waitingFor);
      if (!row || !MAPPING_TRANSITIONAL.has(row.m.State)) {
        sec.out.replaceChildren(alertBox("good", row ? describe(row) : "The mapping is no longer listed."));
        waitingFor = null;
      }
    }
    return rows;
  };
  const draw = (rows) =>
    rows.length
      ? table(
          `Event-source mappings of ${name} (${rows.length})`,
          ["Source", "Invokes", "State", "Batch size", ["Batching window (s)", "wide"], ["Last result", "wide"], "Action"],
          rows.map((row) => {
            const m = row.m;
            const busy = MAPPING_TRANSITIONAL.has(m.State);
            const on = ["Enabled", "Enabling", "Creating", "Updating"].includes(m.State);
            return el(
              "tr",
              {},
              el("th", { scope: "row" }, el("code", {}, m.EventSourceArn), el("div", { class: "muted small" }, `UUID ${m.UUID}`)),
              el("td", {}, invokes(m.FunctionArn)),
              stateCell(m.State, on, m.StateTransitionReason),
              el("td", { class: "num" }, m.BatchSize ?? "—"),
              el("td", { class: "num wide" }, m.MaximumBatchingWindowInSeconds ?? 0),
              el("td", { class: "wide" }, m.LastProcessingResult || "—"),
              el(
                "td",
                {},
                toggleButton(sec, {
                  key: row.key,
                  on,
                  what: what(m),
                  busy,
                  change: async (enable) => {
                    await api("PUT", `/2015-03-31/event-source-mappings/${encodeURIComponent(m.UUID)}`, { Enabled: enable });
                    waitingFor = row.key;
                  },
                  reload,
                  describe: (now) =>
                    MAPPING_TRANSITIONAL.has(now.m.State)
                      ? `The ${what(now.m)} is ${now.m.State}; this page reads it again until it settles.`
                      : describe(now),
                }),
              ),
            );
          }),
        )
      : el("p", { class: "muted" }, "No event-source mapping invokes this function.");
  return { sec, start: () => reload(null, false) };
}

// ---- EventBridge rules ----------------------------------------------------------------------

async function listRules(targets) {
  const buses = [];
  let token;
  for (let i = 0; i < PAGES_MAX; i++) {
    const page = await events("ListEventBuses", token ? { Limit: 100, NextToken: token } : { Limit: 100 });
    buses.push(...(page.EventBuses || []).map((b) => b.Name));
    token = page.NextToken;
    if (!token) break;
  }
  const found = new Map();
  for (const bus of buses) {
    for (const target of targets) {
      let next;
      for (let i = 0; i < PAGES_MAX; i++) {
        const body = { TargetArn: target, EventBusName: bus, Limit: 100 };
        if (next) body.NextToken = next;
        const page = await events("ListRuleNamesByTarget", body);
        for (const rule of page.RuleNames || []) {
          const key = `rule:${bus}/${rule}`;
          if (!found.has(key)) found.set(key, { key, bus, rule, targets: [] });
          found.get(key).targets.push(target);
        }
        next = page.NextToken;
        if (!next) break;
      }
    }
  }
  const rows = [...found.values()];
  await Promise.all(rows.map(async (r) => (r.d = await events("DescribeRule", { Name: r.rule, EventBusName: r.bus }))));
  return rows;
}

/** An event pattern on one line when it is short, indented when it is not. */
function pattern(text) {
  try {
    const value = JSON.parse(text);
    const line = JSON.stringify(value);
    return line.length <= 60 ? line : JSON.stringify(value, null, 2);
  } catch (_) {
    return text;
  }
}

function rulesSection(name, functionArn, aliases) {
  const sec = section("rules", "EventBridge rules");
  const targets = [functionArn, ...aliases.map((a) => `${functionArn}:${a}`)];
  const what = (r) => `rule ${r.rule}${r.bus === "default" ? "" : ` on event bus ${r.bus}`}`;
  const reload = (focusKey) => fill(sec, () => listRules(targets), draw, focusKey);
  const draw = (rows) =>
    rows.length
      ? table(
          `EventBridge rules targeting ${name} (${rows.length})`,
          ["Rule", "Event bus", "Invokes", "Event pattern or schedule", "State", "Action"],
          rows.map((r) => {
            const on = r.d.State !== "DISABLED";
            return el(
              "tr",
              {},
              el("th", { scope: "row" }, r.rule, r.d.Description ? el("div", { class: "muted small" }, r.d.Description) : null),
              el("td", {}, r.bus),
              el("td", {}, r.targets.map(invokes).join(", ")),
              el(
                "td",
                {},
                r.d.ScheduleExpression ? el("code", {}, r.d.ScheduleExpression) : null,
                r.d.EventPattern ? el("pre", { class: "trigger-pattern" }, pattern(r.d.EventPattern)) : null,
              ),
              stateCell(r.d.State, on),
              el(
                "td",
                {},
                toggleButton(sec, {
                  key: r.key,
                  on,
                  what: what(r),
                  change: (enable) => events(enable ? "EnableRule" : "DisableRule", { Name: r.rule, EventBusName: r.bus }),
                  reload,
                  describe: (now) => `The ${what(now)} is ${now.d.State}.`,
                }),
              ),
            );
          }),
        )
      : el("p", { class: "muted" }, "No EventBridge rule targets this function.");
  return { sec, start: () => reload(null) };
}

// ---- EventBridge Scheduler schedules ------------------------------------------------------

function schedulePath(name, group) {
  return `/schedules/${encodeURIComponent(name)}?${new URLSearchParams({ groupName: group })}`;
}

async function listSchedules(functionArn) {
  const mine = [];
  let token;
  for (let i = 0; i < PAGES_MAX; i++) {
    const q = new URLSearchParams({ MaxResults: "100" });
    if (token) q.set("NextToken", token);
    const page = await apiJson("GET", `/schedules?${q}`);
    mine.push(...(page.Schedules || []).filter((s) => isTheFunction((s.Target || {}).Arn, functionArn)));
    token = page.NextToken;
    if (!token) break;
  }
  return Promise.all(
    mine.map(async (s) => ({
      key: `schedule:${s.GroupName}/${s.Name}`,
      s: await apiJson("GET", schedulePath(s.Name, s.GroupName)),
    })),
  );
}

/** UpdateSchedule replaces the whole schedule: what GetSchedule answers now, its state changed. */
async function setScheduleState(name, group, enable) {
  const now = await apiJson("GET", schedulePath(name, group));
  const body = {};
  for (const k of SCHEDULE_INPUT) if (now[k] !== undefined) body[k] = now[k];
  body.State = enable ? "ENABLED" : "DISABLED";
  await apiJson("PUT", `/schedules/${encodeURIComponent(name)}`, body);
}

function schedulesSection(name, functionArn) {
  const sec = section("schedules", "EventBridge Scheduler schedules");
  const what = (s) => `schedule ${s.Name}${s.GroupName === "default" ? "" : ` in group ${s.GroupName}`}`;
  const reload = (focusKey) => fill(sec, () => listSchedules(functionArn), draw, focusKey);
  const draw = (rows) =>
    rows.length
      ? table(
          `Schedules targeting ${name} (${rows.length})`,
          ["Schedule", ["Group", "wide"], "Invokes", "Expression", "State", "Action"],
          rows.map(({ key, s }) => {
            const on = s.State !== "DISABLED";
            return el(
              "tr",
              {},
              el("th", { scope: "row" }, s.Name, s.Description ? el("div", { class: "muted small" }, s.Description) : null),
              el("td", { class: "wide" }, s.GroupName),
              el("td", {}, invokes((s.Target || {}).Arn)),
              el("td", {}, el("code", {}, s.ScheduleExpression), s.ScheduleExpressionTimezone ? ` (${s.ScheduleExpressionTimezone})` : null),
              stateCell(s.State, on),
              el(
                "td",
                {},
                toggleButton(sec, {
                  key,
                  on,
                  what: what(s),
                  change: (enable) => setScheduleState(s.Name, s.GroupName, enable),
                  reload,
                  describe: (now) => `The ${what(now.s)} is ${now.s.State}.`,
                }),
              ),
            );
          }),
        )
      : el("p", { class: "muted" }, "No schedule targets this function.");
  return { sec, start: () => reload(null) };
}

// ---- SNS subscriptions ----------------------------------------------------------------------

async function listSubscriptions(functionArn) {
  const mine = [];
  let token;
  for (let i = 0; i < PAGES_MAX; i++) {
    const doc = await sns(token ? { Action: "ListSubscriptions", NextToken: token } : { Action: "ListSubscriptions" });
    for (const m of doc.getElementsByTagNameNS("*", "member")) {
      const s = {
        SubscriptionArn: xmlText(m, "SubscriptionArn"),
        Protocol: xmlText(m, "Protocol"),
        Endpoint: xmlText(m, "Endpoint"),
        TopicArn: xmlText(m, "TopicArn"),
      };
      if (s.Protocol === "lambda" && isTheFunction(s.Endpoint, functionArn)) mine.push(s);
    }
    // The answer's own NextToken (a member's child would be inside <member>).
    const result = doc.getElementsByTagNameNS("*", "ListSubscriptionsResult")[0];
    const next = result && [...result.children].find((c) => c.localName === "NextToken");
    token = next ? next.textContent : "";
    if (!token) break;
  }
  return mine;
}

function subscriptionsSection(name, functionArn) {
  const sec = section(
    "subscriptions",
    "SNS subscriptions",
    "SNS has no enabled or disabled state for a subscription: it delivers while it exists (Unsubscribe removes it; a filter policy narrows what it receives).",
  );
  const draw = (subs) =>
    subs.length
      ? table(
          `SNS subscriptions delivering to ${name} (${subs.length})`,
          ["Topic", "Invokes", "Subscription ARN"],
          subs.map((s) =>
            el(
              "tr",
              {},
              el("th", { scope: "row" }, lastPart(s.TopicArn), el("div", { class: "muted small" }, s.TopicArn)),
              el("td", {}, invokes(s.Endpoint)),
              el("td", {}, el("code", {}, s.SubscriptionArn)),
            ),
          ),
        )
      : el("p", { class: "muted" }, "No SNS subscription delivers to this function.");
  return { sec, start: () => fill(sec, () => listSubscriptions(functionArn), draw) };
}

// ---- the tab ----------------------------------------------------------------------------------

async function triggersTab(panel, name, fnDoc) {
  const functionArn = fnDoc.Configuration.FunctionArn;
  const note = el("div", {});
  // A rule, mapping or subscription may name an alias: those are looked for too.
  let aliases = [];
  try {
    aliases = ((await apiJson("GET", `${fn(name)}/aliases`)).Aliases || []).map((a) => a.Name);
  } catch (err) {
    note.append(el("p", { class: "muted" }, `The aliases could not be listed (${err}): only triggers of the function itself are looked for.`));
  }
  const sections = [
    urlsSection(name),
    mappingsSection(name, aliases),
    rulesSection(name, functionArn, aliases),
    schedulesSection(name, functionArn),
    subscriptionsSection(name, functionArn),
  ];
  // Each section read again in place (the button keeps the focus).
  const refresh = el("button", { type: "button", onclick: () => Promise.all(sections.map((s) => s.start())) }, "Refresh triggers");
  refresh.hidden = true;
  panel.replaceChildren(
    el("p", { class: "muted" }, "What invokes this function, as each service lists it. Enable or disable a mapping, a rule or a schedule here."),
    note,
    ...sections.map((s) => s.sec.root),
    refresh,
  );
  await Promise.all(sections.map((s) => s.start()));
  refresh.hidden = false;
}

registerTab({ id: "triggers", label: "Triggers", order: 45, render: triggersTab });
