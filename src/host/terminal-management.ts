import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Dialect, TerminalManagementSpec, TmsExchangeSpec, TmsKindSpec } from '../iso8583/index.js';
import { encodeTlvList, parseTlvList, type TlvItem } from './field62-tlv.js';
import type { HostLink } from './host-link.js';
import type { LinkStateEvent } from './outcome.js';
import { TerminalManagementError } from './terminal-management-errors.js';
import { capkOf, decodeEntry, splitList, verifyCapk, type TmsEntry } from './tms-entries.js';

/**
 * UnionPay terminal management over the acquirer link (docs/terminal-management.md): for CA public
 * keys and IC card (AID) parameters, query the host's list (0820 "status upload", 60.3 372 / 382),
 * download each entry (0800, 370 / 380), then say the download ended (0800, 371 / 381). Every CAPK's
 * check value is verified before the set is stored; a set is stored whole or not at all, and becomes
 * the active one. Runs when a set is missing once the link is ready, when a response header asks
 * (update_public_keys / download_ic_parameters), and on demand.
 */
export type ParamKind = 'capk' | 'aid';
export const PARAM_KINDS: readonly ParamKind[] = ['capk', 'aid'];
export type DownloadReason = 'startup' | 'host_request' | 'on_demand';

/** One downloaded entry: its key (RID+index, or the AID) and the TLV exactly as the host sent it. */
export interface StoredParamEntry {
  key: string;
  tlv: string;
}

export interface StoredParamSet {
  kind: ParamKind;
  version: number;
  reason: string;
  entries: StoredParamEntry[];
  /** SHA-256 over the entries: what a reader's loaded version is compared with. */
  digest: string;
  downloadedAt: string;
}

/** Where sets are kept (the journal implements it): versioned, the newest saved one active. */
export interface TerminalParamStore {
  activeParamSet(kind: ParamKind): StoredParamSet | undefined;
  saveParamSet(input: {
    kind: ParamKind;
    reason: string;
    entries: StoredParamEntry[];
    digest: string;
  }): StoredParamSet;
}

export interface KindResult {
  kind: ParamKind;
  /** stored: a new version; unchanged: same digest as the active set; failed: the active set is kept. */
  outcome: 'stored' | 'unchanged' | 'failed';
  set?: StoredParamSet;
  entries?: number;
  error?: { code: string; message: string; path?: string };
  /** The end message (371 / 381) was not answered 00: the host may ask again. */
  endUnconfirmed?: boolean;
}

export interface TerminalManagerOptions {
  host: HostLink;
  dialect: Dialect;
  store: TerminalParamStore;
  logger?: Logger;
  /** Download a missing set as soon as the link is ready (default true). */
  downloadWhenMissing?: boolean;
  /** Least time between two downloads of one kind that a header flag asks for (default 60 s). */
  minFlagIntervalMs?: number;
  /** After a failed download of a missing set, try again after this long (default 5 min; 0 = only on the next trigger). */
  retryMs?: number;
  /** Safety bound on query rounds ("more follows") per download (default 50). */
  maxQueryRounds?: number;
}

const FLAG_KIND: Record<string, ParamKind> = {
  update_public_keys: 'capk',
  download_ic_parameters: 'aid',
};

/** The digest a set is versioned by: entries in key order, key and TLV. */
export function paramSetDigest(entries: readonly StoredParamEntry[]): string {
  const h = createHash('sha256');
  for (const e of [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
    h.update(`${e.key}:${e.tlv.toUpperCase()}\n`);
  return h.digest('hex');
}

/** The dialect's terminal-management spec, or a typed error. */
export function tmsSpec(dialect: Dialect): TerminalManagementSpec {
  const spec = dialect.spec.exchanges?.terminalManagement;
  if (!spec)
    throw new TerminalManagementError(
      'not_supported',
      `dialect ${dialect.name} declares no terminal management`,
      {
        path: 'exchanges.terminalManagement',
      },
    );
  return spec;
}

/** Emits `downloaded` (StoredParamSet) after each new version and `result` (KindResult[]) after each run. */
export class TerminalManager extends EventEmitter {
  private readonly spec: TerminalManagementSpec | undefined;
  private readonly log: Logger | undefined;
  private running: Promise<KindResult[]> | undefined;
  private queued: { kinds: Set<ParamKind>; reason: DownloadReason } | undefined;
  private readonly lastFlagRun = new Map<ParamKind, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(private readonly o: TerminalManagerOptions) {
    super();
    this.spec = o.dialect.spec.exchanges?.terminalManagement ?? undefined;
    this.log = o.logger?.child({ component: 'terminal-management' });
  }

  /** Whether the dialect serves downloads at all. */
  get supported(): boolean {
    return this.spec !== undefined;
  }

  /** Listens to the link: downloads a missing set when it is ready, and what response headers ask for. */
  start(): void {
    if (this.started || !this.spec) return;
    this.started = true;
    this.o.host.on('state', this.onState);
    this.o.host.on('headerFlags', this.onFlags);
    if (this.o.host.state === 'ready') this.onState({ state: 'ready', at: new Date() });
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.retryTimer);
    this.o.host.off('state', this.onState);
    this.o.host.off('headerFlags', this.onFlags);
  }

  /** Settles when no download runs (now, or when the running one and any queued after it end). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** The kinds with no stored set. */
  missing(): ParamKind[] {
    return PARAM_KINDS.filter((k) => !this.o.store.activeParamSet(k));
  }

  private readonly onState = (e: LinkStateEvent): void => {
    if (e.state !== 'ready' || (this.o.downloadWhenMissing ?? true) === false) return;
    const missing = this.missing();
    if (missing.length) void this.download(missing, 'startup').catch(() => undefined);
  };

  private readonly onFlags = (flags: string[]): void => {
    const now = Date.now();
    const min = this.o.minFlagIntervalMs ?? 60_000;
    const kinds = flags
      .map((f) => FLAG_KIND[f])
      .filter((k): k is ParamKind => k !== undefined)
      .filter((k) => now - (this.lastFlagRun.get(k) ?? -Infinity) >= min);
    if (!kinds.length) return;
    for (const k of kinds) this.lastFlagRun.set(k, now);
    this.log?.info({ kinds }, 'the host asks for a parameter download');
    // After the response that carried the flag has settled: the flag rides on an ordinary answer.
    setImmediate(() => void this.download(kinds, 'host_request').catch(() => undefined));
  };

  /**
   * Downloads the given kinds (default both) one after the other. Runs are serialised: a request while
   * one runs is queued (merged with any other queued request) and runs after it.
   */
  download(
    kinds: readonly ParamKind[] = PARAM_KINDS,
    reason: DownloadReason = 'on_demand',
  ): Promise<KindResult[]> {
    if (!this.spec) {
      try {
        tmsSpec(this.o.dialect);
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    if (this.running) {
      const q = (this.queued ??= { kinds: new Set(), reason });
      for (const k of kinds) q.kinds.add(k);
      return this.running.then(() => this.download([...q.kinds], q.reason));
    }
    this.queued = undefined;
    const run = this.runAll(kinds, reason).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async runAll(kinds: readonly ParamKind[], reason: DownloadReason): Promise<KindResult[]> {
    const results: KindResult[] = [];
    for (const kind of kinds) results.push(await this.runKind(kind, reason));
    this.emit('result', results);
    clearTimeout(this.retryTimer);
    const retryMs = this.o.retryMs ?? 300_000;
    if (this.started && retryMs > 0 && results.some((r) => r.outcome === 'failed')) {
      this.retryTimer = setTimeout(() => {
        const missing = this.missing();
        if (missing.length && this.o.host.state === 'ready')
          void this.download(missing, 'startup').catch(() => undefined);
      }, retryMs);
      this.retryTimer.unref();
    }
    return results;
  }

  private async runKind(kind: ParamKind, reason: DownloadReason): Promise<KindResult> {
    const spec = this.spec!;
    const k = spec[kind];
    try {
      const list = await this.query(spec, k, kind);
      const entries: StoredParamEntry[] = [];
      for (const item of list) {
        const e = await this.downloadOne(spec, k, kind, item);
        if (e) entries.push(e);
      }
      const endUnconfirmed = !(await this.end(spec, k.end));
      const digest = paramSetDigest(entries);
      const active = this.o.store.activeParamSet(kind);
      if (active && active.digest === digest) {
        this.log?.info({ kind, version: active.version, entries: entries.length }, 'parameters unchanged');
        return {
          kind,
          outcome: 'unchanged',
          set: active,
          entries: entries.length,
          ...(endUnconfirmed ? { endUnconfirmed } : {}),
        };
      }
      const set = this.o.store.saveParamSet({ kind, reason, entries, digest });
      this.log?.info({ kind, version: set.version, entries: entries.length, reason }, 'parameters stored');
      this.emit('downloaded', set);
      return {
        kind,
        outcome: 'stored',
        set,
        entries: entries.length,
        ...(endUnconfirmed ? { endUnconfirmed } : {}),
      };
    } catch (e) {
      const error =
        e instanceof TerminalManagementError
          ? { code: e.code, message: e.message, path: e.path }
          : { code: 'internal', message: e instanceof Error ? e.message : String(e) };
      this.log?.warn({ kind, error }, 'parameter download failed; the active set is kept');
      return { kind, outcome: 'failed', error };
    }
  }

  /** The query rounds: each answer lists entries; "more" asks again from the count held so far. */
  private async query(spec: TerminalManagementSpec, k: TmsKindSpec, kind: ParamKind): Promise<TlvItem[][]> {
    const all: TlvItem[][] = [];
    const rounds = this.o.maxQueryRounds ?? 50;
    for (let round = 0; round < rounds; round++) {
      const start = `${spec.queryStart ?? '1'}${String(all.length % 100).padStart(2, '0')}`;
      const f = await this.exchange(spec, k.query, Buffer.from(start, 'latin1'));
      const { status, rest } = this.statusOf(spec, f, k.query);
      if (status === 'none') return all;
      const where = `field${spec.field} ${k.query.mti}/${k.query.networkCode}`;
      const items = parseTlvList(rest, { field: `field${spec.field}`, base: 1 });
      all.push(...splitList(k, items, where));
      if (status === 'last') return all;
    }
    throw new TerminalManagementError('bad_answer', `more than ${rounds} query rounds for ${kind}`, {
      path: `${k.query.mti}/${k.query.networkCode}`,
    });
  }

  private async downloadOne(
    spec: TerminalManagementSpec,
    k: TmsKindSpec,
    kind: ParamKind,
    listed: TlvItem[],
  ): Promise<StoredParamEntry | undefined> {
    const req = encodeTlvList(k.requestTags.map((t) => listed.find((it) => it.tag === t)!));
    const f = await this.exchange(spec, k.download, req);
    const { status, rest } = this.statusOf(spec, f, k.download);
    const label = listed
      .map((it) => it.value.toString('hex').toUpperCase())
      .slice(0, k.requestTags.length)
      .join('/');
    if (status === 'none') {
      this.log?.warn({ kind, entry: label }, 'listed entry not served by the host; skipped');
      return undefined;
    }
    const where = `field${spec.field} ${kind} ${label}`;
    const items = parseTlvList(rest, { field: `field${spec.field}`, base: 1 });
    const entry = decodeEntry(k, items, where);
    if (kind === 'capk') verifyCapk(capkOf(entry));
    return { key: keyOf(kind, entry), tlv: rest.toString('hex').toUpperCase() };
  }

  private async end(spec: TerminalManagementSpec, ex: TmsExchangeSpec): Promise<boolean> {
    try {
      await this.exchange(spec, ex, undefined);
      return true;
    } catch (e) {
      this.log?.warn(
        { err: (e as Error).message, mti: ex.mti, code: ex.networkCode },
        'download end not confirmed',
      );
      return false;
    }
  }

  /** One request; answered 00 with the TLV field (when one is expected), else a typed error. */
  private async exchange(
    spec: TerminalManagementSpec,
    ex: TmsExchangeSpec,
    field: Buffer | undefined,
  ): Promise<Buffer | undefined> {
    const batch = String(Math.max(1, this.o.host.batch.current)).padStart(6, '0');
    const fields: Record<string, unknown> = {
      60: { '1': spec.transactionType ?? '00', '2': batch, '3': ex.networkCode },
    };
    if (field) fields[String(spec.field)] = field;
    const path = `${ex.mti}/${ex.networkCode}`;
    const outcome = await this.o.host.request({ mti: ex.mti, fields: fields as never }, { mac: false });
    if (outcome.status !== 'answered')
      throw new TerminalManagementError(
        'not_answered',
        `${outcome.status}${'reason' in outcome ? ` (${outcome.reason})` : ''}`,
        { path },
      );
    const rc = outcome.response.fields[39];
    if (rc !== '00')
      throw new TerminalManagementError('host_refused', `response code ${String(rc)}`, {
        path: `${path} field 39`,
      });
    const f = outcome.response.fields[spec.field];
    return Buffer.isBuffer(f) ? f : undefined;
  }

  private statusOf(
    spec: TerminalManagementSpec,
    f: Buffer | undefined,
    ex: TmsExchangeSpec,
  ): { status: 'none' | 'last' | 'more'; rest: Buffer } {
    const path = `field${spec.field} ${ex.mti}/${ex.networkCode}`;
    if (!f || f.length === 0)
      throw new TerminalManagementError('bad_answer', `answer without field ${spec.field}`, {
        path,
        offset: 0,
      });
    const table = spec.status ?? { '0': 'none', '1': 'last', '2': 'more' };
    const status = table[String.fromCharCode(f[0]!)];
    if (!status)
      throw new TerminalManagementError(
        'bad_answer',
        `status byte 0x${f[0]!.toString(16)} (expected ${Object.keys(table).join('/')} as ASCII)`,
        {
          path: `${path}@0`,
          offset: 0,
        },
      );
    return { status, rest: f.subarray(1) };
  }
}

/** An entry's key: RID + index for a CAPK, the AID for parameters. */
export function keyOf(kind: ParamKind, e: TmsEntry): string {
  return kind === 'capk' ? `${String(e['rid'])}${String(e['index'])}` : String(e['aid']);
}
