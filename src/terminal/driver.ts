/**
 * The reader driver: `CardReader` over a transport, a link and a profile.
 *
 * - One command on the wire at a time (a queue); one transaction at a time (`reader_busy`). Inside a
 *   transaction the MAC commands, card result, completion, cancel and status queries are allowed.
 * - START is answered at once; progress and the transaction's outcome arrive as notifications; the
 *   card data are then fetched with CARD_RESULT (a command, so it is retried and recoverable).
 * - Connecting: open the transport, DEVICE_INFO, pairing (serial number in `pairedSerials`, key check
 *   values as expected), reload of the working keys if the reader lost them, reconciliation of a
 *   transaction that was in flight when the link dropped. Then `idle` (or `busy`).
 * - A dropped link (transport closed, retransmissions exhausted, keep-alive unanswered) settles every
 *   waiting call with `reader_disconnected` and reconnects with jittered exponential back-off.
 * - Card data arrive as `Pan` / `SensitiveBytes`; logs carry command names, statuses, lengths and
 *   timings only.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Pan, SensitiveBytes } from '../card/index.js';
import type { KeyScheme, MacAlgorithm, WorkingKeyLayout } from '../crypto/index.js';
import { encodeTlv, parseIssuerResponse, readerIssuerData, tlv, type IssuerResponse } from '../emv/index.js';
import { readerAdapter, type ReaderAdapter } from './adapters.js';
import { ReaderError } from './errors.js';
import type { Frame } from './framing.js';
import { Link } from './link.js';
import {
  buildPayload,
  CANCEL_CODES,
  CRYPTOGRAM_CODES,
  decodeInterfaces,
  encodeAmount,
  encodeCurrency,
  encodeInterfaces,
  INTERFACE_BITS,
  KEY_LAYOUT_CODES,
  KEY_SCHEME_CODES,
  decodeKeySchemes,
  OUTCOME_CODES,
  Payload,
  PROGRESS_CODES,
  STAGE_CODES,
  TRANSACTION_TYPE_CODES,
  uint16,
  type TagValue,
} from './payload.js';
import {
  readerParamDigest,
  splitParamParts,
  type ParamLoadResult,
  type ReaderParamKind,
  type ReaderParamSet,
} from './param-push.js';
import {
  commandTimeout,
  type CommandName,
  type ReaderProfile,
  type StatusName,
  type TagName,
} from './profile.js';
import type {
  CancelResult,
  CardInterface,
  CardReader,
  CardResult,
  CompleteResult,
  CompleteTransaction,
  LastTransactionStatus,
  ReaderErrorCode,
  ReaderInfo,
  ReaderProgressEvent,
  ReaderState,
  ReaderStateEvent,
  StartResult,
  StartTransaction,
} from './reader.js';
import { ReaderSecurityModule } from './security-module.js';
import type { Transport, TransportCloseEvent } from './transport.js';

export interface ReaderTimers {
  /** Transport open plus the DEVICE_INFO handshake. */
  connectMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Echo after this long without traffic (profile default; 0: never). */
  keepAliveMs?: number;
  /** Link timers (profile defaults). */
  ackMs?: number;
  reassemblyMs?: number;
  retransmissions?: number;
  /** Overrides every command's response timeout from the profile. */
  commandMs?: number;
  /** Extra wait for the outcome after the card timeout the transaction was started with. */
  transactionGraceMs?: number;
}

export const DEFAULT_READER_TIMERS: ReaderTimers = {
  connectMs: 10_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
};

export interface ReaderKcv {
  tmk?: string;
  pik?: string;
  mak?: string;
  tdk?: string;
}

export interface ReaderDriverOptions {
  transport: Transport;
  profile: ReaderProfile;
  /** Serial numbers of the readers this terminal may use. Any other reader is refused. */
  pairedSerials: readonly string[];
  /** Check values (hex) the reader must report, e.g. the TMK's, injected with the reader. 6 hex digits compare as a prefix. */
  expectedKcv?: ReaderKcv;
  /** The MAC algorithm the acquirer uses (the reader computes it). Default 'cup-ecb'. */
  macAlgorithm?: MacAlgorithm;
  /** The cipher of the acquirer's keys (its dialect's sign-on `keyScheme`); the reader must support it. Default 'des'. */
  keyScheme?: KeyScheme;
  timers?: Partial<ReaderTimers>;
  terminalId?: string;
  logger?: Logger;
  /** Connect without the pairing checks (`probeReader`). */
  probe?: boolean;
}

/** A command's answer: the reader's status and the payload. */
export interface ReaderResponse {
  status: StatusName;
  payload: Payload;
}

export interface CommandOptions {
  timeoutMs?: number;
  /** Allowed before the handshake finished. */
  handshake?: boolean;
  /** Repeats after a timeout on links without ACKs (default: the profile's idempotentRetries). */
  retries?: number;
}

interface Waiter {
  cmd: number;
  name: CommandName;
  resolve: (r: ReaderResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type TxnStage = 'starting' | 'waiting_card' | 'card_read' | 'completing';

interface Txn {
  reference: string;
  stage: TxnStage;
  onProgress: ((e: ReaderProgressEvent) => void) | undefined;
  /** Settles the pending startTransaction (undefined once settled). */
  settleStart: ((r: StartResult) => void) | undefined;
  outcomeTimer: NodeJS.Timeout | undefined;
}

const IDEMPOTENT: ReadonlySet<CommandName> = new Set<CommandName>([
  'echo',
  'device_info',
  'load_keys',
  'start_transaction',
  'card_result',
  'complete_transaction',
  'cancel',
  'last_status',
  'display_text',
  'beep',
  'mac',
  'verify_mac',
]);

const REFERENCE_RE = /^[\x21-\x7e]{1,64}$/;

export class ReaderDriver extends EventEmitter implements CardReader {
  readonly profile: ReaderProfile;
  readonly transport: Transport;
  readonly securityModule: ReaderSecurityModule;
  private readonly timers: ReaderTimers;
  private readonly log: Logger | undefined;
  private readonly adapter: ReaderAdapter | undefined;
  private readonly paired: ReadonlySet<string>;
  private readonly expectedKcv: ReaderKcv;
  private readonly probe: boolean;

  private currentState: ReaderState = 'disconnected';
  private started = false;
  private stopped = false;
  private link: Link | undefined;
  private linkUp = false;
  private ready = false;
  private generation = 0;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private waiter: Waiter | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private txn: Txn | undefined;
  private lastInfo: ReaderInfo | undefined;
  /** Sequence numbering goes on across reconnects (see link.ts). */
  private nextSeq: number | undefined;
  private lastError: ReaderError | undefined;
  private loadedKeys: { field62: Buffer; layout: WorkingKeyLayout; pik?: string; mak?: string } | undefined;
  /** The CAPK / AID sets this reader should hold: pushed when it connects holding another digest. */
  private readonly paramSets = new Map<ReaderParamKind, ReaderParamSet & { digest: string }>();
  private readonly onTransportClose = (e: TransportCloseEvent): void => {
    this.drop(`transport ${e.reason}${e.message ? `: ${e.message}` : ''}`);
  };

  constructor(options: ReaderDriverOptions) {
    super();
    this.profile = options.profile;
    this.transport = options.transport;
    this.timers = { ...DEFAULT_READER_TIMERS, ...options.timers };
    this.paired = new Set(options.pairedSerials);
    this.expectedKcv = normalizeKcv(options.expectedKcv ?? {});
    this.probe = options.probe === true;
    this.log = options.logger?.child({
      component: 'terminal',
      ...(options.terminalId ? { terminalId: options.terminalId } : {}),
      reader: this.transport.description,
      profile: this.profile.name,
    });
    if (this.profile.adapter) {
      this.adapter = readerAdapter(this.profile.adapter);
      if (!this.adapter) {
        throw new ReaderError(
          'reader_protocol_error',
          `profile ${this.profile.name} names an unknown adapter`,
          { reason: 'bad_config' },
        );
      }
    }
    this.securityModule = new ReaderSecurityModule(
      {
        command: (name, entries, opts) => this.command(name, entries, opts),
        onKeysLoaded: (field62, layout, kcv) => {
          this.loadedKeys = { field62: Buffer.from(field62), layout, pik: kcv.pik, mak: kcv.mak };
        },
      },
      options.macAlgorithm ?? 'cup-ecb',
      options.keyScheme ?? 'des',
    );
  }

  get state(): ReaderState {
    return this.currentState;
  }

  /** The last connection problem (pairing refusal, open failure), until the next successful connect. */
  get error(): ReaderError | undefined {
    return this.lastError;
  }

  /** Device info from the last handshake. */
  get lastKnownInfo(): ReaderInfo | undefined {
    return this.lastInfo;
  }

  /** The link's counters (frames, retransmissions, NAKs, garbage), for health and tests. */
  get linkStats(): Link['stats'] | undefined {
    return this.link?.stats;
  }

  /** Starts connecting, and reconnecting after every loss, until `close()`. */
  start(): this {
    if (this.started || this.stopped) return this;
    this.started = true;
    void this.connect();
    return this;
  }

  /**
   * Resolves when the reader is connected and paired (`idle` or `busy`). Rejects with the refusal
   * (`reader_not_paired`, `reader_kcv_mismatch`) as soon as the reader is refused, or with the last
   * connection error (else `reader_disconnected`) after `timeoutMs`.
   */
  whenReady(timeoutMs = this.timers.connectMs): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.stopped)
      return Promise.reject(new ReaderError('reader_disconnected', 'reader closed', { reason: 'closed' }));
    const refused = this.lastError;
    if (refused && (refused.code === 'reader_not_paired' || refused.code === 'reader_kcv_mismatch')) {
      return Promise.reject(refused);
    }
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(t);
        this.off('state', onState);
        this.off('refused', onRefused);
      };
      const t = setTimeout(() => {
        done();
        reject(
          this.lastError ??
            new ReaderError('reader_disconnected', `reader not ready within ${timeoutMs} ms`, {
              reason: 'link_down',
            }),
        );
      }, timeoutMs);
      const onState = (e: ReaderStateEvent): void => {
        if (e.state === 'idle' || e.state === 'busy') {
          done();
          resolve();
        }
      };
      const onRefused = (err: ReaderError): void => {
        done();
        reject(err);
      };
      this.on('state', onState);
      this.on('refused', onRefused);
    });
  }

  override on(event: 'state', listener: (e: ReaderStateEvent) => void): this;
  override on(event: 'refused', listener: (e: ReaderError) => void): this;
  override on(event: string, listener: (...args: never[]) => void): this;
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off(event: 'state', listener: (e: ReaderStateEvent) => void): this;
  override off(event: 'refused', listener: (e: ReaderError) => void): this;
  override off(event: string, listener: (...args: never[]) => void): this;
  override off(event: string, listener: (...args: never[]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.teardown('closed');
    this.setState('disconnected', 'closed');
  }

  // ------------------------------------------------------------------ CardReader

  async info(): Promise<ReaderInfo> {
    const res = await this.command('device_info', []);
    this.expectOk('device_info', res);
    const info = this.decodeInfo(res.payload);
    this.lastInfo = info;
    return info;
  }

  async echo(data: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    const res = await this.command('echo', [['echo_data', data.length ? data : undefined]]);
    this.expectOk('echo', res);
    return res.payload.get('echo_data') ?? Buffer.alloc(0);
  }

  async startTransaction(
    reference: string,
    request: StartTransaction,
    onProgress?: (e: ReaderProgressEvent) => void,
  ): Promise<StartResult> {
    if (typeof reference !== 'string' || !REFERENCE_RE.test(reference)) {
      throw new ReaderError('reader_protocol_error', 'reference must be 1-64 printable ASCII characters', {
        reason: 'bad_value',
        command: 'start_transaction',
      });
    }
    if (this.txn) return errorResult('reader_busy', 'a transaction is in progress on this reader');
    if (!this.ready) return errorResult(this.notReadyCode(), this.notReadyMessage());
    let payload: Array<readonly [TagName, TagValue | undefined]>;
    try {
      payload = [
        ['reference', reference],
        ['amount', encodeAmount(request.amount)],
        ['currency', encodeCurrency(request.currency)],
        ['transaction_type', TRANSACTION_TYPE_CODES[request.type]],
        ['timeout', uint16(clampInt(request.timeoutSeconds, 1, 65535))],
        ['interfaces', encodeInterfaces(request.interfaces)],
        ['pin_allowed', request.pinAllowed],
      ];
      if (TRANSACTION_TYPE_CODES[request.type] === undefined)
        throw new ReaderError('reader_protocol_error', 'unknown transaction type', { reason: 'bad_value' });
    } catch (e) {
      if (e instanceof ReaderError) throw e;
      throw new ReaderError('reader_protocol_error', (e as Error).message, {
        reason: 'bad_value',
        command: 'start_transaction',
      });
    }

    const txn: Txn = {
      reference,
      stage: 'starting',
      onProgress,
      settleStart: undefined,
      outcomeTimer: undefined,
    };
    this.txn = txn;
    this.refreshState('transaction started');
    const result = new Promise<StartResult>((resolve) => {
      txn.settleStart = (r) => {
        txn.settleStart = undefined;
        clearTimeout(txn.outcomeTimer);
        resolve(r);
      };
    });

    let res: ReaderResponse;
    try {
      res = await this.command('start_transaction', payload);
    } catch (e) {
      const err = asReaderError(e, 'start_transaction');
      // The reader may or may not have started: a reconnect (or the status check) reconciles.
      txn.settleStart?.(errorResult(err.code, err.message));
      if (this.ready && err.code === 'reader_timeout') void this.reconcile('start unanswered');
      return result;
    }
    if (res.status !== 'ok') {
      if (this.txn === txn) this.txn = undefined;
      this.refreshState('transaction refused');
      txn.settleStart?.(this.refusal('start_transaction', res));
      return result;
    }
    if (txn.stage === 'starting') txn.stage = 'waiting_card';
    const waitMs =
      clampInt(request.timeoutSeconds, 1, 65535) * 1000 +
      (this.timers.transactionGraceMs ?? this.profile.timeouts.transactionGraceMs);
    if (txn.settleStart && txn.stage === 'waiting_card')
      txn.outcomeTimer = setTimeout(() => void this.outcomeOverdue(txn), waitMs);
    return result;
  }

  async completeTransaction(reference: string, answer: CompleteTransaction): Promise<CompleteResult> {
    const txn = this.txn;
    if (txn && txn.reference !== reference) {
      return errorResult('reader_refused', 'reference does not match the transaction in progress');
    }
    if (!this.ready) return errorResult(this.notReadyCode(), this.notReadyMessage());
    let issuerResponse: IssuerResponse | undefined;
    if (answer.issuerData && answer.issuerData.length > 0) {
      const parsed = parseIssuerResponse(answer.issuerData);
      if (parsed.ok) issuerResponse = parsed.value;
      else
        this.log?.warn(
          { code: parsed.error.code, path: parsed.error.path },
          'issuer data unreadable; completing without it',
        );
    }
    const blob = readerIssuerData({
      responseCode: answer.responseCode,
      ...(issuerResponse ? { issuerResponse } : {}),
      ...(answer.authCode ? { authorisationCode: answer.authCode } : {}),
    });
    if (!blob.ok) {
      throw new ReaderError('reader_protocol_error', blob.error.message, {
        reason: 'bad_value',
        command: 'complete_transaction',
      });
    }
    if (txn) txn.stage = 'completing';
    let res: ReaderResponse;
    try {
      res = await this.command('complete_transaction', [
        ['reference', reference],
        ['approved', answer.approved],
        ['issuer_data', blob.value],
        ['unable_to_go_online', answer.unableToGoOnline ? true : undefined],
      ]);
    } catch (e) {
      const err = asReaderError(e, 'complete_transaction');
      if (txn && this.txn === txn) txn.stage = 'card_read';
      if (this.ready && err.code === 'reader_timeout') void this.reconcile('completion unanswered');
      return errorResult(err.code, err.message);
    }
    const finish = (): void => {
      if (this.txn && this.txn.reference === reference) this.endTxn('transaction completed');
    };
    switch (res.status) {
      case 'ok': {
        finish();
        const p = res.payload;
        try {
          const cryptogram = p.code('cryptogram', CRYPTOGRAM_CODES) ?? 'none';
          const out: CompleteResult = { status: 'completed', cryptogram };
          const icc = p.get('icc_data');
          if (icc && icc.length) out.iccData = Buffer.from(icc);
          const sr = p.get('script_results');
          if (sr && sr.length) out.scriptResults = encodeTlv([tlv('DF31', sr)]);
          return out;
        } catch (e) {
          const err = asReaderError(e, 'complete_transaction');
          return errorResult(err.code, err.message);
        }
      }
      case 'card_removed':
        finish();
        return { status: 'card_removed' };
      default:
        if (txn && this.txn === txn) txn.stage = 'card_read';
        if (res.status === 'no_transaction') finish();
        return this.refusal('complete_transaction', res) as CompleteResult;
    }
  }

  /** Cancels this driver's transaction, or (after a restart) the reader's transaction with `reference`. */
  async cancel(reference?: string): Promise<CancelResult> {
    if (!this.ready)
      throw new ReaderError(this.notReadyCode(), this.notReadyMessage(), {
        command: 'cancel',
        reason: 'link_down',
      });
    const txn = this.txn;
    const res = await this.command('cancel', [['reference', txn?.reference ?? reference]]);
    if (res.status === 'no_transaction') {
      if (txn && this.txn === txn)
        this.settleAndEnd(txn, { status: 'cancelled', by: 'operator' }, 'no transaction on the reader');
      return { status: 'no_transaction' };
    }
    this.expectOk('cancel', res);
    const outcome = res.payload.requireCode('cancel_outcome', CANCEL_CODES);
    switch (outcome) {
      case 'cancelled':
        if (txn && this.txn === txn)
          this.settleAndEnd(txn, { status: 'cancelled', by: 'operator' }, 'cancelled');
        return { status: 'cancelled' };
      case 'too_late_card_read':
        if (txn && this.txn === txn && txn.stage === 'waiting_card') txn.stage = 'card_read';
        return { status: 'too_late', stage: 'card_read' };
      case 'too_late_completed':
        if (txn && this.txn === txn) this.endTxn('already completed');
        return { status: 'too_late', stage: 'completed' };
      case 'no_transaction':
        if (txn && this.txn === txn)
          this.settleAndEnd(txn, { status: 'cancelled', by: 'operator' }, 'no transaction on the reader');
        return { status: 'no_transaction' };
    }
  }

  async lastTransactionStatus(): Promise<LastTransactionStatus> {
    const res = await this.command('last_status', []);
    this.expectOk('last_status', res);
    const p = res.payload;
    const out: LastTransactionStatus = { stage: p.requireCode('stage', STAGE_CODES) };
    const ref = p.text('reference');
    if (ref) out.reference = ref;
    const c = p.code('cryptogram', CRYPTOGRAM_CODES);
    if (c) out.cryptogram = c;
    const icc = p.get('icc_data');
    if (icc && icc.length) out.iccData = Buffer.from(icc);
    return out;
  }

  async displayText(lines: readonly string[]): Promise<void> {
    this.refuseWhileBusy('display_text');
    const res = await this.command(
      'display_text',
      lines.map((l) => ['display_line', l] as const),
    );
    this.expectOk('display_text', res);
  }

  async printLines(lines: readonly string[]): Promise<void> {
    this.refuseWhileBusy('print_lines');
    const res = await this.command(
      'print_lines',
      lines.map((l) => ['print_line', l] as const),
    );
    this.expectOk('print_lines', res);
  }

  async beep(): Promise<void> {
    this.refuseWhileBusy('beep');
    const res = await this.command('beep', []);
    this.expectOk('beep', res);
  }

  // ------------------------------------------------------------------ commands

  /**
   * Sends one command and waits for its answer. Commands queue: one on the wire at a time. Throws
   * `ReaderError` (`reader_disconnected`, `reader_timeout`, `reader_refused` for a command the profile
   * lacks, `reader_protocol_error` for a malformed answer); a reader status is returned, not thrown.
   */
  command(
    name: CommandName,
    entries: ReadonlyArray<readonly [TagName, TagValue | undefined]>,
    options: CommandOptions = {},
  ): Promise<ReaderResponse> {
    const code = this.profile.commands[name];
    if (code === undefined) {
      return Promise.reject(
        new ReaderError('reader_refused', `the ${this.profile.name} profile has no such command`, {
          reason: 'not_supported',
          command: name,
        }),
      );
    }
    let payload: Buffer;
    try {
      payload = buildPayload(this.profile, entries);
    } catch (e) {
      return Promise.reject(asReaderError(e, name));
    }
    const run = (): Promise<ReaderResponse> => this.exchange(name, code, payload, options);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async exchange(
    name: CommandName,
    code: number,
    payload: Buffer,
    options: CommandOptions,
  ): Promise<ReaderResponse> {
    const noAck = !this.profile.framing.ack;
    const retries =
      !noAck || !IDEMPOTENT.has(name) ? 0 : (options.retries ?? this.profile.link.idempotentRetries);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.exchangeOnce(name, code, payload, options);
      } catch (e) {
        const timedOut = e instanceof ReaderError && e.code === 'reader_timeout';
        if (attempt < retries && timedOut && this.linkUp) {
          this.log?.debug(
            { command: name, attempt: attempt + 1 },
            'reader: command repeated after a timeout',
          );
          continue;
        }
        // Without link ACKs an unanswered command is the only sign of a dead link: reconnect to find out.
        if (noAck && timedOut && this.linkUp && !options.handshake) {
          const gen = this.generation;
          setImmediate(() => {
            if (gen === this.generation) this.drop(`${name} unanswered on a link without acknowledgements`);
          });
        }
        throw e;
      }
    }
  }

  private exchangeOnce(
    name: CommandName,
    code: number,
    payload: Buffer,
    options: CommandOptions,
  ): Promise<ReaderResponse> {
    const link = this.link;
    if (!link || !this.linkUp || (!this.ready && !options.handshake)) {
      return Promise.reject(
        new ReaderError(this.notReadyCode(), this.notReadyMessage(), { reason: 'link_down', command: name }),
      );
    }
    let req = { cmd: code, payload };
    if (this.adapter?.request) req = this.adapter.request(name, req, this.profile);
    const timeoutMs = options.timeoutMs ?? this.timers.commandMs ?? commandTimeout(this.profile, name);
    const started = performance.now();
    return new Promise<ReaderResponse>((resolve, reject) => {
      const w: Waiter = {
        cmd: req.cmd,
        name,
        resolve: (r) => {
          clearTimeout(w.timer);
          if (this.waiter === w) this.waiter = undefined;
          this.log?.debug(
            { command: name, status: r.status, ms: round(performance.now() - started) },
            'reader command',
          );
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(w.timer);
          if (this.waiter === w) this.waiter = undefined;
          this.log?.debug(
            { command: name, code: (e as ReaderError).code, ms: round(performance.now() - started) },
            'reader command failed',
          );
          reject(e);
        },
        timer: setTimeout(() => {
          w.reject(
            new ReaderError('reader_timeout', `no answer within ${timeoutMs} ms`, {
              reason: 'command_timeout',
              command: name,
            }),
          );
        }, timeoutMs),
      };
      this.waiter = w;
      link.send(req.cmd, req.payload).catch((e: unknown) => {
        if (this.waiter === w) w.reject(asReaderError(e, name));
      });
      this.touch();
    });
  }

  private onMessage(frame: Frame): void {
    this.touch();
    const notification = this.profile.notificationByCode.get(frame.cmd);
    if (notification) {
      let status = frame.status ?? 0;
      let payloadBytes = frame.payload;
      if (this.adapter?.response)
        ({ status, payload: payloadBytes } = this.adapter.response(
          notification,
          { status, payload: payloadBytes },
          this.profile,
        ));
      try {
        const p = Payload.parse(this.profile, notification, payloadBytes);
        if (notification === 'progress') this.onProgress(p);
        else this.onTransactionEvent(p);
      } catch (e) {
        this.log?.warn(
          { err: asReaderError(e, notification).toJSON() },
          'reader notification unreadable; ignored',
        );
      }
      return;
    }
    const w = this.waiter;
    if (!w || w.cmd !== frame.cmd) {
      this.log?.debug(
        { cmd: hex(frame.cmd), length: frame.payload.length },
        'reader frame matches no command; ignored',
      );
      return;
    }
    let status = frame.status ?? 0;
    let payloadBytes = frame.payload;
    if (this.adapter?.response)
      ({ status, payload: payloadBytes } = this.adapter.response(
        w.name,
        { status, payload: payloadBytes },
        this.profile,
      ));
    const statusName = this.profile.statusByCode.get(status);
    if (!statusName) {
      w.reject(
        new ReaderError('reader_protocol_error', 'unknown status code', {
          reason: 'unknown_status',
          command: w.name,
          status: `0x${hex(status)}`,
        }),
      );
      return;
    }
    try {
      w.resolve({ status: statusName, payload: Payload.parse(this.profile, w.name, payloadBytes) });
    } catch (e) {
      w.reject(asReaderError(e, w.name));
    }
  }

  private onProgress(p: Payload): void {
    const txn = this.txn;
    const ref = p.text('reference');
    if (!txn || (ref !== undefined && ref !== txn.reference)) return;
    const progress = p.requireCode('progress', PROGRESS_CODES);
    const e: ReaderProgressEvent = { progress, at: new Date() };
    const digits = p.byte('pin_digits');
    if (digits !== undefined) e.digits = digits;
    if (progress === 'card_detected' && txn.stage === 'starting') txn.stage = 'waiting_card';
    try {
      txn.onProgress?.(e);
    } catch (err) {
      this.log?.warn({ err }, 'progress listener threw');
    }
  }

  private onTransactionEvent(p: Payload): void {
    const txn = this.txn;
    const ref = p.text('reference');
    if (!txn || ref !== txn.reference) {
      this.log?.info({ outcome: p.byte('outcome') }, 'transaction event for another transaction; ignored');
      return;
    }
    const outcome = p.requireCode('outcome', OUTCOME_CODES);
    const reason = p.text('reason') ?? p.text('error_text') ?? outcome;
    this.log?.info({ outcome }, 'reader transaction event');
    switch (outcome) {
      case 'card_read':
        txn.stage = 'card_read';
        void this.fetchCard(txn);
        return;
      case 'cancelled_customer':
        return this.settleAndEnd(txn, { status: 'cancelled', by: 'customer' }, 'cancelled by the customer');
      case 'cancelled_operator':
        return this.settleAndEnd(txn, { status: 'cancelled', by: 'operator' }, 'cancelled by the operator');
      case 'timeout':
        return this.settleAndEnd(txn, { status: 'timeout' }, 'no card presented');
      case 'declined_offline':
        return this.settleAndEnd(
          txn,
          { status: 'declined_offline', reason: safeText(reason) },
          'declined offline',
        );
      case 'card_error':
        return this.settleAndEnd(txn, errorResult('card_error', safeText(reason)), 'card error');
    }
  }

  /** CARD_RESULT for a transaction whose card was read; settles the pending start. */
  private async fetchCard(txn: Txn): Promise<void> {
    clearTimeout(txn.outcomeTimer);
    if (!txn.settleStart) return; // nobody waits (recovered transaction): the engine asks lastTransactionStatus
    try {
      const res = await this.command('card_result', [['reference', txn.reference]]);
      if (res.status !== 'ok') {
        txn.settleStart?.(this.refusal('card_result', res));
        return;
      }
      txn.settleStart?.({ status: 'card_read', card: this.decodeCard(res.payload) });
    } catch (e) {
      const err = asReaderError(e, 'card_result');
      this.log?.warn({ err: err.toJSON() }, 'card result not received');
      txn.settleStart?.(errorResult(err.code, err.message));
    }
  }

  /** No outcome in time: ask the reader (CANCEL reports what really happened). */
  private async outcomeOverdue(txn: Txn): Promise<void> {
    if (!txn.settleStart || this.txn !== txn) return;
    this.log?.warn('transaction outcome overdue; cancelling on the reader');
    try {
      const r = await this.cancel();
      if (r.status === 'too_late' && r.stage === 'card_read') {
        txn.stage = 'card_read';
        await this.fetchCard(txn);
      } else if (stillWaiting(txn)) {
        this.settleAndEnd(txn, { status: 'timeout' }, 'outcome overdue');
      }
    } catch (e) {
      const err = asReaderError(e, 'cancel');
      txn.settleStart?.(errorResult(err.code, err.message));
    }
  }

  private settleAndEnd(txn: Txn, result: StartResult, why: string): void {
    txn.settleStart?.(result);
    if (this.txn === txn) this.endTxn(why);
  }

  private endTxn(why: string): void {
    const txn = this.txn;
    if (!txn) return;
    clearTimeout(txn.outcomeTimer);
    this.txn = undefined;
    this.refreshState(why);
  }

  private decodeCard(p: Payload): CardResult {
    const panDigits = p.requireText('pan', /^[0-9]{1,19}$/);
    const entryMode = p.requireText('entry_mode', /^[0-9]{3}$/);
    const ifaceBits = p.requireByte('interface');
    const iface = decodeInterfaces(ifaceBits)[0];
    if (!iface || Object.values(INTERFACE_BITS).indexOf(ifaceBits) < 0)
      throw p.error('interface', 'bad_value', 'one interface bit expected');
    const card: CardResult = {
      pan: Pan.fromDigits(panDigits),
      entryMode,
      interface: iface as CardInterface,
      fallback: p.byte('fallback') === 1,
    };
    const sensitive = (name: TagName, kind: string): SensitiveBytes | undefined => {
      const v = p.get(name);
      return v && v.length ? SensitiveBytes.from(v, kind) : undefined;
    };
    const t2 = sensitive('track2', 'track2');
    if (t2) card.track2 = t2;
    const t3 = sensitive('track3', 'track3');
    if (t3) card.track3 = t3;
    const pin = p.get('pin_block');
    if (pin && pin.length) {
      // AES DUKPT readers send ISO 9564 format 4 and SM4 session keys the SM4 block (16 bytes each);
      // DES session keys and TDES DUKPT 8 bytes.
      const size =
        this.profile.pinKeyScheme === 'dukpt-aes' ||
        (this.profile.pinKeyScheme === 'session' && this.securityModule.keyScheme === 'sm4')
          ? 16
          : 8;
      if (pin.length !== size) throw p.error('pin_block', 'bad_value', `a PIN block is ${size} bytes`);
      card.pinBlock = SensitiveBytes.from(pin, 'pin-block');
      if (this.profile.pinKeyScheme !== 'session') {
        const ksn = p.get('ksn');
        const want = this.profile.pinKeyScheme === 'dukpt-aes' ? 12 : 10;
        if (!ksn || ksn.length !== want)
          throw p.error('ksn', 'bad_value', `a DUKPT reader sends a ${want}-byte KSN`);
        card.ksn = Buffer.from(ksn);
      }
    }
    const icc = p.get('icc_data');
    if (icc && icc.length) card.iccData = Buffer.from(icc);
    const csn = p.text('card_sequence_number');
    if (csn !== undefined) {
      if (!/^[0-9]{3}$/.test(csn))
        throw p.error('card_sequence_number', 'bad_value', 'three digits expected');
      card.cardSequenceNumber = csn;
    }
    const exp = p.get('expiry');
    if (exp && exp.length) {
      if (!/^[0-9]{4}$/.test(exp.toString('latin1'))) throw p.error('expiry', 'bad_value', 'YYMM expected');
      card.expiry = SensitiveBytes.from(exp, 'expiry');
    }
    return card;
  }

  private decodeInfo(p: Payload): ReaderInfo {
    const kcv = (name: TagName): string | undefined => {
      const v = p.get(name);
      return v && v.length ? v.toString('hex').toUpperCase() : undefined;
    };
    const info: ReaderInfo = {
      serialNumber: p.requireText('serial_number', /^[\x20-\x7e]{1,32}$/),
      model: p.text('model') ?? '',
      firmware: p.text('firmware') ?? '',
      keyCheckValues: {},
    };
    const battery = p.byte('battery');
    if (battery !== undefined) info.batteryPercent = Math.min(100, battery);
    info.keySchemes = decodeKeySchemes(p.get('key_scheme'));
    const capk = p.get('capk_digest');
    const aid = p.get('aid_digest');
    if (capk?.length || aid?.length)
      info.paramDigests = {
        ...(capk?.length ? { capk: capk.toString('hex') } : {}),
        ...(aid?.length ? { aid: aid.toString('hex') } : {}),
      };
    for (const [k, tag] of [
      ['tmk', 'kcv_tmk'],
      ['pik', 'kcv_pik'],
      ['mak', 'kcv_mak'],
      ['tdk', 'kcv_tdk'],
    ] as const) {
      const v = kcv(tag);
      if (v) info.keyCheckValues[k] = v;
    }
    return info;
  }

  private refusal(command: CommandName, res: ReaderResponse): StartResult & { status: 'error' } {
    const text = res.payload.text('error_text');
    const code: ReaderErrorCode =
      res.status === 'busy'
        ? 'reader_busy'
        : res.status === 'low_battery'
          ? 'reader_low_battery'
          : res.status === 'card_error'
            ? 'card_error'
            : 'reader_refused';
    return errorResult(
      code,
      `${command}: reader answered ${res.status}${text ? ` (${safeText(text)})` : ''}`,
    );
  }

  private expectOk(command: CommandName, res: ReaderResponse): void {
    if (res.status === 'ok') return;
    const r = this.refusal(command, res);
    throw new ReaderError(r.code, r.message, {
      reason: res.status === 'not_supported' ? 'not_supported' : 'reader_status',
      command,
      status: res.status,
    });
  }

  private refuseWhileBusy(command: CommandName): void {
    if (this.txn)
      throw new ReaderError('reader_busy', 'a transaction is in progress on this reader', {
        command,
        reason: 'reader_status',
      });
  }

  private notReadyCode(): ReaderErrorCode {
    const e = this.lastError;
    if (!this.ready && e && (e.code === 'reader_not_paired' || e.code === 'reader_kcv_mismatch'))
      return e.code;
    return 'reader_disconnected';
  }

  private notReadyMessage(): string {
    if (this.stopped) return 'reader closed';
    const e = this.lastError;
    if (e && (e.code === 'reader_not_paired' || e.code === 'reader_kcv_mismatch')) return e.message;
    return `reader not connected (${this.currentState})`;
  }

  // ------------------------------------------------------------------ connection

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.setState('connecting');
    const t = this.transport;
    try {
      await withTimeout(t.open(), this.timers.connectMs, 'open');
      if (this.stopped || gen !== this.generation) {
        await t.close().catch(() => undefined);
        return;
      }
      const link = new Link(t, {
        profile: this.profile,
        role: 'host',
        ...(this.nextSeq !== undefined ? { initialSeq: this.nextSeq } : {}),
        ...(this.timers.ackMs !== undefined ? { ackMs: this.timers.ackMs } : {}),
        ...(this.timers.reassemblyMs !== undefined ? { reassemblyMs: this.timers.reassemblyMs } : {}),
        ...(this.timers.retransmissions !== undefined
          ? { retransmissions: this.timers.retransmissions }
          : {}),
        ...(this.log ? { logger: this.log } : {}),
      });
      link.on('message', (f: Frame) => this.onMessage(f));
      link.on('failed', (e: ReaderError) => this.drop(`link failed: ${e.message}`));
      link.attach();
      this.link = link;
      this.linkUp = true;
      t.on('close', this.onTransportClose);
      if (!t.isOpen)
        throw new ReaderError('reader_disconnected', 'transport closed while connecting', {
          reason: 'transport_closed',
        });

      const deadline = Date.now() + this.timers.connectMs;
      // No repeats here: a failed handshake is retried by the reconnect loop.
      const timeoutMs = Math.max(
        50,
        Math.min(deadline - Date.now(), this.timers.commandMs ?? commandTimeout(this.profile, 'device_info')),
      );
      const res = await this.command('device_info', [], { handshake: true, retries: 0, timeoutMs });
      this.expectOk('device_info', res);
      const info = this.decodeInfo(res.payload);
      this.checkPairing(info);
      this.lastInfo = info;
      await this.restoreKeys(info);
      await this.restoreParameters(info);
      if (gen !== this.generation || !this.linkUp) return;
      this.ready = true;
      this.failures = 0;
      this.lastError = undefined;
      this.log?.info(
        {
          serialNumber: info.serialNumber,
          model: info.model,
          firmware: info.firmware,
          batteryPercent: info.batteryPercent,
        },
        'reader connected',
      );
      if (this.txn) await this.reconcile('reconnected');
      this.refreshState('connected');
      this.touch();
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      const err = asReaderError(e, 'device_info');
      const refused =
        err.code === 'reader_not_paired' || err.code === 'reader_kcv_mismatch' || err.reason === 'key_scheme';
      this.lastError = err;
      this.log?.warn({ err: err.toJSON() }, refused ? 'reader refused' : 'reader connection failed');
      this.teardown(err.message);
      this.setState('disconnected', err.code);
      if (refused) this.emit('refused', err);
      this.scheduleReconnect(refused);
    }
  }

  private checkPairing(info: ReaderInfo): void {
    if (this.probe) return;
    const scheme = this.securityModule.keyScheme;
    if (!(info.keySchemes ?? ['des']).includes(scheme)) {
      throw new ReaderError(
        'reader_refused',
        `reader ${info.serialNumber} cannot hold ${scheme.toUpperCase()} keys (it supports ${(info.keySchemes ?? ['des']).join(', ').toUpperCase()}); the acquirer's dialect needs ${scheme.toUpperCase()}`,
        { reason: 'key_scheme', command: 'device_info' },
      );
    }
    if (!this.paired.has(info.serialNumber)) {
      throw new ReaderError(
        'reader_not_paired',
        `reader ${info.serialNumber} is not paired with this terminal`,
        { reason: 'not_paired', command: 'device_info' },
      );
    }
    for (const k of ['tmk', 'pik', 'mak', 'tdk'] as const) {
      const want = this.expectedKcv[k];
      if (!want) continue;
      const got = info.keyCheckValues[k];
      if (!got || !got.startsWith(want)) {
        throw new ReaderError(
          'reader_kcv_mismatch',
          `reader ${info.serialNumber}: the ${k.toUpperCase()} check value is not the expected one`,
          {
            reason: 'kcv_mismatch',
            command: 'device_info',
          },
        );
      }
    }
  }

  /** A reader that restarted has lost its working keys: load the last field 62 again (still encrypted). */
  private async restoreKeys(info: ReaderInfo): Promise<void> {
    const k = this.loadedKeys;
    if (!k) return;
    if (info.keyCheckValues.pik === k.pik && info.keyCheckValues.mak === k.mak) return;
    this.log?.info('reader lost its working keys; loading them again');
    try {
      const res = await this.command(
        'load_keys',
        [
          ['field62', k.field62],
          ['key_layout', KEY_LAYOUT_CODES[k.layout]],
          [
            'key_scheme',
            this.securityModule.keyScheme === 'des'
              ? undefined
              : KEY_SCHEME_CODES[this.securityModule.keyScheme],
          ],
        ],
        { handshake: true },
      );
      if (res.status !== 'ok') this.log?.warn({ status: res.status }, 'working keys not accepted on reload');
    } catch (e) {
      this.log?.warn({ err: asReaderError(e, 'load_keys').toJSON() }, 'working keys reload failed');
    }
  }

  /** Pushes the sets the reader does not hold (a new reader, one that was reset, or a newer download). */
  private async restoreParameters(info: ReaderInfo): Promise<void> {
    for (const set of this.paramSets.values()) {
      if (info.paramDigests?.[set.kind] === set.digest) continue;
      const r = await this.pushParameters(set, true).catch((e: unknown) => {
        this.log?.warn(
          { kind: set.kind, err: asReaderError(e, 'load_capks').toJSON() },
          'parameter push failed',
        );
        return undefined;
      });
      if (r) this.emit('parameters', r);
    }
  }

  /**
   * Gives the reader a CAPK or AID set (load_capks / load_aids). The driver remembers it and pushes it
   * again whenever the reader connects holding another one; now, if the reader is up and holds another.
   * Never throws for reader behaviour: a refusal is a result (a CAPK whose check value fails names it).
   */
  async loadParameters(set: ReaderParamSet): Promise<ParamLoadResult> {
    const digest = readerParamDigest(set.entries);
    const held = { ...set, entries: set.entries.map((e) => Buffer.from(e)), digest };
    this.paramSets.set(set.kind, held);
    if (this.profile.commands[set.kind === 'capk' ? 'load_capks' : 'load_aids'] === undefined)
      return { status: 'not_supported', kind: set.kind, digest };
    if (!this.ready) return { status: 'pending', kind: set.kind, digest };
    if (this.lastInfo?.paramDigests?.[set.kind] === digest)
      return { status: 'unchanged', kind: set.kind, digest };
    const r = await this.pushParameters(held, false);
    this.emit('parameters', r);
    return r;
  }

  private async pushParameters(
    set: ReaderParamSet & { digest: string },
    handshake: boolean,
  ): Promise<ParamLoadResult> {
    const name: CommandName = set.kind === 'capk' ? 'load_capks' : 'load_aids';
    const { kind, digest } = set;
    if (this.profile.commands[name] === undefined) return { status: 'not_supported', kind, digest };
    // Room for the part counter, the digest and the frame's own bytes.
    const parts = splitParamParts(set.entries, this.profile.framing.maxFrame - 64);
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const res = await this.command(
        name,
        [
          ['param_part', Buffer.from([i + 1, parts.length])],
          ...parts[i]!.map((e) => ['param_entry', e] as const),
          ['param_digest', last ? Buffer.from(digest, 'hex') : undefined],
        ],
        { handshake },
      );
      if (res.status === 'unknown_command' || res.status === 'not_supported')
        return { status: 'not_supported', kind, digest };
      if (res.status !== 'ok') {
        const text = res.payload.text('error_text');
        this.log?.warn(
          { kind, status: res.status, detail: text && safeText(text) },
          'reader refused the parameter set',
        );
        return {
          status: 'refused',
          kind,
          digest,
          readerStatus: res.status,
          ...(text ? { detail: safeText(text) } : {}),
        };
      }
    }
    if (this.lastInfo) this.lastInfo.paramDigests = { ...this.lastInfo.paramDigests, [kind]: digest };
    this.log?.info(
      { kind, version: set.version, entries: set.entries.length, parts: parts.length },
      'parameter set loaded into the reader',
    );
    return { status: 'loaded', kind, digest, parts: parts.length };
  }

  /**
   * Aligns the driver's transaction with the reader's after a reconnect or an unanswered command.
   * A transaction still waiting for a card that nobody waits for any more is cancelled.
   */
  private async reconcile(why: string): Promise<void> {
    const txn = this.txn;
    if (!txn) return;
    try {
      const st = await this.lastTransactionStatus();
      if (this.txn !== txn) return;
      if (st.reference !== txn.reference) {
        txn.settleStart?.(errorResult('reader_disconnected', 'the reader does not know the transaction'));
        this.endTxn(`${why}: reader has no such transaction`);
        return;
      }
      switch (st.stage) {
        case 'waiting_card':
          if (txn.settleStart) {
            txn.stage = 'waiting_card';
            return;
          }
          await this.cancel().catch(() => undefined);
          return;
        case 'card_read':
          txn.stage = 'card_read';
          if (txn.settleStart) await this.fetchCard(txn);
          return;
        default:
          txn.settleStart?.(errorResult('reader_disconnected', `transaction ${st.stage} on the reader`));
          this.endTxn(`${why}: ${st.stage}`);
      }
    } catch (e) {
      this.log?.warn({ err: asReaderError(e, 'last_status').toJSON() }, 'transaction status unavailable');
    }
  }

  /** The link is gone: settle what waits on it, close the transport, reconnect later. */
  private drop(reason: string): void {
    if (!this.linkUp) return;
    this.log?.warn({ reason }, 'reader link lost');
    this.teardown(reason);
    this.setState('disconnected', reason);
    this.scheduleReconnect(false);
  }

  private teardown(reason: string): void {
    this.linkUp = false;
    this.ready = false;
    this.generation++;
    clearTimeout(this.keepAliveTimer);
    this.transport.off('close', this.onTransportClose);
    const err = new ReaderError('reader_disconnected', reason, { reason: 'link_down' });
    this.waiter?.reject(
      new ReaderError('reader_disconnected', reason, { reason: 'link_down', command: this.waiter.name }),
    );
    this.waiter = undefined;
    const txn = this.txn;
    if (txn) {
      clearTimeout(txn.outcomeTimer);
      txn.settleStart?.(errorResult('reader_disconnected', err.message));
    }
    if (this.stopped) this.txn = undefined;
    if (this.link) this.nextSeq = this.link.nextSeqNumber;
    this.link?.close();
    this.link = undefined;
    void this.transport.close().catch(() => undefined);
  }

  private scheduleReconnect(refused: boolean): void {
    if (this.stopped || !this.started) return;
    clearTimeout(this.reconnectTimer);
    const base = refused
      ? this.timers.backoffMaxMs
      : Math.min(this.timers.backoffMaxMs, this.timers.backoffInitialMs * 2 ** this.failures);
    this.failures++;
    // Equal jitter: half fixed, half random.
    const wait = base / 2 + Math.random() * (base / 2);
    this.reconnectTimer = setTimeout(() => void this.connect(), wait);
  }

  private touch(): void {
    clearTimeout(this.keepAliveTimer);
    const every = this.timers.keepAliveMs ?? this.profile.link.keepAliveMs;
    if (!every || !this.ready || this.stopped) return;
    this.keepAliveTimer = setTimeout(() => void this.keepAlive(), every);
    this.keepAliveTimer.unref();
  }

  private async keepAlive(): Promise<void> {
    if (!this.ready || this.waiter) return this.touch();
    const gen = this.generation;
    try {
      const res = await this.command('echo', [], { retries: 0 });
      this.expectOk('echo', res);
    } catch (e) {
      if (gen === this.generation && e instanceof ReaderError && e.code === 'reader_timeout')
        this.drop('keep-alive unanswered');
    }
  }

  private refreshState(reason?: string): void {
    if (this.stopped) return this.setState('disconnected', reason);
    if (!this.ready) return; // connect() and drop() set connecting / disconnected
    this.setState(this.txn ? 'busy' : 'idle', reason);
  }

  private setState(state: ReaderState, reason?: string): void {
    if (state === this.currentState) return;
    this.currentState = state;
    const e: ReaderStateEvent = { state, at: new Date(), ...(reason ? { reason } : {}) };
    this.log?.info({ state, reason }, 'reader state');
    this.emit('state', e);
  }
}

/** Read through a function so the compiler does not keep a narrowing across an await. */
function stillWaiting(txn: Txn): boolean {
  return txn.settleStart !== undefined;
}

function errorResult(
  code: ReaderErrorCode,
  message: string,
): { status: 'error'; code: ReaderErrorCode; message: string } {
  return { status: 'error', code, message };
}

export function asReaderError(e: unknown, command?: string): ReaderError {
  if (e instanceof ReaderError) return e;
  const message = e instanceof Error ? e.message : 'error';
  return new ReaderError('reader_protocol_error', message, {
    reason: 'bad_value',
    ...(command ? { command } : {}),
  });
}

function normalizeKcv(k: ReaderKcv): ReaderKcv {
  const out: ReaderKcv = {};
  for (const key of ['tmk', 'pik', 'mak', 'tdk'] as const) {
    const v = k[key];
    if (v === undefined || v === '') continue;
    if (!/^[0-9A-Fa-f]{6,16}$/.test(v)) {
      throw new ReaderError('reader_protocol_error', `expectedKcv.${key} must be 6-16 hex digits`, {
        reason: 'bad_config',
      });
    }
    out[key] = v.toUpperCase();
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () =>
        reject(
          new ReaderError('reader_timeout', `${what} took longer than ${ms} ms`, { reason: 'open_failed' }),
        ),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function clampInt(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(Number.isFinite(n) ? n : lo)));
}

/** Reader-supplied text for messages: printable, short, digits runs broken (no PAN can ride along). */
function safeText(s: string): string {
  return s
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/[0-9]{8,}/g, (m) => '#'.repeat(m.length))
    .slice(0, 120);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
