/**
 * The inspector page: one HTML document with its style and script inline (works offline, ships in dist/, fetches
 * nothing but its own server's /graphs.json and /events). The script keeps every trace record and derives the view
 * from a prefix of them, so the same code shows a live sync (follow the end) and replays a saved trace (scrub).
 */
import { createHash } from 'node:crypto'

const style = `
:root { --fg:#1d2330; --muted:#6b7385; --line:#d7dbe3; --bg:#f6f7f9; --card:#fff; --active:#ffd84d; --visited:#e6efff;
  --ok:#bfe8c2; --bad:#ffc9c9; --edge:#c3c8d2; --taken:#4a78c8; --last:#e07400; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { position:sticky; top:0; z-index:2; background:#1d2330; color:#fff; padding:8px 16px; display:flex; gap:16px; align-items:center; flex-wrap:wrap; }
header h1 { font-size:15px; margin:0; font-weight:600; }
header .file { font-family:ui-monospace, monospace; color:#c7cbd6; }
header .live { padding:1px 8px; border-radius:9px; background:#555; font-size:11px; }
header .live.on { background:#2e9d4b; }
header label { display:flex; gap:6px; align-items:center; }
#scrub { width:260px; }
main { padding:12px 16px; display:flex; flex-direction:column; gap:14px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.card h2 { font-size:14px; margin:0 0 6px; display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
.card h2 .id { font-family:ui-monospace, monospace; }
.badge { font-size:11px; padding:1px 7px; border-radius:9px; background:#e4e7ee; color:#333; font-weight:500; }
.badge.done { background:var(--ok); } .badge.error, .badge.failed { background:var(--bad); } .badge.active { background:#ffe9a3; }
.current-state { font-family:ui-monospace, monospace; font-weight:600; }
.meta { color:var(--muted); font-size:12px; margin-bottom:6px; word-break:break-all; }
.meta .err { color:#b3261e; }
.body { display:grid; grid-template-columns:minmax(420px, 1.2fr) minmax(320px, 1fr); gap:12px; align-items:start; }
svg { width:100%; height:auto; }
svg .state rect { fill:#fff; stroke:#9aa1ae; stroke-width:1; }
svg .state.compound > rect, svg .state.parallel > rect { fill:#fafbfc; }
svg .state.parallel-region > rect { stroke-dasharray:4 3; }
svg .state.visited > rect { fill:var(--visited); }
svg .state.active > rect { fill:var(--active); stroke:#b58900; stroke-width:2; }
svg .state.active.bad > rect { fill:var(--bad); stroke:#b3261e; }
svg .state.active.good > rect { fill:var(--ok); stroke:#2e7d32; }
svg .state text { font-size:11px; fill:#222; }
svg .state.compound > text, svg .state.parallel > text { font-size:10px; fill:#555; font-weight:600; }
svg .state.final > rect.inner { fill:none; stroke:#9aa1ae; }
svg .edge path { fill:none; stroke:var(--edge); stroke-width:1; }
svg .edge.taken path { stroke:var(--taken); stroke-width:1.6; }
svg .edge.last path { stroke:var(--last); stroke-width:2.4; }
svg .edge text { font-size:9px; fill:var(--taken); display:none; }
svg .edge.taken text { display:block; }
svg .edge.last text { fill:var(--last); font-weight:600; }
.timeline { max-height:520px; overflow:auto; border:1px solid var(--line); border-radius:6px; }
table { border-collapse:collapse; width:100%; font-size:12px; table-layout:fixed; }
col.t { width:92px; } col.s { width:38%; } col.d { width:72px; }
td { overflow-wrap:anywhere; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid #eef0f4; vertical-align:top; }
th { position:sticky; top:0; background:#f0f2f6; font-weight:600; }
td.t, td.d { font-family:ui-monospace, monospace; white-space:nowrap; color:var(--muted); }
td.s { font-family:ui-monospace, monospace; }
tr.err td { background:#fff3f3; }
td .e { color:#b3261e; }
td .via { color:var(--muted); }
.empty { color:var(--muted); padding:20px; }
`

const script = `
'use strict';
var graphs = null;
var records = [];
var follow = true;
var upto = 0;
var scheduled = false;
var liveEl = document.getElementById('live');
var scrub = document.getElementById('scrub');
var followEl = document.getElementById('follow');
var atEl = document.getElementById('at');
var main = document.getElementById('main');
var SVGNS = 'http://www.w3.org/2000/svg';
var BAD = { failed: 1, gaveUp: 1, syncFailed: 1, 'dialingDirect.failedAttempt': 1, 'dialingRelay.failedAttempt': 1 };
var GOOD = { done: 1, synced: 1, 'connected.upgrade.upgraded': 1 };

function esc(s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; }); }
function ms(ts) { return Date.parse(ts); }
function dur(d) { if (d == null || isNaN(d)) return ''; if (d < 1000) return d + ' ms'; if (d < 60000) return (d / 1000).toFixed(2) + ' s'; return Math.floor(d / 60000) + ' m ' + Math.round((d % 60000) / 1000) + ' s'; }
function clock(ts) { var d = new Date(ts); return d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0'); }
function ancestors(paths) { var out = {}; paths.forEach(function (p) { var parts = p.split('.'); for (var i = 1; i <= parts.length; i++) out[parts.slice(0, i).join('.')] = 1; }); return out; }
function evLabel(t) { if (!t) return ''; if (t.indexOf('xstate.done.actor.') === 0) return 'done: ' + t.slice(18).replace(/^0\\.[a-z]+\\./, ''); if (t.indexOf('xstate.error.actor.') === 0) return 'error: ' + t.slice(19).replace(/^0\\.[a-z]+\\./, ''); if (t.indexOf('xstate.after.') === 0) return 'after ' + t.split('.')[2]; return t; }
function shortId(id) { return id.length > 20 ? id.slice(0, 10) + '…' + id.slice(-8) : id; }

function model(n) {
  var root = { state: [], status: '', error: null, events: 0, peers: [], visited: {}, taken: {}, last: null, steps: [] };
  // Keyed by ids from the trace: no prototype, so a peer named __proto__ is a peer like any other.
  var peers = Object.create(null);
  var order = [];
  var actors = Object.create(null);
  function peerOf(key) {
    if (!peers[key]) { peers[key] = { key: key, state: [], status: 'active', path: '', addr: '', attempt: null, error: null, steps: [], visited: {}, taken: {}, last: null, events: 0, actors: 0, first: null }; order.push(key); }
    return peers[key];
  }
  for (var i = 0; i < n; i++) {
    var r = records[i];
    var isPeer = r.actor.indexOf('peer:') === 0;
    if (r.kind === 'actor') { actors[r.actor] = r; if (isPeer) { peerOf(r.peer || r.actor.slice(5)).first = r.ts; root.peers.push(r.peer); } else if (r.peer) peerOf(r.peer).actors++; continue; }
    var m = isPeer ? peerOf(r.peer || r.actor.slice(5)) : (r.actor === 'root' ? root : null);
    if (!m) continue;
    if (r.kind === 'event') { m.events++; if (m.first == null) m.first = r.ts; continue; }
    if (r.kind === 'transition') {
      (r.from || []).forEach(function (f) { (r.to || []).forEach(function (t) { var k = f + '>' + t; m.taken[k] = (m.taken[k] || 0) + 1; m.last = k; }); });
      (r.to || []).forEach(function (t) { m.visited[t] = 1; });
      var prevErr = m.steps.length ? m.steps[m.steps.length - 1].error : null;
      m.steps.push({ ts: r.ts, from: r.from || [], to: r.to || [], state: r.state || [], event: r.event, path: r.path, addr: r.addr, attempt: r.attempt, error: r.error || null, newError: r.error && r.error !== prevErr ? r.error : null });
    }
    if (r.kind === 'snapshot' || r.kind === 'transition') {
      if (r.state && r.state.length) { m.state = r.state; for (var s in ancestors(r.state)) m.visited[s] = 1; }
      if (r.status) m.status = r.status;
      if (r.kind === 'snapshot' && !m.steps.length && r.state && r.state.length) m.steps.push({ ts: r.ts, from: [], to: r.state, state: r.state, event: r.event, initial: true });
      m.path = r.path || m.path; m.addr = r.addr || m.addr; if (r.attempt != null) m.attempt = r.attempt;
      m.error = r.error || null;
    }
  }
  return { root: root, peers: order.map(function (k) { return peers[k]; }), end: n ? records[n - 1].ts : null };
}

function el(tag, attrs, parent) { var e = document.createElementNS(SVGNS, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; }

function diagram(g, m) {
  var svg = el('svg', { viewBox: '0 0 ' + g.width + ' ' + g.height, role: 'img', 'aria-label': g.machine + ' machine' });
  svg.style.maxWidth = g.width + 'px';
  var defs = el('defs', {}, svg);
  [['a', '#c3c8d2'], ['t', '#4a78c8'], ['l', '#e07400']].forEach(function (p) {
    var mk = el('marker', { id: 'arrow-' + p[0], viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: p[1] }, mk);
  });
  var active = ancestors(m.state || []);
  var leaves = {}; (m.state || []).forEach(function (s) { leaves[s] = 1; });
  var terminal = m.status === 'done' || m.status === 'stopped' || m.status === 'error';
  g.nodes.forEach(function (n) {
    var cls = ['state', n.type];
    if (n.parent) { var parent = g.nodes.filter(function (p) { return p.id === n.parent; })[0]; if (parent && parent.type === 'parallel') cls.push('parallel-region'); }
    if (m.visited[n.id]) cls.push('visited');
    if (active[n.id]) { cls.push('active'); if (BAD[n.id]) cls.push('bad'); if (GOOD[n.id]) cls.push('good'); }
    var gEl = el('g', { 'class': cls.join(' '), 'data-state': n.id }, svg);
    el('rect', { x: n.x, y: n.y, width: n.w, height: n.h, rx: n.type === 'atomic' || n.type === 'final' ? 12 : 6 }, gEl);
    if (n.type === 'final') el('rect', { 'class': 'inner', x: n.x + 3, y: n.y + 3, width: n.w - 6, height: n.h - 6, rx: 9 }, gEl);
    var label = el('text', n.type === 'atomic' || n.type === 'final' ? { x: n.x + n.w / 2, y: n.y + n.h / 2 + 4, 'text-anchor': 'middle' } : { x: n.x + 8, y: n.y + 13 }, gEl);
    label.textContent = (n.initial ? '\\u25B8 ' : '') + n.key;
    var title = el('title', {}, gEl); title.textContent = n.id + (leaves[n.id] ? ' (current' + (terminal ? ', ' + m.status : '') + ')' : '');
  });
  g.edges.forEach(function (e) {
    var key = e.from + '>' + e.to;
    var taken = m.taken[key];
    var cls = 'edge' + (taken ? ' taken' : '') + (m.last === key ? ' last' : '');
    var gEl = el('g', { 'class': cls, 'data-edge': key }, svg);
    el('path', { d: e.d, 'marker-end': 'url(#arrow-' + (m.last === key ? 'l' : taken ? 't' : 'a') + ')' }, gEl);
    var t = el('text', { x: e.lx, y: e.ly, 'text-anchor': 'middle' }, gEl);
    t.textContent = e.labels.join(' | ') + (taken > 1 ? ' ×' + taken : '');
    var title = el('title', {}, gEl); title.textContent = e.from + ' → ' + e.to + ': ' + e.labels.join(', ') + (taken ? ' (taken ' + taken + '×)' : '');
  });
  return svg;
}

function timeline(m, end) {
  var wrap = document.createElement('div'); wrap.className = 'timeline';
  var shown = 300;
  var skip = Math.max(0, m.steps.length - shown);
  var rows = m.steps.map(function (s, i) {
    if (i < skip) return '';
    var next = m.steps[i + 1];
    var d = next ? ms(next.ts) - ms(s.ts) : (m.status === 'active' && end ? ms(end) - ms(s.ts) : null);
    var detail = [];
    if (s.path) detail.push(esc(s.path) + (s.attempt != null && /dialing/.test(s.state.join(' ')) ? ' #' + esc(s.attempt) : ''));
    var prev = m.steps[i - 1];
    var sameLink = prev != null && prev.addr === s.addr && prev.path === s.path && !/dialing/.test(s.state.join(' '));
    if (s.addr && !sameLink && /dialing|connected/.test(s.state.join(' '))) detail.push('<span class="via">' + esc(s.addr) + '</span>');
    var shownError = s.newError || (s.error && s.to.some(function (t) { return /failed|Failed/.test(t); }) ? s.error : null);
    if (shownError) detail.push('<span class="e">' + esc(shownError) + '</span>');
    var entered = s.state.filter(function (p) { return s.to.some(function (t) { return p === t || p.indexOf(t + '.') === 0; }); });
    if (!entered.length) entered = s.to;
    return '<tr class="' + (shownError ? 'err' : '') + '"><td class="t">' + esc(clock(s.ts)) + '</td><td class="s">' + esc(entered.join(', ')) +
      '<div class="via">' + (s.initial ? 'start' : esc(s.from.join(', ')) + ' · ' + esc(evLabel(s.event))) + '</div></td><td class="d">' + (next ? '' : (m.status === 'active' ? '… ' : '')) + esc(dur(d)) + '</td><td>' + detail.join('<br>') + '</td></tr>';
  });
  wrap.innerHTML = '<table><colgroup><col class="t"><col class="s"><col class="d"><col></colgroup><thead><tr><th>time</th><th>entered</th><th>stayed</th><th>path · address · error</th></tr></thead><tbody>' + (skip ? '<tr><td colspan="4" class="via">… ' + skip + ' earlier transitions (scrub back to see them)</td></tr>' : '') + rows.join('') + '</tbody></table>';
  return wrap;
}

function card(kind, title, m, g, end, extra) {
  var c = document.createElement('section');
  c.className = 'card ' + kind + '-card';
  if (kind === 'peer') c.setAttribute('data-peer', m.key);
  var statusCls = m.status === 'active' ? 'active' : m.status === 'done' ? (BAD[(m.state || [])[0]] ? 'failed' : 'done') : m.status;
  c.innerHTML = '<h2>' + title + ' <span class="current-state" data-state="' + esc((m.state || []).join(' ')) + '">' + esc((m.state || []).join(' + ') || '…') + '</span>' +
    ' <span class="badge status ' + esc(statusCls) + '">' + esc(m.status || 'starting') + '</span></h2><div class="meta">' + extra + '</div>';
  var body = document.createElement('div'); body.className = 'body';
  body.appendChild(diagram(g, m));
  body.appendChild(timeline(m, end));
  c.appendChild(body);
  return c;
}

function render() {
  scheduled = false;
  if (!graphs) return;
  scrub.max = String(records.length);
  if (follow) upto = records.length;
  scrub.value = String(upto);
  var view = model(upto);
  atEl.textContent = view.end ? clock(view.end) + ' · ' + upto + '/' + records.length + ' records' : 'no records yet';
  var frag = document.createDocumentFragment();
  if (!view.peers.length && !view.root.steps.length) {
    var e = document.createElement('div'); e.className = 'empty card';
    e.textContent = 'Waiting for trace records… (run rr p2p-sync --inspect=FILE and open that FILE)';
    frag.appendChild(e);
  }
  view.peers.forEach(function (p) {
    var bits = [];
    if (p.path) bits.push('path <b>' + esc(p.path) + '</b>');
    if (p.addr) bits.push(esc(p.addr));
    if (p.attempt != null && /dialing/.test(p.state.join(' '))) bits.push('attempt ' + esc(p.attempt));
    bits.push(p.events + ' events, ' + p.actors + ' child actors');
    if (p.error) bits.push('<span class="err">last error: ' + esc(p.error) + '</span>');
    frag.appendChild(card('peer', 'peer <span class="id" title="' + esc(p.key) + '">' + esc(shortId(p.key)) + '</span>', p, graphs.peer, view.end, bits.join(' · ')));
  });
  var r = view.root;
  frag.appendChild(card('root', 'root supervisor', r, graphs.root, view.end, r.peers.length + ' peer machine(s) spawned' + (r.error ? ' · <span class="err">' + esc(r.error) + '</span>' : '')));
  var y = window.scrollY;
  main.replaceChildren(frag);
  if (follow) main.querySelectorAll('.timeline').forEach(function (t) { t.scrollTop = t.scrollHeight; });
  window.scrollTo(0, y);
}

function schedule() { if (!scheduled) { scheduled = true; requestAnimationFrame(render); } }

scrub.addEventListener('input', function () { upto = Number(scrub.value); follow = upto >= records.length; followEl.checked = follow; schedule(); });
followEl.addEventListener('change', function () { follow = followEl.checked; schedule(); });

fetch('/graphs.json').then(function (r) { return r.json(); }).then(function (g) {
  graphs = g;
  var es = new EventSource('/events');
  es.onopen = function () { liveEl.textContent = 'live'; liveEl.className = 'live on'; };
  es.onerror = function () { liveEl.textContent = 'disconnected'; liveEl.className = 'live'; };
  es.addEventListener('records', function (ev) { var batch = JSON.parse(ev.data); for (var i = 0; i < batch.length; i++) records.push(batch[i]); document.body.setAttribute('data-records', String(records.length)); schedule(); });
  schedule();
});
`

export interface PageInit {
  /** The trace file shown, for the header. */
  file: string
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' })[c]!)
}

/**
 * The Content-Security-Policy the page is served with: only its own inline script (by hash) runs, only its own
 * inline style applies, it talks only to its own server, and nothing can frame it. A trace field that escaped
 * escaping still could not run a script.
 */
export function inspectorPolicy (): string {
  const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
  return [
    "default-src 'none'",
    `script-src ${hash(script)}`,
    `style-src ${hash(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

export function inspectorPage (init: PageInit): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rr inspect — ${escapeHtml(init.file)}</title>
<style>${style}</style>
</head>
<body data-records="0">
<header>
  <h1>rustory inspector</h1>
  <span class="file" title="trace file">${escapeHtml(init.file)}</span>
  <span id="live" class="live">connecting…</span>
  <label>replay <input id="scrub" type="range" min="0" max="0" value="0"></label>
  <label><input id="follow" type="checkbox" checked> follow</label>
  <span id="at"></span>
</header>
<main id="main"></main>
<script>${script}</script>
</body>
</html>
`
}
