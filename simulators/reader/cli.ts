/**
 * `posbridge-sim reader`: runs the card reader simulator until SIGTERM / SIGINT. Prints exactly one
 * line on stdout once everything listens: `{"ready":true,"tcp":<port>,"control":<port>}` (or
 * `"serial":"<path>"` instead of `"tcp"`); logs (pino JSON, card data masked) go to stderr.
 */
import {
  asUsageError,
  badValue,
  parseCommandArgs,
  printUsageError,
  UsageError,
} from '../../src/daemon/cli-args.js';
import { startReaderSimulator, type StartReaderSimulatorOptions } from './index.js';

export const READER_HELP = `posbridge-sim reader: the card reader simulator

Usage:
  posbridge-sim reader --tcp <port> [--host 127.0.0.1]    a networked reader (0 picks a free port)
  posbridge-sim reader --serial <path>                     a reader behind a serial device (e.g. one end
                                                           of a null-modem or socat pair)
  posbridge-sim reader --serial pty                        makes a pseudo-terminal; the daemon opens the
                                                           path printed in the ready line
Options:
  --profile <name>        reader profile in protocols/terminal (default posbridge; also posbridge-nus,
                          mpos-lenpfx) or a path to a profile file
  --control-port <port>   loopback HTTP+JSON control API (default 0; "none" disables it)
  --serial-number <sn>    default PBR-SIM-0001 (the daemon's pairedSerials must list it)
  --tmk <hex>             terminal master key (default the documented test TMK, as the host simulator's)
  --card <id>             card presented (default cup-debit-chip; GET /cards lists them)
  --cards <file>          card table (default simulators/cards.json)
  --baud <n>              serial speed (default: the profile's)
  --mtu <n>               largest write, to behave like a BLE link (e.g. 20)
  --no-printer            the reader has no printer
  --log-level <level>     pino level for the stderr log (default info)

Prints one ready line {"ready":true,"tcp":<port>,"control":<port>} (or "serial":"<path>") and runs
until SIGTERM or SIGINT. Behaviours are set through the control API: see docs/reader-protocol.md.
`;

function parsePort(v: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new Error(`${what} must be a port number 0..65535`);
  return Number(v);
}

export function readerOptionsFromArgs(argv: string[]): StartReaderSimulatorOptions | 'help' {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      tcp: { type: 'string' },
      host: { type: 'string' },
      serial: { type: 'string' },
      profile: { type: 'string' },
      'control-port': { type: 'string' },
      'serial-number': { type: 'string' },
      tmk: { type: 'string' },
      card: { type: 'string' },
      cards: { type: 'string' },
      baud: { type: 'string' },
      mtu: { type: 'string' },
      'no-printer': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if ((values.tcp === undefined) === (values.serial === undefined))
    throw new UsageError('give one of --tcp <port> or --serial <path|pty>');
  const o: StartReaderSimulatorOptions = { logLevel: values['log-level'] ?? 'info' };
  const mtu = values.mtu !== undefined ? Number(values.mtu) : undefined;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 1 || mtu > 65536))
    throw new Error('--mtu must be 1..65536');
  if (values.tcp !== undefined)
    o.tcp = {
      port: parsePort(values.tcp, '--tcp'),
      host: values.host ?? '127.0.0.1',
      ...(mtu ? { mtu } : {}),
    };
  else if (values.serial === 'pty') o.pty = true;
  else if (values.serial) {
    const baud = values.baud !== undefined ? Number(values.baud) : undefined;
    if (baud !== undefined && (!Number.isInteger(baud) || baud <= 0))
      throw new Error('--baud must be a positive integer');
    o.serial = { path: values.serial, ...(baud ? { baudRate: baud } : {}) };
  }
  if (mtu && !o.tcp) o.mtu = mtu;
  if (values.profile) o.profile = values.profile;
  const cp = values['control-port'];
  if (cp !== undefined) o.control = cp === 'none' ? false : { port: parsePort(cp, '--control-port') };
  if (values['serial-number']) o.serialNumber = values['serial-number'];
  if (values.tmk) {
    if (!/^([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}|[0-9A-Fa-f]{48})$/.test(values.tmk))
      throw new Error('--tmk must be 16, 32 or 48 hex digits');
    o.tmk = values.tmk;
  }
  if (values.card) o.behaviour = { card: values.card };
  if (values.cards) o.cardsFile = values.cards;
  if (values['no-printer']) o.printer = false;
  return o;
}

/** Runs until a signal; resolves with the exit code. */
export async function runReaderCli(argv: string[]): Promise<number> {
  let options: StartReaderSimulatorOptions | 'help';
  try {
    options = readerOptionsFromArgs(argv);
  } catch (err) {
    return printUsageError(
      'posbridge-sim reader',
      asUsageError(err) ?? badValue((err as Error).message),
      READER_HELP,
    );
  }
  if (options === 'help') {
    process.stdout.write(READER_HELP);
    return 0;
  }
  const sim = await startReaderSimulator(options);
  const ready: Record<string, unknown> = { ready: true };
  if (sim.port !== undefined) ready['tcp'] = sim.port;
  if (sim.serialPath !== undefined) ready['serial'] = sim.serialPath;
  ready['control'] = sim.controlPort ?? null;
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`posbridge-sim reader: ${signal}, stopping\n`);
      sim.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
