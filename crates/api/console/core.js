// Hearth's web console, its core: DOM helpers, the API client, the session, the router,
// and the registries the page modules add their pages and a function's tabs to. No
// framework and no build step: ES modules served from the binary. Every action is the AWS
// API's own operation, sent to /console/api/<its path> with the session's CSRF token; the
// server runs it as the signed-in principal, authorized as the same call from the AWS CLI
// would be (crates/api/src/console/mod.rs).

export const state = { session: null };
// ---- DOM helpers ------------------------------------------------------------------------

/** An element with attributes (on* are listeners) and children (strings become text). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

let ids = 0;
/** A labelled field: the label, the control, and an optional hint tied to it. */
export function field(label, control, hint) {
  const id = control.id || `f${++ids}`;
  control.id = id;
  const parts = [el("label", { for: id }, label), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute("aria-describedby", hid);
    parts.push(el("span", { class: "hint", id: hid }, hint));
  }
  return el("div", { class: "field" }, parts);
}

export function alertBox(kind, text) {
  return el("div", { class: `alert ${kind}`, role: kind === "bad" ? "alert" : "status" }, text);
}

function main() {
  return document.getElementById("main");
}

/** Replaces the page's content, names it in the title and moves the focus to it. */
export function show(title, ...children) {
  document.title = `${title} · Hearth console`;
  const m = main();
  m.replaceChildren(...children.flat());
  const h1 = m.querySelector("h1");
  if (h1) {
    h1.setAttribute("tabindex", "-1");
    h1.focus();
  }
}

// ---- the API ----------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() {
    return this.code ? `${this.code}: ${this.message}` : this.message;
  }
}

export function csrfHeaders(extra) {
  const h = Object.assign({}, extra || {});
  if (state.session) h["X-Hearth-Csrf"] = state.session.CsrfToken;
  return h;
}

async function failure(resp) {
  let message = `${resp.status} ${resp.statusText}`;
  let code = (resp.headers.get("x-amzn-errortype") || "").split(":")[0];
  const text = await resp.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    message = body.message || body.Message || message;
    code = code || (body.__type || "").split("#").pop() || body.Type || "";
  } catch (_) {
    // The query protocol's services (SNS, IAM, STS) answer errors in XML.
    const xml = new DOMParser().parseFromString(text, "application/xml");
    const pick = (tag) => (xml.getElementsByTagName(tag)[0] || {}).textContent;
    message = pick("Message") || message;
    code = code || pick("Code") || "";
  }
  if (resp.status === 401 && code === "SessionEnded") {
    state.session = null;
    renderWho();
    signInPage(message);
  }
  return new ApiError(resp.status, code, message);
}

/** Calls an operation: `path` is its REST path; a JSON body is sent as JSON. */
export async function api(method, path, body, headers) {
  const init = { method, headers: csrfHeaders(headers), credentials: "same-origin" };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    // A JSON protocol's own type (`application/x-amz-json-1.1`) when the caller names one.
    if (!Object.keys(init.headers).some((k) => k.toLowerCase() === "content-type")) {
      init.headers["Content-Type"] = "application/json";
    }
  }
  const resp = await fetch(`/console/api${path}`, init);
  if (!resp.ok) throw await failure(resp);
  return resp;
}

export async function apiJson(method, path, body) {
  const resp = await api(method, path, body);
  const text = await resp.text();
  return text ? JSON.parse(text) : {};
}

/** An operation with a large JSON body, sent with upload progress (fetch has none). */
export function apiUpload(method, path, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, `/console/api${path}`);
    for (const [k, v] of Object.entries(csrfHeaders({ "Content-Type": "application/json" }))) {
      xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onerror = () => reject(new ApiError(0, "NetworkError", "The upload did not reach the server."));
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch (_) {
        /* keep {} */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const code = (xhr.getResponseHeader("x-amzn-errortype") || body.__type || "").split(":")[0];
        reject(new ApiError(xhr.status, code, body.message || body.Message || xhr.statusText));
      }
    };
    xhr.send(JSON.stringify(body));
  });
}

export function fn(name) {
  return `/2015-03-31/functions/${encodeURIComponent(name)}`;
}

/** A file's bytes as Base64 (a zip for Code.ZipFile). */
export function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ""));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

export function decodeBase64(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

// ---- session ----------------------------------------------------------------------------

async function loadSession() {
  const resp = await fetch("/console/session", { credentials: "same-origin" });
  if (resp.ok) {
    state.session = await resp.json();
    return true;
  }
  state.session = null;
  return false;
}

function renderWho() {
  const who = document.getElementById("who");
  const banner = document.getElementById("banner");
  const s = state.session;
  if (!s) {
    who.replaceChildren();
    banner.hidden = true;
    return;
  }
  who.replaceChildren(
    el("span", { title: s.AccessKeyId || "" }, s.Arn),
    s.AuthOff ? null : el("button", { type: "button", onclick: signOut }, "Sign out"),
  );
  banner.hidden = !s.AuthOff;
  banner.textContent = s.AuthOff
    ? "Authentication is off (hearth server --auth off): anyone who can reach this server acts as the account's root."
    : "";
}

function signInPage(reason) {
  const id = el("input", { name: "access-key-id", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = el("input", { name: "secret-access-key", type: "password", autocomplete: "current-password", required: true });
  const out = el("div", { "aria-live": "polite" });
  if (reason) out.append(alertBox("bad", reason));
  const form = el(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        const resp = await fetch("/console/session", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ AccessKeyId: id.value.trim(), SecretAccessKey: secret.value }),
        });
        if (!resp.ok) {
          out.append(alertBox("bad", String(await failure(resp))));
          return;
        }
        state.session = await resp.json();
        secret.value = "";
        renderWho();
        if (!location.hash || location.hash === "#/signin") location.hash = "#/functions";
        else route();
      },
    },
    field("Access key ID", id),
    field("Secret access key", secret),
    el("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  show(
    "Sign in",
    el(
      "section",
      { class: "signin" },
      el("h1", {}, "Sign in to Hearth"),
      el("p", { class: "muted" }, "Use an access key of this server (hearth keys create, or the administrator key the server wrote to its data directory)."),
      out,
      form,
    ),
  );
}

async function signOut() {
  try {
    await fetch("/console/session", { method: "DELETE", credentials: "same-origin", headers: csrfHeaders() });
  } finally {
    state.session = null;
    renderWho();
    location.hash = "#/signin";
    signInPage();
  }
}


export function facts(obj) {
  return el(
    "dl",
    { class: "facts" },
    Object.entries(obj).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v === undefined || v === null || v === "" ? "—" : String(v))]),
  );
}


// ---- registries and routing ---------------------------------------------------------------

const pages = new Map();
const nav = [];
const tabs = [];

/** A page at `#/<section>/...`: `render(parts)` gets the hash's parts after the section.
 * With `label`, the main navigation links to it (in `order`). */
export function registerPage(section, render, label, order) {
  pages.set(section, render);
  if (label) {
    nav.push({ section, label, order: order ?? 100 });
    nav.sort((a, b) => a.order - b.order);
  }
}

/** A tab of a function's page: `{id, label, order, render(panel, name, getFunctionAnswer)}`. */
export function registerTab(tab) {
  tabs.push(tab);
  tabs.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
}

export function functionTabs() {
  return tabs;
}

const listColumns = [];

/** A column of the function list that another module draws (the sparklines):
 * `{label, load(functionNames) -> Promise, cell(functionName) -> Node}`; the list is drawn
 * again once `load` has settled. */
export function registerListColumn(column) {
  listColumns.push(column);
}

export function functionListColumns() {
  return listColumns;
}

function renderNav(section) {
  const list = document.querySelector(".top nav ul");
  list.replaceChildren(
    ...nav.map((n) =>
      el("li", {}, el("a", { href: `#/${n.section}`, "aria-current": n.section === section ? "page" : null }, n.label)),
    ),
  );
}

/** A live task of the page shown (a log tail's stream): stopped when another is shown. */
let leaving = [];
export function onLeave(stop) {
  leaving.push(stop);
}

export async function route() {
  for (const stop of leaving) stop();
  leaving = [];
  const parts = (location.hash.replace(/^#\/?/, "") || "functions").split("/").map(decodeURIComponent);
  renderNav(parts[0]);
  if (!state.session && !(await loadSession())) {
    renderWho();
    signInPage();
    return;
  }
  renderWho();
  if (parts[0] === "signin") {
    location.hash = "#/functions";
    return;
  }
  const page = pages.get(parts[0]) || pages.get("functions");
  return page(parts.slice(1));
}

/** Starts the console once every page module has registered. */
export function start() {
  window.addEventListener("hashchange", route);
  route();
}
