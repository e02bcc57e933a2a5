/**
 * Test rig: a reader simulator and a driver connected over TCP, over a real pseudo-terminal pair
 * (node-pty's open(): the simulator talks through the master, the driver opens the slave path with the
 * real serialport bindings), or over Bluetooth LE (the simulator as a peripheral on fake noble
 * bindings, the driver's BLE transport on the real Noble class over them). Every log line of both ends
 * is kept so tests can check for card data.
 */
import { createRequire } from 'node:module';
import { Writable, type Duplex } from 'node:stream';
import { pino } from 'pino';
import { cardLogOptions } from '../../src/card/index.js';
import {
  generateWorkingKeys,
  SoftwareSecurityModule,
  wrapWorkingKeys,
  type KeyScheme,
  type WorkingKeys,
} from '../../src/crypto/index.js';
import {
  BleTransport,
  createNoble,
  loadReaderProfile,
  ReaderDriver,
  SerialTransport,
  TcpTransport,
  type ReaderKcv,
  type ReaderState,
  type ReaderTimers,
  type Transport,
} from '../../src/terminal/index.js';
import { loadCards } from '../../simulators/shared/cards.js';
import {
  DEFAULT_READER_TMK,
  startBleReaderSimulator,
  startReaderSimulator,
  type Behaviour,
  type ReaderSimulatorHandle,
} from '../../simulators/reader/index.js';

export type RigTransport = 'tcp' | 'serial' | 'ble';

export const TEST_TIMERS: Partial<ReaderTimers> = {
  connectMs: 2000,
  backoffInitialMs: 20,
  backoffMaxMs: 150,
  ackMs: 60,
  reassemblyMs: 200,
  commandMs: 250,
  transactionGraceMs: 300,
  keepAliveMs: 150,
};

export const SIM_SERIAL = 'PBR-SIM-0001';
export const TMK = Buffer.from(DEFAULT_READER_TMK, 'hex');

export interface Rig {
  kind: RigTransport;
  profile: string;
  sim: ReaderSimulatorHandle;
  driver: ReaderDriver;
  transport: Transport;
  /** Same working keys as the reader, in software: to decrypt PIN blocks and tracks in assertions. */
  soft: SoftwareSecurityModule;
  keys: WorkingKeys;
  field62: Buffer;
  states: ReaderState[];
  logs: string[];
  /** Strings that must never appear in a log line (PANs, keys, PIN blocks, tracks seen by the test). */
  secrets: Set<string>;
  behave(b: Partial<Behaviour>): void;
  loadKeys(): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  pairedSerials?: string[];
  expectedKcv?: ReaderKcv;
  behaviour?: Partial<Behaviour>;
  timers?: Partial<ReaderTimers>;
  /** Wait for the driver to be ready and load working keys (default true). */
  ready?: boolean;
  printer?: boolean;
  mtu?: number;
  /** The acquirer's key scheme the driver is set up for (default 'des'). */
  keyScheme?: KeyScheme;
  /** The schemes the simulated reader's master key works in (simulator default: DES and SM4). */
  simKeySchemes?: KeyScheme[];
}

interface PtyPair {
  ptsName: string;
  master: Duplex;
  slave: Duplex;
}

function openPty(): PtyPair {
  const require = createRequire(import.meta.url);
  const pty = require('@lydell/node-pty') as { open(o: { encoding: null }): PtyPair };
  const t = pty.open({ encoding: null });
  // node-pty reads the slave itself; paused now, destroyed once serialport has the path open.
  t.slave.pause();
  return t;
}

export async function makeRig(kind: RigTransport, profile: string, options: RigOptions = {}): Promise<Rig> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ ...cardLogOptions(), level: 'debug' }, sink);
  const secrets = new Set<string>();
  for (const c of loadCards().cards) {
    const d = c.pan.reveal();
    secrets.add(d);
    secrets.add(Buffer.from(d, 'latin1').toString('hex'));
  }
  let pty: PtyPair | undefined;
  let sim: ReaderSimulatorHandle;
  let transport: Transport;
  const simCommon = {
    profile,
    logger: logger.child({ side: 'sim' }),
    ackMs: 60,
    reassemblyMs: 200,
    // A dropped serial line is silent for longer than the driver needs to notice (keep-alive plus
    // retransmissions, or two unanswered commands without ACKs); a TCP drop closes the socket.
    behaviour: {
      dropForMs: kind !== 'serial' ? 250 : profile === 'mpos-lenpfx' ? 650 : 450,
      ...options.behaviour,
    },
    ...(options.printer !== undefined ? { printer: options.printer } : {}),
    ...(options.simKeySchemes ? { keySchemes: options.simKeySchemes } : {}),
  };
  if (kind === 'tcp') {
    sim = await startReaderSimulator({
      ...simCommon,
      tcp: { port: 0, ...(options.mtu ? { mtu: options.mtu } : {}) },
      control: false,
    });
    transport = new TcpTransport({
      host: '127.0.0.1',
      port: sim.port!,
      ...(options.mtu ? { mtu: options.mtu } : {}),
    });
  } else if (kind === 'ble') {
    // BLE payload MTU: 20 until negotiated; the rig's `mtu` is what the reader grants.
    const ble = await startBleReaderSimulator({
      ...simCommon,
      ...(options.mtu ? { mtu: Math.max(20, options.mtu) } : {}),
    });
    sim = ble;
    transport = new BleTransport({
      profile: loadReaderProfile(profile),
      path: ble.peripheral.id,
      noble: await createNoble(ble.bindings),
      scanTimeoutMs: 1500,
      logger: logger.child({ side: 'driver' }),
    });
  } else {
    pty = openPty();
    sim = await startReaderSimulator({
      ...simCommon,
      stream: pty.master,
      control: false,
      ...(options.mtu ? { mtu: options.mtu } : {}),
    });
    transport = new SerialTransport({
      path: pty.ptsName,
      unplugPollMs: 0,
      ...(options.mtu ? { mtu: options.mtu } : {}),
    });
    const slave = pty.slave;
    transport.on('open', () => {
      if (!slave.destroyed) slave.destroy();
    });
  }
  const driver = new ReaderDriver({
    transport,
    profile: loadReaderProfile(profile),
    pairedSerials: options.pairedSerials ?? [SIM_SERIAL],
    ...(options.expectedKcv ? { expectedKcv: options.expectedKcv } : {}),
    macAlgorithm: 'cup-ecb',
    ...(options.keyScheme ? { keyScheme: options.keyScheme } : {}),
    timers: { ...TEST_TIMERS, ...options.timers },
    terminalId: '10000001',
    logger: logger.child({ side: 'driver' }),
  });
  const states: ReaderState[] = [];
  driver.on('state', (e) => states.push(e.state));
  const scheme = options.keyScheme ?? 'des';
  const keys = generateWorkingKeys('double', { scheme });
  const field62 = wrapWorkingKeys(TMK, keys, 'double', scheme);
  for (const k of [keys.pik, keys.mak, keys.tdk!]) secrets.add(k.reveal().toString('hex'));
  const soft = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb', keyScheme: scheme });
  await soft.loadWorkingKeys(field62, 'double');

  const rig: Rig = {
    kind,
    profile,
    sim,
    driver,
    transport,
    soft,
    keys,
    field62,
    states,
    logs,
    secrets,
    behave: (b) => void sim.setBehaviour(b),
    async loadKeys() {
      await driver.securityModule.loadWorkingKeys(field62, 'double');
    },
    async close() {
      await driver.close();
      await sim.close();
      if (pty) {
        if (!pty.slave.destroyed) pty.slave.destroy();
        pty.master.destroy();
      }
    },
  };
  driver.start();
  if (options.ready !== false) {
    await driver.whenReady(3000);
    await rig.loadKeys();
  }
  return rig;
}

/** Every log line checked for the rig's secrets (and their upper-case forms). */
export function leakedSecrets(rig: Rig): string[] {
  const text = rig.logs.join('');
  const upper = text.toUpperCase();
  return [...rig.secrets].filter(
    (s) => s.length >= 8 && (text.includes(s) || upper.includes(s.toUpperCase())),
  );
}

/** Resolves when `pred` holds (polled), rejects after `ms`. */
export async function until(
  pred: () => boolean | Promise<boolean>,
  ms = 3000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
