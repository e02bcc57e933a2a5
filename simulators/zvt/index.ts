/**
 * The ZVT terminal simulator, in process: `startZvtSimulator(options)` → a handle with the ports it
 * bound, the ledger, `setBehaviour` and `close()`. Endpoints (one or more): `tcp` (a server speaking
 * bare APDUs, one ECR at a time: a new connection replaces the old), `serialPath` (a serial device
 * opened with serialport, e.g. one end of a null-modem pair), `stream` (any duplex, e.g. a
 * pseudo-terminal master whose slave the client opens) or `pty` (the simulator makes the
 * pseudo-terminal and reports the slave path). Serial endpoints use DLE/STX framing, CRC and ACK/NAK.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { cardLogOptions } from '../../src/card/index.js';
import { StreamTransport, type Transport } from '../../src/terminal/transport.js';
import {
  SerialZvtLink,
  TcpZvtLink,
  serialTransport,
  type SerialLinkTimers,
} from '../../src/terminal/zvt/index.js';
import type { ZvtBehaviour } from './behaviour.js';
import { startZvtControlApi, type ZvtControlApi } from './control.js';
import type { ZvtTxn } from './ledger.js';
import { ZvtTerminalSimulator, type ZvtSimulatorOptions } from './terminal.js';

export {
  DEFAULT_ZVT_BEHAVIOUR,
  ZvtBehaviourError,
  parseZvtBehaviour,
  type ZvtBehaviour,
} from './behaviour.js';
export { ZvtLedger, type ZvtTxn, type ZvtTxnStatus, type ZvtTxnType } from './ledger.js';
export {
  ZvtTerminalSimulator,
  DEFAULT_SIM_PASSWORD,
  DEFAULT_SIM_TERMINAL_ID,
  WRONG_PASSWORD_APRC,
  BUSY_APRC,
  LOGGED_OFF_CONFIG,
  type ZvtSimulatorOptions,
} from './terminal.js';

/** How long a serial endpoint stays silent after the simulator dropped its "connection". */
const LINE_BACK_MS = 300;

export interface StartZvtSimulatorOptions extends ZvtSimulatorOptions {
  tcp?: { port?: number; host?: string };
  /** A serial device to serve (9600 8N2 unless `baudRate`). */
  serialPath?: string;
  baudRate?: number;
  stream?: Duplex;
  pty?: boolean;
  /** Serial link timers (T1, T2, repeats). */
  serialTimers?: Partial<SerialLinkTimers>;
  /** The control API (default port 0 on 127.0.0.1); false for none. */
  control?: { port?: number; host?: string } | false;
  /** With no `logger`: pino JSON to stderr at this level (card data masked); default: no logs. */
  logLevel?: string;
}

export interface ZvtSimulatorHandle {
  simulator: ZvtTerminalSimulator;
  /** TCP port, with `tcp`. */
  port: number | undefined;
  /** The serial path a client opens: `serialPath`, or the pseudo-terminal slave with `pty`. */
  serialPath: string | undefined;
  controlPort: number | undefined;
  /** Every transaction so far (a copy). */
  readonly ledger: ZvtTxn[];
  behaviour(): ZvtBehaviour;
  setBehaviour(b: Partial<ZvtBehaviour>): ZvtBehaviour;
  /** Close the ECR connection now. */
  drop(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startZvtSimulator(options: StartZvtSimulatorOptions = {}): Promise<ZvtSimulatorHandle> {
  const chosen = [options.tcp, options.serialPath, options.stream, options.pty].filter(
    (x) => x !== undefined && x !== false,
  ).length;
  if (chosen === 0) throw new Error('give at least one of tcp, serialPath, stream or pty');
  const logger: Logger | undefined =
    options.logger ??
    (options.logLevel
      ? pino({ ...cardLogOptions(), level: options.logLevel, base: { sim: 'zvt' } }, pino.destination(2))
      : undefined);
  const sim = new ZvtTerminalSimulator({ ...options, ...(logger ? { logger } : {}) });
  const cleanups: Array<() => Promise<void> | void> = [];
  let port: number | undefined;
  let serialPath: string | undefined;

  let closed = false;
  /** A serial line cannot hang up: after a dropped "connection" the terminal is back on the line soon. */
  const serveLine = async (t: Transport): Promise<void> => {
    const link = new SerialZvtLink(t, options.serialTimers ?? {});
    const attach = async (): Promise<void> => {
      await link.open();
      sim.attach(link, (b) => t.write(b));
    };
    link.on('close', () => {
      if (!closed) setTimeout(() => void attach().catch(() => undefined), LINE_BACK_MS).unref();
    });
    await attach();
    cleanups.push(() => link.close());
  };

  if (options.tcp) {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const t = new StreamTransport(socket, {
        description: `tcp:${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
        destroyOnClose: true,
      });
      const link = new TcpZvtLink(t, 'pt');
      void link.open().then(() => sim.attach(link, (b) => t.write(b)));
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
  }
  if (options.serialPath) {
    await serveLine(
      serialTransport({ path: options.serialPath, baudRate: options.baudRate ?? 9600, unplugPollMs: 0 }),
    );
    serialPath = options.serialPath;
  }
  if (options.stream) await serveLine(new StreamTransport(options.stream, { description: 'stream' }));
  if (options.pty) {
    const pty = openPty();
    // node-pty reads the slave side itself: stop that, so every byte reaches the program that opens the path.
    pty.slave.pause();
    pty.slave.destroy();
    await serveLine(new StreamTransport(pty.master, { description: `pty:${pty.ptsName}` }));
    serialPath = pty.ptsName;
    cleanups.push(() => {
      pty.master.destroy();
    });
  }

  let control: ZvtControlApi | undefined;
  if (options.control !== false) {
    control = await startZvtControlApi(options.control?.port ?? 0, options.control?.host ?? '127.0.0.1', {
      sim,
      log: logger,
      ports: () => ({ zvt: port ?? null, serial: serialPath ?? null, control: control?.port ?? null }),
    });
  }

  return {
    simulator: sim,
    port,
    serialPath,
    controlPort: control?.port,
    get ledger() {
      return sim.transactions();
    },
    behaviour: () => sim.behaviour,
    setBehaviour: (b) => sim.setBehaviour(b),
    drop: () => sim.dropConnection(),
    reset: () => sim.reset(),
    async close() {
      if (closed) return;
      closed = true;
      await control?.close();
      await sim.close();
      for (const c of cleanups.reverse()) await c();
    },
  };
}

interface PtyLike {
  ptsName: string;
  master: Duplex;
  slave: Duplex;
}

/** A pseudo-terminal pair through @lydell/node-pty (a dev dependency: only for `pty`). */
function openPty(): PtyLike {
  const require = createRequire(import.meta.url);
  let mod: { open(options: { encoding: null }): PtyLike };
  try {
    mod = require('@lydell/node-pty') as typeof mod;
  } catch {
    throw new Error('--serial pty needs the @lydell/node-pty package (a dev dependency): npm install');
  }
  const t = mod.open({ encoding: null });
  return { ptsName: t.ptsName, master: t.master, slave: t.slave };
}
