/**
 * The reader simulator, in process: `startReaderSimulator(options)` → a handle with the ports it
 * bound, the behaviour setters and `close()`. The CLI (`posbridge-sim reader`) is a thin wrapper.
 *
 * Endpoints (pick one): `tcp` (a server; one host connection at a time, a new one replaces the old),
 * `serial` (a serial device path, e.g. one end of a null-modem pair), `stream` (any duplex, e.g. the
 * master side of a pseudo-terminal whose slave the driver opens), or `pty` (the simulator makes the
 * pseudo-terminal itself and reports the slave path for the daemon to open).
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { cardLogOptions } from '../../src/card/index.js';
import { SerialTransport, StreamTransport } from '../../src/terminal/index.js';
import { startReaderControlApi, type ReaderControlApi } from './control.js';
import { ReaderSimulator, type ReaderSimulatorOptions } from './simulator.js';

export {
  ReaderSimulator,
  DEFAULT_READER_TMK,
  DEFAULT_SERIAL_NUMBER,
  type ReaderSimulatorOptions,
  type SimTxnView,
} from './simulator.js';
export {
  DEFAULT_BEHAVIOUR,
  BehaviourError,
  parseBehaviour,
  DROP_STEPS,
  PRESENTATIONS,
  type Behaviour,
  type DropStep,
  type Presentation,
} from './behaviour.js';

export {
  startBleReaderSimulator,
  type StartBleReaderSimulatorOptions,
  type BleReaderSimulatorHandle,
} from './ble.js';
export {
  FakeNobleBindings,
  FakeBlePeripheral,
  FakeBleServerTransport,
  HCI_REASON,
  type FakeAdapterState,
  type FakePeripheralOptions,
  type FakeBleStats,
} from './ble-bindings.js';

import type { ReaderSimulatorHandle } from './handle.js';
export type { ReaderSimulatorHandle } from './handle.js';

export interface StartReaderSimulatorOptions extends ReaderSimulatorOptions {
  tcp?: { port?: number; host?: string; mtu?: number };
  serial?: { path: string; baudRate?: number };
  stream?: Duplex;
  /** MTU of the stream / serial / pty endpoint (default 4096). */
  mtu?: number;
  pty?: boolean;
  /** The control API (default: port 0 on 127.0.0.1); false for none. */
  control?: { port?: number; host?: string } | false;
  /** With no `logger`: pino JSON to stderr at this level (card data masked); default: no logs. */
  logLevel?: string;
}

interface PtyLike {
  ptsName: string;
  master: Duplex;
  slave: Duplex;
}

export async function startReaderSimulator(
  options: StartReaderSimulatorOptions = {},
): Promise<ReaderSimulatorHandle> {
  const chosen = [options.tcp, options.serial, options.stream, options.pty].filter(
    (x) => x !== undefined && x !== false,
  ).length;
  if (chosen !== 1) throw new Error('give exactly one of tcp, serial, stream or pty');
  const logger: Logger | undefined =
    options.logger ??
    (options.logLevel
      ? pino({ ...cardLogOptions(), level: options.logLevel, base: { sim: 'reader' } }, pino.destination(2))
      : undefined);
  const sim = new ReaderSimulator({ ...options, ...(logger ? { logger } : {}) });
  const cleanups: Array<() => Promise<void> | void> = [];
  let port: number | undefined;
  let serialPath: string | undefined;

  if (options.tcp) {
    const mtu = options.tcp.mtu;
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const t = new StreamTransport(socket, {
        description: `tcp:${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
        destroyOnClose: true,
        ...(mtu ? { mtu } : {}),
      });
      void t.open().then(() => sim.attach(t, 'socket'));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.tcp?.port ?? 0, options.tcp?.host ?? '127.0.0.1', () => resolve());
    });
    port = (server.address() as net.AddressInfo).port;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
        }),
    );
  } else if (options.serial) {
    const t = new SerialTransport({
      path: options.serial.path,
      baudRate: options.serial.baudRate ?? sim.profile.serial.baudRate,
      unplugPollMs: 0,
      ...(options.mtu ? { mtu: options.mtu } : {}),
    });
    await t.open();
    sim.attach(t, 'line');
    serialPath = options.serial.path;
  } else if (options.stream) {
    const t = new StreamTransport(options.stream, { description: 'stream', mtu: options.mtu ?? 4096 });
    await t.open();
    sim.attach(t, 'line');
  } else {
    const pty = openPty();
    // node-pty reads the slave side itself: stop that, so every byte reaches the program that opens the path.
    pty.slave.pause();
    pty.slave.destroy();
    const t = new StreamTransport(pty.master, {
      description: `pty:${pty.ptsName}`,
      mtu: options.mtu ?? 4096,
    });
    await t.open();
    sim.attach(t, 'line');
    serialPath = pty.ptsName;
    cleanups.push(() => {
      pty.master.destroy();
    });
  }

  let control: ReaderControlApi | undefined;
  if (options.control !== false) {
    control = await startReaderControlApi(options.control?.port ?? 0, options.control?.host ?? '127.0.0.1', {
      sim,
      log: logger,
      ports: () => ({ tcp: port ?? null, serial: serialPath ?? null, control: control?.port ?? null }),
    });
  }

  let closed = false;
  return {
    simulator: sim,
    port,
    controlPort: control?.port,
    serialPath,
    behaviour: () => ({ ...sim.behaviour }),
    setBehaviour: (b) => sim.setBehaviour(b),
    dropLink: (ms) => sim.dropLink(ms),
    reset: () => sim.reset(),
    async close() {
      if (closed) return;
      closed = true;
      await control?.close();
      await sim.close();
      for (const c of cleanups) await c();
    },
  };
}

/** A pseudo-terminal pair through @lydell/node-pty (a dev dependency: only for `--serial pty`). */
function openPty(): PtyLike {
  const require = createRequire(import.meta.url);
  let mod: { open(options: { encoding: null }): { ptsName: string; master: Duplex; slave: Duplex } };
  try {
    mod = require('@lydell/node-pty') as typeof mod;
  } catch {
    throw new Error('--serial pty needs the @lydell/node-pty package (a dev dependency): npm install');
  }
  const t = mod.open({ encoding: null });
  return { ptsName: t.ptsName, master: t.master, slave: t.slave };
}
