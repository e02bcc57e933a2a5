/**
 * Formatting for the dashboard's HTML: escaping (every value shown goes through `esc`, laptop names and
 * store names come from daemons and operators), money from integer minor units without floating point,
 * and times in the hub's time zone.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text or attribute value, escaped for HTML (null and undefined show as nothing). */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const SYMBOLS: Record<string, string> = { CNY: '¥', '156': '¥' };

/**
 * Minor units (fen) as money: `¥1,234.56`, `-¥0.05`; other currencies as `USD 12.00`. Exact: the
 * digits are cut from the integer's decimal string, never divided as a float.
 */
export function money(minor: number, currency = 'CNY'): string {
  if (!Number.isSafeInteger(minor)) throw new TypeError(`money: not an integer amount: ${String(minor)}`);
  const digits = String(Math.abs(minor)).padStart(3, '0');
  const units = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = minor < 0 ? '-' : '';
  const symbol = SYMBOLS[currency];
  return symbol
    ? `${sign}${symbol}${units}.${digits.slice(-2)}`
    : `${sign}${currency} ${units}.${digits.slice(-2)}`;
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS` in the given zone ('' for none). */
export function localTime(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  // sv-SE formats as ISO-like `2026-12-04 18:54:13`.
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(d);
}

/** A `<time>` the page turns into "12 s ago" (title: the local time); without script, the local time. */
export function timeTag(iso: string | null | undefined, timeZone: string, ago = true): string {
  if (!iso) return '<span class="muted">never</span>';
  const text = esc(localTime(iso, timeZone));
  return `<time datetime="${esc(iso)}"${ago ? ' data-ago' : ''} title="${text}">${text}</time>`;
}

/** A path segment for a link. */
export const seg = (s: string): string => encodeURIComponent(s);

/** Versions and firmware compared part by part, numbers as numbers (`1.10` > `1.9`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9A-Za-z]+/).filter(Boolean);
  const pb = b.split(/[^0-9A-Za-z]+/).filter(Boolean);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx < ny ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
