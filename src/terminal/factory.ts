/**
 * How the daemon makes a reader from configuration:
 *
 *   const reader = createCardReader({
 *     transport: 'serial', path: '/dev/ttyUSB0',          // or 'tcp' with host + port
 *     profile: 'posbridge',                                // protocols/terminal/<name>.json
 *     pairedSerials: ['PBR-0001'], expectedKcv: { tmk: '82E13665' },
 *     macAlgorithm: 'cup-ecb', timers: { backoffMaxMs: 10_000 }, terminalId, logger,
 *   });
 *   reader.start();                 // connects, and reconnects after every loss, until close()
 *   await reader.whenReady();       // rejects with reader_not_paired / reader_kcv_mismatch when refused
 *   hostLink = new HostLink({ ..., securityModule: reader.securityModule });
 */
import type { Logger } from 'pino';
import type { KeyScheme, MacAlgorithm } from '../crypto/index.js';
import { ReaderDriver, type ReaderKcv, type ReaderTimers } from './driver.js';
import { ReaderError } from './errors.js';
import { loadReaderProfile, type ReaderProfile } from './profile.js';
import { SerialTransport } from './serial.js';
import { TcpTransport } from './tcp.js';
import type { Transport } from './transport.js';
import type { ReaderInfo } from './reader.js';

export type TransportName = 'serial' | 'tcp' | 'ble';

export interface ReaderConfig {
  transport: TransportName;
  /**
   * serial: device path (/dev/ttyUSB0, /dev/rfcomm0, COM3). ble: the peripheral id or address that
   * `scanReaders()` reported, or an advertised name prefix (src/terminal/ble.ts).
   */
  path?: string;
  /** ble, without `path`: connect to a reader whose advertised name starts with this (default: the profile's). */
  namePrefix?: string;
  /** serial line settings; the profile's `serial` block gives the defaults. */
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  /** tcp */
  host?: string;
  port?: number;
  /** Largest write; the transport's default when absent (BLE: the negotiated MTU). */
  mtu?: number;
  /** A profile name (protocols/terminal/<name>.json), a path to one, or a compiled profile. */
  profile: string | ReaderProfile;
  pairedSerials: readonly string[];
  expectedKcv?: ReaderKcv;
  macAlgorithm?: MacAlgorithm;
  /** The cipher of the acquirer's keys (the dialect's sign-on keyScheme). Default 'des'. */
  keyScheme?: KeyScheme;
  timers?: Partial<ReaderTimers>;
  terminalId?: string;
  logger?: Logger;
}

export type TransportFactory = (config: ReaderConfig, profile: ReaderProfile) => Transport;

const transportFactories = new Map<string, TransportFactory>([
  [
    'serial',
    (c, p) => {
      if (!c.path) throw badConfig('serial transport needs path');
      return new SerialTransport({
        path: c.path,
        baudRate: c.baudRate ?? p.serial.baudRate,
        parity: c.parity ?? p.serial.parity,
        dataBits: p.serial.dataBits,
        stopBits: p.serial.stopBits,
        ...(c.mtu ? { mtu: c.mtu } : {}),
      });
    },
  ],
  [
    'tcp',
    (c) => {
      if (!c.host || !c.port) throw badConfig('tcp transport needs host and port');
      return new TcpTransport({ host: c.host, port: c.port, ...(c.mtu ? { mtu: c.mtu } : {}) });
    },
  ],
]);

/** Adds a transport kind ('ble' registers itself here: src/terminal/ble.ts). */
export function registerTransport(name: string, factory: TransportFactory): void {
  transportFactories.set(name, factory);
}

export function createTransport(config: ReaderConfig, profile: ReaderProfile): Transport {
  const f = transportFactories.get(config.transport);
  if (!f) throw badConfig(`no '${String(config.transport)}' transport in this build`);
  return f(config, profile);
}

export function resolveProfile(profile: string | ReaderProfile): ReaderProfile {
  return typeof profile === 'string' ? loadReaderProfile(profile) : profile;
}

/** A driver whose `close()` also disposes of its transport (the driver itself only closes it, to reopen). */
class ConfiguredReaderDriver extends ReaderDriver {
  override async close(): Promise<void> {
    await super.close();
    await this.transport.dispose?.();
  }
}

/** A reader driver from configuration; call `start()` to connect. */
export function createCardReader(config: ReaderConfig): ReaderDriver {
  const profile = resolveProfile(config.profile);
  if (!Array.isArray(config.pairedSerials)) throw badConfig('pairedSerials must be a list of serial numbers');
  return new ConfiguredReaderDriver({
    transport: createTransport(config, profile),
    profile,
    pairedSerials: config.pairedSerials,
    ...(config.expectedKcv ? { expectedKcv: config.expectedKcv } : {}),
    ...(config.macAlgorithm ? { macAlgorithm: config.macAlgorithm } : {}),
    ...(config.keyScheme ? { keyScheme: config.keyScheme } : {}),
    ...(config.timers ? { timers: config.timers } : {}),
    ...(config.terminalId ? { terminalId: config.terminalId } : {}),
    ...(config.logger ? { logger: config.logger } : {}),
  });
}

/**
 * Connects without the pairing checks, reads the device info and disconnects: the first step of
 * pairing a new reader (show its serial number and check values, then add them to the configuration).
 */
export async function probeReader(
  config: Omit<ReaderConfig, 'pairedSerials'>,
  timeoutMs = 10_000,
): Promise<ReaderInfo> {
  const profile = resolveProfile(config.profile);
  const driver = new ConfiguredReaderDriver({
    transport: createTransport({ ...config, pairedSerials: [] }, profile),
    profile,
    pairedSerials: [],
    probe: true,
    timers: { backoffInitialMs: 200, backoffMaxMs: 1000, ...config.timers, connectMs: timeoutMs },
    ...(config.logger ? { logger: config.logger } : {}),
  });
  try {
    driver.start();
    await driver.whenReady(timeoutMs);
    return driver.lastKnownInfo ?? (await driver.info());
  } finally {
    await driver.close();
  }
}

function badConfig(message: string): ReaderError {
  return new ReaderError('reader_protocol_error', message, { reason: 'bad_config' });
}
