/**
 * Serial transport (USB CDC, USB-serial adapters, Bluetooth classic rfcomm) over the `serialport`
 * package, loaded lazily so that a machine without the native binding can still use TCP readers.
 * Unplug detection: serialport reports a read error / disconnect as a close; in addition the device
 * path is polled (`unplugPollMs`), because some drivers keep a dead descriptor readable for a while.
 */
import { readdir, stat } from 'node:fs/promises';
import type { SerialPort as SerialPortClass } from 'serialport';
import { ReaderError } from './errors.js';
import { BaseTransport } from './transport.js';

export interface SerialTransportOptions {
  path: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
  /** Hardware flow control (default off). */
  rtscts?: boolean;
  /** Largest write (default 4096). */
  mtu?: number;
  /** How often the device path is checked for an unplug (default 1000 ms; 0: never). */
  unplugPollMs?: number;
}

type SerialPortCtor = typeof SerialPortClass;
let serialPortCtor: Promise<SerialPortCtor> | undefined;

async function loadSerialPort(): Promise<SerialPortCtor> {
  serialPortCtor ??= import('serialport').then((m) => m.SerialPort);
  try {
    return await serialPortCtor;
  } catch (e) {
    serialPortCtor = undefined;
    throw new ReaderError(
      'reader_disconnected',
      `the serialport package cannot be loaded: ${(e as Error).message}`,
      {
        reason: 'open_failed',
      },
    );
  }
}

export class SerialTransport extends BaseTransport {
  readonly kind = 'serial' as const;
  readonly description: string;
  private port: SerialPortClass | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly options: SerialTransportOptions) {
    super(options.mtu ?? 4096);
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new ReaderError('reader_protocol_error', 'serial transport needs a path', {
        reason: 'bad_config',
      });
    }
    this.description = `serial:${options.path}`;
  }

  async open(): Promise<void> {
    if (this.opened) return;
    const SerialPort = await loadSerialPort();
    const o = this.options;
    const port = new SerialPort({
      path: o.path,
      baudRate: o.baudRate ?? 115200,
      parity: o.parity ?? 'none',
      dataBits: o.dataBits ?? 8,
      stopBits: o.stopBits ?? 1,
      rtscts: o.rtscts ?? false,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => {
      port.open((err) =>
        err
          ? reject(
              new ReaderError('reader_disconnected', `cannot open ${this.description}: ${err.message}`, {
                reason: 'open_failed',
              }),
            )
          : resolve(),
      );
    });
    this.port = port;
    this.markOpen();
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.emitData(chunk);
    });
    port.on('error', (err: Error) => {
      if (this.port === port) this.lost('error', err.message);
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      if (this.port === port) this.lost(err ? 'lost' : 'closed', err?.message ?? 'port closed');
    });
    const every = o.unplugPollMs ?? 1000;
    if (every > 0) {
      this.poll = setInterval(() => {
        stat(o.path).catch(() => {
          if (this.port === port) this.lost('lost', 'device path disappeared (unplugged)');
        });
      }, every);
      this.poll.unref();
    }
  }

  private lost(reason: 'lost' | 'error' | 'closed', message: string): void {
    const port = this.port;
    this.port = undefined;
    clearInterval(this.poll);
    this.closed({ reason, message });
    if (port?.isOpen) port.close(() => undefined);
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    clearInterval(this.poll);
    this.closed({ reason: 'closed' });
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  write(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (!this.opened || !port) return Promise.reject(this.notOpen());
    return new Promise((resolve, reject) => {
      port.write(bytes, (err: Error | null | undefined) =>
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

export interface SerialPortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  /** `serialport`: from the OS enumeration; `scan`: found by name in /dev. */
  source: 'serialport' | 'scan';
}

/** Device names that are serial ports a reader may sit behind, when the OS enumeration is unavailable. */
const DEV_PATTERNS = [
  /^ttyUSB\d+$/,
  /^ttyACM\d+$/,
  /^rfcomm\d+$/,
  /^cu\.(usbserial|usbmodem|SLAB|wchusbserial).*/,
];

/**
 * Serial ports on this machine. Uses serialport's enumeration when it works (it needs `udevadm` on
 * Linux) and always adds what a scan of /dev finds (ttyUSB*, ttyACM*, rfcomm*, macOS cu.usb*), so a
 * machine without udev still lists its USB readers. Never throws.
 */
export async function listSerialPorts(options: { devDir?: string } = {}): Promise<SerialPortInfo[]> {
  const out = new Map<string, SerialPortInfo>();
  if (!options.devDir) {
    try {
      const SerialPort = await loadSerialPort();
      for (const p of await SerialPort.list()) {
        const info: SerialPortInfo = { path: p.path, source: 'serialport' };
        if (p.manufacturer) info.manufacturer = p.manufacturer;
        if (p.serialNumber) info.serialNumber = p.serialNumber;
        if (p.vendorId) info.vendorId = p.vendorId;
        if (p.productId) info.productId = p.productId;
        out.set(p.path, info);
      }
    } catch {
      // no udevadm, no binding: fall back to the scan below
    }
  }
  const devDir = options.devDir ?? '/dev';
  try {
    for (const name of (await readdir(devDir)).sort()) {
      if (!DEV_PATTERNS.some((re) => re.test(name))) continue;
      const path = `${devDir}/${name}`;
      if (!out.has(path)) out.set(path, { path, source: 'scan' });
    }
  } catch {
    // no /dev (Windows): the enumeration above is all there is
  }
  return [...out.values()];
}
