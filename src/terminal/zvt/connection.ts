/**
 * The ECR side of a ZVT link: connecting (TCP or serial), registering (06 00: password, config byte,
 * currency) on every (re)connect, reconnecting with back-off, one command exchange at a time, Log-Off
 * (06 02) on close. `ZvtTerminal` (client.ts) adds the payment commands on top.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type {
  IntegratedInfo,
  IntegratedOutcome,
  IntegratedProgressEvent,
  IntegratedState,
  IntegratedStateEvent,
} from '../integrated.js';
import type { Apdu } from './apdu.js';
import { nibbles } from './bcd.js';
import { findBmp } from './bitmaps.js';
import type { ZvtCharset } from './charset.js';
import { encodeMessage, type ZvtMessage } from './codec.js';
import { ZvtError } from './errors.js';
import { runExchange, type ExchangeOptions, type ExchangeResult, type ExchangeTimers } from './exchange.js';
import { Inbox } from './inbox.js';
import * as M from './messages.js';
import { DEFAULT_ZVT_TIMERS, type ZvtTerminalOptions, type ZvtTimers } from './options.js';
import { SerialZvtLink } from './serial-link.js';
import { resultMessage } from './status.js';
import { loadZvtTables, type ZvtTables } from './tables.js';
import { tlv } from './tlv.js';
import { TcpZvtLink, ZVT_TCP_PORT, serialTransport, tcpTransport, type ZvtLink } from './transport.js';

export type Progress = ((e: IntegratedProgressEvent) => void) | undefined;
export type NotSent = Extract<IntegratedOutcome, { status: 'not_sent' }>;

export abstract class ZvtConnection extends EventEmitter {
  readonly timers: ZvtTimers;
  protected readonly tables: ZvtTables;
  protected readonly link: ZvtLink;
  protected readonly inbox = new Inbox();
  private readonly address: string;
  protected readonly log: Logger | undefined;
  protected currentState: IntegratedState = 'disconnected';
  protected ready = false;
  private started = false;
  private stopped = false;
  protected running = false;
  private linkUp = false;
  private failures = 0;
  protected generation = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private lastError: ZvtError | undefined;
  protected terminalId: string | undefined;
  protected model: string | undefined;
  protected firmware: string | undefined;

  constructor(protected readonly options: ZvtTerminalOptions) {
    super();
    M.registration({ password: options.password, configByte: options.configByte ?? M.DEFAULT_CONFIG_BYTE });
    const endpoints = [options.tcp, options.serial, options.transport].filter((x) => x !== undefined).length;
    if (endpoints !== 1) throw new ZvtError('bad_config', 'give exactly one of tcp, serial or transport');
    this.timers = { ...DEFAULT_ZVT_TIMERS, ...(options.timers ?? {}) };
    this.tables = loadZvtTables(options.tablesDir);
    this.log = options.logger?.child({ terminal: 'zvt' });
    const serialTimers = { t1Ms: this.timers.t1Ms, t2Ms: this.timers.t2Ms, retries: this.timers.retries };
    if (options.tcp) {
      this.address = `tcp://${options.tcp.host}:${options.tcp.port ?? ZVT_TCP_PORT}`;
      this.link = new TcpZvtLink(
        tcpTransport({ connectTimeoutMs: this.timers.connectMs, ...options.tcp }),
        'ecr',
      );
    } else if (options.serial) {
      this.address = options.serial.path;
      this.link = new SerialZvtLink(serialTransport(options.serial), serialTimers);
    } else {
      const t = options.transport!;
      this.address = t.description;
      this.link =
        options.framing === 'serial' ? new SerialZvtLink(t, serialTimers) : new TcpZvtLink(t, 'ecr');
    }
    this.link.on('apdu', (a) => this.onApdu(a));
    this.link.on('close', (e) => this.onLinkClose(e.message ?? e.reason));
  }

  get state(): IntegratedState {
    return this.currentState;
  }

  /** The last connection problem (refused registration, open failure) until the next successful connect. */
  get error(): ZvtError | undefined {
    return this.lastError;
  }

  get linkStats(): ZvtLink['stats'] {
    return this.link.stats;
  }

  info(): IntegratedInfo {
    return {
      kind: 'zvt',
      address: this.address,
      ...(this.terminalId ? { terminalId: this.terminalId } : {}),
      ...(this.model ? { model: this.model } : {}),
      ...(this.firmware ? { firmware: this.firmware } : {}),
    };
  }

  start(): this {
    if (this.started || this.stopped) return this;
    this.started = true;
    void this.connect();
    return this;
  }

  whenReady(timeoutMs = this.timers.connectMs): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.stopped) return Promise.reject(new ZvtError('closed', 'terminal closed'));
    if (this.lastError?.code === 'registration_refused') return Promise.reject(this.lastError);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(t);
        this.off('state', onState);
        this.off('refused', onRefused);
      };
      const t = setTimeout(() => {
        done();
        reject(this.lastError ?? new ZvtError('link_down', `terminal not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onState = (e: IntegratedStateEvent): void => {
        if (e.state === 'idle' || e.state === 'busy') {
          done();
          resolve();
        }
      };
      const onRefused = (err: ZvtError): void => {
        done();
        reject(err);
      };
      this.on('state', onState);
      this.on('refused', onRefused);
    });
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    if (this.ready && !this.running && this.link.isOpen) {
      this.running = true;
      await runExchange(this.context(undefined), M.logOff(), { endsWithAck: true }).catch(() => undefined);
      this.running = false;
    }
    this.ready = false;
    this.generation++;
    await this.link.close();
    this.inbox.close();
    this.setState('disconnected', 'closed');
  }

  protected get charset(): ZvtCharset {
    return this.options.charset ?? 'cp437';
  }

  protected context(
    onProgress: Progress,
    timers: Partial<ExchangeTimers> = {},
  ): Parameters<typeof runExchange>[0] {
    return {
      link: this.link,
      inbox: this.inbox,
      tables: this.tables,
      timers: { ...this.timers, ...timers },
      charset: this.charset,
      logger: this.log,
      onProgress: (e) => {
        this.emit('progress', e);
        onProgress?.(e);
      },
    };
  }

  /**
   * Runs one command exchange: `not_sent` when another runs or the link is down. After T3 (TCP: "the
   * transmitter should close the socket") or T4 (the state is unclear) the link is closed and reopened.
   */
  protected async exchange(
    msg: ZvtMessage,
    onProgress: Progress,
    options: ExchangeOptions = {},
  ): Promise<ExchangeResult | NotSent> {
    if (this.running)
      return { status: 'not_sent', reason: 'busy_locally', message: 'another ZVT command is in progress' };
    if (!this.ready || !this.link.isOpen)
      return {
        status: 'not_sent',
        reason: 'link_down',
        message: `terminal not connected (${this.currentState})`,
      };
    this.running = true;
    this.setState('busy');
    const gen = this.generation;
    try {
      const r = await runExchange(this.context(onProgress), msg, options);
      this.log?.info(
        { command: r.command, end: r.end, code: r.refusedCode ?? r.abort?.resultCode },
        'ZVT command ended',
      );
      if (
        gen === this.generation &&
        ((r.end === 'not_sent' && r.notSent === 't3_expired') || r.end === 'timeout')
      )
        this.drop(r.end === 'timeout' ? 'T4 expired' : 'T3 expired');
      return r;
    } finally {
      this.running = false;
      this.refreshState();
    }
  }

  private onApdu(a: Apdu): void {
    if (this.running) return this.inbox.push(a);
    // Master rights are ours: a PT command now is unsolicited. Answer it so the terminal is not left waiting.
    if (a.cls === 0x04 || a.cls === 0x06) {
      this.log?.warn({ cls: a.cls, ins: a.ins }, 'unsolicited ZVT message acknowledged');
      this.link.send(encodeMessage(M.ack(), this.tables)).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------ connection

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.setState('connecting');
    try {
      await withTimeout(this.link.open(), this.timers.connectMs);
      if (this.stopped || gen !== this.generation) return void (await this.link.close());
      this.linkUp = true;
      this.inbox.reopen();
      const tlvs = this.options.textBlocks ? [tlv('26', [tlv('0A', Buffer.from([0x06, 0xd3]))])] : undefined;
      const reg = M.registration({
        password: this.options.password,
        configByte: this.options.configByte ?? M.DEFAULT_CONFIG_BYTE,
        currency: this.options.currency ?? '978',
        ...(tlvs ? { tlv: tlvs } : {}),
      });
      this.running = true;
      let r: ExchangeResult;
      try {
        r = await runExchange(
          this.context(undefined, { t4Ms: Math.min(this.timers.t4Ms, this.timers.connectMs) }),
          reg,
        );
      } finally {
        this.running = false;
      }
      if (gen !== this.generation || this.stopped) return;
      if (r.end === 'refused' || r.end === 'abort') {
        const code = r.refusedCode ?? r.abort?.resultCode ?? 'FF';
        throw new ZvtError(
          'registration_refused',
          `registration refused: ${resultMessage(this.tables, code)}`,
          {
            command: '06 00',
            status: code,
          },
        );
      }
      if (r.end !== 'completion')
        throw new ZvtError(
          r.end === 'not_sent' ? 'not_acknowledged' : 'timeout',
          `registration ended ${r.end}`,
          {
            command: '06 00',
          },
        );
      const tid = r.completion ? findBmp(r.completion.bmps, 0x29) : undefined;
      if (tid) this.terminalId = nibbles(tid.value);
      this.ready = true;
      this.failures = 0;
      this.lastError = undefined;
      this.log?.info({ terminalId: this.terminalId, address: this.address }, 'ZVT terminal registered');
      this.refreshState('registered');
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      const err = e instanceof ZvtError ? e : new ZvtError('link_down', (e as Error).message);
      const refused = err.code === 'registration_refused';
      this.lastError = err;
      this.log?.warn({ err: err.toJSON() }, refused ? 'ZVT registration refused' : 'ZVT connection failed');
      this.drop(err.message, false);
      if (refused) this.emit('refused', err);
      this.scheduleReconnect(refused);
    }
  }

  private onLinkClose(reason: string): void {
    this.inbox.close();
    if (!this.linkUp) return;
    this.drop(reason);
  }

  /** The link is gone or must go: close it, mark not ready, reconnect later. */
  protected drop(reason: string, reconnect = true): void {
    const wasUp = this.linkUp || this.ready;
    this.linkUp = false;
    this.ready = false;
    this.generation++;
    this.inbox.close();
    void this.link.close();
    if (this.stopped) return;
    this.setState('disconnected', reason);
    if (reconnect && wasUp) {
      this.log?.warn({ reason }, 'ZVT link lost');
      this.scheduleReconnect(false);
    }
  }

  private scheduleReconnect(refused: boolean): void {
    if (this.stopped || !this.started) return;
    clearTimeout(this.reconnectTimer);
    const base = refused
      ? this.timers.backoffMaxMs
      : Math.min(this.timers.backoffMaxMs, this.timers.backoffInitialMs * 2 ** this.failures);
    this.failures++;
    const wait = base / 2 + Math.random() * (base / 2);
    this.reconnectTimer = setTimeout(() => void this.connect(), wait);
  }

  protected refreshState(reason?: string): void {
    if (this.stopped) return this.setState('disconnected', reason);
    if (!this.ready) return;
    this.setState(this.running ? 'busy' : 'idle', reason);
  }

  protected setState(state: IntegratedState, reason?: string): void {
    if (state === this.currentState) return;
    this.currentState = state;
    const e: IntegratedStateEvent = { state, at: new Date(), ...(reason ? { reason } : {}) };
    this.emit('state', e);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new ZvtError('timeout', `link did not open within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
