/**
 * `posbridge-sim zvt`: runs the ZVT terminal simulator until SIGTERM / SIGINT. Prints exactly one
 * line on stdout once everything listens: `{"ready":true,"zvt":<port>,"control":<port>}` (with
 * `"serial":"<path>"` for a serial endpoint); logs (pino JSON, card data masked) go to stderr.
 */
import { asUsageError, badValue, parseCommandArgs, printUsageError } from '../../src/daemon/cli-args.js';
import { parseZvtBehaviour } from './behaviour.js';
import { startZvtSimulator, type StartZvtSimulatorOptions } from './index.js';

export const ZVT_HELP = `posbridge-sim zvt: the ZVT payment terminal simulator (ECR interface, PA00P015/PA00P016)

Usage:
  posbridge-sim zvt [--tcp <port>] [--host 127.0.0.1]   ZVT over TCP/IP, bare APDUs (default port 0: a free
                                                         one; real terminals listen on 20007)
  posbridge-sim zvt --serial <path>                      ZVT over a serial device (DLE/STX framing, CRC, ACK/NAK)
  posbridge-sim zvt --serial pty                         makes a pseudo-terminal; the client opens the path
                                                         printed in the ready line
Options:
  --password <6 digits>   the terminal password (default 123456)
  --terminal-id <8 digits> default 52500001
  --control-port <port>   loopback HTTP+JSON control API (default 0; "none" disables it)
  --card <id>             card presented (default visa-chip; ids from simulators/cards.json)
  --cards <file>          card table (default simulators/cards.json)
  --behaviour <json>      initial behaviour, e.g. '{"signatureRequired":true}'
  --baud <n>              serial speed (default 9600)
  --log-level <level>     pino level for the stderr log (default info)

Prints one ready line {"ready":true,"zvt":<port>,"control":<port>} and runs until SIGTERM or SIGINT.
Behaviours (faults) are set through the control API: see docs/zvt.md.
`;

function parsePort(v: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new Error(`${what} must be a port number 0..65535`);
  return Number(v);
}

export function zvtOptionsFromArgs(argv: string[]): StartZvtSimulatorOptions | 'help' {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      tcp: { type: 'string' },
      host: { type: 'string' },
      serial: { type: 'string' },
      password: { type: 'string' },
      'terminal-id': { type: 'string' },
      'control-port': { type: 'string' },
      card: { type: 'string' },
      cards: { type: 'string' },
      behaviour: { type: 'string' },
      baud: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const o: StartZvtSimulatorOptions = { logLevel: values['log-level'] ?? 'info' };
  if (values.serial === undefined || values.tcp !== undefined)
    o.tcp = { port: parsePort(values.tcp ?? '0', '--tcp'), host: values.host ?? '127.0.0.1' };
  if (values.serial === 'pty') o.pty = true;
  else if (values.serial) o.serialPath = values.serial;
  if (values.baud !== undefined) {
    const baud = Number(values.baud);
    if (!Number.isInteger(baud) || baud <= 0) throw new Error('--baud must be a positive integer');
    o.baudRate = baud;
  }
  if (values.password !== undefined) {
    if (!/^[0-9]{6}$/.test(values.password)) throw new Error('--password must be 6 digits');
    o.password = values.password;
  }
  if (values['terminal-id'] !== undefined) {
    if (!/^[0-9]{8}$/.test(values['terminal-id'])) throw new Error('--terminal-id must be 8 digits');
    o.terminalId = values['terminal-id'];
  }
  const cp = values['control-port'];
  if (cp !== undefined) o.control = cp === 'none' ? false : { port: parsePort(cp, '--control-port') };
  let behaviour: Record<string, unknown> = {};
  if (values.behaviour !== undefined) {
    try {
      behaviour = JSON.parse(values.behaviour) as Record<string, unknown>;
    } catch {
      throw new Error('--behaviour must be a JSON object');
    }
  }
  if (values.card) behaviour = { ...behaviour, card: values.card };
  if (Object.keys(behaviour).length) o.behaviour = parseZvtBehaviour(behaviour);
  if (values.cards) o.cardsFile = values.cards;
  return o;
}

/** Runs until a signal; resolves with the exit code. */
export async function runZvtCli(argv: string[]): Promise<number> {
  let options: StartZvtSimulatorOptions | 'help';
  try {
    options = zvtOptionsFromArgs(argv);
  } catch (err) {
    return printUsageError(
      'posbridge-sim zvt',
      asUsageError(err) ?? badValue((err as Error).message),
      ZVT_HELP,
    );
  }
  if (options === 'help') {
    process.stdout.write(ZVT_HELP);
    return 0;
  }
  const sim = await startZvtSimulator(options);
  const ready: Record<string, unknown> = { ready: true, zvt: sim.port ?? null };
  if (sim.serialPath !== undefined) ready['serial'] = sim.serialPath;
  ready['control'] = sim.controlPort ?? null;
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`posbridge-sim zvt: ${signal}, stopping\n`);
      sim.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
