import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import {
  CryptoError,
  kcvForLog,
  requireKeyScheme,
  type GmSupport,
  type SecurityModule,
  type WorkingKeyLayout,
} from '../crypto/index.js';
import {
  Composite,
  Iso8583Error,
  dialectFraming,
  frame,
  unframe,
  type Dialect,
  type Framing,
  type Iso8583Message,
  type Iso8583MessageInput,
} from '../iso8583/index.js';
import { Counter, type CounterStore } from './counters.js';
import { HostLinkError } from './errors.js';
import { FrameReader } from './frame-reader.js';
import type { Attempt, HostOutcome, LinkState, LinkStateEvent, StrayResponse } from './outcome.js';

export interface HostTimers {
  /** TCP (and TLS) connect timeout. */
  connectMs: number;
  /** How long to wait for an answer once the bytes are written. */
  responseMs: number;
  /** How long a write may take to be accepted by the socket before the request is `unknown`. */
  writeMs: number;
  /** Echo after this long without traffic (0 = never). */
  idleEchoMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How long an answer to a timed-out request is still recognised as late (not unmatched). */
  lateWindowMs: number;
}

export const DEFAULT_TIMERS: HostTimers = {
  connectMs: 10_000,
  responseMs: 60_000,
  writeMs: 10_000,
  idleEchoMs: 120_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  lateWindowMs: 15 * 60_000,
};

export interface HostLinkConfig {
  host: string;
  port: number;
  /** TLS to the acquirer: CA file (PEM) and the name the certificate must carry. */
  tls?: { caFile?: string; ca?: string | Buffer; servername?: string };
  dialect: Dialect;
  /** Per-acquirer framing overrides on top of the dialect's (TPDU, header, length header). */
  framing?: Partial<Framing>;
  terminalId: string;
  merchantId: string;
  securityModule: SecurityModule;
  keyLayout: WorkingKeyLayout;
  counters: CounterStore;
  timers?: Partial<HostTimers>;
  /** Largest frame accepted from the host, in bytes. */
  maxFrame?: number;
  /** Sign on after connecting when no working keys are loaded, and whenever the host asks (default true). */
  autoSignOn?: boolean;
  logger?: Logger;
  /** What OpenSSL offers, for the key-scheme check at construction (tests inject one without SM4). */
  gmSupport?: GmSupport;
}

export interface RequestOptions {
  /** Fill field 64/128 through the security module (default: the dialect's MAC message list decides). */
  mac?: boolean;
  timeoutMs?: number;
  /**
   * Called with the final bytes before they leave, after the STAN is fixed: the place to journal the
   * attempt (with fsync). If it throws, nothing is sent and the outcome is `not_sent`.
   */
  beforeSend?: (attempt: Attempt, body: Buffer) => Promise<void> | void;
}

interface Pending {
  attempt: Attempt;
  resolve: (o: HostOutcome) => void;
  timer?: NodeJS.Timeout;
  written: boolean;
  started: number;
  /** The DUKPT KSN the request was MACed under (dialect `mac.dukpt`): the answer's MAC uses its keys. */
  ksn?: Buffer;
}

/**
 * The daemon's side of the acquirer connection: one TCP (or TLS) connection, framed per dialect,
 * reconnecting with back-off, matching answers by response MTI + terminal id + STAN, and settling every
 * request exactly once. Emits `state` (LinkStateEvent), `stray` (StrayResponse) and `signOn` events.
 */
export class HostLink extends EventEmitter {
  readonly stan: Counter;
  readonly batch: Counter;
  private readonly timers: HostTimers;
  private readonly framing: Framing;
  private readonly reader: FrameReader;
  private readonly pending = new Map<string, Pending>();
  private readonly recent = new Map<string, { attempt: Attempt; until: number }>();
  private socket: net.Socket | undefined;
  private socketReady = false;
  private linkState: LinkState = 'down';
  private stopped = true;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private signingOn: Promise<boolean> | undefined;
  private keysLoaded = false;
  private readonly log: Logger | undefined;
  /** The sign-on's own options object: by identity, the one request allowed before the link is ready. */
  private readonly signOnOptions: RequestOptions;

  constructor(private readonly config: HostLinkConfig) {
    super();
    checkKeyScheme(config);
    this.timers = { ...DEFAULT_TIMERS, ...config.timers };
    this.framing = dialectFraming(config.dialect, config.framing);
    this.reader = new FrameReader(this.framing, config.maxFrame ?? this.framing.maxFrame ?? 8192);
    this.stan = new Counter(config.counters, 'stan');
    this.batch = new Counter(config.counters, 'batch');
    this.log = config.logger?.child({ component: 'host', terminalId: config.terminalId });
    this.signOnOptions = { mac: false, timeoutMs: Math.min(this.timers.responseMs, 30_000) };
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** Starts connecting (and reconnecting after every loss) until `close()`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Resolves when the link is ready, or rejects after `timeoutMs`. */
  whenReady(timeoutMs = this.timers.connectMs): Promise<void> {
    if (this.linkState === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('state', on);
        reject(new HostLinkError('link_closed', `link not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (e: LinkStateEvent): void => {
        if (e.state === 'closed') {
          // close() ends every wait at once: no timer outlives the link.
          clearTimeout(t);
          this.off('state', on);
          reject(new HostLinkError('link_closed', 'link closed'));
          return;
        }
        if (e.state !== 'ready') return;
        clearTimeout(t);
        this.off('state', on);
        resolve();
      };
      this.on('state', on);
    });
  }

  /** Closes the connection; requests in flight settle as `unknown` (their bytes have left). */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.idleTimer);
    const s = this.socket;
    if (s) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
    this.setState('closed');
  }

  /** The response MTI a request expects (dialect's table, else request + 10). */
  responseMti(mti: string): string {
    return this.config.dialect.spec.exchanges?.responses?.[mti] ?? String(Number(mti) + 10).padStart(4, '0');
  }

  /** Sends a request and settles with exactly one outcome. The STAN (field 11) is assigned if absent. */
  async request(message: Iso8583MessageInput, options: RequestOptions = {}): Promise<HostOutcome> {
    const fields: Record<string, unknown> = { ...message.fields };
    if (fields['41'] === undefined) fields['41'] = this.config.terminalId;
    if (fields['42'] === undefined) fields['42'] = this.config.merchantId;
    if (fields['11'] === undefined) fields['11'] = this.stan.next();
    const stan = String(fields['11']);
    const terminalId = String(fields['41']);
    const key = this.keyOf(this.responseMti(message.mti), fields);
    const attempt: Attempt = { mti: message.mti, stan, terminalId, key };
    const log = this.log?.child({ stan, mti: message.mti });

    // Until sign-on has loaded keys only the sign-on itself may go out.
    const usable = this.socketReady && (this.linkState === 'ready' || options === this.signOnOptions);
    if (!usable) return { status: 'not_sent', attempt, reason: 'link_down' };
    if (this.pending.has(key)) return { status: 'not_sent', attempt, reason: 'duplicate_in_flight' };

    return new Promise<HostOutcome>((resolve) => {
      const p: Pending = { attempt, resolve: () => undefined, written: false, started: Date.now() };
      let settled = false;
      p.resolve = (o) => {
        if (settled) return;
        settled = true;
        clearTimeout(p.timer);
        this.pending.delete(key);
        if (o.status === 'unknown' && o.reason === 'timeout') {
          this.recent.set(key, { attempt, until: Date.now() + this.timers.lateWindowMs });
        }
        log?.info(
          {
            outcome: o.status,
            reason: 'reason' in o ? o.reason : undefined,
            error: o.status === 'not_sent' ? o.error : undefined,
          },
          'host request settled',
        );
        resolve(o);
      };
      this.pending.set(key, p);
      void this.send(message.mti, fields, options, p, log);
    });
  }

  private async send(
    mti: string,
    fields: Record<string, unknown>,
    options: RequestOptions,
    p: Pending,
    log: Logger | undefined,
  ): Promise<void> {
    const { attempt } = p;
    const d = this.config.dialect;
    const wantMac = options.mac ?? d.spec.mac?.messages?.includes(mti) ?? false;
    let body: Buffer;
    try {
      body = d.pack({ mti, fields: fields as Iso8583MessageInput['fields'] }, { mac: wantMac });
    } catch (e) {
      p.resolve({ status: 'not_sent', attempt, reason: 'encode_error', error: safeError(e) });
      return;
    }
    if (wantMac) {
      const ksn = d.dukptMacKsn(fields as Record<number, unknown>);
      if (ksn) p.ksn = ksn;
      try {
        body = d.applyMac(body, await this.macWithKeys(d.macInput(body), options, ksn));
      } catch (e) {
        p.resolve({ status: 'not_sent', attempt, reason: 'mac_unavailable', error: safeError(e) });
        return;
      }
    }
    try {
      await options.beforeSend?.(attempt, body);
    } catch (e) {
      p.resolve({ status: 'not_sent', attempt, reason: 'before_send_failed', error: safeError(e) });
      return;
    }
    const socket = this.socket;
    if (!this.socketReady || !socket) {
      p.resolve({ status: 'not_sent', attempt, reason: 'link_down' });
      return;
    }
    log?.info({ message: d.describe(d.unpack(body)) }, 'host tx');
    const bytes = frame(body, this.framing);
    attempt.sentAt = new Date();
    p.written = true;
    p.started = Date.now();
    const writeTimer = setTimeout(
      () => p.resolve({ status: 'unknown', attempt, reason: 'write_error' }),
      this.timers.writeMs,
    );
    socket.write(bytes, (err) => {
      clearTimeout(writeTimer);
      if (err) p.resolve({ status: 'unknown', attempt, reason: 'write_error' });
    });
    this.touch();
    p.timer = setTimeout(
      () => p.resolve({ status: 'unknown', attempt, reason: 'timeout' }),
      options.timeoutMs ?? this.timers.responseMs,
    );
  }

  /**
   * Signs on (0800 per dialect) and loads the working keys from field 62 into the security module.
   * Concurrent callers share one sign-on. Resolves to whether keys were loaded.
   */
  signOn(): Promise<boolean> {
    this.signingOn ??= this.doSignOn().finally(() => {
      this.signingOn = undefined;
    });
    return this.signingOn;
  }

  private async doSignOn(): Promise<boolean> {
    const ex = this.config.dialect.spec.exchanges?.signOn;
    if (!ex) return true;
    const code = ex.networkCodes?.[this.config.keyLayout] ?? ex.networkCodes?.['double'] ?? '003';
    const batch = String(Math.max(1, this.batch.current)).padStart(6, '0');
    const outcome = await this.request(
      { mti: ex.mti, fields: { 60: { '1': '00', '2': batch, '3': code }, 63: '01 ' } },
      this.signOnOptions,
    );
    if (outcome.status !== 'answered' || outcome.response.fields[39] !== '00') {
      this.log?.warn(
        {
          outcome: outcome.status,
          responseCode: outcome.status === 'answered' ? outcome.response.fields[39] : undefined,
        },
        'sign-on failed',
      );
      this.emit('signOn', { ok: false });
      return false;
    }
    const f62 = outcome.response.fields[62];
    if (!Buffer.isBuffer(f62)) {
      this.log?.warn('sign-on answer without field 62');
      this.emit('signOn', { ok: false });
      return false;
    }
    try {
      const kcv = await this.config.securityModule.loadWorkingKeys(f62, this.config.keyLayout);
      this.keysLoaded = true;
      // The host may move the batch number (60.2) at sign-on.
      const f60 = outcome.response.fields[60];
      const hostBatch = f60 instanceof Composite ? f60.get('2') : undefined;
      if (hostBatch && /^[0-9]{6}$/.test(hostBatch) && Number(hostBatch) > 0)
        this.batch.set(Number(hostBatch));
      this.log?.info({ kcv: kcvForLog(kcv) }, 'signed on');
      this.emit('signOn', { ok: true, kcv });
      return true;
    } catch (e) {
      this.log?.error({ err: safeError(e) }, 'working keys rejected');
      this.keysLoaded = false;
      this.emit('signOn', { ok: false });
      // Never stay "ready" on keys nobody can use: drop the connection; the reconnect signs on again
      // (with back-off) until the security module takes the keys.
      if (this.linkState === 'ready') this.socket?.destroy();
      return false;
    }
  }

  /**
   * MAC through the security module. A module that has lost its working keys (a reader that restarted or
   * dropped while taking them at sign-on) gets fresh ones: sign on again, then MAC once more. The request
   * has not left, so this is safe; without it every later request would fail `mac_unavailable`.
   */
  private async macWithKeys(input: Buffer, options: RequestOptions, ksn?: Buffer): Promise<Buffer> {
    const sm = this.config.securityModule;
    // A DUKPT-MACed message needs no session keys: the KSN's transaction key MACs it.
    if (ksn) return sm.mac(input, { ksn });
    try {
      return await sm.mac(input);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== 'no_working_keys' || options === this.signOnOptions || !this.socketReady) throw e;
      this.log?.warn('the security module has no working keys; signing on again');
      this.keysLoaded = false;
      if (!(await this.signOn())) throw e;
      return sm.mac(input);
    }
  }

  /** Sends the dialect's echo; true when answered. */
  async echo(): Promise<boolean> {
    const ex = this.config.dialect.spec.exchanges?.echo;
    if (!ex) return true;
    const outcome = await this.request(
      { mti: ex.mti, fields: this.withBatch(ex.fields ?? {}) },
      { mac: false },
    );
    return outcome.status === 'answered';
  }

  /** A dialect's message template with the current batch number in 60.2 (cup-pos network messages carry it). */
  private withBatch(template: Record<string, unknown>): Iso8583MessageInput['fields'] {
    const fields: Record<string, unknown> = { ...template };
    const f60 = fields['60'];
    if (f60 && typeof f60 === 'object' && !('2' in f60)) {
      fields['60'] = {
        ...(f60 as Record<string, string>),
        '2': String(Math.max(1, this.batch.current)).padStart(6, '0'),
      };
    }
    return fields as Iso8583MessageInput['fields'];
  }

  // ------------------------------------------------------------------ connection

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const { host, port } = this.config;
    const opts = { host, port };
    const t = this.config.tls;
    const socket = t
      ? tls.connect({
          ...opts,
          ca: t.ca ?? (t.caFile ? readFileSync(t.caFile) : undefined),
          servername: t.servername ?? host,
          rejectUnauthorized: true,
        })
      : net.connect(opts);
    this.socket = socket;
    this.reader.reset();
    socket.setNoDelay(true);
    const connectTimer = setTimeout(
      () => socket.destroy(new Error('connect timeout')),
      this.timers.connectMs,
    );
    socket.once(t ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      this.failures = 0;
      this.socketReady = true;
      this.touch();
      void this.afterConnect();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk, socket));
    socket.on('error', (err) =>
      this.log?.warn(
        { err: { code: (err as NodeJS.ErrnoException).code, message: err.message } },
        'host socket error',
      ),
    );
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === socket) this.onClose();
    });
  }

  private async afterConnect(): Promise<void> {
    if ((this.config.autoSignOn ?? true) && !this.keysLoaded) {
      const ok = await this.signOn();
      if (!ok) {
        this.socket?.destroy();
        return;
      }
    }
    if (this.socketReady) this.setState('ready');
  }

  private onClose(): void {
    this.socketReady = false;
    this.socket = undefined;
    clearTimeout(this.idleTimer);
    for (const p of [...this.pending.values()]) {
      if (p.written) p.resolve({ status: 'unknown', attempt: p.attempt, reason: 'connection_lost' });
    }
    if (this.stopped) return;
    this.setState('down', 'connection closed');
    const delay = Math.min(this.timers.backoffMaxMs, this.timers.backoffInitialMs * 2 ** this.failures);
    this.failures++;
    // Equal jitter: half fixed, half random, so a fleet of laptops does not reconnect in step.
    const wait = delay / 2 + Math.random() * (delay / 2);
    this.reconnectTimer = setTimeout(() => this.connect(), wait);
  }

  private onData(chunk: Buffer, socket: net.Socket): void {
    this.touch();
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.log?.error({ err: safeError(e) }, 'host stream unreadable; reconnecting');
      socket.destroy();
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(bytes: Buffer): void {
    const d = this.config.dialect;
    let response: Iso8583Message;
    let header;
    let body: Buffer;
    try {
      const u = unframe(bytes, this.framing);
      header = u.header;
      body = u.body;
      response = d.unpack(body);
    } catch (e) {
      this.log?.warn({ err: safeError(e) }, 'unreadable frame from host ignored');
      return;
    }
    this.log?.info({ message: d.describe(response) }, 'host rx');
    if (header?.flags.includes('sign_on_again') && this.signingOn === undefined) {
      this.log?.info('host asks for a new sign-on');
      this.keysLoaded = false;
      setImmediate(() => void this.signOn());
    }
    // Other requests of the host (update_public_keys, download_ic_parameters): terminal management acts on them.
    const asks = header?.flags.filter((f) => f !== 'sign_on_again') ?? [];
    if (asks.length) this.emit('headerFlags', asks);
    const key = this.keyOf(response.mti, response.fields as Record<string, unknown>);
    const p = this.pending.get(key);
    if (!p || !p.written) {
      const recent = this.recent.get(key);
      const now = Date.now();
      const stray: StrayResponse =
        recent && recent.until > now
          ? { kind: 'late', response, attempt: recent.attempt, receivedAt: new Date() }
          : { kind: 'unmatched', response, receivedAt: new Date() };
      this.emit('stray', stray);
      return;
    }
    void this.settleAnswer(p, response, body, header);
  }

  private async settleAnswer(
    p: Pending,
    response: Iso8583Message,
    body: Buffer,
    header: ReturnType<typeof unframe>['header'],
  ): Promise<void> {
    const d = this.config.dialect;
    const latencyMs = Date.now() - p.started;
    const macField = d.macField(Object.keys(response.fields).some((k) => Number(k) > 64));
    const hasMac = macField !== undefined && response.fields[macField] !== undefined;
    const macRequired =
      (d.spec.mac?.messages?.includes(response.mti) ?? false) && response.fields[39] === '00';
    if (hasMac) {
      let ok = false;
      try {
        ok = await this.config.securityModule.verifyMac(
          d.macInput(body),
          d.macOf(body),
          p.ksn ? { ksn: p.ksn } : undefined,
        );
      } catch {
        ok = false;
      }
      if (!ok) {
        p.resolve({ status: 'mac_error', attempt: p.attempt, response, latencyMs });
        return;
      }
    } else if (macRequired) {
      p.resolve({ status: 'mac_error', attempt: p.attempt, response, latencyMs });
      return;
    }
    p.resolve({ status: 'answered', attempt: p.attempt, response, ...(header ? { header } : {}), latencyMs });
  }

  private keyOf(responseMti: string, fields: Record<string, unknown>): string {
    const match = this.config.dialect.spec.exchanges?.match ?? [11, 41];
    return [responseMti, ...match.map((n) => valueKey(fields[n]))].join('|');
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    for (const [k, r] of this.recent) if (r.until < Date.now()) this.recent.delete(k);
    if (!this.timers.idleEchoMs || this.stopped) return;
    this.idleTimer = setTimeout(() => void this.idle(), this.timers.idleEchoMs);
    this.idleTimer.unref();
  }

  private async idle(): Promise<void> {
    if (this.linkState !== 'ready' || this.pending.size > 0) return this.touch();
    const ok = await this.echo();
    if (!ok && this.socket) {
      this.log?.warn('echo unanswered; reconnecting');
      this.socket.destroy();
    }
  }

  private setState(state: LinkState, reason?: string): void {
    if (state === this.linkState) return;
    this.linkState = state;
    const e: LinkStateEvent = { state, at: new Date(), ...(reason ? { reason } : {}) };
    this.log?.info({ state, reason }, 'host link state');
    this.emit('state', e);
  }
}

/**
 * Start-up check: the keys the dialect's sign-on delivers (`exchanges.signOn.keyScheme`) must be ones
 * this OpenSSL can run and the security module holds in the same scheme; else a `bad_algorithm`
 * CryptoError naming both, before any connection.
 */
function checkKeyScheme(config: HostLinkConfig): void {
  const scheme = requireKeyScheme(
    config.dialect.spec.exchanges?.signOn?.keyScheme ?? 'des',
    config.gmSupport,
  );
  const held = config.securityModule.keyScheme ?? 'des';
  if (held !== scheme) {
    throw new CryptoError(
      'bad_algorithm',
      `dialect ${config.dialect.name} delivers ${scheme} working keys but the security module runs ${held}`,
      { expected: scheme, actual: held, reason: 'key_scheme' },
    );
  }
}

function valueKey(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Composite) return v.wire;
  return String(v);
}

function safeError(e: unknown): { code: string; message: string } {
  if (e instanceof Iso8583Error || e instanceof HostLinkError) return { code: e.code, message: e.message };
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return { code: (e as { code: string }).code, message: (e as unknown as Error).message };
  }
  return { code: 'internal', message: e instanceof Error ? e.name : 'error' };
}
