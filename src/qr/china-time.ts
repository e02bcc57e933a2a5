/**
 * China Standard Time (UTC+8, no daylight saving) in the providers' formats, computed arithmetically so the
 * machine's time zone never matters.
 */
const CST_MS = 8 * 3600 * 1000;

function parts(d: Date): [string, string, string, string, string, string] {
  const t = new Date(d.getTime() + CST_MS);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return [
    p(t.getUTCFullYear(), 4),
    p(t.getUTCMonth() + 1),
    p(t.getUTCDate()),
    p(t.getUTCHours()),
    p(t.getUTCMinutes()),
    p(t.getUTCSeconds()),
  ];
}

/** "2024-05-13 17:49:20" (Alipay timestamps, time_expire, gmt_payment) */
export function cstDateTime(d: Date): string {
  const [y, mo, da, h, mi, s] = parts(d);
  return `${y}-${mo}-${da} ${h}:${mi}:${s}`;
}

/** "20240513174920" (WeChat v2 time_end, time_expire) */
export function cstCompact(d: Date): string {
  return parts(d).join('');
}

/** "2024-05-13T17:49:20+08:00" (WeChat v3 RFC 3339) */
export function cstRfc3339(d: Date): string {
  const [y, mo, da, h, mi, s] = parts(d);
  return `${y}-${mo}-${da}T${h}:${mi}:${s}+08:00`;
}

/** "2024-05-13" China date of an instant */
export function cstDate(d: Date): string {
  const [y, mo, da] = parts(d);
  return `${y}-${mo}-${da}`;
}

/** Parses "yyyy-MM-dd HH:mm:ss" or "yyyyMMddHHmmss" as China time; undefined when malformed. */
export function parseCst(s: string | undefined): Date | undefined {
  if (!s) return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})[ T]?(\d{2}):?(\d{2}):?(\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se) - CST_MS;
  const date = new Date(ms);
  return Number.isNaN(ms) ? undefined : date;
}

/** ISO 8601 UTC of a provider time string (China time or RFC 3339 with offset); undefined when malformed. */
export function providerTimeToIso(s: string | undefined): string | undefined {
  if (!s) return undefined;
  if (/[+-]\d{2}:\d{2}$|Z$/.test(s)) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : new Date(t).toISOString();
  }
  return parseCst(s)?.toISOString();
}

export function isIsoDate(date: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === date;
}
