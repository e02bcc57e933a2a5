/**
 * `posbridge reconcile --format text`: the reconciliation report as a summary for people (the JSON and
 * CSV are for programs and spreadsheets). Card data: the masked PAN only, as in the report itself.
 */
import type { ReconciliationReport, ReconItem, Totals } from '../engine/index.js';

/** Fen as yuan (or any two-decimal currency's major unit): 123456 → "1,234.56". */
export function money(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const major = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}${major}.${String(abs % 100).padStart(2, '0')}`;
}

const signed = (n: number, f: (n: number) => string = String): string => (n > 0 ? `+${f(n)}` : f(n));

function totals(t: Totals, delta = false): string {
  const count = (n: number): string => (delta ? signed(n) : String(n));
  const amount = (n: number): string => (delta ? signed(n, money) : money(n));
  return `debit ${count(t.debitCount)} / ${amount(t.debitAmount)}, credit ${count(t.creditCount)} / ${amount(t.creditAmount)}`;
}

function sum(a: Totals, b: Totals): Totals {
  return {
    debitAmount: a.debitAmount + b.debitAmount,
    debitCount: a.debitCount + b.debitCount,
    creditAmount: a.creditAmount + b.creditAmount,
    creditCount: a.creditCount + b.creditCount,
  };
}

function itemLine(i: ReconItem): string[] {
  const where = [
    i.batch ? `batch ${i.batch}` : '',
    i.stan ? `STAN ${i.stan}` : '',
    i.rrn ? `RRN ${i.rrn}` : '',
    i.local?.qr ? `order ${i.local.qr.outTradeNo}` : i.host?.qr ? `order ${i.host.qr.outTradeNo}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const local = i.local
    ? `journal: ${i.local.kind} ${money(i.local.approvedAmount ?? i.local.amount)} ${i.local.state}${i.local.maskedPan ? ` card ${i.local.maskedPan}` : ''} (${i.local.operationId})`
    : 'journal: nothing';
  const host = i.host
    ? `host: line ${i.host.line} ${i.host.type} ${money(i.host.amount)} ${i.host.status}${i.host.date ? ` on ${i.host.date}` : ''}`
    : 'host: nothing';
  const delta =
    i.amountDelta !== undefined && i.amountDelta !== 0
      ? `; host minus journal ${signed(i.amountDelta, money)}`
      : '';
  return [
    `  ${i.status === 'needs_attention' ? 'NEEDS ATTENTION' : 'resolved       '}  ${i.category}${where ? ` (${where})` : ''}: ${i.detail}`,
    `      ${local}; ${host}${delta}`,
    `      to do: ${i.action.text}`,
  ];
}

export function reportText(r: ReconciliationReport): string {
  const s = r.summary;
  const lines: string[] = [];
  const against = r.qr
    ? `the ${r.qr.provider} bill of ${r.qr.date}${r.qr.laterBills.length ? ` (and of ${r.qr.laterBills.join(', ')} for late arrivals)` : ''}`
    : `the host settlement file ${r.source.file ?? '(unnamed)'}`;
  lines.push(`Reconciliation of terminal ${r.terminalId} against ${against}`);
  const scope = [
    r.scope.batches.length
      ? `batch${r.scope.batches.length === 1 ? '' : 'es'} ${r.scope.batches.join(', ')}`
      : '',
    r.scope.from
      ? `${r.scope.from}${r.scope.to && r.scope.to !== r.scope.from ? ` to ${r.scope.to}` : ''}`
      : '',
  ]
    .filter(Boolean)
    .join(', ');
  lines.push(
    `Generated ${r.generatedAt}${scope ? `; ${scope}` : ''}${r.runId !== undefined ? `; run ${r.runId}` : ''}`,
  );
  const rules = Object.entries(s.matchedBy)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([rule, n]) => `${rule} ${n}`)
    .join(', ');
  lines.push(
    `Matched ${s.matched} of ${s.hostLines} ${r.qr ? 'bill' : 'host'} line${s.hostLines === 1 ? '' : 's'}${rules ? ` (${rules})` : ''}; ` +
      `${s.localOperations} journal operation${s.localOperations === 1 ? '' : 's'}` +
      (s.otherTerminals ? `; ${s.otherTerminals} line(s) of other terminals ignored` : '') +
      (s.ignoredHostLines ? `; ${s.ignoredHostLines} reversed host line(s) ignored` : ''),
  );
  const attention = r.items.filter((i) => i.status === 'needs_attention').length;
  const byCategory = Object.entries(s.counts)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  lines.push(
    r.items.length
      ? `Differences: ${r.items.length} (${attention} need${attention === 1 ? 's' : ''} attention, ${r.items.length - attention} resolved): ${byCategory}`
      : 'Differences: none: the journal and the host agree',
  );
  for (const t of r.totals) {
    const local = sum(t.local.domestic, t.local.foreign);
    const parts = [`journal ${totals(local)}`];
    if (t.hostFile) parts.push(`${r.qr ? 'bill' : 'host file'} ${totals(t.hostFile)}`);
    if (t.difference) parts.push(`difference ${totals(t.difference, true)}`);
    if (t.settlement?.result) parts.push(`settlement ${t.settlement.result}`);
    lines.push(`Totals of batch ${t.batch}: ${parts.join('; ')}`);
  }
  if (r.items.length) {
    lines.push('', 'Items:');
    for (const i of r.items) lines.push(...itemLine(i));
  }
  if (s.errors.length) {
    lines.push('', `Lines that could not be read (${s.errors.length}):`);
    for (const e of s.errors) lines.push(`  line ${e.line}: ${e.error}`);
  }
  return `${lines.join('\n')}\n`;
}
