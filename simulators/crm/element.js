// The /element demo page: hands <posbridge-pay> the demo's token and WebSocket, lets the operator change
// its order, amount and language, and lists the events it sends. A real CRM page sets `token` from its
// own pairing (or sets `client` to its PosbridgeClient); only the demo serves /demo/token.
const $ = (s) => document.querySelector(s);
const pay = $('#pay');

function note(text) {
  const li = document.createElement('li');
  li.textContent = text;
  $('#events').prepend(li);
}

for (const type of ['posbridge-state', 'posbridge-completed', 'posbridge-failed', 'error']) {
  pay.addEventListener(type, (e) => {
    const d = e.detail ?? {};
    const p = d.payment;
    li(type, p, d);
  });
}

function li(type, p, d) {
  if (type === 'error') return note(`error ${d.code} (${d.field}): ${d.message}`);
  if (d.error) return note(`${type} ${d.error.code}`);
  note(`${type} ${p?.state ?? ''}${p?.reason ? ` · ${p.reason}` : ''} · ${p?.paymentId ?? ''}`);
}

$('#apply').addEventListener('click', () => {
  pay.setAttribute('order', $('#order').value);
  pay.setAttribute('amount', $('#amount').value);
});
for (const b of document.querySelectorAll('button[data-lang]'))
  b.addEventListener('click', () => {
    document.documentElement.lang = b.dataset.lang;
  });

try {
  const res = await fetch('/demo/token', { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const { token } = await res.json();
  pay.setAttribute('url', `ws://${location.host}/ws`);
  pay.token = token; // a property, so the token is not in the DOM for everyone to read
  $('#conn').dataset.state = 'ready';
  $('#conn').textContent = 'The element has the demo token: press its pay button.';
} catch (e) {
  $('#conn').dataset.state = 'error';
  $('#conn').textContent = `No demo token (${e.message}): this page works under posbridge-sim demo only.`;
}
