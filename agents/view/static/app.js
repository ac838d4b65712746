// toolgym view: the page. Plain JS, no build step, nothing fetched but this server's own API (or, in a
// file written by `toolgym view --html`, the data embedded in it). Text from trajectories is only ever
// set as textContent, never parsed as HTML.
"use strict";

const PAGE = 50;
const EMBEDDED = document.getElementById("toolgym-data");

// ---- small helpers ---------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function fmt(x, digits = 3) {
  if (x === null || x === undefined || (typeof x === "number" && !isFinite(x))) return "-";
  return typeof x === "number" ? x.toFixed(digits) : String(x);
}

function yesNo(v, yes = "yes", no = "no") {
  if (v === null || v === undefined) return el("span", { class: "muted" }, "-");
  return el("span", { class: v ? "yes" : "no" }, v ? yes : no);
}

function setStatus(text, warn) {
  const s = document.getElementById("status");
  s.textContent = text || "";
  s.className = warn ? "warn" : "muted";
}

function shortEnv(e) { return String(e || "").replace(/^toolgym\//, ""); }

// ---- the API: the server's, or the embedded data of an exported file -------------------------------

// An error response as one line: the server's own reason, or each field FastAPI found bad ("limit: Input
// should be less than or equal to 500"), else the status.
function errorText(r, body) {
  const d = body.detail;
  if (typeof d === "string" && d) return d;
  if (Array.isArray(d) && d.length) {
    return d.map((e) => {
      const where = (e.loc || []).filter((p) => !["body", "query", "path"].includes(p)).join(".");
      return (where ? where + ": " : "") + (e.msg || JSON.stringify(e));
    }).join("; ");
  }
  return `${r.status} ${r.statusText || "error"}`;
}

class ServerApi {
  async get(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
    const url = "api/" + path + (q.toString() ? "?" + q : "");
    const r = await fetch(url);
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(errorText(r, body));
    return body;
  }
  async post(path, data) {
    const r = await fetch("api/" + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(errorText(r, body));
    return body;
  }
  config() { return this.get("config"); }
  status(sid) { return this.get(`sources/${sid}/status`); }
  episodes(sid, params) { return this.get(`sources/${sid}/episodes`, params); }
  summary(sid, params) { return this.get(`sources/${sid}/summary`, params); }
  episode(sid, id) { return this.get(`sources/${sid}/episodes/${id}`); }
  badLines(sid) { return this.get(`sources/${sid}/bad-lines`); }
  compare(params) { return this.get("compare", params); }
  curves(rid) { return this.get(`runs/${rid}/curves`); }
  fileUrl(rid, name) { return `api/runs/${rid}/files/${encodeURIComponent(name)}`; }
  playEnvs() { return this.get("play/envs"); }
  playStart(body) { return this.post("play/start", body); }
  playStep(session, text) { return this.post(`play/${session}/step`, { text }); }
}

// The same answers from the data an exported file carries: filters, sorting and paging done here.
class EmbeddedApi {
  constructor(data) { this.data = data; }
  async config() { return this.data.config; }
  async status(sid) { return this.data.config.sources.find((s) => s.id === sid); }
  match(r, p) {
    const num = (v) => (v === "" || v === undefined || v === null ? null : Number(v));
    const flag = (v) => (v === "" || v === undefined || v === null ? null : v === "true" || v === true);
    if (p.env && r.env !== p.env && shortEnv(r.env) !== p.env) return false;
    if (p.task && !r.task.toLowerCase().includes(String(p.task).toLowerCase())) return false;
    const checks = [[flag(p.success), r.success === true], [flag(p.error), r.error], [flag(p.format_error), r.format_errors > 0], [flag(p.truncated), r.truncated]];
    for (const [want, have] of checks) if (want !== null && want !== have) return false;
    const ranges = [["reward_min", "reward_max", "reward"], ["turns_min", "turns_max", "turns"], ["tools_min", "tools_max", "tool_calls"]];
    for (const [lo, hi, key] of ranges) {
      if (num(p[lo]) !== null && !(r[key] >= num(p[lo]))) return false;
      if (num(p[hi]) !== null && !(r[key] <= num(p[hi]))) return false;
    }
    return true;
  }
  async episodes(sid, p) {
    const src = this.data.sources[sid];
    let rows = src.rows.filter((r) => this.match(r, p));
    const key = p.sort || "line";
    const val = (r) => (key === "success" ? (r.success === null ? -1 : Number(r.success)) : r[key]);
    rows = rows.slice().sort((x, y) => (val(x) < val(y) ? -1 : val(x) > val(y) ? 1 : 0));
    if (p.desc === "true" || p.desc === true) rows.reverse();
    const offset = Number(p.offset || 0), limit = Number(p.limit || PAGE);
    return { total: rows.length, offset, limit, rows: rows.slice(offset, offset + limit), status: await this.status(sid) };
  }
  async summary(sid) { return this.data.sources[sid].summary; }
  async episode(sid, id) {
    const ep = this.data.sources[sid].episodes[id];
    if (!ep) throw new Error("this episode is not in the exported file");
    return ep;
  }
  async badLines(sid) { return this.data.sources[sid].bad_lines; }
  async compare(p) {
    const a = this.data.sources[p.a].rows, b = this.data.sources[p.b].rows;
    const key = (r) => JSON.stringify([r.env, r.task, r.seed, r.sample]);
    const inB = new Map(b.map((r) => [key(r), r]));
    const used = new Set();
    const pairs = [];
    const side = (r) => r && { id: r.id, reward: r.reward, success: r.success, error: r.error, turns: r.turns, tool_calls: r.tool_calls };
    for (const r of a) {
      const other = inB.get(key(r));
      const ok = other && !used.has(other);
      if (ok) used.add(other);
      pairs.push([r, ok ? other : null]);
    }
    for (const r of b) if (!used.has(r)) pairs.push([null, r]);
    const rows = pairs.map(([x, y], i) => {
      const k = x || y;
      let change = "unpaired";
      if (x && y) change = !(x.success === true) && y.success === true ? "fixed" : x.success === true && !(y.success === true) ? "broke" : "same";
      return { pair: i, env: k.env, task: k.task, seed: k.seed, sample: k.sample, change, a: side(x), b: side(y) };
    });
    const counts = { fixed: 0, broke: 0, same: 0, unpaired: 0 };
    rows.forEach((r) => counts[r.change]++);
    const paired = rows.filter((r) => r.a && r.b);
    counts.success_a = paired.length ? paired.filter((r) => r.a.success === true).length / paired.length : null;
    counts.success_b = paired.length ? paired.filter((r) => r.b.success === true).length / paired.length : null;
    const kept = rows.filter((r) => (!p.change || r.change === p.change) && (!p.env || r.env === p.env || shortEnv(r.env) === p.env) && (!p.task || r.task.toLowerCase().includes(p.task.toLowerCase())));
    const offset = Number(p.offset || 0), limit = Number(p.limit || PAGE);
    return { total: kept.length, offset, limit, counts, rows: kept.slice(offset, offset + limit) };
  }
  async curves(rid) { return this.data.curves[rid]; }
  fileUrl(rid, name) { return (this.data.files[rid] || {})[name]; }
  async playEnvs() { return []; }
}

const api = EMBEDDED ? new EmbeddedApi(JSON.parse(EMBEDDED.textContent)) : new ServerApi();

// ---- state ------------------------------------------------------------------------------------------

const state = { config: null, source: null, sort: "line", desc: false, offset: 0, filters: {}, selected: null, compareOffset: 0, play: null };

function sourceLabel(sid) {
  const s = state.config.sources.find((x) => x.id === sid);
  return s ? s.label : sid;
}

// ---- tabs ---------------------------------------------------------------------------------------------

function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== "tab-" + name;
  if (name === "curves") loadCurves();
  if (name === "play") loadPlayEnvs();
}

// ---- the summary: the eval table's columns -----------------------------------------------------------

function renderSummary(sum) {
  const box = document.getElementById("summary");
  box.replaceChildren();
  if (sum.pending) {
    box.append(el("p", { class: "muted" }, `the summary comes when the whole file is indexed (${sum.episodes.toLocaleString()} episodes so far)`));
    return;
  }
  if (!sum.rows.length) {
    box.append(el("p", { class: "muted" }, "no episodes match"));
    return;
  }
  const k = sum.k;
  const cols = [["env", (s) => shortEnv(s.env_id)], ["tasks", (s) => s.tasks], ["episodes", (s) => s.episodes], ["err", (s) => s.errors],
    ["reward", (s) => fmt(s.mean_reward)], ["success", (s) => fmt(s.success_rate)]];
  if (k > 1) cols.push([`pass@${k}`, (s) => fmt(s.pass_at_k)], [`maj@${k}`, (s) => fmt(s.maj_at_k)], [`best@${k}`, (s) => fmt(s.best_of_k_reward)]);
  cols.push(["turns", (s) => fmt(s.turns, 2)], ["tools", (s) => fmt(s.tool_calls, 2)], ["fmt err", (s) => fmt(s.format_error_rate)]);
  let title = sum.filtered ? `summary of the ${sum.episodes.toLocaleString()} episodes listed (the eval table's figures)` : `summary of all ${sum.episodes.toLocaleString()} episodes (the eval table's figures)`;
  if (EMBEDDED && Object.keys(state.filters).length) title += "; filters apply to the table only in an exported file";
  box.append(el("table", { class: "grid", id: "summary-table" },
    el("caption", { class: "muted" }, title),
    el("thead", {}, el("tr", {}, cols.map(([n]) => el("th", {}, n)))),
    el("tbody", {}, sum.rows.map((s) => el("tr", {}, cols.map(([, f]) => el("td", {}, f(s))))))));
}

// ---- the episode table --------------------------------------------------------------------------------

const EP_COLS = [
  ["line", "line"], ["env", "env"], ["task", "task"], ["seed", "seed"], ["sample", "sample"], ["reward", "reward"],
  ["success", "success"], ["turns", "turns"], ["tool_calls", "tool calls"], ["format_errors", "fmt err"], [null, "flags"],
];

function renderHead() {
  const thead = document.querySelector("#episodes thead");
  thead.replaceChildren(el("tr", {}, EP_COLS.map(([key, name]) => {
    const cls = [key ? "sortable" : "", key === state.sort ? (state.desc ? "sorted-desc" : "sorted-asc") : "", key === "env" || key === "task" ? "text" : ""].join(" ");
    return el("th", { class: cls, "data-sort": key, onclick: key ? () => { state.desc = state.sort === key ? !state.desc : false; state.sort = key; state.offset = 0; loadEpisodes(); } : null }, name);
  })));
}

function flags(r) {
  const out = [];
  if (r.error) out.push(el("span", { class: "no" }, "infra error"));
  if (r.truncated) out.push(el("span", { class: "muted" }, "truncated"));
  if (!r.tokens) out.push(el("span", { class: "muted" }, "no tokens"));
  return out.flatMap((x, i) => (i ? [" ", x] : [x]));
}

function renderRows(data) {
  const tbody = document.querySelector("#episodes tbody");
  tbody.replaceChildren(...data.rows.map((r) => el("tr", { class: "clickable" + (state.selected === r.id ? " selected" : ""), "data-id": r.id, onclick: () => openEpisode(state.source, r.id) },
    el("td", {}, r.line), el("td", { class: "text" }, shortEnv(r.env)), el("td", { class: "text" }, r.task), el("td", {}, r.seed ?? "-"),
    el("td", {}, r.sample), el("td", {}, fmt(r.reward)), el("td", {}, r.error ? el("span", { class: "no" }, "error") : yesNo(r.success, "solved", "not solved")),
    el("td", {}, r.turns), el("td", {}, r.tool_calls), el("td", {}, r.format_errors), el("td", { class: "text" }, flags(r)))));
  const pager = document.getElementById("pager");
  const end = Math.min(data.total, data.offset + data.rows.length);
  pager.replaceChildren(
    el("button", { disabled: data.offset <= 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); loadEpisodes(); } }, "‹ prev"),
    el("span", { id: "page-info" }, data.total ? `${data.offset + 1}–${end} of ${data.total.toLocaleString()}` : "0 episodes"),
    el("button", { disabled: end >= data.total, onclick: () => { state.offset += PAGE; loadEpisodes(); } }, "next ›"));
}

function renderEnvOptions(envs) {
  const sel = document.querySelector("#filters select[name=env]");
  if ([...sel.options].slice(1).map((o) => o.value).join("\n") === envs.join("\n")) return;
  const keep = sel.value;
  sel.replaceChildren(el("option", { value: "" }, "any"), ...envs.map((e) => el("option", { value: e }, shortEnv(e))));
  sel.value = keep;
}

function renderProgress(st) {
  const p = document.getElementById("progress");
  if (!st) return p.replaceChildren();
  renderEnvOptions(st.envs || []);
  const parts = [];
  if (!st.done) parts.push(`indexing… ${Math.round((100 * st.bytes_done) / Math.max(1, st.bytes))}%, ${st.episodes.toLocaleString()} episodes so far`);
  else parts.push(`${st.episodes.toLocaleString()} episodes`);
  if (st.failure) parts.push(st.failure);
  if (state.config.note) parts.push(state.config.note);
  p.replaceChildren(el("span", { class: st.failure ? "warn" : "muted" }, parts.join("; ")));
}

async function loadEpisodes() {
  const sid = state.source;
  if (sid === null) return;
  renderHead();
  const params = { ...state.filters, sort: state.sort, desc: state.desc, offset: state.offset, limit: PAGE };
  try {
    const data = await api.episodes(sid, params);
    if (sid !== state.source) return;
    renderRows(data);
    renderProgress(data.status);
    setStatus("");
    api.summary(sid, state.filters).then((sum) => sid === state.source && renderSummary(sum)).catch((e) => setStatus(e.message, true));
    if (data.status && !data.status.done) setTimeout(() => sid === state.source && loadEpisodes(), 700);
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function loadBadLines() {
  const box = document.getElementById("bad-lines");
  box.replaceChildren();
  const st = await api.status(state.source);
  if (!st || !st.done) { if (st) setTimeout(loadBadLines, 1000); return; }
  if (!st.bad_lines) return;
  const bad = await api.badLines(state.source);
  box.append(el("details", { class: "panel warn", id: "bad-lines-list" },
    el("summary", {}, `${bad.count} malformed line(s) skipped`),
    el("ul", {}, bad.lines.map((b) => el("li", {}, `line ${b.line}: ${b.error}`)))));
}

function readFilters() {
  const form = document.getElementById("filters");
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (String(v).trim() !== "") out[k] = String(v).trim();
  return out;
}

function selectSource(sid) {
  state.source = sid;
  state.offset = 0;
  state.selected = null;
  document.getElementById("episode").replaceChildren();
  loadEpisodes();
  loadBadLines();
}

// ---- one episode -------------------------------------------------------------------------------------

function messageBox(role, label, content) {
  return el("div", { class: "msg " + role }, el("div", { class: "role" }, label), el("pre", {}, content));
}

function pretty(args) {
  if (typeof args === "string") return args;
  try { return JSON.stringify(args, null, 2); } catch (e) { return String(args); }
}

function segmentNode(seg) {
  if (seg.kind === "text") return seg.text.trim() ? el("pre", {}, seg.text) : null;
  if (seg.kind === "think") return el("details", { class: "think" }, el("summary", { class: "muted" }, "thinking"), el("pre", {}, seg.text));
  if (seg.kind === "answer") return el("div", { class: "answer-box" }, el("span", { class: "name" }, "final answer: "), el("pre", {}, seg.value ?? ""));
  const head = seg.name ? ["tool call ", el("span", { class: "name" }, seg.name)] : ["malformed tool call", seg.problem ? ` (${seg.problem})` : ""];
  return el("div", { class: "tool-call" }, el("div", {}, head), el("pre", { class: "args" }, seg.name ? pretty(seg.arguments) : seg.raw));
}

function components(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return "";
  return entries.map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
}

function tokenSpans(tokens) {
  return tokens.map(([id, kind, text]) => el("span", { class: "tok tok-" + kind, title: `id ${id}, ${{ p: "prompt", m: "model: in the loss", f: "forced: masked out", e: "env: masked out" }[kind]}` }, text !== undefined ? text : `#${id} `));
}

function tokenPanel(tv) {
  if (!tv.available) return el("div", { class: "panel tokens-panel" }, el("strong", {}, "tokens: "), el("span", { class: "muted no-mask" }, tv.note));
  const c = tv.counts;
  return el("details", { class: "panel tokens-panel", open: true },
    el("summary", {}, el("strong", {}, "tokens and the env mask"), ` — ${c.model} model tokens in the loss; ${c.forced} forced and ${c.env} env tokens masked out; ${c.prompt} prompt tokens`),
    el("div", { class: "legend" }, el("span", { class: "tok-m" }, "model: loss sees it (mask 1)"), el("span", { class: "tok-f" }, "forced: masked (0)"), el("span", { class: "tok-e" }, "env / tool output: masked (0)"), el("span", { class: "tok-p" }, "prompt")),
    tv.note ? el("p", { class: "muted" }, tv.note) : null,
    el("details", {}, el("summary", { class: "muted" }, `prompt (${c.prompt} tokens)`), el("div", { class: "tokens" }, tokenSpans(tv.prompt))),
    tv.turns.map((t, i) => el("div", { class: "tokens", "data-turn": i + 1 }, el("span", { class: "muted" }, `turn ${i + 1}: `), tokenSpans(t))));
}

function episodePanel(ep, title) {
  const outcome = ep.error ? el("span", { class: "no" }, "infrastructure error") : yesNo(ep.is_success, "solved", "not solved");
  const reference = ep.has_reference ? (ep.reference ?? "(none)") : "not recorded in this trajectory (written before references were saved)";
  const fact = (label, value) => el("span", { class: "fact" }, el("span", { class: "muted" }, label + " "), value);
  const head = [
    el("div", { class: "facts" }, fact("env", ep.env_id), fact("task", ep.task_id), fact("seed", ep.seed ?? "-"), fact("sample", ep.sample),
      fact("outcome", outcome), fact("reward", fmt(ep.reward)), components(ep.reward_components) ? fact("parts", components(ep.reward_components)) : null),
    el("table", { class: "kv" },
      el("tr", {}, el("td", { class: "muted" }, "answer"), el("td", { class: "answer" }, el("pre", {}, ep.answer ?? "(none)"))),
      el("tr", {}, el("td", { class: "muted" }, "reference"), el("td", { class: "reference" }, el("pre", {}, reference)))),
  ];
  const convo = [];
  for (const m of ep.prompt) {
    if (m.role === "system") convo.push(el("details", { class: "msg system" }, el("summary", { class: "role" }, "system prompt"), el("pre", {}, m.content)));
    else convo.push(messageBox(m.role, m.role, m.content));
  }
  for (const t of ep.turns) {
    convo.push(el("div", { class: "msg assistant", "data-turn": t.n },
      el("div", { class: "role" }, `assistant · turn ${t.n}`),
      t.segments.map(segmentNode),
      el("div", { class: "turn-meta" }, `reward ${fmt(t.reward)}${components(t.reward_components) ? " (" + components(t.reward_components) + ")" : ""} · ${t.tool_calls} tool call(s) run · finish ${t.finish_reason}`,
        t.format_error ? el("span", { class: "no" }, " · format error") : null)));
    for (const m of t.env) {
      const label = m.role === "tool" ? `tool result · ${m.name || ""}` : "env reply";
      convo.push(el("div", { class: "msg tool tool-result" }, el("div", { class: "role" }, label), el("pre", {}, m.content)));
    }
  }
  const end = [ep.terminated ? "ended with an answer" : "", ep.truncated ? "truncated" : "", ep.error ? "error: " + ep.error : ""].filter(Boolean).join("; ");
  return el("div", { class: "panel episode-panel" },
    el("h3", {}, title || `episode at line ${ep.line}`),
    head, convo, el("p", { class: "muted" }, end), tokenPanel(ep.tokens));
}

async function openEpisode(sid, id) {
  state.selected = id;
  for (const tr of document.querySelectorAll("#episodes tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.id) === id);
  const box = document.getElementById("episode");
  try {
    const ep = await api.episode(sid, id);
    box.replaceChildren(episodePanel(ep));
    history.replaceState(null, "", `#src=${sid}&ep=${id}`);
    box.scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (e) {
    box.replaceChildren(el("p", { class: "warn" }, e.message));
  }
}

// ---- compare -----------------------------------------------------------------------------------------

async function loadCompare() {
  const form = document.getElementById("compare-form");
  const p = Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => String(v).trim() !== ""));
  if (!p.a || !p.b) return;
  try {
    const data = await api.compare({ ...p, offset: state.compareOffset, limit: PAGE });
    const c = data.counts;
    document.getElementById("compare-counts").replaceChildren(el("p", {},
      `A: ${sourceLabel(p.a)} · B: ${sourceLabel(p.b)} — fixed ${c.fixed}, broke ${c.broke}, same ${c.same}, unpaired ${c.unpaired}; success over paired episodes ${fmt(c.success_a)} → ${fmt(c.success_b)}`));
    document.querySelector("#compare thead").replaceChildren(el("tr", {}, ["env", "task", "seed", "sample", "change", "reward A", "reward B", "success A", "success B", "turns A", "turns B"].map((n, i) => el("th", { class: i < 2 ? "text" : "" }, n))));
    document.querySelector("#compare tbody").replaceChildren(...data.rows.map((r) => el("tr", { class: "clickable", onclick: () => sideBySide(p.a, p.b, r) },
      el("td", { class: "text" }, shortEnv(r.env)), el("td", { class: "text" }, r.task), el("td", {}, r.seed ?? "-"), el("td", {}, r.sample),
      el("td", { class: r.change === "fixed" ? "yes" : r.change === "broke" ? "no" : "muted" }, r.change),
      el("td", {}, fmt(r.a && r.a.reward)), el("td", {}, fmt(r.b && r.b.reward)), el("td", {}, r.a ? yesNo(r.a.success) : "-"), el("td", {}, r.b ? yesNo(r.b.success) : "-"),
      el("td", {}, r.a ? r.a.turns : "-"), el("td", {}, r.b ? r.b.turns : "-"))));
    const end = Math.min(data.total, data.offset + data.rows.length);
    document.getElementById("compare-pager").replaceChildren(
      el("button", { type: "button", disabled: data.offset <= 0, onclick: () => { state.compareOffset = Math.max(0, state.compareOffset - PAGE); loadCompare(); } }, "‹ prev"),
      el("span", {}, data.total ? `${data.offset + 1}–${end} of ${data.total}` : "0 pairs"),
      el("button", { type: "button", disabled: end >= data.total, onclick: () => { state.compareOffset += PAGE; loadCompare(); } }, "next ›"));
    setStatus("");
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function sideBySide(a, b, row) {
  const box = document.getElementById("side-by-side");
  const one = async (sid, side, name) => {
    if (!side) return el("div", { class: "panel" }, `${name}: no episode with this key`);
    try { return episodePanel(await api.episode(sid, side.id), `${name}: ${sourceLabel(sid)}`); } catch (e) { return el("div", { class: "panel warn" }, e.message); }
  };
  box.replaceChildren(await one(a, row.a, "A"), await one(b, row.b, "B"));
  box.scrollIntoView({ behavior: "smooth", block: "start" });
}

// ---- curves ------------------------------------------------------------------------------------------

const CURVE_NAMES = { reward: "mean reward", env_success: "success rate", kl: "KL", frac_reward_zero_std: "groups with zero reward variance", loss: "loss", reward_std: "reward std", grad_norm: "grad norm", entropy: "entropy" };

function chart(title, steps, values) {
  const W = 360, H = 180, L = 44, R = 10, T = 10, B = 24;
  const pts = steps.map((s, i) => [s, values[i]]).filter(([, v]) => v !== null && v !== undefined);
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const add = (tag, attrs, text) => { const n = document.createElementNS(svgNS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); if (text !== undefined) n.textContent = text; svg.append(n); return n; };
  if (pts.length) {
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R), Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
    add("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" });
    add("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" });
    add("text", { x: 2, y: T + 8, "font-size": 10 }, fmt(y1, 3));
    add("text", { x: 2, y: H - B, "font-size": 10 }, fmt(y0, 3));
    add("text", { x: L, y: H - 6, "font-size": 10 }, `step ${x0}`);
    add("text", { x: W - R - 50, y: H - 6, "font-size": 10 }, `step ${x1}`);
    add("polyline", { fill: "none", stroke: "#2e86de", "stroke-width": 1.5, points: pts.map(([x, y]) => `${X(x)},${Y(y)}`).join(" ") });
    for (const [x, y] of pts) add("circle", { cx: X(x), cy: Y(y), r: 2.5, fill: "#2e86de" }).append(Object.assign(document.createElementNS(svgNS, "title"), { textContent: `step ${x}: ${y}` }));
  } else {
    add("text", { x: 10, y: 20 }, "not logged");
  }
  return el("div", { class: "chart", "data-series": title }, el("div", { class: "title" }, CURVE_NAMES[title] || title), svg);
}

async function loadCurves() {
  const sel = document.getElementById("curve-run");
  const box = document.getElementById("curves");
  const runs = state.config.runs.filter((r) => r.curves);
  if (!runs.length) { box.replaceChildren(el("p", { class: "muted" }, "no train run with a log_history.json was given")); return; }
  if (!sel.options.length) sel.replaceChildren(...runs.map((r) => el("option", { value: r.id }, r.label)));
  const run = state.config.runs.find((r) => r.id === sel.value);
  try {
    const c = await api.curves(sel.value);
    const first = ["reward", "env_success", "kl", "frac_reward_zero_std"];
    const names = [...first, ...Object.keys(c.series).filter((n) => !first.includes(n)).sort()];
    box.replaceChildren(el("div", {}, el("p", { class: "muted" }, `${c.steps.length} logged steps`),
      names.map((n) => chart(n, c.steps, c.series[n] || [])),
      run.files.includes("reward.png") ? el("details", {}, el("summary", {}, "the run's reward.png"), el("img", { src: api.fileUrl(run.id, "reward.png"), alt: "reward plot" })) : null));
  } catch (e) {
    box.replaceChildren(el("p", { class: "warn" }, e.message));
  }
}

// ---- play ----------------------------------------------------------------------------------------------

async function loadPlayEnvs() {
  const form = document.getElementById("play-form");
  if (!state.config.play) {
    form.replaceChildren(el("p", { class: "muted" }, EMBEDDED ? "playing needs the server: toolgym play ID --web" : "the playground is off"));
    return;
  }
  const sel = form.elements.env_id;
  if (sel.options.length) return;
  const envs = await api.playEnvs();
  sel.replaceChildren(...envs.map((e) => el("option", { value: e.id, title: e.description }, e.id)));
  const pre = state.config.play_env;
  if (pre) {
    sel.value = pre.env_id;
    if (pre.seed !== null && pre.seed !== undefined) form.elements.seed.value = pre.seed;
    if (pre.kwargs && pre.kwargs.protocol) form.elements.protocol.value = pre.kwargs.protocol;
  }
}

function playLog(...nodes) {
  const log = document.getElementById("play-log");
  log.append(...nodes);
  nodes[nodes.length - 1].scrollIntoView({ block: "nearest" });
}

async function startPlay(ev) {
  ev.preventDefault();
  const f = ev.target.elements;
  const body = { env_id: f.env_id.value };
  if (f.seed.value.trim() !== "") body.seed = Number(f.seed.value);
  if (f.protocol.value) body.protocol = f.protocol.value;
  if (f.difficulty.value.trim() !== "") body.difficulty = Number(f.difficulty.value);
  try {
    const s = await api.playStart(body);
    state.play = s;
    document.getElementById("play-log").replaceChildren();
    playLog(el("p", { class: "muted" }, `${s.env_id} · task ${s.task_id} · seed ${s.seed ?? "random"} · protocol ${s.protocol} · up to ${s.max_turns} turns` + (s.tools.length ? ` · tools ${s.tools.join(", ")}` : "")));
    for (const m of s.messages) {
      if (m.role === "system") playLog(el("details", { class: "msg system" }, el("summary", { class: "role" }, "system prompt"), el("pre", {}, m.content)));
      else playLog(messageBox(m.role, m.role, m.content));
    }
    const turn = document.getElementById("play-turn");
    turn.hidden = false;
    turn.elements.text.value = "";
    turn.elements.text.focus();
    document.getElementById("play-state").textContent = "";
    setStatus("");
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function sendTurn(ev) {
  ev.preventDefault();
  if (!state.play) return;
  const box = ev.target.elements.text;
  const text = box.value;
  try {
    const r = await api.playStep(state.play.session, text);
    playLog(messageBox("assistant", `you · turn ${r.turn}`, text));
    if (r.observation) playLog(el("div", { class: "msg tool play-observation" }, el("div", { class: "role" }, "observation"), el("pre", {}, r.observation)));
    playLog(el("p", { class: "turn-meta play-reward" }, `reward ${fmt(r.reward)} (${components(r.reward_components)}) · return ${fmt(r.return)}` +
      (r.tool_calls.length ? ` · ran ${r.tool_calls.map((c) => c.name).join(", ")}` : "") + (r.format_error ? ` · format error: ${r.format_error}` : "")));
    box.value = "";
    if (r.terminated || r.truncated) {
      const verdict = r.error ? `error: ${r.error}` : r.is_success ? "solved" : "not solved";
      playLog(el("p", { class: "play-end " + (r.is_success ? "yes" : "no") }, `episode over: ${verdict}, return ${fmt(r.return)}` + (r.reference ? ` · reference answer: ${r.reference}` : "")));
      ev.target.hidden = true;
      state.play = null;
    }
  } catch (e) {
    setStatus(e.message, true);
  }
}

// ---- start --------------------------------------------------------------------------------------------

async function main() {
  try {
    state.config = await api.config();
  } catch (e) {
    setStatus("cannot reach the viewer: " + e.message, true);
    return;
  }
  const cfg = state.config;
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  const opts = () => cfg.sources.map((s) => el("option", { value: s.id }, s.label));
  const sel = document.getElementById("source");
  sel.replaceChildren(...opts());
  sel.addEventListener("change", () => selectSource(sel.value));
  const form = document.getElementById("filters");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); state.filters = readFilters(); state.offset = 0; loadEpisodes(); });
  form.addEventListener("reset", () => setTimeout(() => { state.filters = {}; state.offset = 0; loadEpisodes(); }));
  const cf = document.getElementById("compare-form");
  cf.elements.a.replaceChildren(...opts());
  cf.elements.b.replaceChildren(...opts());
  if (cfg.sources.length > 1) cf.elements.b.value = cfg.sources[cfg.sources.length - 1].id;
  cf.addEventListener("submit", (ev) => { ev.preventDefault(); state.compareOffset = 0; loadCompare(); });
  document.getElementById("curve-run").addEventListener("change", loadCurves);
  document.getElementById("play-form").addEventListener("submit", startPlay);
  document.getElementById("play-turn").addEventListener("submit", sendTurn);

  const hash = new URLSearchParams(location.hash.slice(1));
  if (cfg.sources.length) {
    const sid = hash.get("src") && cfg.sources.some((s) => s.id === hash.get("src")) ? hash.get("src") : cfg.sources[0].id;
    sel.value = sid;
    selectSource(sid);
    if (hash.get("ep") !== null) openEpisode(sid, Number(hash.get("ep")));
  } else {
    document.getElementById("summary").replaceChildren(el("p", { class: "muted" }, "no runs given: play an env"));
  }
  if (cfg.play_env || !cfg.sources.length) showTab(cfg.play ? "play" : "curves");
}

main();
