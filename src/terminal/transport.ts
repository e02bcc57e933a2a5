/**
 * The byte pipe under the link layer. Serial, TCP and (issue 5) Bluetooth LE implement it; so does
 * `StreamTransport` over any duplex stream (simulators, tests).
 *
 * Contract:
 * - `open()` connects (or reopens after `close()`: a transport is reusable, the driver reconnects
 *   through the same object). It rejects when the device or peer cannot be reached.
 * - `write(bytes)` takes at most `mtu` bytes (the link layer splits frames) and resolves when the
 *   bytes were handed to the device (a BLE write without response, a serial drain). It rejects when
 *   the transport is closed or the write fails.
 * - 'open' fires after each successful `open()`.
 * - 'data' delivers bytes in whatever chunks they arrive (a BLE notification each, serial reads);
 *   'close' fires once per open, with the reason, whether the peer went away, the device was
 *   unplugged or `close()` was called.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ReaderError } from './errors.js';

export type TransportKind = 'serial' | 'tcp' | 'ble' | 'stream';

export interface TransportCloseEvent {
  /** `closed`: close() was called; `lost`: the peer or device went away; `error`: an I/O error. */
  reason: 'closed' | 'lost' | 'error';
  message?: string;
}

export interface Transport {
  readonly kind: TransportKind;
  /** For logs: `serial:/dev/ttyUSB0`, `tcp:127.0.0.1:7000`. No secrets. */
  readonly description: string;
  /** Largest write, in bytes (BLE: ATT MTU - 3 after negotiation). */
  readonly mtu: number;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional: the last close. Releases what the transport keeps across reconnects (the BLE adapter:
   * noble's bindings and timers). Readers made by `createCardReader` / `probeReader` call it on close.
   */
  dispose?(): Promise<void>;
  write(bytes: Buffer): Promise<void>;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'close', listener: (e: TransportCloseEvent) => void): this;
  on(event: 'open', listener: () => void): this;
  off(event: 'data', listener: (chunk: Buffer) => void): this;
  off(event: 'close', listener: (e: TransportCloseEvent) => void): this;
  off(event: 'open', listener: () => void): this;
}

/** Shared bookkeeping: one 'close' per open, typed events. */
export abstract class BaseTransport extends EventEmitter implements Transport {
  abstract readonly kind: TransportKind;
  abstract readonly description: string;
  mtu: number;
  protected opened = false;

  constructor(mtu: number) {
    super();
    if (!Number.isInteger(mtu) || mtu < 1)
      throw new ReaderError('reader_protocol_error', 'mtu must be a positive integer', {
        reason: 'bad_config',
      });
    this.mtu = mtu;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  abstract write(bytes: Buffer): Promise<void>;

  /** Marks the transport open and emits 'open'. */
  protected markOpen(): void {
    this.opened = true;
    this.emit('open');
  }

  protected emitData(chunk: Buffer): void {
    this.emit('data', chunk);
  }

  /** Marks the transport closed and emits 'close' once per open. */
  protected closed(e: TransportCloseEvent): void {
    if (!this.opened) return;
    this.opened = false;
    this.emit('close', e);
  }

  protected notOpen(): ReaderError {
    return new ReaderError('reader_disconnected', `${this.description} is not open`, { reason: 'link_down' });
  }
}

export interface StreamTransportOptions {
  /** Default: effectively unlimited (64 KiB). */
  mtu?: number;
  description?: string;
  /** Called by `open()` to get a (new) stream, e.g. for a reconnecting test double. */
  connect?: () => Duplex | Promise<Duplex>;
  /** Destroy the stream on `close()` (default: only with `connect`). A server's accepted socket wants it. */
  destroyOnClose?: boolean;
}

/**
 * A transport over a duplex stream: a pseudo-terminal master, a socket handed over by a server, a
 * test pipe. With `connect`, every `open()` asks for a new stream and `close()` destroys it; without,
 * the one stream is kept across close/open (bytes arriving while closed are dropped, as on a closed
 * serial port) and only its own end closes the transport for good.
 */
export class StreamTransport extends BaseTransport {
  readonly kind = 'stream' as const;
  readonly description: string;
  private stream: Duplex | undefined;
  private readonly connect: (() => Duplex | Promise<Duplex>) | undefined;
  private readonly destroyOnClose: boolean;

  constructor(stream: Duplex | undefined, options: StreamTransportOptions = {}) {
    super(options.mtu ?? 65536);
    this.connect = options.connect;
    this.destroyOnClose = options.destroyOnClose ?? options.connect !== undefined;
    this.description = options.description ?? 'stream';
    if (stream) this.listen(stream);
  }

  private listen(stream: Duplex): void {
    this.stream = stream;
    stream.on('data', (chunk: Buffer | string) => {
      if (this.opened && this.stream === stream)
        this.emitData(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    });
    const gone = (message: string): void => {
      if (this.stream === stream) this.closed({ reason: 'lost', message });
    };
    stream.once('end', () => gone('stream ended'));
    stream.once('close', () => gone('stream closed'));
    stream.on('error', (err) => gone(err.message));
  }

  async open(): Promise<void> {
    if (this.opened) return;
    if (this.connect) this.listen(await this.connect());
    const s = this.stream;
    if (!s || s.destroyed)
      throw new ReaderError('reader_disconnected', 'stream is gone', { reason: 'open_failed' });
    this.markOpen();
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.closed({ reason: 'closed' });
    if (s && this.destroyOnClose) {
      if (this.connect) this.stream = undefined;
      s.destroy();
    }
  }

  write(bytes: Buffer): Promise<void> {
    const s = this.stream;
    if (!this.opened || !s || s.destroyed) return Promise.reject(this.notOpen());
    return new Promise((resolve, reject) => {
      s.write(bytes, (err) =>
        err
          ? reject(
              new ReaderError('reader_disconnected', `write failed: ${err.message}`, {
                reason: 'transport_error',
              }),
            )
          : resolve(),
      );
    });
  }
}
