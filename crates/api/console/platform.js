// The console's platform pages: queues (SQS: counts, send a test message, purge), topics
// (SNS: subscriptions, publish a test message), event buses and rules (EventBridge: test an
// event pattern), schedules (EventBridge Scheduler, with Hearth's GetScheduleFireTimes for
// when each fires next), the fleet's nodes (GET /_hearth/nodes) and the audit trail
// (CloudTrail's LookupEvents). Every call is the service's own operation through
// /console/api, run as the signed-in principal: what it may not do, it is refused as the
// AWS CLI would be, and the page shows the service's message.

import { alertBox, api, ApiError, apiJson, csrfHeaders, el, field, registerPage, show, state } from "./core.js";

/** The most pages one listing reads: a bound on a token that never ends. */
const PAGES_MAX = 50;
/** How many calls a list page makes at once (a queue's counts, a schedule's fire times). */
const PARALLEL = 6;
/** How many next fire times the schedule list shows, and a schedule's page. */
const FIRE_TIMES_LIST = 3;
const FIRE_TIMES_PAGE = 10;
const TRAIL_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

// ---- the services' wire protocols ---------------------------------------------------------

/** An AWS JSON-protocol operation: SQS speaks JSON 1.0, EventBridge and CloudTrail 1.1. */
async function jsonOp(target, body, version) {
  try {
    const resp = await api("POST", "/", JSON.stringify(body || {}), {
      "X-Amz-Target": target,
      "Content-Type": `application/x-amz-json-${version}`,
    });
    const text = await resp.text();
    return text ? JSON.parse(text) : {};
  } catch (e) {
    // SQS names an error by its shape's full id (`com.amazonaws.sqs#QueueDoesNotExist`).
    if (e instanceof ApiError && e.code) e.code = e.code.replace(/^.*#/, "");
    throw e;
  }
}

const sqs = (op, body) => jsonOp(`AmazonSQS.${op}`, body, "1.0");
const eventbridge = (op, body) => jsonOp(`AWSEvents.${op}`, body, "1.1");

function xmlText(node, tag) {
  const found = node.getElementsByTagName(tag)[0];
  return found ? found.textContent : "";
}

/** The `<member>` elements of the list element `tag` of a query-protocol answer. */
function members(doc, tag) {
  const list = doc.getElementsByTagName(tag)[0];
  return list ? [...list.children].filter((c) => c.localName === "member") : [];
}

/** An SNS operation (the query protocol: a form in, XML out), its answer a Document. Its
 * errors are XML too, which core's api() does not read, so the call is made here. */
async function sns(action, params) {
  const form = new URLSearchParams({ Action: action, Version: "2010-03-31" });
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") form.append(k, v);
  }
  const resp = await fetch("/console/api/", {
    method: "POST",
    credentials: "same-origin",
    headers: csrfHeaders({ "Content-Type": "application/x-www-form-urlencoded" }),
    body: form.toString(),
  });
  const text = await resp.text();
  if (resp.ok) return new DOMParser().parseFromString(text, "application/xml");
  let code = (resp.headers.get("x-amzn-errortype") || "").split(":")[0];
  let message = `${resp.status} ${resp.statusText}`;
  if (text.trimStart().startsWith("<")) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    code = xmlText(doc, "Code") || code;
    message = xmlText(doc, "Message") || message;
  } else {
    try {
      const body = JSON.parse(text);
      message = body.message || body.Message || message;
      code = code || body.__type || body.Type || "";
    } catch (_) {
      /* neither XML nor JSON: the status line stands */
    }
  }
  // The session ended: the next page shown asks to sign in again (core's router).
  if (resp.status === 401 && code === "SessionEnded") state.session = null;
  throw new ApiError(resp.status, code, message);
}

/** A random UUID (crypto.randomUUID is only there on HTTPS and localhost). */
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Every page of a listing: `call(token)` answers `{items, next}`. */
async function allPages(call) {
  const all = [];
  let token;
  for (let i = 0; i < PAGES_MAX; i++) {
    const { items, next } = await call(token);
    all.push(...items);
    if (!next) break;
    token = next;
  }
  return all;
}

/** `fn` over `items`, a few at a time: `[{value} | {error}]` in the items' order. */
async function eachLimited(items, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { value: await fn(items[i]) };
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

// ---- drawing ------------------------------------------------------------------------------

/** An instant as `<time>`: "2026-12-06 05:56:41 UTC", the ISO form in `datetime`. */
function when(ms) {
  if (ms === undefined || ms === null || Number.isNaN(Number(ms))) return "—";
  const iso = new Date(Math.round(Number(ms))).toISOString();
  return el("time", { datetime: iso }, iso.replace("T", " ").replace(/\.\d+Z$/, " UTC"));
}

/** A table with a caption, column headers, and each row's first cell its row header. */
function table(caption, columns, rows, attrs) {
  const head = el(
    "tr",
    {},
    columns.map((c) => el("th", { scope: "col", class: [c.num ? "num" : "", c.wide ? "wide" : ""].join(" ").trim() || null }, c.label)),
  );
  const body = el(
    "tbody",
    {},
    rows.map((cells) =>
      el(
        "tr",
        {},
        cells.map((cell, i) => {
          const c = columns[i];
          const cls = [c.num ? "num" : "", c.wide ? "wide" : ""].join(" ").trim() || null;
          return i === 0 ? el("th", { scope: "row", class: cls }, cell) : el("td", { class: cls }, cell);
        }),
      ),
    ),
  );
  // A region of its own, focusable, so that a table wider than a phone scrolls by keyboard.
  return el(
    "div",
    { class: "table-wrap", role: "region", tabindex: "0", "aria-label": caption },
    el("table", Object.assign({ class: "plat-table" }, attrs || {}), el("caption", {}, caption), el("thead", {}, head), body),
  );
}

/** "1 queue", "2 queues". */
function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A `<dl>` of `[label, value, id]`: an id names a value a refresh rewrites. */
function factList(pairs, id) {
  return el(
    "dl",
    { class: "facts", id },
    pairs.flatMap(([k, v, vid]) => [el("dt", {}, k), el("dd", { id: vid }, v === undefined || v === null || v === "" ? "—" : v)]),
  );
}

function badge(text, kind) {
  return el("span", { class: `plat-state ${kind}` }, text);
}

function code(text) {
  return el("code", {}, text);
}

/** Shows a page: its heading (and the way back), "Loading…", then what `load` draws, or
 * its error. A page the user has left meanwhile is not drawn over the one they went to. */
async function page(title, back, load) {
  const hash = location.hash;
  const head = () => [
    back ? el("p", {}, el("a", { href: back.href }, back.label), " / ", title) : [],
    el("h1", {}, title),
  ];
  show(title, head(), el("p", { class: "loading" }, "Loading…"));
  let content;
  try {
    content = await load();
  } catch (e) {
    content = alertBox("bad", String(e));
  }
  if (location.hash === hash) show(title, head(), content);
}

/** A live region for what a button did. */
function outcome() {
  return el("div", { "aria-live": "polite", class: "plat-out" });
}

/** Runs `act` with `button` disabled, its answer (or error) shown in `out`. */
async function busy(button, out, act) {
  out.replaceChildren();
  button.disabled = true;
  try {
    const shown = await act();
    if (shown) out.replaceChildren(shown);
  } catch (e) {
    out.replaceChildren(alertBox("bad", String(e)));
  } finally {
    button.disabled = false;
  }
}

// ---- queues (SQS) -------------------------------------------------------------------------

const queueName = (url) => decodeURIComponent(url.replace(/\/+$/, "").split("/").pop());
const queueHref = (name) => `#/queues/${encodeURIComponent(name)}`;

async function queueAttributes(url) {
  return (await sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] })).Attributes || {};
}

async function queuesPage(parts) {
  if (parts[0]) return queuePage(parts[0]);
  return page("Queues", null, async () => {
    const urls = await allPages(async (token) => {
      const r = await sqs("ListQueues", token ? { NextToken: token } : {});
      return { items: r.QueueUrls || [], next: r.NextToken };
    });
    if (!urls.length) {
      return el("p", {}, "No queues. Create one with ", code("aws sqs create-queue --queue-name NAME"), ".");
    }
    const attrs = await eachLimited(urls, queueAttributes);
    const attr = (i, key) => (attrs[i].error ? "—" : attrs[i].value[key] ?? "—");
    const rows = urls.map((url, i) => [
      el("a", { href: queueHref(queueName(url)) }, queueName(url)),
      attr(i, "ApproximateNumberOfMessages"),
      attr(i, "ApproximateNumberOfMessagesNotVisible"),
      attr(i, "ApproximateNumberOfMessagesDelayed"),
      attrs[i].error ? String(attrs[i].error) : attrs[i].value.FifoQueue === "true" ? "FIFO" : "Standard",
    ]);
    return [
      el("p", { class: "muted" }, `${count(urls.length, "queue", "queues")}. Counts are SQS's approximate numbers (GetQueueAttributes).`),
      table(
        "Queues and their messages",
        [
          { label: "Queue" },
          { label: "Messages available", num: true },
          { label: "Messages in flight", num: true },
          { label: "Delayed", num: true, wide: true },
          { label: "Type", wide: true },
        ],
        rows,
        { id: "queues-table" },
      ),
    ];
  });
}

/** Seconds (an SQS attribute's text) as "4 days (345600 s)". */
function duration(text) {
  if (text === undefined || text === "") return "";
  const s = Number(text);
  const units = [[86400, "day"], [3600, "hour"], [60, "minute"]];
  const [size, unit] = units.find(([size]) => s >= size && s % size === 0) || [1, "second"];
  const n = s / size;
  return size === 1 ? `${s} s` : `${n} ${unit}${n === 1 ? "" : "s"} (${s} s)`;
}

function queueFacts(url, a) {
  return [
    ["Messages available", a.ApproximateNumberOfMessages, "queue-available"],
    ["Messages in flight", a.ApproximateNumberOfMessagesNotVisible, "queue-in-flight"],
    ["Messages delayed", a.ApproximateNumberOfMessagesDelayed, "queue-delayed"],
    ["Type", a.FifoQueue === "true" ? "FIFO" : "Standard"],
    ["URL", code(url)],
    ["ARN", code(a.QueueArn || "")],
    ["Visibility timeout", duration(a.VisibilityTimeout)],
    ["Retention", duration(a.MessageRetentionPeriod)],
    ["Created", a.CreatedTimestamp ? when(Number(a.CreatedTimestamp) * 1000) : ""],
  ];
}

function queuePage(name) {
  return page(name, { href: "#/queues", label: "Queues" }, async () => {
    const url = (await sqs("GetQueueUrl", { QueueName: name })).QueueUrl;
    let attrs = await queueAttributes(url);
    const fifo = attrs.FifoQueue === "true";
    const counts = el("div", {}, factList(queueFacts(url, attrs), "queue-facts"));
    const countsOut = el("p", { class: "plat-small", "aria-live": "polite" });
    const refresh = async () => {
      attrs = await queueAttributes(url);
      counts.replaceChildren(factList(queueFacts(url, attrs), "queue-facts"));
      const time = new Date().toISOString().slice(11, 19);
      countsOut.textContent = `Counts read at ${time} UTC: ${attrs.ApproximateNumberOfMessages} available, ${attrs.ApproximateNumberOfMessagesNotVisible} in flight.`;
    };
    const refreshButton = el("button", { type: "button" }, "Refresh counts");
    refreshButton.addEventListener("click", () => busy(refreshButton, countsOut, refresh));

    // Send a test message.
    const body = el("textarea", { name: "message-body", class: "plat-body", required: true, spellcheck: "false" }, '{"hello": "from the Hearth console"}');
    const group = fifo ? el("input", { name: "message-group-id", required: true, value: "console" }) : null;
    const sendOut = outcome();
    const sendButton = el("button", { type: "submit", class: "primary" }, "Send test message");
    const sendForm = el(
      "form",
      {
        class: "card plat-card",
        "aria-labelledby": "send-heading",
        onsubmit: (e) => {
          e.preventDefault();
          busy(sendButton, sendOut, async () => {
            const req = { QueueUrl: url, MessageBody: body.value };
            if (fifo) {
              req.MessageGroupId = group.value;
              if (attrs.ContentBasedDeduplication !== "true") req.MessageDeduplicationId = uuid();
            }
            const sent = await sqs("SendMessage", req);
            await refresh();
            return alertBox("good", `Sent message ${sent.MessageId}.`);
          });
        },
      },
      el("h2", { id: "send-heading" }, "Send a test message"),
      field("Message body", body, "Sent as it is, with SendMessage."),
      group ? field("Message group ID", group, "A FIFO queue's messages need one.") : null,
      sendButton,
      sendOut,
    );

    // Purge, in two steps: the first button asks, the second (or Cancel, or Escape) answers.
    const purgeOut = outcome();
    const ask = el("button", { type: "button", "aria-expanded": "false", "aria-controls": "purge-confirm" }, "Purge queue…");
    const confirmButton = el("button", { type: "button", class: "danger" }, `Delete every message in ${name}`);
    const cancel = el("button", { type: "button" }, "Cancel");
    const confirmBox = el(
      "div",
      { id: "purge-confirm", class: "plat-confirm", role: "group", "aria-labelledby": "purge-question", hidden: true },
      el("p", { id: "purge-question" }, `Delete every message in ${name}? They cannot be brought back.`),
      el("div", { class: "row" }, confirmButton, cancel),
    );
    const close = (focus) => {
      confirmBox.hidden = true;
      ask.setAttribute("aria-expanded", "false");
      if (focus) ask.focus();
    };
    ask.addEventListener("click", () => {
      purgeOut.replaceChildren();
      confirmBox.hidden = false;
      ask.setAttribute("aria-expanded", "true");
      confirmButton.focus();
    });
    cancel.addEventListener("click", () => close(true));
    confirmBox.addEventListener("keydown", (e) => {
      if (e.key === "Escape") close(true);
    });
    confirmButton.addEventListener("click", async () => {
      await busy(confirmButton, purgeOut, async () => {
        await sqs("PurgeQueue", { QueueUrl: url });
        await refresh();
        return alertBox("good", `Purged ${name}: ${attrs.ApproximateNumberOfMessages} messages available now.`);
      });
      close(true);
    });
    const purge = el(
      "section",
      { class: "card plat-card", "aria-labelledby": "purge-heading" },
      el("h2", { id: "purge-heading" }, "Purge"),
      el("p", { class: "muted" }, "Deletes every message in the queue (PurgeQueue). SQS allows one purge a minute."),
      ask,
      confirmBox,
      purgeOut,
    );
    return [el("div", { class: "row" }, refreshButton), countsOut, counts, el("div", { class: "plat-grid" }, sendForm, purge)];
  });
}

// ---- topics (SNS) -------------------------------------------------------------------------

const topicName = (arn) => arn.split(":").pop();
const topicHref = (arn) => `#/topics/${encodeURIComponent(arn)}`;

async function topicAttributes(arn) {
  const doc = await sns("GetTopicAttributes", { TopicArn: arn });
  const out = {};
  for (const entry of doc.getElementsByTagName("entry")) out[xmlText(entry, "key")] = xmlText(entry, "value");
  return out;
}

async function topicsPage(parts) {
  if (parts[0]) return topicPage(parts[0]);
  return page("Topics", null, async () => {
    const arns = await allPages(async (token) => {
      const doc = await sns("ListTopics", { NextToken: token });
      return { items: members(doc, "Topics").map((m) => xmlText(m, "TopicArn")), next: xmlText(doc, "NextToken") };
    });
    if (!arns.length) return el("p", {}, "No topics. Create one with ", code("aws sns create-topic --name NAME"), ".");
    const attrs = await eachLimited(arns, topicAttributes);
    const attr = (i, key) => (attrs[i].error ? "—" : attrs[i].value[key] ?? "—");
    return [
      el("p", { class: "muted" }, `${count(arns.length, "topic", "topics")}.`),
      table(
        "Topics and their subscriptions",
        [
          { label: "Topic" },
          { label: "Subscriptions confirmed", num: true },
          { label: "Pending", num: true },
          { label: "ARN", wide: true },
        ],
        arns.map((arn, i) => [
          el("a", { href: topicHref(arn) }, topicName(arn)),
          attr(i, "SubscriptionsConfirmed"),
          attr(i, "SubscriptionsPending"),
          code(arn),
        ]),
        { id: "topics-table" },
      ),
    ];
  });
}

function topicPage(arn) {
  const name = topicName(arn);
  return page(name, { href: "#/topics", label: "Topics" }, async () => {
    const [attrs, subs] = await Promise.all([
      topicAttributes(arn),
      allPages(async (token) => {
        const doc = await sns("ListSubscriptionsByTopic", { TopicArn: arn, NextToken: token });
        const items = members(doc, "Subscriptions").map((m) => ({
          arn: xmlText(m, "SubscriptionArn"),
          protocol: xmlText(m, "Protocol"),
          endpoint: xmlText(m, "Endpoint"),
          owner: xmlText(m, "Owner"),
        }));
        return { items, next: xmlText(doc, "NextToken") };
      }),
    ]);
    const fifo = attrs.FifoTopic === "true" || name.endsWith(".fifo");
    const subject = el("input", { name: "subject", maxlength: 100, value: "Test from the Hearth console" });
    const message = el("textarea", { name: "message", class: "plat-body", required: true, spellcheck: "false" }, '{"hello": "from the Hearth console"}');
    const group = fifo ? el("input", { name: "message-group-id", required: true, value: "console" }) : null;
    const out = outcome();
    const button = el("button", { type: "submit", class: "primary" }, "Publish test message");
    const form = el(
      "form",
      {
        class: "card plat-card",
        "aria-labelledby": "publish-heading",
        onsubmit: (e) => {
          e.preventDefault();
          busy(button, out, async () => {
            const params = { TopicArn: arn, Subject: subject.value, Message: message.value };
            if (fifo) {
              params.MessageGroupId = group.value;
              if (attrs.ContentBasedDeduplication !== "true") params.MessageDeduplicationId = uuid();
            }
            const doc = await sns("Publish", params);
            return alertBox("good", `Published message ${xmlText(doc, "MessageId")} to ${count(subs.length, "subscription", "subscriptions")}.`);
          });
        },
      },
      el("h2", { id: "publish-heading" }, "Publish a test message"),
      field("Subject", subject, "Optional; e-mail subscriptions get it as their subject."),
      field("Message", message),
      group ? field("Message group ID", group, "A FIFO topic's messages need one.") : null,
      button,
      out,
    );
    return [
      factList([
        ["ARN", code(arn)],
        ["Display name", attrs.DisplayName],
        ["Subscriptions confirmed", attrs.SubscriptionsConfirmed],
        ["Subscriptions pending", attrs.SubscriptionsPending],
      ]),
      el("h2", {}, "Subscriptions"),
      subs.length
        ? table(
            `Subscriptions of ${name}`,
            [{ label: "Protocol" }, { label: "Endpoint" }, { label: "Subscription ARN", wide: true }, { label: "Owner", wide: true }],
            subs.map((s) => [s.protocol, code(s.endpoint), code(s.arn), s.owner]),
            { id: "subscriptions-table" },
          )
        : el("p", {}, "No subscriptions."),
      form,
    ];
  });
}

// ---- event buses and rules (EventBridge) -----------------------------------------------

const busHref = (name) => `#/buses/${encodeURIComponent(name)}`;

async function listRules(bus) {
  return allPages(async (token) => {
    const r = await eventbridge("ListRules", { EventBusName: bus, NextToken: token });
    return { items: r.Rules || [], next: r.NextToken };
  });
}

async function busesPage(parts) {
  if (parts[0]) return busPage(parts[0]);
  return page("Event buses", null, async () => {
    const buses = await allPages(async (token) => {
      const r = await eventbridge("ListEventBuses", { NextToken: token });
      return { items: r.EventBuses || [], next: r.NextToken };
    });
    const rules = await eachLimited(buses, (b) => listRules(b.Name));
    return [
      el("p", { class: "muted" }, `${count(buses.length, "event bus", "event buses")}. A bus's page lists its rules and tests an event pattern against a sample event.`),
      table(
        "Event buses",
        [{ label: "Bus" }, { label: "Rules", num: true }, { label: "ARN", wide: true }],
        buses.map((b, i) => [
          el("a", { href: busHref(b.Name) }, b.Name),
          rules[i].error ? "—" : rules[i].value.length,
          code(b.Arn),
        ]),
        { id: "buses-table" },
      ),
    ];
  });
}

function sampleEvent() {
  return JSON.stringify(
    {
      version: "0",
      id: uuid(),
      "detail-type": "Order placed",
      source: "my.app",
      account: (state.session && state.session.Account) || "000000000000",
      time: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      region: "us-east-1",
      resources: [],
      detail: { status: "placed", total: 42 },
    },
    null,
    2,
  );
}

function pretty(json) {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch (_) {
    return json;
  }
}

function busPage(bus) {
  return page(bus, { href: "#/buses", label: "Event buses" }, async () => {
    const rules = await listRules(bus);
    const pattern = el("textarea", { name: "event-pattern", class: "code", spellcheck: "false" });
    const event = el("textarea", { name: "sample-event", class: "code", spellcheck: "false" }, sampleEvent());
    const withPattern = rules.find((r) => r.EventPattern);
    pattern.value = withPattern ? pretty(withPattern.EventPattern) : JSON.stringify({ source: ["my.app"] }, null, 2);
    const out = el("div", { "aria-live": "polite", id: "pattern-result" });
    const button = el("button", { type: "submit", class: "primary" }, "Test pattern");
    const form = el(
      "form",
      {
        class: "card plat-card",
        id: "pattern-test",
        "aria-labelledby": "test-heading",
        onsubmit: (e) => {
          e.preventDefault();
          busy(button, out, async () => {
            const r = await eventbridge("TestEventPattern", { EventPattern: pattern.value, Event: event.value });
            return r.Result
              ? el("div", { class: "alert good", role: "status" }, "Match: the event matches the pattern.")
              : el("div", { class: "alert plat-neutral", role: "status" }, "No match: the event does not match the pattern.");
          });
        },
      },
      el("h2", { id: "test-heading" }, "Test an event pattern"),
      el("p", { class: "muted" }, "TestEventPattern: whether a rule with this pattern would match the event. The event needs every envelope field (id, source, detail-type, account, time, region, resources, detail)."),
      field("Event pattern", pattern),
      field("Sample event", event),
      button,
      out,
    );
    const use = (r) =>
      el(
        "button",
        {
          type: "button",
          onclick: () => {
            pattern.value = pretty(r.EventPattern);
            out.replaceChildren();
            pattern.focus();
          },
        },
        "Test this pattern",
        el("span", { class: "skip" }, ` (rule ${r.Name})`),
      );
    const rows = rules.map((r) => [
      r.Name,
      badge(r.State || "", r.State === "ENABLED" ? "good" : "off"),
      r.EventPattern
        ? el("div", {}, el("pre", { class: "plat-pattern" }, pretty(r.EventPattern)), use(r))
        : r.ScheduleExpression
          ? el("span", {}, "Schedule: ", code(r.ScheduleExpression))
          : "—",
      r.Description || "",
    ]);
    return [
      el("h2", {}, "Rules"),
      rules.length
        ? table(
            `Rules of the bus ${bus}`,
            [{ label: "Rule" }, { label: "State" }, { label: "Pattern or schedule" }, { label: "Description", wide: true }],
            rows,
            { id: "rules-table" },
          )
        : el("p", {}, "No rules on this bus."),
      form,
    ];
  });
}

// ---- schedules (EventBridge Scheduler) ------------------------------------------------------

const scheduleHref = (group, name) => `#/schedules/${encodeURIComponent(group)}/${encodeURIComponent(name)}`;
const schedulePath = (name, group) => `/schedules/${encodeURIComponent(name)}?groupName=${encodeURIComponent(group)}`;

/** Hearth's GetScheduleFireTimes (AWS has no operation for it). */
function fireTimes(name, group, count) {
  return apiJson(
    "GET",
    `/schedules/${encodeURIComponent(name)}/fire-times?groupName=${encodeURIComponent(group)}&MaxResults=${count}`,
  );
}

/** A schedule's next fire times as a list, or why there are none. */
function fireTimeList(result, state, id) {
  if (result.error) {
    const denied = result.error.code === "AccessDeniedException";
    return el("span", { class: "plat-small" }, denied ? "Not shown: needs hearth:GetScheduleFireTimes" : String(result.error));
  }
  const times = result.value.FireTimes || [];
  if (!times.length) return state === "DISABLED" ? "None while disabled" : "None left";
  return el(
    "ol",
    { class: "plat-times", id },
    times.map((t) => el("li", {}, when(t.FireTime * 1000))),
  );
}

async function schedulesPage(parts) {
  if (parts[0] && parts[1]) return schedulePage(parts[0], parts[1]);
  return page("Schedules", null, async () => {
    const list = await allPages(async (token) => {
      const q = token ? `?NextToken=${encodeURIComponent(token)}` : "";
      const r = await apiJson("GET", `/schedules${q}`);
      return { items: r.Schedules || [], next: r.NextToken };
    });
    if (!list.length) {
      return el("p", {}, "No schedules. Create one with ", code("hearth schedule NAME 'rate(5 minutes)' --function F"), " or ", code("aws scheduler create-schedule"), ".");
    }
    const [details, times] = await Promise.all([
      eachLimited(list, (s) => apiJson("GET", schedulePath(s.Name, s.GroupName))),
      eachLimited(list, (s) => fireTimes(s.Name, s.GroupName, FIRE_TIMES_LIST)),
    ]);
    const rows = list.map((s, i) => {
      const d = details[i].value || {};
      return [
        el("a", { href: scheduleHref(s.GroupName, s.Name) }, s.Name),
        s.GroupName,
        badge(s.State, s.State === "ENABLED" ? "good" : "off"),
        details[i].error
          ? String(details[i].error)
          : el("span", {}, code(d.ScheduleExpression), el("br"), el("span", { class: "plat-small" }, d.ScheduleExpressionTimezone || "UTC")),
        code(((s.Target || {}).Arn) || ""),
        fireTimeList(times[i], s.State),
      ];
    });
    return [
      el("p", { class: "muted" }, `${count(list.length, "schedule", "schedules")}. Next fire times are the server's own (Hearth's GetScheduleFireTimes), in UTC.`),
      table(
        "Schedules and when they fire next",
        [{ label: "Schedule" }, { label: "Group", wide: true }, { label: "State" }, { label: "Expression" }, { label: "Target", wide: true }, { label: "Next fire times" }],
        rows,
        { id: "schedules-table" },
      ),
    ];
  });
}

function schedulePage(group, name) {
  return page(name, { href: "#/schedules", label: "Schedules" }, async () => {
    const [d, times] = await Promise.all([
      apiJson("GET", schedulePath(name, group)),
      fireTimes(name, group, FIRE_TIMES_PAGE).then((value) => ({ value }), (error) => ({ error })),
    ]);
    const window = d.FlexibleTimeWindow || {};
    const target = d.Target || {};
    const list = times.value ? times.value.FireTimes || [] : [];
    const flexible = window.Mode === "FLEXIBLE";
    return [
      factList([
        ["ARN", code(d.Arn)],
        ["Group", d.GroupName],
        ["State", badge(d.State, d.State === "ENABLED" ? "good" : "off")],
        ["Expression", code(d.ScheduleExpression)],
        ["Time zone", d.ScheduleExpressionTimezone],
        ["Start", d.StartDate ? when(d.StartDate * 1000) : ""],
        ["End", d.EndDate ? when(d.EndDate * 1000) : ""],
        ["Flexible window", flexible ? `${window.MaximumWindowInMinutes} minutes` : "Off"],
        ["Target", code(target.Arn || "")],
        ["Role", code(target.RoleArn || "")],
        ["Last modified", d.LastModificationDate ? when(d.LastModificationDate * 1000) : ""],
      ]),
      el("h2", {}, "Next fire times"),
      list.length
        ? table(
            `The next ${list.length} times ${name} fires`,
            [{ label: "#", num: true }, { label: "Scheduled time" }, { label: flexible ? "Fires at (within the window)" : "Fires at" }],
            list.map((t, i) => [String(i + 1), when(t.ScheduledTime * 1000), when(t.FireTime * 1000)]),
            { id: "fire-times-table" },
          )
        : el("p", {}, fireTimeList(times, d.State)),
    ];
  });
}

// ---- the fleet's nodes ----------------------------------------------------------------------

function gib(mb) {
  return mb === undefined || mb === null ? "—" : `${(mb / 1024).toFixed(1)}`;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s ago`;
}

function nodesPage() {
  return page("Nodes", null, async () => {
    let nodes;
    try {
      nodes = (await apiJson("GET", "/_hearth/nodes")).nodes || [];
    } catch (e) {
      return [
        alertBox("bad", String(e)),
        el("p", { class: "muted" }, "The fleet's nodes are the administrator's to see (GET /_hearth/nodes, IAM action hearth:ListNodes)."),
      ];
    }
    const rows = nodes.map((n) => {
      const i = n.info || {};
      const kind = n.state === "alive" ? "good" : n.state === "gone" ? "bad" : "warn";
      return [
        el("span", {}, n.id, n.thisNode ? [el("br"), el("span", { class: "plat-small" }, "(this node)")] : null),
        code(n.address),
        badge(n.state, kind),
        el("span", {}, when(n.lastSeenMs), el("br"), el("span", { class: "plat-small" }, seconds(n.silentMs))),
        i.cpus ?? "—",
        i.memoryMb ? `${gib(i.memoryAvailableMb)} / ${gib(i.memoryMb)}` : "—",
        `${i.busyEnvironments ?? "—"} / ${i.maxConcurrency ?? "—"}`,
        i.idleEnvironments ?? "—",
        (i.runtimes || []).join(", "),
        i.version || "",
      ];
    });
    const draining = nodes.filter((n) => n.state === "draining").length;
    const gone = nodes.filter((n) => n.state === "gone").length;
    return [
      el("p", { class: "muted" }, `${count(nodes.length, "node", "nodes")}: ${nodes.length - draining - gone} alive, ${draining} draining, ${gone} gone. Drain one with `, code("hearth nodes drain ID"), "."),
      table(
        "The fleet's nodes: health, capacity and load",
        [
          { label: "Node" },
          { label: "Address" },
          { label: "State" },
          { label: "Last heartbeat" },
          { label: "CPUs", num: true },
          { label: "Memory available / total (GiB)", num: true },
          { label: "Busy / max invocations", num: true },
          { label: "Idle environments", num: true, wide: true },
          { label: "Runtimes", wide: true },
          { label: "Version", wide: true },
        ],
        rows,
        { id: "nodes-table" },
      ),
    ];
  });
}

// ---- the audit trail (CloudTrail's LookupEvents) ------------------------------------------

function trailRow(e) {
  let record = {};
  try {
    record = JSON.parse(e.CloudTrailEvent || "{}");
  } catch (_) {
    /* no record: the event's own fields stand */
  }
  const who = record.userIdentity || {};
  const resource = (e.Resources || [])[0];
  return [
    when(e.EventTime * 1000),
    e.EventName,
    el("span", {}, e.Username || "—", who.arn ? el("br") : null, who.arn ? el("span", { class: "plat-small plat-arn" }, who.arn) : null),
    record.sourceIPAddress || "—",
    record.errorCode ? badge(record.errorCode, "bad") : "—",
    resource ? code(resource.ResourceName) : "—",
    e.EventSource || "",
    el(
      "details",
      {},
      el("summary", {}, "Record", el("span", { class: "skip" }, ` of ${e.EventName} at ${new Date(e.EventTime * 1000).toISOString()}`)),
      el("pre", { class: "out plat-record" }, JSON.stringify(record, null, 2)),
    ),
  ];
}

const TRAIL_COLUMNS = [
  { label: "Time" },
  { label: "Event" },
  { label: "User" },
  { label: "Source IP" },
  { label: "Error" },
  { label: "Resource", wide: true },
  { label: "Event source", wide: true },
  { label: "CloudTrail record", wide: true },
];

function auditPage() {
  return page("Audit trail", null, async () => {
    const key = el(
      "select",
      { name: "attribute" },
      el("option", { value: "EventName" }, "Event name"),
      el("option", { value: "Username" }, "User name"),
    );
    const value = el("input", { name: "value", type: "search", spellcheck: "false", placeholder: "e.g. CreateFunction20150331" });
    const status = el("p", { class: "muted", "aria-live": "polite", id: "audit-status" });
    const holder = el("div", {});
    const more = el("button", { type: "button", hidden: true }, "Load more");
    let token = null;
    let shown = [];
    const draw = () => holder.replaceChildren(table("Audit events, newest first", TRAIL_COLUMNS, shown.map(trailRow), { id: "audit-table" }));
    const load = async (fresh) => {
      const body = { MaxResults: 50 };
      if (value.value.trim()) body.LookupAttributes = [{ AttributeKey: key.value, AttributeValue: value.value.trim() }];
      if (!fresh && token) body.NextToken = token;
      const r = await jsonOp(TRAIL_TARGET, body, "1.1");
      shown = fresh ? r.Events || [] : shown.concat(r.Events || []);
      token = r.NextToken || null;
      more.hidden = !token;
      draw();
      const filter = body.LookupAttributes ? ` whose ${key.selectedOptions[0].textContent.toLowerCase()} is ${value.value.trim()}` : "";
      status.textContent = `${count(shown.length, "event", "events")}${filter}, newest first${token ? "; more to load" : ""}.`;
    };
    const apply = el("button", { type: "submit", class: "primary" }, "Apply");
    const form = el(
      "form",
      {
        class: "toolbar",
        role: "search",
        "aria-label": "Filter the audit trail",
        onsubmit: (e) => {
          e.preventDefault();
          busy(apply, status, () => load(true));
        },
      },
      field("Filter by", key),
      field("Value", value, "Exact; empty for every event."),
      apply,
    );
    more.addEventListener("click", () => busy(more, status, () => load(false)));
    await load(true);
    return [
      el("p", { class: "muted" }, "Every change made through the API or this console (CloudTrail's LookupEvents). Reads are not recorded."),
      form,
      status,
      holder,
      more,
    ];
  });
}

registerPage("queues", queuesPage, "Queues", 20);
registerPage("topics", topicsPage, "Topics", 21);
registerPage("buses", busesPage, "Event buses", 22);
registerPage("schedules", schedulesPage, "Schedules", 23);
registerPage("nodes", nodesPage, "Nodes", 24);
registerPage("audit", auditPage, "Audit trail", 25);
