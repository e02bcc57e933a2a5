/**
 * `posbridge params`: the terminal-management sets in the journal (CA public keys and IC card
 * parameters, docs/terminal-management.md), and `--download` to fetch them again through the running
 * daemon (it owns the host link). Reads work while the daemon runs (SQLite WAL readers).
 */
import type Database from 'better-sqlite3';
import {
  capkCheckValue,
  capkExpired,
  capkOf,
  decodeStoredEntry,
  PARAM_KINDS,
  tmsSpec,
  type ParamKind,
} from '../host/index.js';
import { loadDialect, type TerminalManagementSpec } from '../iso8583/index.js';
import { activeParamSet, paramSets, type ParamSetRow } from '../journal/index.js';
import { badValue, parseCommandArgs, withUsage } from './cli-args.js';
import { defaultStateDir } from './config.js';
import { EXIT } from './failures.js';
import { openReadOnly } from './journal-command.js';
import { adminCall, runningDaemon } from './running.js';
import { usageOf } from './usage.js';

export interface CapkView {
  rid: string;
  index: string;
  expiry: string;
  expired: boolean;
  checkOk: boolean;
}

export interface AidView {
  aid: string;
  floorLimit?: number;
  tacDefault?: string;
  tacDenial?: string;
  tacOnline?: string;
}

export interface SetView<E> {
  version: number;
  downloadedAt: string;
  reason: string;
  digest: string;
  entries: E[];
  /** Entries whose stored TLV no longer decodes (never expected; shown, not hidden). */
  unreadable: number;
}

export interface ParamsView {
  capk: SetView<CapkView> | null;
  aid: SetView<AidView> | null;
  /** Earlier versions kept in the journal, per kind. */
  history: Record<ParamKind, number>;
}

/** YYYYMMDD of a date (UTC: expiry dates are whole days; a few hours either way do not matter here). */
export function yyyymmdd(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

/** What the journal holds, decoded by the dialect's tag tables. */
export function paramsView(
  rows: { capk: ParamSetRow | undefined; aid: ParamSetRow | undefined; history: Record<ParamKind, number> },
  spec: TerminalManagementSpec,
  now = new Date(),
): ParamsView {
  const today = yyyymmdd(now);
  const view = <E>(row: ParamSetRow | undefined, decode: (tlv: string) => E): SetView<E> | null => {
    if (!row) return null;
    const entries: E[] = [];
    let unreadable = 0;
    for (const e of row.entries) {
      try {
        entries.push(decode(e.tlv));
      } catch {
        unreadable++;
      }
    }
    return {
      version: row.version,
      downloadedAt: row.downloadedAt,
      reason: row.reason,
      digest: row.digest,
      entries,
      unreadable,
    };
  };
  return {
    capk: view(rows.capk, (tlv) => {
      const c = capkOf(decodeStoredEntry(spec.capk, tlv, 'capk'));
      return {
        rid: c.rid,
        index: c.index,
        expiry: c.expiry,
        expired: capkExpired(c, today),
        checkOk: c.hashAlgorithm === '01' && capkCheckValue(c) === c.checkValue,
      };
    }),
    aid: view(rows.aid, (tlv) => {
      const a = decodeStoredEntry(spec.aid, tlv, 'aid');
      const s = (k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
      return {
        aid: String(a['aid']),
        ...(typeof a['floorLimit'] === 'number' ? { floorLimit: a['floorLimit'] } : {}),
        ...(s('tacDefault') ? { tacDefault: s('tacDefault') } : {}),
        ...(s('tacDenial') ? { tacDenial: s('tacDenial') } : {}),
        ...(s('tacOnline') ? { tacOnline: s('tacOnline') } : {}),
      };
    }),
    history: rows.history,
  };
}

/** The stored sets of a read-only journal (a journal made before terminal management has none). */
export function readParamRows(db: Database.Database): {
  capk: ParamSetRow | undefined;
  aid: ParamSetRow | undefined;
  history: Record<ParamKind, number>;
} {
  const has = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'terminal_param_sets'")
    .get();
  if (!has) return { capk: undefined, aid: undefined, history: { capk: 0, aid: 0 } };
  return {
    capk: activeParamSet(db, 'capk'),
    aid: activeParamSet(db, 'aid'),
    history: {
      capk: Math.max(0, paramSets(db, 'capk', 1000).length - 1),
      aid: Math.max(0, paramSets(db, 'aid', 1000).length - 1),
    },
  };
}

function dateText(d: string): string {
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
}

export function paramsText(v: ParamsView): string {
  const lines: string[] = [];
  if (v.capk) {
    lines.push(
      `CA public keys: version ${v.capk.version}, ${v.capk.entries.length} key(s), downloaded ${v.capk.downloadedAt} (${v.capk.reason})`,
    );
    lines.push('  RID         index  expiry      check');
    for (const c of v.capk.entries)
      lines.push(
        `  ${c.rid}  ${c.index.padEnd(5)}  ${dateText(c.expiry)}  ${c.checkOk ? 'ok' : 'FAILED'}${c.expired ? '  EXPIRED' : ''}`,
      );
    if (v.capk.unreadable) lines.push(`  ${v.capk.unreadable} stored key(s) unreadable`);
  } else lines.push('CA public keys: none downloaded');
  if (v.aid) {
    lines.push(
      `IC card parameters: version ${v.aid.version}, ${v.aid.entries.length} AID(s), downloaded ${v.aid.downloadedAt} (${v.aid.reason})`,
    );
    lines.push('  AID                               floor limit  TAC default/denial/online');
    for (const a of v.aid.entries)
      lines.push(
        `  ${a.aid.padEnd(32)}  ${String(a.floorLimit ?? '-').padStart(11)}  ${a.tacDefault ?? '-'}/${a.tacDenial ?? '-'}/${a.tacOnline ?? '-'}`,
      );
    if (v.aid.unreadable) lines.push(`  ${v.aid.unreadable} stored AID(s) unreadable`);
  } else lines.push('IC card parameters: none downloaded');
  const older = v.history.capk + v.history.aid;
  if (older) lines.push(`(${older} earlier version(s) kept in the journal)`);
  return lines.join('\n');
}

export async function paramsCommand(args: string[]): Promise<number> {
  return withUsage('posbridge params', usageOf('params'), () => params(args));
}

const out = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
};

async function params(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      home: { type: 'string' },
      dialect: { type: 'string' },
      json: { type: 'boolean', default: false },
      download: { type: 'boolean', default: false },
      kind: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(usageOf('params'));
    return EXIT.ok;
  }
  const kind = values.kind;
  if (kind !== undefined && !PARAM_KINDS.includes(kind as ParamKind))
    throw badValue(`--kind must be capk or aid, got ${JSON.stringify(kind)}`);
  if (kind !== undefined && !values.download) throw badValue('--kind goes with --download');
  const home = values.home ?? defaultStateDir();
  if (values.download) {
    const d = runningDaemon(home);
    if (!d) {
      process.stderr.write(
        'no daemon is running for this state directory: a download needs the host link; start the daemon first\n',
      );
      return EXIT.notRunning;
    }
    const r = await adminCall(d, 'POST', '/admin/params/download', kind ? { kinds: [kind] } : {});
    out(JSON.stringify(r.json, null, 2));
    const results = (r.json as { results?: { outcome: string }[] } | null)?.results;
    return r.status === 200 && results?.every((x) => x.outcome !== 'failed') ? EXIT.ok : EXIT.problem;
  }
  const spec = tmsSpec(loadDialect(values.dialect ?? 'cup-pos'));
  const db = openReadOnly(home);
  try {
    const view = paramsView(readParamRows(db), spec);
    out(values.json ? JSON.stringify(view, null, 2) : paramsText(view));
    const bad =
      [view.capk, view.aid].some((s) => !s || s.unreadable > 0) || view.capk?.entries.some((c) => !c.checkOk);
    return bad ? EXIT.problem : EXIT.ok;
  } finally {
    db.close();
  }
}

export interface ParamsCheck {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

function age(fromIso: string, now: Date): string {
  const h = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 3_600_000));
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`;
}

/** `posbridge doctor` lines: sets present (and how old), every stored CAPK verified, none expired. */
export function paramsChecks(v: ParamsView, now = new Date()): ParamsCheck[] {
  const checks: ParamsCheck[] = [];
  const missing = [!v.capk && 'CA public keys', !v.aid && 'IC card parameters'].filter(Boolean);
  checks.push(
    missing.length
      ? {
          name: 'terminal parameters',
          status: 'warn',
          detail: `${missing.join(' and ')} not downloaded yet: chip cards cannot be authenticated offline`,
          fix: 'start the daemon with the acquirer reachable (it downloads them), or `posbridge params --download`',
        }
      : {
          name: 'terminal parameters',
          status: 'pass',
          detail: `CAPKs version ${v.capk!.version} (${v.capk!.entries.length}, ${age(v.capk!.downloadedAt, now)}), AID parameters version ${v.aid!.version} (${v.aid!.entries.length}, ${age(v.aid!.downloadedAt, now)})`,
        },
  );
  if (v.capk) {
    const bad = v.capk.entries.filter((c) => !c.checkOk).map((c) => `${c.rid}/${c.index}`);
    const expired = v.capk.entries.filter((c) => c.expired).map((c) => `${c.rid}/${c.index}`);
    if (bad.length || v.capk.unreadable)
      checks.push({
        name: 'CAPK check values',
        status: 'fail',
        detail: `${[...bad, ...(v.capk.unreadable ? [`${v.capk.unreadable} unreadable`] : [])].join(', ')} fail the SHA-1 check`,
        fix: '`posbridge params --download` (the journal was changed outside posbridge, or a bug: report it)',
      });
    checks.push(
      expired.length
        ? {
            name: 'CAPKs expired',
            status: 'warn',
            detail: `expired: ${expired.join(', ')}`,
            fix: 'ask the acquirer for the current keys: `posbridge params --download`',
          }
        : { name: 'CAPKs expired', status: 'pass', detail: 'none' },
    );
  }
  return checks;
}
