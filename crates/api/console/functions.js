// The console's function pages: the list, create, and a function's page with its
// configuration, code, test and versions tabs (other modules add more tabs).
import {
  alertBox, api, apiJson, apiUpload, decodeBase64, el, facts, field, fileBase64, fn,
  functionListColumns, functionTabs, registerPage, registerTab, show, state,
} from "./core.js";

// ---- the function list -----------------------------------------------------------------

export async function listFunctions() {
  const all = [];
  let marker = "";
  do {
    const q = marker ? `?Marker=${encodeURIComponent(marker)}` : "";
    const page = await apiJson("GET", `/2015-03-31/functions/${q}`);
    all.push(...(page.Functions || []));
    marker = page.NextMarker || "";
  } while (marker);
  return all;
}

const columns = [
  { key: "FunctionName", label: "Name" },
  { key: "Runtime", label: "Runtime" },
  { key: "MemorySize", label: "Memory (MB)", num: true },
  { key: "LastModified", label: "Last modified", wide: true },
];

async function functionsPage() {
  const hash = location.hash;
  show("Functions", el("h1", {}, "Functions"), el("p", { class: "loading" }, "Loading…"));
  let functions;
  try {
    functions = await listFunctions();
  } catch (e) {
    functions = e;
  }
  // The user may have gone to another page while the list loaded: that page stays.
  if (location.hash !== hash) return;
  if (functions instanceof Error) {
    show("Functions", el("h1", {}, "Functions"), alertBox("bad", String(functions)));
    return;
  }
  const sort = { key: "FunctionName", dir: 1 };
  const search = el("input", { type: "search", name: "search", placeholder: "Filter by name" });
  const body = el("tbody");
  const count = el("p", { class: "muted", "aria-live": "polite" });
  const head = el("tr");
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const rows = functions
      .filter((f) => f.FunctionName.toLowerCase().includes(q))
      .sort((a, b) => {
        const x = a[sort.key] ?? "";
        const y = b[sort.key] ?? "";
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
      });
    body.replaceChildren(
      ...rows.map((f) =>
        el(
          "tr",
          {},
          el("td", {}, el("a", { href: `#/functions/${encodeURIComponent(f.FunctionName)}` }, f.FunctionName)),
          el("td", {}, f.Runtime || f.PackageType || ""),
          el("td", { class: "num" }, f.MemorySize),
          el("td", { class: "wide" }, f.LastModified),
          extra.map((c) => el("td", {}, c.cell(f.FunctionName))),
        ),
      ),
    );
    count.textContent = `${rows.length} of ${functions.length} functions`;
    head.replaceChildren(
      ...columns.map((c) =>
        el(
          "th",
          {
            scope: "col",
            class: [c.num ? "num" : "", c.wide ? "wide" : ""].join(" ").trim() || null,
            "aria-sort": sort.key === c.key ? (sort.dir > 0 ? "ascending" : "descending") : "none",
          },
          el(
            "button",
            {
              type: "button",
              onclick: () => {
                sort.dir = sort.key === c.key ? -sort.dir : 1;
                sort.key = c.key;
                draw();
              },
            },
            c.label,
          ),
        ),
      ),
      ...extra.map((c) => el("th", { scope: "col" }, c.label)),
    );
  };
  search.addEventListener("input", draw);
  const extra = functionListColumns();
  draw();
  const names = functions.map((f) => f.FunctionName);
  for (const c of extra) c.load(names).then(draw, draw);
  show(
    "Functions",
    el("h1", {}, "Functions"),
    el(
      "div",
      { class: "toolbar" },
      field("Search", search),
      el("a", { class: "button primary", href: "#/create" }, "Create function"),
    ),
    count,
    el("div", { class: "table-wrap" }, el("table", {}, el("caption", { class: "skip" }, "Functions"), el("thead", {}, head), body)),
  );
}

// ---- create ------------------------------------------------------------------------------

const RUNTIMES = ["python3.13", "python3.12", "python3.11", "nodejs22.x", "nodejs20.x", "provided.al2023", "provided.al2"];

/** The runtimes this server has installed (the administrator may ask), else Lambda's. */
async function runtimes() {
  try {
    const found = (await apiJson("GET", "/_hearth/runtimes")).runtimes || [];
    const installed = found.filter((r) => r.installed).map((r) => r.name);
    if (installed.length) return installed;
  } catch (_) {
    /* not the administrator: the usual names */
  }
  return RUNTIMES;
}

async function createPage() {
  const name = el("input", { name: "function-name", required: true, pattern: "[A-Za-z0-9_-]{1,64}", spellcheck: "false" });
  const runtime = el("select", { name: "runtime" }, (await runtimes()).map((r) => el("option", { value: r }, r)));
  const handler = el("input", { name: "handler", value: "app.handler", spellcheck: "false" });
  const role = el("input", { name: "role", value: `arn:aws:iam::${state.session.Account}:role/hearth`, spellcheck: "false" });
  const memory = el("input", { name: "memory", type: "number", min: 128, max: 10240, value: 128 });
  const zip = el("input", { name: "zip", type: "file", accept: ".zip,application/zip", required: true });
  const progress = el("progress", { max: 100, value: 0, "aria-label": "Upload progress", hidden: true });
  const out = el("div", { "aria-live": "polite" });
  const form = el(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        const file = zip.files[0];
        if (!file) return;
        progress.hidden = false;
        try {
          const body = {
            FunctionName: name.value.trim(),
            Runtime: runtime.value,
            Handler: handler.value.trim(),
            Role: role.value.trim(),
            MemorySize: Number(memory.value),
            Code: { ZipFile: await fileBase64(file) },
          };
          await apiUpload("POST", "/2015-03-31/functions", body, (done, total) => {
            progress.value = Math.round((100 * done) / total);
          });
          location.hash = `#/functions/${encodeURIComponent(body.FunctionName)}`;
        } catch (err) {
          out.append(alertBox("bad", String(err)));
        } finally {
          progress.hidden = true;
        }
      },
    },
    field("Function name", name),
    field("Runtime", runtime),
    field("Handler", handler, "file.function, e.g. app.handler"),
    field("Execution role", role),
    field("Memory (MB)", memory),
    field("Code (.zip)", zip),
    progress,
    el("button", { type: "submit", class: "primary" }, "Create function"),
  );
  show("Create function", el("h1", {}, "Create function"), out, form);
}

// ---- a function's page --------------------------------------------------------------------


async function functionPage(name, tabId) {
  const hash = location.hash;
  const TABS = functionTabs();
  const tab = TABS.find((t) => t.id === tabId) || TABS[0];
  let fnDoc;
  try {
    fnDoc = await apiJson("GET", fn(name));
  } catch (e) {
    fnDoc = e;
  }
  if (location.hash !== hash) return;
  if (fnDoc instanceof Error) {
    show(name, el("h1", {}, name), alertBox("bad", String(fnDoc)));
    return;
  }
  const c = fnDoc.Configuration;
  const panel = el("section", { role: "tabpanel", id: "panel", "aria-labelledby": `tab-${tab.id}` });
  const tabs = el(
    "div",
    { role: "tablist", "aria-label": "Function" },
    TABS.map((t) =>
      el(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${t.id}`,
          "aria-selected": t === tab ? "true" : "false",
          "aria-controls": "panel",
          tabindex: t === tab ? "0" : "-1",
          onclick: () => (location.hash = `#/functions/${encodeURIComponent(name)}/${t.id}`),
          onkeydown: (e) => {
            const i = TABS.indexOf(t);
            const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
            if (next === null) return;
            const to = TABS[(next + TABS.length) % TABS.length];
            location.hash = `#/functions/${encodeURIComponent(name)}/${to.id}`;
          },
        },
        t.label,
      ),
    ),
  );
  show(
    name,
    el("p", {}, el("a", { href: "#/functions" }, "Functions"), " / ", name),
    el("h1", {}, name),
    el("p", { class: "muted" }, c.FunctionArn),
    tabs,
    panel,
  );
  await tab.render(panel, name, fnDoc);
}

function number(nameAttr, value, min, max) {
  return el("input", { name: nameAttr, type: "number", min, max, value, required: true });
}

async function configTab(panel, name, fnDoc) {
  const c = fnDoc.Configuration;
  const memory = number("memory", c.MemorySize, 128, 10240);
  const timeout = number("timeout", c.Timeout, 1, 900);
  const storage = number("ephemeral-storage", (c.EphemeralStorage || {}).Size || 512, 512, 10240);
  const description = el("input", { name: "description", value: c.Description || "" });
  const envRows = el("div", {});
  const addEnv = (k, v) => {
    const key = el("input", { name: "env-key", value: k || "", "aria-label": "Variable name", spellcheck: "false" });
    const val = el("input", { name: "env-value", value: v || "", "aria-label": "Variable value", spellcheck: "false" });
    const row = el("div", { class: "env-row" }, key, val, el("button", { type: "button", onclick: () => row.remove() }, "Remove"));
    envRows.append(row);
  };
  for (const [k, v] of Object.entries((c.Environment || {}).Variables || {})) addEnv(k, v);
  const out = el("div", { "aria-live": "polite" });
  const form = el(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        const variables = {};
        for (const row of envRows.children) {
          const [k, v] = row.querySelectorAll("input");
          if (k.value.trim()) variables[k.value.trim()] = v.value;
        }
        try {
          const updated = await apiJson("PUT", `${fn(name)}/configuration`, {
            MemorySize: Number(memory.value),
            Timeout: Number(timeout.value),
            EphemeralStorage: { Size: Number(storage.value) },
            Description: description.value,
            Environment: { Variables: variables },
          });
          out.append(alertBox("good", `Saved. Memory ${updated.MemorySize} MB, timeout ${updated.Timeout} s.`));
        } catch (err) {
          out.append(alertBox("bad", String(err)));
        }
      },
    },
    el("h2", {}, "General"),
    field("Memory (MB)", memory, "128 to 10,240"),
    field("Timeout (seconds)", timeout, "1 to 900"),
    field("Ephemeral storage (MB)", storage, "512 to 10,240"),
    field("Description", description),
    el("h2", {}, "Environment variables"),
    envRows,
    el("p", {}, el("button", { type: "button", onclick: () => addEnv() }, "Add variable")),
    el("button", { type: "submit", class: "primary" }, "Save configuration"),
    out,
  );
  panel.replaceChildren(
    form,
    concurrencySection(name, fnDoc),
    layersSection(name, c),
    egressSection(name, fnDoc),
    el("h2", {}, "Details"),
    facts({
      Runtime: c.Runtime,
      Handler: c.Handler,
      Role: c.Role,
      Architecture: (c.Architectures || []).join(", "),
      State: c.State,
      "Last modified": c.LastModified,
      "Reserved concurrency": fnDoc.Concurrency ? fnDoc.Concurrency.ReservedConcurrentExecutions : "none (the account's unreserved pool)",
      Layers: (c.Layers || []).map((l) => l.Arn).join(", ") || "none",
    }),
  );
}

/** A form of its own with a result line: each section saves with its own operation. */
function section(title, ...controls) {
  const out = el("div", { "aria-live": "polite" });
  const heading = el("h2", {}, title);
  return { out, node: el("section", { "aria-label": title }, heading, ...controls, out) };
}

async function attempt(out, call, done) {
  out.replaceChildren();
  try {
    const result = await call();
    out.append(alertBox("good", done(result)));
  } catch (err) {
    out.append(alertBox("bad", String(err)));
  }
}

/** A section's form: its fields, a submit button that runs `save` (then says `saved(result)`),
 * and, given `undo`, a second button that runs it. Each is `[label, call, says]`. */
function sectionForm(s, fields, save, undo) {
  const [saveLabel, saveCall, saved] = save;
  return el(
    "form",
    {
      class: "toolbar",
      onsubmit: (e) => {
        e.preventDefault();
        attempt(s.out, saveCall, saved);
      },
    },
    ...fields,
    el("button", { type: "submit" }, saveLabel),
    undo ? el("button", { type: "button", onclick: () => attempt(s.out, undo[1], undo[2]) }, undo[0]) : null,
  );
}

/** Reserved concurrency (PutFunctionConcurrency) and provisioned concurrency per version or
 * alias (PutProvisionedConcurrencyConfig). */
function concurrencySection(name, fnDoc) {
  const reservedNow = fnDoc.Concurrency ? fnDoc.Concurrency.ReservedConcurrentExecutions : "";
  const reserved = el("input", { name: "reserved-concurrency", type: "number", min: 0, value: reservedNow });
  const qualifier = el("select", { name: "provisioned-qualifier" });
  const provisioned = el("input", { name: "provisioned-concurrency", type: "number", min: 1, value: 1 });
  const list = el("div", {});
  const reservedPath = `/2017-10-31/functions/${encodeURIComponent(name)}/concurrency`;
  const provisionedPath = (q) => `/2019-09-30/functions/${encodeURIComponent(name)}/provisioned-concurrency?Qualifier=${encodeURIComponent(q)}`;
  const s = section("Concurrency", list);
  s.node.insertBefore(
    sectionForm(
      s,
      [field("Reserved concurrency", reserved, "empty: the account's unreserved pool")],
      [
        "Save reserved concurrency",
        () => apiJson("PUT", reservedPath, { ReservedConcurrentExecutions: Number(reserved.value) }),
        (r) => `Reserved concurrency set to ${r.ReservedConcurrentExecutions}.`,
      ],
      [
        "Remove reserved concurrency",
        async () => {
          await api("DELETE", reservedPath);
          reserved.value = "";
        },
        () => "Reserved concurrency removed.",
      ],
    ),
    list,
  );
  s.node.insertBefore(
    sectionForm(s, [field("Version or alias", qualifier), field("Provisioned concurrency", provisioned)], [
      "Save provisioned concurrency",
      async () => {
        const r = await apiJson("PUT", provisionedPath(qualifier.value), { ProvisionedConcurrentExecutions: Number(provisioned.value) });
        await drawProvisioned();
        return r;
      },
      (r) => `Provisioned concurrency of ${qualifier.value}: ${r.RequestedProvisionedConcurrentExecutions} requested (${r.Status}).`,
    ]),
    list,
  );
  const remove = (q) =>
    el(
      "button",
      {
        type: "button",
        "aria-label": `Remove provisioned concurrency of ${q}`,
        onclick: () =>
          attempt(
            s.out,
            async () => {
              await api("DELETE", provisionedPath(q));
              await drawProvisioned();
            },
            () => `Provisioned concurrency of ${q} removed.`,
          ),
      },
      "Remove",
    );
  const drawProvisioned = async () => {
    const configs = (await apiJson("GET", `/2019-09-30/functions/${encodeURIComponent(name)}/provisioned-concurrency?List=ALL`)).ProvisionedConcurrencyConfigs || [];
    list.replaceChildren(
      configs.length
        ? el(
            "table",
            {},
            el("caption", {}, "Provisioned concurrency"),
            el("thead", {}, el("tr", {}, ["Qualifier", "Requested", "Allocated", "Status", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
            el(
              "tbody",
              {},
              configs.map((c) => {
                const q = c.FunctionArn.split(":").pop();
                return el(
                  "tr",
                  {},
                  el("td", {}, q),
                  el("td", { class: "num" }, c.RequestedProvisionedConcurrentExecutions),
                  el("td", { class: "num" }, c.AllocatedProvisionedConcurrentExecutions),
                  el("td", {}, c.Status),
                  el("td", {}, remove(q)),
                );
              }),
            ),
          )
        : el("p", { class: "muted" }, "No provisioned concurrency."),
    );
  };
  (async () => {
    try {
      const versions = ((await apiJson("GET", `${fn(name)}/versions`)).Versions || []).map((v) => v.Version).filter((v) => v !== "$LATEST");
      const aliases = ((await apiJson("GET", `${fn(name)}/aliases`)).Aliases || []).map((a) => a.Name);
      qualifier.replaceChildren(...[...aliases, ...versions].map((q) => el("option", { value: q }, q)));
      await drawProvisioned();
    } catch (err) {
      s.out.replaceChildren(alertBox("bad", String(err)));
    }
  })();
  return s.node;
}

/** The function's layers (UpdateFunctionConfiguration's Layers), one version ARN a line. */
function layersSection(name, c) {
  const layers = el("textarea", { class: "code", name: "layers", rows: 3, spellcheck: "false" }, (c.Layers || []).map((l) => l.Arn).join("\n"));
  const s = section("Layers");
  s.node.insertBefore(
    sectionForm(s, [field("Layer version ARNs", layers, "one a line, in the order they are extracted")], [
      "Save layers",
      () => apiJson("PUT", `${fn(name)}/configuration`, { Layers: layers.value.split(/\s+/).filter(Boolean) }),
      (r) => `Layers saved: ${(r.Layers || []).length}.`,
    ]),
    s.out,
  );
  return s.node;
}

/** Where the function may connect (Hearth's egress policy, docs/egress.md). */
function egressSection(name, fnDoc) {
  const now = (fnDoc.Hearth || {}).Egress || {};
  const policy = el("input", { name: "egress-policy", value: now.Policy || "", spellcheck: "false" });
  const path = `/_hearth/functions/${encodeURIComponent(name)}/egress`;
  const said = (r) => `Egress: ${r.Policy} (${r.Source === "function" ? "the function's own" : "the server's default"}${r.Enforced ? "" : "; not enforced by this sandbox"}).`;
  const s = section("Egress", el("p", { class: "muted" }, now.Policy ? said(now) : ""));
  s.node.insertBefore(
    sectionForm(
      s,
      [field("Egress policy", policy, "all, none, or an allowlist such as tcp:203.0.113.0/24:443")],
      ["Save egress policy", () => apiJson("PUT", path, { Policy: policy.value.trim() }), said],
      [
        "Use the server's default",
        async () => {
          await api("DELETE", path);
          const r = await apiJson("GET", path);
          policy.value = r.Policy;
          return r;
        },
        said,
      ],
    ),
    s.out,
  );
  return s.node;
}

async function codeTab(panel, name, fnDoc) {
  const c = fnDoc.Configuration;
  const zip = el("input", { name: "zip", type: "file", accept: ".zip,application/zip" });
  const progress = el("progress", { max: 100, value: 0, "aria-label": "Upload progress", hidden: true });
  const out = el("div", { "aria-live": "polite" });
  const form = el(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        const file = zip.files[0];
        if (!file) {
          out.append(alertBox("bad", "Choose a .zip file first."));
          return;
        }
        progress.hidden = false;
        try {
          const updated = await apiUpload("PUT", `${fn(name)}/code`, { ZipFile: await fileBase64(file) }, (done, total) => {
            progress.value = Math.round((100 * done) / total);
          });
          out.append(alertBox("good", `Uploaded: ${updated.CodeSize} bytes, SHA-256 ${updated.CodeSha256}.`));
        } catch (err) {
          out.append(alertBox("bad", String(err)));
        } finally {
          progress.hidden = true;
        }
      },
    },
    field("New code (.zip)", zip),
    progress,
    el("button", { type: "submit", class: "primary" }, "Upload"),
    out,
  );
  const source = el("div", {});
  panel.replaceChildren(
    el("h2", {}, "Current code"),
    facts({ "SHA-256": c.CodeSha256, "Size (bytes)": c.CodeSize, Runtime: c.Runtime, Handler: c.Handler }),
    source,
    el("h2", {}, "Upload"),
    form,
  );
  handlerSource(source, c, fnDoc.Code && fnDoc.Code.Location);
}

/** The files a handler `dir/module.function` may be in, for the interpreted runtimes. */
function handlerFiles(runtime, handler) {
  const module = (handler || "").replace(/\.[^./]*$/, "");
  if (!module) return [];
  if ((runtime || "").startsWith("python")) return [`${module.replace(/\./g, "/")}.py`];
  if ((runtime || "").startsWith("nodejs")) return [".js", ".mjs", ".cjs"].map((ext) => module + ext);
  return [];
}

/** Shows the handler's file, read-only, out of the function's zip (GetFunction's
 * Code.Location, this server's URL). Only interpreted runtimes have one to show. */
async function handlerSource(into, c, location) {
  const wanted = handlerFiles(c.Runtime, c.Handler);
  if (!wanted.length || !location) return;
  try {
    const resp = await fetch(location, { credentials: "same-origin" });
    if (!resp.ok) throw new Error(`the code could not be read (${resp.status})`);
    const found = await zipEntry(new Uint8Array(await resp.arrayBuffer()), wanted);
    if (!found) {
      into.replaceChildren(el("p", { class: "muted" }, `The zip has no ${wanted.join(" or ")}.`));
      return;
    }
    into.replaceChildren(
      el("h2", { id: "handler-file-title" }, `Handler file: ${found.name}`),
      el("pre", { class: "out", id: "handler-file", tabindex: 0, "aria-labelledby": "handler-file-title" }, found.text),
    );
  } catch (err) {
    into.replaceChildren(alertBox("bad", `The handler file cannot be shown: ${err.message || err}`));
  }
}

/** The first of `names` in a zip, as text (stored or deflated entries; at most 1 MB). */
async function zipEntry(bytes, names) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  for (let n = 0; n < count && view.getUint32(at, true) === 0x02014b50; n++) {
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLen = view.getUint16(at + 28, true);
    const skip = nameLen + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + skip;
    if (!names.includes(name)) continue;
    if (view.getUint32(at - 46 - skip + 24, true) > 1 << 20) throw new Error(`${name} is over 1 MB`);
    const data = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(data, data + size);
    if (method === 0) return { name, text: decoder.decode(raw) };
    if (method !== 8) throw new Error(`${name} is compressed in a way the page cannot read`);
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return { name, text: await new Response(stream).text() };
  }
  return null;
}

// Saved test events are the function's shareable events, kept as Lambda's console and
// `sam remote test-event` keep them: one EventBridge Schemas schema per function,
// `_<function>-schema` in the registry `lambda-testevent-schemas`, each event an example of
// its OpenAPI document (`components.examples.<event name>.value`).
const TEST_EVENT_REGISTRY = "lambda-testevent-schemas";

/** The schema that holds a function's shareable events. */
function eventsKey(name) {
  const plain = name.startsWith("arn:") ? name.split(":")[6] : name;
  return `_${plain}-schema`;
}

function eventsPath(name) {
  return `/v1/registries/name/${TEST_EVENT_REGISTRY}/schemas/name/${encodeURIComponent(eventsKey(name))}`;
}

/** The function's shareable events, by name (JSON text), and the schema's document (null
 * when the function has none yet). */
async function savedEvents(name) {
  let described;
  try {
    described = await apiJson("GET", eventsPath(name));
  } catch (err) {
    if (err.code === "NotFoundException") return { events: {}, doc: null };
    throw err;
  }
  let doc;
  try {
    doc = JSON.parse(described.Content);
  } catch (_) {
    throw new Error(`The schema ${eventsKey(name)} is not JSON`);
  }
  const examples = (doc.components && doc.components.examples) || {};
  const events = {};
  for (const [k, v] of Object.entries(examples)) {
    if (v && "value" in v) events[k] = JSON.stringify(v.value, null, 2);
  }
  return { events, doc };
}

/** The registry of shareable events, made on first use as Lambda's console makes it. */
async function ensureEventRegistry() {
  const path = `/v1/registries/name/${TEST_EVENT_REGISTRY}`;
  try {
    await apiJson("GET", path);
  } catch (err) {
    if (err.code !== "NotFoundException") throw err;
    try {
      await apiJson("POST", path, { Description: "Shareable test events of Lambda functions" });
    } catch (made) {
      if (made.code !== "ConflictException") throw made;
    }
  }
}

/** Writes the function's events (`doc`, or a new document when `had` is false) back: a new
 * version of the schema, its creation, or its deletion when no event is left. */
async function writeEvents(name, doc, had) {
  const content = JSON.stringify(doc);
  if (had && Object.keys(doc.components.examples).length === 0) {
    await api("DELETE", eventsPath(name));
  } else if (had) {
    await apiJson("PUT", eventsPath(name), { Type: "OpenApi3", Content: content });
  } else {
    await apiJson("POST", eventsPath(name), { Type: "OpenApi3", Content: content });
  }
}

/** What a refusal of the schemas' operations means here. */
function eventsError(err) {
  if (err.code === "ForbiddenException" || err.code === "AccessDeniedException") {
    return `Your key may not use shareable test events: they are kept in EventBridge Schemas ` +
      `(registry ${TEST_EVENT_REGISTRY}), which needs the schemas:DescribeRegistry, ` +
      `schemas:CreateRegistry, schemas:DescribeSchema, schemas:CreateSchema, ` +
      `schemas:UpdateSchema and schemas:DeleteSchema actions. (${err})`;
  }
  return String(err);
}

/** The figures of a REPORT line, by name. */
function reportFigures(log) {
  const line = log.split("\n").find((l) => l.startsWith("REPORT "));
  if (!line) return null;
  const figures = {};
  for (const part of line.split("\t").slice(1)) {
    const i = part.indexOf(":");
    if (i > 0) figures[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return figures;
}

async function testTab(panel, name) {
  let saved = {};
  const editor = el("textarea", { class: "code", name: "event", spellcheck: "false" }, '{\n  "key": "value"\n}');
  const eventName = el("input", { name: "event-name", placeholder: "my-event" });
  const picker = el("select", { name: "saved-event" }, el("option", { value: "" }, "—"));
  const eventsOut = el("div", { "aria-live": "polite" });
  const refreshPicker = () => {
    const chosen = picker.value;
    picker.replaceChildren(el("option", { value: "" }, "—"), ...Object.keys(saved).sort().map((k) => el("option", { value: k }, k)));
    if (chosen in saved) picker.value = chosen;
  };
  const load = async () => {
    try {
      saved = (await savedEvents(name)).events;
      refreshPicker();
      return true;
    } catch (err) {
      eventsOut.replaceChildren(alertBox("bad", eventsError(err)));
      return false;
    }
  };
  picker.addEventListener("change", () => {
    if (picker.value) {
      editor.value = saved[picker.value];
      eventName.value = picker.value;
    }
  });
  // Read, change and write back the function's schema: the events another tab or
  // `sam remote test-event` saved meanwhile are kept.
  const change = async (edit, done) => {
    eventsOut.replaceChildren();
    try {
      await ensureEventRegistry();
      const { doc, events } = await savedEvents(name);
      const had = doc !== null;
      const d = had ? doc : {
        openapi: "3.0.0",
        info: { version: "1.0.0", title: "Event" },
        paths: {},
        components: { schemas: { Event: { type: "object" } } },
      };
      d.components = d.components || {};
      d.components.examples = d.components.examples || {};
      if (edit(d.components.examples, events) === false) return;
      await writeEvents(name, d, had);
      await load();
      eventsOut.replaceChildren(alertBox("good", done));
    } catch (err) {
      eventsOut.replaceChildren(alertBox("bad", eventsError(err)));
    }
  };
  const save = () => {
    const k = eventName.value.trim();
    if (!k) {
      eventsOut.replaceChildren(alertBox("bad", "Give the event a name to save it."));
      return;
    }
    let value;
    try {
      value = JSON.parse(editor.value);
    } catch (e) {
      eventsOut.replaceChildren(alertBox("bad", `The event is not JSON: ${e.message}`));
      return;
    }
    return change((examples) => {
      examples[k] = { value };
    }, `Saved the shareable event ${k}.`).then(() => {
      if (k in saved) picker.value = k;
    });
  };
  const remove = () => {
    const k = picker.value || eventName.value.trim();
    if (!k) {
      eventsOut.replaceChildren(alertBox("bad", "Choose a saved event to delete."));
      return;
    }
    return change((examples) => {
      if (!(k in examples)) {
        eventsOut.replaceChildren(alertBox("bad", `There is no saved event ${k}.`));
        return false;
      }
      delete examples[k];
    }, `Deleted the shareable event ${k}.`).then(() => {
      picker.value = "";
    });
  };
  const out = el("div", { "aria-live": "polite" });
  const result = el("section", { "aria-label": "Result" });
  const invoke = async () => {
    out.replaceChildren();
    result.replaceChildren();
    let payload;
    try {
      payload = JSON.stringify(JSON.parse(editor.value));
    } catch (e) {
      out.append(alertBox("bad", `The event is not JSON: ${e.message}`));
      return;
    }
    try {
      const resp = await api("POST", `${fn(name)}/invocations`, payload, { "X-Amz-Log-Type": "Tail" });
      const text = await resp.text();
      const error = resp.headers.get("x-amz-function-error");
      const log = decodeBase64(resp.headers.get("x-amz-log-result") || "");
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch (_) {
        /* not JSON: as it is */
      }
      const figures = reportFigures(log) || {};
      result.append(
        alertBox(error ? "bad" : "good", error ? `The function failed (${error}).` : "The function succeeded."),
        facts({
          "Executed version": resp.headers.get("x-amz-executed-version"),
          Duration: figures["Duration"],
          "Billed duration": figures["Billed Duration"],
          "Memory size": figures["Memory Size"],
          "Max memory used": figures["Max Memory Used"],
          "Init duration": figures["Init Duration"],
        }),
        el("h2", { id: "invoke-response-title" }, "Response"),
        // Focusable: a long answer scrolls, and a keyboard must be able to scroll it.
        el("pre", { class: "out", id: "invoke-response", tabindex: 0, "aria-labelledby": "invoke-response-title" }, pretty),
        el("h2", { id: "invoke-log-title" }, "Log tail"),
        el("pre", { class: "out", id: "invoke-log", tabindex: 0, "aria-labelledby": "invoke-log-title" }, log),
      );
    } catch (err) {
      out.append(alertBox("bad", String(err)));
    }
  };
  panel.replaceChildren(
    el(
      "div",
      { class: "toolbar" },
      field("Saved event", picker, "Shareable: kept for the account on the server (EventBridge Schemas)"),
      field("Event name", eventName),
      el("button", { type: "button", onclick: save }, "Save event"),
      el("button", { type: "button", onclick: remove }, "Delete event"),
    ),
    eventsOut,
    field("Event JSON", editor),
    el("button", { type: "button", class: "primary", onclick: invoke }, "Invoke"),
    out,
    result,
  );
  await load();
}

async function versionsTab(panel, name) {
  const out = el("div", { "aria-live": "polite" });
  let versions;
  let aliases;
  try {
    versions = (await apiJson("GET", `${fn(name)}/versions`)).Versions || [];
    aliases = (await apiJson("GET", `${fn(name)}/aliases`)).Aliases || [];
  } catch (e) {
    panel.replaceChildren(alertBox("bad", String(e)));
    return;
  }
  const rerender = () => versionsTab(panel, name);
  const published = versions.filter((v) => v.Version !== "$LATEST").map((v) => v.Version);
  const description = el("input", { name: "version-description" });
  const publish = el(
    "form",
    {
      class: "row",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const v = await apiJson("POST", `${fn(name)}/versions`, { Description: description.value });
          await rerender();
          panel.prepend(alertBox("good", `Published version ${v.Version}.`));
        } catch (err) {
          out.replaceChildren(alertBox("bad", String(err)));
        }
      },
    },
    field("Description", description),
    el("button", { type: "submit", class: "primary" }, "Publish new version"),
  );
  const versionOptions = (selected) =>
    ["$LATEST", ...published].map((v) => el("option", { value: v, selected: v === selected }, v));
  const aliasRows = aliases.map((a) => {
    const weights = (a.RoutingConfig || {}).AdditionalVersionWeights || {};
    const [extraVersion, extraWeight] = Object.entries(weights)[0] || ["", 0];
    const primary = el("select", { name: `alias-${a.Name}-version`, "aria-label": `Version of alias ${a.Name}` }, versionOptions(a.FunctionVersion));
    const extra = el(
      "select",
      { name: `alias-${a.Name}-extra`, "aria-label": `Additional version of alias ${a.Name}` },
      el("option", { value: "" }, "none"),
      published.map((v) => el("option", { value: v, selected: v === extraVersion }, v)),
    );
    const weight = el("input", {
      name: `alias-${a.Name}-weight`,
      type: "number",
      min: 0,
      max: 100,
      step: 1,
      value: Math.round(extraWeight * 100),
      "aria-label": `Percent of invocations of alias ${a.Name} to the additional version`,
    });
    const save = async () => {
      const body = { FunctionVersion: primary.value, RoutingConfig: { AdditionalVersionWeights: {} } };
      if (extra.value) body.RoutingConfig.AdditionalVersionWeights[extra.value] = Number(weight.value) / 100;
      try {
        await apiJson("PUT", `${fn(name)}/aliases/${encodeURIComponent(a.Name)}`, body);
        out.replaceChildren(alertBox("good", `Alias ${a.Name} saved.`));
      } catch (err) {
        out.replaceChildren(alertBox("bad", String(err)));
      }
    };
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, a.Name),
      el("td", {}, primary),
      el("td", {}, extra),
      el("td", {}, weight),
      el("td", {}, el("button", { type: "button", onclick: save, "aria-label": `Save alias ${a.Name}` }, "Save")),
    );
  });
  const aliasName = el("input", { name: "alias-name", pattern: "[A-Za-z0-9_-]+", required: true });
  const aliasVersion = el("select", { name: "alias-version" }, versionOptions(published[published.length - 1] || "$LATEST"));
  const createAlias = el(
    "form",
    {
      class: "row",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await apiJson("POST", `${fn(name)}/aliases`, { Name: aliasName.value.trim(), FunctionVersion: aliasVersion.value });
          await rerender();
        } catch (err) {
          out.replaceChildren(alertBox("bad", String(err)));
        }
      },
    },
    field("Alias name", aliasName),
    field("Version", aliasVersion),
    el("button", { type: "submit" }, "Create alias"),
  );
  panel.replaceChildren(
    out,
    el("h2", {}, "Versions"),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Version"), el("th", { scope: "col" }, "Description"), el("th", { scope: "col" }, "Code SHA-256"))),
        el("tbody", {}, versions.map((v) => el("tr", {}, el("td", {}, v.Version), el("td", {}, v.Description || ""), el("td", {}, el("code", {}, v.CodeSha256))))),
      ),
    ),
    publish,
    el("h2", {}, "Aliases"),
    aliases.length
      ? el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            {},
            el(
              "thead",
              {},
              el("tr", {}, ["Alias", "Version", "Additional version", "Weight (%)", ""].map((h) => el("th", { scope: "col" }, h || el("span", { class: "skip" }, "Actions")))),
            ),
            el("tbody", {}, aliasRows),
          ),
        )
      : el("p", { class: "muted" }, "No aliases yet."),
    el("h2", {}, "Create alias"),
    createAlias,
  );
}


registerTab({ id: "config", label: "Configuration", order: 10, render: configTab });
registerTab({ id: "code", label: "Code", order: 20, render: codeTab });
registerTab({ id: "test", label: "Test", order: 30, render: testTab });
registerTab({ id: "versions", label: "Versions and aliases", order: 40, render: versionsTab });
registerPage("functions", (parts) => (parts[0] ? functionPage(parts[0], parts[1]) : functionsPage()), "Functions", 10);
registerPage("create", () => createPage());
