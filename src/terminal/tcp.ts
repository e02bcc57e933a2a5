import net from 'node:net';
import { ReaderError } from './errors.js';
import { BaseTransport } from './transport.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  /** Largest write (default 64 KiB); set it small to exercise chunking as over BLE. */
  mtu?: number;
  connectTimeoutMs?: number;
}

/** A networked reader (or the reader simulator) over TCP. Reconnects by `open()` again after a close. */
export class TcpTransport extends BaseTransport {
  readonly kind = 'tcp' as const;
  readonly description: string;
  private socket: net.Socket | undefined;

  constructor(private readonly options: TcpTransportOptions) {
    super(options.mtu ?? 65536);
    if (!options.host || !Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new ReaderError('reader_protocol_error', 'tcp transport needs host and port (1-65535)', {
        reason: 'bad_config',
      });
    }
    this.description = `tcp:${options.host}:${options.port}`;
  }

  open(): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.options.host, port: this.options.port });
      socket.setNoDelay(true);
      let settled = false;
      const timer = setTimeout(() => {
        socket.destroy(new Error('connect timeout'));
      }, this.options.connectTimeoutMs ?? 5000);
      socket.once('connect', () => {
        clearTimeout(timer);
        settled = true;
        this.socket = socket;
        this.markOpen();
        resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        if (this.socket === socket) this.emitData(chunk);
      });
      socket.on('error', (err) => {
        if (!settled) {
          clearTimeout(timer);
          settled = true;
          reject(
            new ReaderError('reader_disconnected', `cannot connect to ${this.description}: ${err.message}`, {
              reason: 'open_failed',
            }),
          );
        }
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.socket === socket) {
          this.socket = undefined;
          this.closed({ reason: 'lost', message: 'connection closed' });
        }
      });
    });
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    this.closed({ reason: 'closed' });
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
  }

  write(bytes: Buffer): Promise<void> {
    const s = this.socket;
    if (!this.opened || !s) return Promise.reject(this.notOpen());
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
