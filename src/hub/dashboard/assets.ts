/**
 * The dashboard's stylesheet and script, served from the hub itself (`/dashboard/app.css`,
 * `/dashboard/app.js`; no CDN, no build step, the same under tsx and from dist/). The script only
 * places fragments the hub rendered and escaped (render.ts) and shows everything else it builds with
 * `textContent`; the pages' Content-Security-Policy allows no inline script.
 */

export const APP_CSS = `
:root { --bg: #f5f6f8; --fg: #1d2330; --muted: #6b7280; --line: #dde1e7; --ok: #0f7b3f; --warn: #a15c00; --bad: #b42318; --card: #fff; --accent: #1f4fd1; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
header.top { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #1d2330; color: #fff; }
header.top h1 { font-size: 17px; margin: 0; }
header.top h1 a { color: #fff; text-decoration: none; }
header.top .spacer { flex: 1; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #fff; border: 1px solid #fff7; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
#live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #fff2; }
#live[data-state="live"] { background: var(--ok); }
#live[data-state="reconnecting"] { background: var(--warn); }
main { padding: 12px 16px 40px; max-width: 1400px; margin: 0 auto; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 96px; display: flex; flex-direction: column; }
.tile .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .l { color: var(--muted); font-size: 12px; }
.tile.ok .v { color: var(--ok); } .tile.warn .v { color: var(--warn); } .tile.bad .v { color: var(--bad); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin-bottom: 12px; }
.panel h2 { font-size: 15px; margin: 2px 0 6px; }
.note { color: var(--muted); font-size: 12px; margin: 0 0 6px; }
.empty { color: var(--muted); margin: 4px 0; }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; }
td.name { white-space: normal; word-break: break-word; max-width: 220px; }
td.small, small { font-size: 11px; }
td.warn { color: var(--warn); font-weight: 600; } td.bad { color: var(--bad); font-weight: 600; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
td.net { font-weight: 600; }
.badge, .state { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; background: #e5e7eb; }
.badge.online { background: #d1fadf; color: var(--ok); }
.badge.offline { background: #fee4e2; color: var(--bad); }
.badge.revoked { background: #e5e7eb; color: var(--muted); }
.state.unknown, .state.needs_attention { background: #fee4e2; color: var(--bad); }
.state.completed { background: #d1fadf; color: var(--ok); }
.state.reversing, .state.authorizing, .state.completing { background: #fef0c7; color: var(--warn); }
button { font: inherit; }
button.revoke { border: 1px solid var(--bad); color: var(--bad); background: #fff; border-radius: 4px; padding: 1px 8px; cursor: pointer; }
form.inline { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; }
form.inline label, .login label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; }
form.inline button, .login button { padding: 5px 14px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
.login { max-width: 340px; margin: 60px auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 20px; }
.login form { display: flex; flex-direction: column; gap: 10px; }
.error { color: var(--bad); }
#enrol-result code, .code { font-size: 16px; font-weight: 600; letter-spacing: 1px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.pan { font-family: ui-monospace, monospace; }
#recon dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 8px; }
#recon dt { color: var(--muted); } #recon dd { margin: 0; }
`;

export const APP_JS = `// posbridge fleet dashboard (served by the hub; see src/hub/dashboard/assets.ts)
const page = document.body.dataset.page;
let skew = 0; // server clock − browser clock, from the snapshots' "at"

function ago(el) {
  const t = Date.parse(el.getAttribute('datetime') || '');
  if (Number.isNaN(t)) return;
  const s = Math.max(0, Math.round((Date.now() + skew - t) / 1000));
  el.textContent = s < 60 ? s + ' s ago' : s < 3600 ? Math.floor(s / 60) + ' min ago' : s < 86400 ? Math.floor(s / 3600) + ' h ago' : el.title;
}
const tick = () => document.querySelectorAll('time[data-ago]').forEach(ago);

function live(state, text) {
  const el = document.getElementById('live');
  if (!el) return;
  el.dataset.state = state;
  el.textContent = text;
}

const toLogin = () => location.assign('/login?next=' + encodeURIComponent(location.pathname));

function apply(msg) {
  if (msg.at) skew = Date.parse(msg.at) - Date.now();
  for (const [name, html] of Object.entries(msg.sections || {})) {
    const el = document.querySelector('[data-section="' + name + '"]');
    // The hub rendered and escaped these fragments (render.ts), the same as the page itself.
    if (el) el.innerHTML = html;
  }
  if (msg.at) document.body.dataset.snapshot = msg.at;
  tick();
}

let source = null;
let retry = 0;
function connect() {
  source = new EventSource('/api/stream');
  source.addEventListener('open', () => live('live', 'live'));
  source.addEventListener('snapshot', (e) => apply(JSON.parse(e.data)));
  source.addEventListener('logout', () => {
    source.close();
    toLogin();
  });
  source.addEventListener('error', async () => {
    live('reconnecting', 'reconnecting…');
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    const r = await fetch('/api/fleet', { headers: { accept: 'application/json' } }).catch(() => null);
    if (r && r.status === 401) return toLogin();
    clearTimeout(retry);
    retry = setTimeout(connect, 2000);
  });
}

async function post(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) });
  const json = await r.json().catch(() => ({}));
  if (r.status === 401) toLogin();
  if (!r.ok) throw new Error((json.error && json.error.message) || 'HTTP ' + r.status);
  return json;
}

function enrolForm() {
  const form = document.getElementById('enrol');
  const out = document.getElementById('enrol-result');
  if (!form || !out) return;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = { store: String(data.get('store') || '').trim() };
    const name = String(data.get('name') || '').trim();
    if (name) body.name = name;
    out.textContent = '…';
    try {
      const r = await post('/api/enrol-codes', body);
      out.replaceChildren('One-time code for ' + r.store + (name ? ' (' + name + ')' : '') + ': ');
      const code = document.createElement('code');
      code.id = 'enrol-code';
      code.textContent = r.code;
      out.append(code, ' valid until ' + new Date(r.expiresAt).toLocaleString() + '. On the laptop: posbridge hub-enrol --code ' + r.code);
    } catch (err) {
      out.textContent = 'Could not make a code: ' + err.message;
    }
  });
  document.addEventListener('click', async (e) => {
    const b = e.target instanceof Element ? e.target.closest('button[data-revoke]') : null;
    if (!b) return;
    if (!confirm('Revoke ' + b.dataset.name + '? It stops sending to the hub until it is enrolled again.')) return;
    b.disabled = true;
    try {
      await post('/api/daemons/' + encodeURIComponent(b.dataset.revoke) + '/revoke');
    } catch (err) {
      b.disabled = false;
      alert('Could not revoke: ' + err.message);
    }
  });
}

// ---- reconciliation: whatever GET /api/reconcile/report answers, shown as text (never as HTML)
function scalar(v) {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}
function flat(o, prefix, out) {
  for (const [k, v] of Object.entries(o || {})) {
    if (scalar(v)) out[prefix + k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v) && !prefix) flat(v, k + '.', out);
  }
  return out;
}
function reconTable(rows) {
  const flatRows = rows.slice(0, 200).map((r) => (r && typeof r === 'object' ? flat(r, '', {}) : { value: r }));
  const cols = [...new Set(flatRows.flatMap((r) => Object.keys(r)))].slice(0, 14);
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const c of cols) head.appendChild(document.createElement('th')).textContent = c;
  const body = table.createTBody();
  for (const r of flatRows) {
    const tr = body.insertRow();
    for (const c of cols) tr.insertCell().textContent = r[c] === undefined ? '' : String(r[c]);
  }
  const wrap = document.createElement('div');
  wrap.className = 'scroll';
  wrap.appendChild(table);
  return wrap;
}
function renderRecon(el, body) {
  el.replaceChildren();
  const top = Array.isArray(body) ? {} : flat(body, '', {});
  if (Object.keys(top).length) {
    const dl = document.createElement('dl');
    for (const [k, v] of Object.entries(top)) {
      dl.appendChild(document.createElement('dt')).textContent = k;
      dl.appendChild(document.createElement('dd')).textContent = String(v);
    }
    el.appendChild(dl);
  }
  const lists = Array.isArray(body) ? [['', body]] : Object.entries(body || {}).filter(([, v]) => Array.isArray(v));
  for (const [name, rows] of lists) {
    if (name) el.appendChild(document.createElement('h3')).textContent = name;
    el.appendChild(rows.length ? reconTable(rows) : Object.assign(document.createElement('p'), { className: 'empty', textContent: 'none' }));
  }
  if (!el.childNodes.length) el.textContent = 'No reconciliation yet.';
}
async function recon() {
  const el = document.getElementById('recon');
  if (!el) return;
  try {
    const r = await fetch('/api/reconcile/report', { headers: { accept: 'application/json' } });
    if (r.status === 401) return toLogin();
    if (r.status === 404) {
      el.dataset.state = 'unavailable';
      el.textContent = 'Central reconciliation is not available on this hub yet (GET /api/reconcile/report: 404).';
      return;
    }
    if (!r.ok) throw new Error('HTTP ' + r.status);
    renderRecon(el, await r.json());
    el.dataset.state = 'ready';
  } catch (err) {
    el.dataset.state = 'error';
    el.textContent = 'Could not read the reconciliation report: ' + err.message;
  }
}

if (page === 'fleet') {
  live('connecting', 'connecting…');
  connect();
  enrolForm();
  recon();
  setInterval(recon, 60000);
}
tick();
setInterval(tick, 1000);
`;
