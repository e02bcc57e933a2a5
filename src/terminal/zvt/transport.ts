/**
 * ZVT links: APDUs in and out over a byte transport (the reader transports of src/terminal: TCP,
 * serial, or any stream). Over TCP/IP the APDU travels bare, with no DLE/STX/CRC (spec16 §4.1), and the
 * receiver copes with APDUs split across segments; the default port is 20007 (§2.2). Over a serial
 * line every APDU is framed, checked and acknowledged (`SerialZvtLink`, spec16 §3).
 */
import { EventEmitter } from 'node:events';
import { ApduReassembler, ECR_CLASSES, PT_CLASSES, type Apdu } from './apdu.js';
import { ZvtError } from './errors.js';
import { SerialTransport } from '../serial.js';
import { TcpTransport } from '../tcp.js';
import type { Transport, TransportCloseEvent } from '../transport.js';

export const ZVT_TCP_PORT = 20007;

/** Which side this link is: an ECR reads PT messages, a PT (the simulator) reads ECR messages. */
export type ZvtRole = 'ecr' | 'pt';

export interface ZvtLinkStats {
  sent: number;
  received: number;
  /** Bytes dropped outside any APDU / frame (a banner, line noise). */
  noise: number;
  /** Frames we NAKed, frames the peer NAKed, retransmissions (serial only). */
  naksSent: number;
  naksReceived: number;
  retransmissions: number;
}

export interface ZvtLink {
  readonly kind: 'tcp' | 'serial';
  readonly description: string;
  readonly isOpen: boolean;
  readonly stats: ZvtLinkStats;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Sends one encoded APDU. Serial: resolves once the peer ACKed it, rejects `not_acknowledged`. */
  send(apdu: Buffer): Promise<void>;
  on(event: 'apdu', listener: (a: Apdu) => void): this;
  on(event: 'close', listener: (e: TransportCloseEvent) => void): this;
  off(event: 'apdu', listener: (a: Apdu) => void): this;
  off(event: 'close', listener: (e: TransportCloseEvent) => void): this;
}

/** Shared bookkeeping: listens to a transport while open, one 'close' per open. */
export abstract class BaseZvtLink extends EventEmitter implements ZvtLink {
  abstract readonly kind: 'tcp' | 'serial';
  readonly stats: ZvtLinkStats = {
    sent: 0,
    received: 0,
    noise: 0,
    naksSent: 0,
    naksReceived: 0,
    retransmissions: 0,
  };
  private up = false;

  constructor(protected readonly transport: Transport) {
    super();
  }

  get description(): string {
    return this.transport.description;
  }

  get isOpen(): boolean {
    return this.up && this.transport.isOpen;
  }

  private readonly onData = (chunk: Buffer): void => this.received(chunk);
  private readonly onClose = (e: TransportCloseEvent): void => this.down(e);

  async open(): Promise<void> {
    if (this.up) return;
    this.reset();
    this.transport.on('data', this.onData);
    this.transport.on('close', this.onClose);
    try {
      await this.transport.open();
    } catch (e) {
      this.transport.off('data', this.onData);
      this.transport.off('close', this.onClose);
      throw new ZvtError('link_down', `cannot open ${this.description}: ${(e as Error).message}`);
    }
    this.up = true;
  }

  async close(): Promise<void> {
    const was = this.up;
    await this.transport.close().catch(() => undefined);
    if (was) this.down({ reason: 'closed' });
  }

  protected down(e: TransportCloseEvent): void {
    if (!this.up) return;
    this.up = false;
    this.transport.off('data', this.onData);
    this.transport.off('close', this.onClose);
    this.stopped();
    this.emit('close', e);
  }

  protected async write(bytes: Buffer): Promise<void> {
    if (!this.isOpen) throw new ZvtError('link_down', `${this.description} is not open`);
    try {
      await this.transport.write(bytes);
    } catch (e) {
      throw new ZvtError('link_down', `write failed: ${(e as Error).message}`);
    }
  }

  protected deliver(a: Apdu): void {
    this.stats.received++;
    this.emit('apdu', a);
  }

  abstract send(apdu: Buffer): Promise<void>;
  protected abstract received(chunk: Buffer): void;
  /** Forget partial input (before each open). */
  protected abstract reset(): void;
  /** The link went down: stop timers, fail waiters. */
  protected abstract stopped(): void;
}

/** ZVT over TCP/IP: bare APDUs. */
export class TcpZvtLink extends BaseZvtLink {
  readonly kind = 'tcp' as const;
  private readonly reader: ApduReassembler;

  constructor(transport: Transport, role: ZvtRole = 'ecr') {
    super(transport);
    this.reader = new ApduReassembler(role === 'ecr' ? PT_CLASSES : ECR_CLASSES);
  }

  async send(apdu: Buffer): Promise<void> {
    await this.write(apdu);
    this.stats.sent++;
  }

  protected received(chunk: Buffer): void {
    const before = this.reader.noise;
    const apdus = this.reader.push(chunk);
    this.stats.noise += this.reader.noise - before;
    for (const a of apdus) this.deliver(a);
  }

  protected reset(): void {
    this.reader.reset();
  }

  protected stopped(): void {
    this.reader.reset();
  }
}

export interface ZvtTcpOptions {
  host: string;
  /** Default 20007. */
  port?: number;
  connectTimeoutMs?: number;
}

export interface ZvtSerialOptions {
  path: string;
  /** Default 9600 (the spec's rate; 115200 is optional). */
  baudRate?: number;
  /** Default 2 (spec16 §2.1: 8 data bits, no parity, 2 stop bits). */
  stopBits?: 1 | 2;
  /** How often the device path is checked for an unplug (default 1000 ms; 0: never). */
  unplugPollMs?: number;
}

export function tcpTransport(o: ZvtTcpOptions): Transport {
  return new TcpTransport({
    host: o.host,
    port: o.port ?? ZVT_TCP_PORT,
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
  });
}

export function serialTransport(o: ZvtSerialOptions): Transport {
  return new SerialTransport({
    path: o.path,
    baudRate: o.baudRate ?? 9600,
    dataBits: 8,
    parity: 'none',
    stopBits: o.stopBits ?? 2,
    ...(o.unplugPollMs !== undefined ? { unplugPollMs: o.unplugPollMs } : {}),
  });
}
