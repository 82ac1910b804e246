// The console's logs tab: a live tail of a function's log group (/aws/lambda/<name>).
// The lines come from GET /console/logs/<name>?filter=<text>, Server-Sent Events the
// server writes from CloudWatch Logs' own FilterLogEvents, run as the signed-in principal
// (crates/api/src/console/logs.rs): the newest lines first, then `event: live`, then each
// new line as it is logged (`id:` its event id, `data:` {timestamp, message, stream}); a
// refusal of the API arrives as `event: failure` {code, message}.
//
// Paused, new lines are held (up to MAX_LINES, the oldest dropped past that) and shown on
// resume. At most MAX_LINES lines are kept. The list itself is not a live region (a busy
// function would drown a screen reader); a polite status says whether the tail is live or
// paused, and how many lines came, at most every ANNOUNCE_MS.
import { alertBox, api, el, field, fn, onLeave, registerTab } from "./core.js";

const MAX_LINES = 1000;
const ANNOUNCE_MS = 10000;
const FILTER_DELAY_MS = 300;

/** A line's time as UTC hours to milliseconds, and the whole ISO time for <time>. */
function when(ms) {
  const iso = new Date(ms).toISOString();
  return { iso, short: iso.slice(11, 23) };
}

async function logsTab(panel, name) {
  const filter = el("input", { type: "search", name: "log-filter", spellcheck: "false", autocomplete: "off" });
  const pause = el("button", { type: "button", "aria-pressed": "false", class: "toggle" }, "Pause");
  const order = el(
    "select",
    { name: "log-order" },
    el("option", { value: "last" }, "Newest last"),
    el("option", { value: "first" }, "Newest first"),
  );
  const clear = el("button", { type: "button" }, "Clear");
  const stateText = el("p", { role: "status", id: "logs-state", class: "logs-state" }, "Connecting…");
  const count = el("p", { id: "logs-count", class: "muted" });
  const out = el("div", {});
  const list = el("ol", {
    class: "log-lines",
    id: "log-lines",
    "aria-label": `Log lines of ${name}`,
    "aria-live": "off",
    "aria-describedby": "logs-count",
    tabindex: "0",
  });

  /** Kept lines in event-id order: {id, timestamp, message, stream, node}. */
  let lines = [];
  const ids = new Set();
  /** Lines that came while paused, in arrival order. */
  let held = [];
  let heldDropped = 0;
  let paused = false;
  let source = null;
  /** The filter the stream was opened with. */
  let streaming = "";
  let isLive = false;
  let status = "Connecting…";
  let cameSinceAnnounce = 0;
  let announceTimer = null;

  const wanted = () => filter.value.trim();
  const matches = (line) => !wanted() || line.message.includes(wanted());
  const newestFirst = () => order.value === "first";

  function say(text) {
    status = text;
    stateText.textContent = text;
  }
  // The count of new lines, told politely and at most every ANNOUNCE_MS.
  function noteArrivals(n) {
    cameSinceAnnounce += n;
    if (announceTimer) return;
    announceTimer = setTimeout(() => {
      announceTimer = null;
      if (!cameSinceAnnounce) return;
      const s = cameSinceAnnounce === 1 ? "1 new line" : `${cameSinceAnnounce} new lines`;
      stateText.textContent = `${status} ${s}${paused ? " held" : ""}.`;
      cameSinceAnnounce = 0;
    }, ANNOUNCE_MS);
  }

  function renderCount() {
    const shown = lines.filter((l) => !l.node.hidden).length;
    let text = `Showing ${shown} of ${lines.length} lines kept (at most ${MAX_LINES}).`;
    if (paused) {
      text += ` ${held.length === 1 ? "1 new line" : `${held.length} new lines`} held while paused.`;
      if (heldDropped) text += ` ${heldDropped} older ones dropped.`;
    }
    count.textContent = text;
  }

  function lineNode(line) {
    const t = when(line.timestamp);
    return el(
      "li",
      { hidden: !matches(line) },
      el("time", { datetime: t.iso }, t.short),
      " ",
      el("span", { class: "msg" }, line.message.replace(/\n$/, "")),
    );
  }

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 8;

  /** Adds a line in its place by id; drops the oldest past MAX_LINES. */
  function add(line) {
    if (ids.has(line.id)) return;
    ids.add(line.id);
    line.node = lineNode(line);
    let i = lines.length;
    while (i > 0 && lines[i - 1].id > line.id) i--;
    const neighbour = lines[i]; // the next newer line, if any
    lines.splice(i, 0, line);
    if (newestFirst()) {
      // Newer lines are above: the line goes after the next newer one's node.
      if (neighbour) neighbour.node.after(line.node);
      else list.prepend(line.node);
    } else if (neighbour) neighbour.node.before(line.node);
    else list.append(line.node);
    while (lines.length > MAX_LINES) {
      const gone = lines.shift();
      ids.delete(gone.id);
      gone.node.remove();
    }
  }

  function receive(batch) {
    const stick = !newestFirst() && atBottom();
    for (const line of batch) add(line);
    if (stick) list.scrollTop = list.scrollHeight;
    renderCount();
  }

  function arrived(line) {
    noteArrivals(1);
    if (!paused) {
      receive([line]);
      return;
    }
    held.push(line);
    if (held.length > MAX_LINES) {
      held.shift();
      heldDropped++;
    }
    renderCount();
  }

  const liveText = () => (streaming ? `Live: lines containing “${streaming}”.` : "Live.");

  function stop() {
    if (source) source.close();
    source = null;
    isLive = false;
  }

  function connect() {
    stop();
    out.replaceChildren();
    say("Connecting…");
    streaming = wanted();
    isLive = false;
    const q = streaming ? `?filter=${encodeURIComponent(streaming)}` : "";
    const es = new EventSource(`/console/logs/${encodeURIComponent(name)}${q}`);
    source = es;
    es.onmessage = (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      arrived({ id: Number(e.lastEventId), timestamp: data.timestamp, message: data.message, stream: data.stream });
    };
    es.addEventListener("live", () => {
      isLive = true;
      say(paused ? "Paused." : liveText());
    });
    es.addEventListener("failure", (e) => {
      stop();
      let f = {};
      try {
        f = JSON.parse(e.data);
      } catch (_) {
        /* keep {} */
      }
      say("Stopped.");
      out.replaceChildren(alertBox("bad", f.code ? `${f.code}: ${f.message}` : String(f.message || "The live tail failed.")));
    });
    es.onerror = async () => {
      if (source !== es) return;
      if (es.readyState !== EventSource.CLOSED) {
        // The browser reconnects by itself and the server goes on after the last line.
        isLive = false;
        say("Reconnecting…");
        return;
      }
      stop();
      say("Stopped.");
      // The server refused the stream itself (the session ended, most likely): a call of
      // the API says why, and an ended session takes the page to the sign-in form.
      try {
        await api("GET", fn(name));
        out.replaceChildren(
          alertBox("bad", "The live tail stopped."),
          el("button", { type: "button", onclick: connect }, "Reconnect"),
        );
      } catch (err) {
        out.replaceChildren(alertBox("bad", String(err)));
      }
    };
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    if (paused) {
      say("Paused.");
    } else {
      const batch = held;
      held = [];
      heldDropped = 0;
      receive(batch);
      say(isLive ? liveText() : source ? "Connecting…" : "Stopped.");
    }
    renderCount();
  });

  order.addEventListener("change", () => {
    const nodes = lines.map((l) => l.node);
    if (newestFirst()) nodes.reverse();
    list.replaceChildren(...nodes);
    list.scrollTop = newestFirst() ? 0 : list.scrollHeight;
  });

  clear.addEventListener("click", () => {
    lines = [];
    ids.clear();
    held = [];
    heldDropped = 0;
    list.replaceChildren();
    renderCount();
  });

  let filterTimer = null;
  filter.addEventListener("input", () => {
    // The lines shown are filtered at once; the stream restarts with the filter, so the
    // server sends the newest matching lines (kept ones are not repeated) and only those.
    for (const l of lines) l.node.hidden = !matches(l);
    renderCount();
    clearTimeout(filterTimer);
    filterTimer = setTimeout(connect, FILTER_DELAY_MS);
  });

  onLeave(() => {
    stop();
    clearTimeout(filterTimer);
    clearTimeout(announceTimer);
  });

  panel.replaceChildren(
    el(
      "div",
      { class: "toolbar" },
      field("Filter", filter, "Lines containing this text (case-sensitive)."),
      field("Order", order),
      pause,
      clear,
    ),
    stateText,
    out,
    count,
    list,
    el("p", { class: "muted" }, "Times are UTC. Paused, new lines are held and shown when you resume."),
  );
  renderCount();
  connect();
}

registerTab({ id: "logs", label: "Logs", order: 50, render: logsTab });
