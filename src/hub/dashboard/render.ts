/**
 * The dashboard's HTML, rendered on the hub: the page works without script, and the live stream
 * pushes these same section fragments (only those that changed), so there is one renderer and every
 * value goes through `esc` in one place. No card data beyond the masked PAN is in any view the hub
 * holds, and only that is shown.
 */
import { esc, localTime, money, seg, timeTag } from './format.js';
import type { FleetSnapshot, LaptopRow, PaymentRow } from './snapshot.js';
import type { Timeline } from './timeline.js';

export function layout(title: string, body: string, opts: { user?: string; page: string }): string {
  const user = opts.user
    ? `<span class="user">${esc(opts.user)}</span>
       <form method="post" action="/logout" class="logout"><button type="submit">Log out</button></form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body data-page="${esc(opts.page)}">
<header class="top">
  <h1><a href="/">posbridge fleet</a></h1>
  ${opts.user && opts.page === 'fleet' ? '<span id="live" data-state="static">not live</span>' : ''}
  <span class="spacer"></span>
  ${user}
</header>
<main>
${body}
</main>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`;
}

export function loginPage(opts: { next: string; error?: string; name?: string }): string {
  return layout(
    'Log in · posbridge fleet',
    `<section class="login">
  <h2>Log in</h2>
  ${opts.error ? `<p class="error" id="login-error" role="alert">${esc(opts.error)}</p>` : ''}
  <form method="post" action="/login" id="login">
    <input type="hidden" name="next" value="${esc(opts.next)}">
    <label>Name <input name="name" autocomplete="username" required value="${esc(opts.name ?? '')}"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>
  </form>
</section>`,
    { page: 'login' },
  );
}

// ------------------------------------------------------------------------------------ the fleet page

export type SectionName = 'summary' | 'laptops' | 'attention' | 'backlog' | 'readers' | 'totals' | 'recent';

export function renderSections(s: FleetSnapshot): Record<SectionName, string> {
  return {
    summary: summary(s),
    laptops: laptops(s),
    attention: attention(s),
    backlog: backlog(s),
    readers: readers(s),
    totals: totals(s),
    recent: recent(s),
  };
}

export function fleetPage(s: FleetSnapshot, user: string): string {
  const sec = renderSections(s);
  const panel = (name: SectionName, title: string, extra = '') =>
    `<section class="panel" id="panel-${name}"><h2>${esc(title)}</h2>${extra}<div data-section="${name}">${sec[name]}</div></section>`;
  return layout(
    'posbridge fleet',
    `<div data-section="summary" class="summary">${sec.summary}</div>
${panel('laptops', 'Laptops', `<p class="note">Online: heard from within ${esc(s.onlineWindowSeconds)} s. Times in ${esc(s.timeZone)}.</p>`)}
${panel('attention', 'Payments that need a look', '<p class="note">unknown, needs attention, and every payment not final yet.</p>')}
${panel('backlog', 'Queues: reversals, advices, outbox')}
${panel('readers', 'Readers: battery and firmware')}
${panel('totals', 'Today’s totals per store', `<p class="note">Completed sales and captures (not voided) minus completed refunds, created on ${esc(s.today)} (${esc(s.timeZone)}).</p>`)}
<section class="panel" id="panel-recon">
  <h2>Reconciliation</h2>
  <p class="note">From <code>GET /api/reconcile/report</code> (central reconciliation).</p>
  <div id="recon" data-state="loading">Loading…</div>
</section>
${panel('recent', 'Recent payments')}
<section class="panel" id="panel-admin">
  <h2>Enrol a laptop</h2>
  <form id="enrol" class="inline">
    <label>Store <input name="store" required maxlength="100"></label>
    <label>Laptop name <input name="name" maxlength="100"></label>
    <button type="submit">Make a one-time code</button>
  </form>
  <p id="enrol-result" class="note" aria-live="polite"></p>
</section>`,
    { user, page: 'fleet' },
  );
}

function tile(label: string, value: number | string, tone = '', id = ''): string {
  return `<div class="tile ${tone}"${id ? ` data-tile="${esc(id)}"` : ''}><span class="v">${esc(value)}</span><span class="l">${esc(label)}</span></div>`;
}

function summary(s: FleetSnapshot): string {
  const m = s.summary;
  const lanes = Object.entries(m.backlog)
    .sort(([a], [b]) => laneOrder(a) - laneOrder(b) || a.localeCompare(b))
    .map(([lane, n]) => tile(`${lane} backlog`, n, n > 0 ? 'warn' : '', `backlog-${lane}`))
    .join('');
  return [
    tile('online', m.online, 'ok', 'online'),
    tile('offline', m.offline, m.offline > 0 ? 'bad' : '', 'offline'),
    m.revoked > 0 ? tile('revoked', m.revoked, '', 'revoked') : '',
    tile('unknown', m.unknown, m.unknown > 0 ? 'bad' : '', 'unknown'),
    tile('needs attention', m.needsAttention, m.needsAttention > 0 ? 'bad' : '', 'needs-attention'),
    tile('not final', m.notFinal, m.notFinal > 0 ? 'warn' : '', 'not-final'),
    lanes,
    tile('outbox', m.outbox, m.outbox > 0 ? 'warn' : '', 'outbox'),
    tile('low battery', m.lowBattery, m.lowBattery > 0 ? 'warn' : '', 'low-battery'),
    tile('old firmware', m.oldFirmware, m.oldFirmware > 0 ? 'warn' : '', 'old-firmware'),
  ].join('');
}

const laneOrder = (lane: string): number => ({ reversal: 0, advice: 1 })[lane] ?? 2;

const counts = (c: Record<string, number>): string =>
  Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${esc(k)} ${esc(n)}`)
    .join(', ');

function laptops(s: FleetSnapshot): string {
  if (s.laptops.length === 0) return '<p class="empty">No laptop enrolled yet.</p>';
  const rows = s.laptops.map((l) => {
    const action =
      l.status === 'revoked'
        ? `<span class="muted">revoked ${timeTag(l.revokedAt, s.timeZone, false)}</span>`
        : `<button type="button" class="revoke" data-revoke="${esc(l.daemonId)}" data-name="${esc(l.name)}">Revoke</button>`;
    return `<tr data-daemon="${esc(l.daemonId)}" data-status="${esc(l.status)}">
<td><span class="badge ${esc(l.status)}">${esc(l.status)}</span></td>
<td class="name">${esc(l.name)}<br><small class="muted">${esc(l.daemonId)}</small></td>
<td>${esc(l.store)}</td>
<td>${esc(l.version ?? '')}</td>
<td>${timeTag(l.lastSeenAt, s.timeZone)}</td>
<td>${esc(l.terminalIds.join(', '))}</td>
<td>${counts(l.pending) || '<span class="muted">—</span>'}</td>
<td>${action}</td>
</tr>`;
  });
  return table(
    ['Status', 'Laptop', 'Store', 'Version', 'Last seen', 'Terminals', 'Not final', ''],
    rows.join(''),
  );
}

const timelineHref = (p: { daemonId: string; paymentId: string }): string =>
  `/payments/${seg(p.daemonId)}/${seg(p.paymentId)}`;

function paymentRows(list: PaymentRow[], tz: string): string {
  return list
    .map(
      (p) => `<tr data-payment="${esc(p.paymentId)}" data-state="${esc(p.state)}">
<td><span class="state ${esc(p.state)}">${esc(p.state)}</span></td>
<td>${timeTag(p.createdAt, tz, false)}</td>
<td>${esc(p.laptop)}</td>
<td>${esc(p.store)}</td>
<td>${esc(p.terminalId)}</td>
<td>${esc(p.kind)}${p.method !== 'card' ? ` <small>${esc(p.method)}</small>` : ''}</td>
<td class="num">${esc(money(p.amount, p.currency))}</td>
<td class="pan">${esc(p.panDisplay ?? '')}</td>
<td>${esc(p.orderId ?? '')}</td>
<td><a class="timeline" href="${esc(timelineHref(p))}">timeline</a></td>
</tr>`,
    )
    .join('');
}

const PAYMENT_HEAD = [
  'State',
  'Created',
  'Laptop',
  'Store',
  'Terminal',
  'Kind',
  'Amount',
  'Card',
  'Order',
  '',
];

function attention(s: FleetSnapshot): string {
  if (s.attention.length === 0) return '<p class="empty">Nothing to look at: every payment is final.</p>';
  const total = s.summary.notFinal + s.summary.needsAttention;
  const more =
    total > s.attention.length
      ? `<p class="note">Showing ${esc(s.attention.length)} of ${esc(total)}.</p>`
      : '';
  return more + table(PAYMENT_HEAD, paymentRows(s.attention, s.timeZone));
}

function recent(s: FleetSnapshot): string {
  if (s.recent.length === 0) return '<p class="empty">No payment yet.</p>';
  return table(PAYMENT_HEAD, paymentRows(s.recent, s.timeZone));
}

function backlog(s: FleetSnapshot): string {
  const lanes = new Set<string>(['reversal', 'advice']);
  for (const l of s.laptops) for (const k of Object.keys(l.backlog)) lanes.add(k);
  const cols = [...lanes].sort((a, b) => laneOrder(a) - laneOrder(b) || a.localeCompare(b));
  const busy = s.laptops.filter(
    (l: LaptopRow) =>
      l.status !== 'revoked' && (Object.values(l.backlog).some((n) => n > 0) || (l.outboxDepth ?? 0) > 0),
  );
  if (busy.length === 0) return '<p class="empty">Every queue is drained.</p>';
  const rows = busy.map(
    (l) => `<tr data-daemon="${esc(l.daemonId)}">
<td>${esc(l.name)}</td><td>${esc(l.store)}</td>
${cols.map((c) => `<td class="num${(l.backlog[c] ?? 0) > 0 ? ' warn' : ''}" data-lane="${esc(c)}">${esc(l.backlog[c] ?? 0)}</td>`).join('')}
<td class="num" data-lane="outbox">${esc(l.outboxDepth ?? '')}</td>
<td>${timeTag(l.healthAt, s.timeZone)}</td>
</tr>`,
  );
  return table(['Laptop', 'Store', ...cols.map((c) => `${c} backlog`), 'Outbox', 'As of'], rows.join(''));
}

function readers(s: FleetSnapshot): string {
  if (s.readers.length === 0) return '<p class="empty">No reader reported yet.</p>';
  const rows = s.readers.map(
    (
      r,
    ) => `<tr data-terminal="${esc(r.terminalId)}" data-daemon="${esc(r.daemonId)}"${r.lowBattery ? ' data-low-battery' : ''}${r.oldFirmware ? ' data-old-firmware' : ''}>
<td>${esc(r.terminalId)}</td><td>${esc(r.laptop)}</td><td>${esc(r.store)}</td><td>${esc(r.state)}</td>
<td>${esc([r.kind, r.model].filter(Boolean).join(' '))}</td>
<td class="${r.oldFirmware ? 'warn' : ''}">${esc(r.firmware ?? '')}${r.oldFirmware ? ' <small>(old)</small>' : ''}</td>
<td class="num${r.lowBattery ? ' bad' : ''}" data-battery="${esc(r.batteryPercent ?? '')}">${r.batteryPercent === null ? '' : `${esc(r.batteryPercent)} %`}</td>
<td class="muted">${esc(r.lastError ?? '')}</td>
</tr>`,
  );
  return table(
    ['Terminal', 'Laptop', 'Store', 'State', 'Model', 'Firmware', 'Battery', 'Last error'],
    rows.join(''),
  );
}

function totals(s: FleetSnapshot): string {
  if (s.totals.length === 0) return `<p class="empty">No completed payment today (${esc(s.today)}).</p>`;
  const rows = s.totals.map(
    (t) => `<tr data-store="${esc(t.store)}" data-currency="${esc(t.currency)}" data-net="${esc(t.net)}">
<td>${esc(t.store)}</td>
<td class="num">${esc(t.sales.count)}</td><td class="num">${esc(money(t.sales.amount, t.currency))}</td>
<td class="num">${esc(t.refunds.count)}</td><td class="num">${esc(money(t.refunds.amount, t.currency))}</td>
<td class="num muted">${esc(t.voided.count)} · ${esc(money(t.voided.amount, t.currency))}</td>
<td class="num net">${esc(money(t.net, t.currency))}</td>
</tr>`,
  );
  // The fleet's total per currency (integer sums: exact).
  const sum = new Map<string, number>();
  for (const t of s.totals) sum.set(t.currency, (sum.get(t.currency) ?? 0) + t.net);
  const foot = [...sum]
    .map(
      ([cur, net]) =>
        `<tr class="total"><td>All stores</td><td colspan="5"></td><td class="num net">${esc(money(net, cur))}</td></tr>`,
    )
    .join('');
  return table(
    ['Store', 'Sales', 'Sales amount', 'Refunds', 'Refunded', 'Voided', 'Net'],
    rows.join(''),
    foot,
  );
}

function table(head: string[], body: string, foot = ''): string {
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody>${
    foot ? `<tfoot>${foot}</tfoot>` : ''
  }</table></div>`;
}

// ------------------------------------------------------------------------------------ a timeline

const EVENT_FIELDS = ['state', 'reason', 'amount', 'responseCode', 'rrn', 'authCode', 'orderId'] as const;

export function timelinePage(
  t: Timeline,
  daemonId: string,
  paymentId: string,
  user: string,
  tz: string,
): string {
  const p = t.payment;
  const facts: [string, string][] = [
    [
      'Laptop',
      t.daemon ? `${esc(t.daemon.name)} <small class="muted">${esc(t.daemon.id)}</small>` : esc(daemonId),
    ],
    ['Store', esc(t.daemon?.store ?? '')],
    ['Payment', esc(paymentId)],
  ];
  if (p) {
    facts.push(
      [
        'State',
        `<span class="state ${esc(p.state)}" id="payment-state">${esc(p.state)}</span>${p.final ? '' : ' <small>(not final)</small>'}`,
      ],
      ['Kind', `${esc(p.kind)}${p.method && p.method !== 'card' ? ` (${esc(p.method)})` : ''}`],
      ['Amount', esc(money(p.amount, p.currency))],
      ['Approved', p.approvedAmount === null ? '' : esc(money(p.approvedAmount, p.currency))],
      ['Terminal', esc(p.terminalId)],
      ['Order', esc(p.orderId ?? '')],
      [
        'Original payment',
        p.originalId
          ? `<a href="/payments/${esc(seg(daemonId))}/${esc(seg(p.originalId))}">${esc(p.originalId)}</a>`
          : '',
      ],
      [
        'Card',
        p.card ? esc([p.card.panDisplay, p.card.scheme, p.card.entryMode].filter(Boolean).join(' · ')) : '',
      ],
      ['STAN / RRN', esc([p.host?.stan, p.host?.rrn].filter(Boolean).join(' / '))],
      ['Auth code / response', esc([p.host?.authCode, p.host?.responseCode].filter(Boolean).join(' / '))],
      ['Reason', esc(p.reason ?? '')],
      [
        'Voided / refunded',
        `${p.voided ? 'voided · ' : ''}${esc(money(p.refundedAmount ?? 0, p.currency))} refunded`,
      ],
      ['Created', esc(localTime(p.createdAt, tz))],
      ['Updated', esc(localTime(p.updatedAt, tz))],
    );
  }
  const rows = t.events.map((e) => {
    const ev = e.event as unknown as Record<string, unknown>;
    const cells = EVENT_FIELDS.map((f) => {
      const v = ev[f];
      if (v === undefined || v === null) return '<td></td>';
      if (f === 'amount' && Number.isSafeInteger(v))
        return `<td class="num">${esc(money(v as number, p?.currency ?? 'CNY'))}</td>`;
      return `<td>${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</td>`;
    });
    const shown = new Set<string>([...EVENT_FIELDS, 'type', 'paymentId', 'seq', 'durable']);
    const rest = Object.fromEntries(Object.entries(ev).filter(([k]) => !shown.has(k)));
    return `<tr data-seq="${esc(e.seq)}" data-type="${esc(e.type)}">
<td class="num">${esc(e.seq)}</td><td>${esc(localTime(e.at, tz))}</td><td>${esc(e.type)}</td>${cells.join('')}
<td class="muted small">${Object.keys(rest).length ? esc(JSON.stringify(rest)) : ''}</td>
</tr>`;
  });
  return layout(
    `Payment ${paymentId} · posbridge fleet`,
    `<p><a href="/">← Fleet</a></p>
<section class="panel" id="payment" data-payment="${esc(paymentId)}" data-daemon="${esc(daemonId)}">
  <h2>Payment ${esc(paymentId)}</h2>
  ${p ? '' : '<p class="note">The hub holds events of this payment but not its view yet.</p>'}
  <dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>
</section>
<section class="panel" id="timeline">
  <h2>Timeline</h2>
  <p class="note">Every journal event the hub holds for this payment, in journal order. Times in ${esc(tz)}.</p>
  ${
    rows.length
      ? table(
          [
            'Seq',
            'At',
            'Event',
            'State',
            'Reason',
            'Amount',
            'Response',
            'RRN',
            'Auth code',
            'Order',
            'More',
          ],
          rows.join(''),
        )
      : '<p class="empty">No event yet.</p>'
  }
</section>`,
    { user, page: 'timeline' },
  );
}

export function notFoundPage(what: string, user: string): string {
  return layout(
    'Not found · posbridge fleet',
    `<p><a href="/">← Fleet</a></p><p class="empty">${esc(what)}</p>`,
    {
      user,
      page: 'not-found',
    },
  );
}
