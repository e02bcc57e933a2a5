/**
 * `posbridge-sim host`: runs the acquirer host simulator until SIGTERM / SIGINT. Prints exactly one
 * line on stdout, `{"ready":true,"iso":<port>,"control":<port>}`, once both ports listen; logs (pino
 * JSON, card data masked) go to stderr.
 */
import { readFileSync } from 'node:fs';
import { asUsageError, badValue, parseCommandArgs, printUsageError } from '../../src/daemon/cli-args.js';
import { parseFaultRule, FaultError, type FaultRuleInput } from './faults.js';
import { DEFAULT_DUKPT_BDK, startHostSimulator, type HostSimulatorOptions } from './index.js';

export const HOST_HELP = `posbridge-sim host: the acquirer host simulator

Usage:
  posbridge-sim host [--dialect cup-pos] [--port 0] [--host 127.0.0.1] [--control-port 0]
                     [--ledger <file>] [--settlement-dir <dir>] [--master-key <hex>]
                     [--faults <file.json>] [--cards <file>] [--unknown-reversal 00|25]
                     [--terminal-params <file.json>] [--dukpt-bdk-tdes <32 hex>]
                     [--dukpt-bdk-aes <32 hex>] [--log-level info]

Prints one ready line {"ready":true,"iso":<port>,"control":<port>} on stdout and runs until SIGTERM or
SIGINT. Port 0 picks a free port. --control-port none disables the control API.
--dukpt-bdk-tdes / --dukpt-bdk-aes: the base derivation keys (16 bytes, 32 hex digits) the host derives a
DUKPT reader's PIN keys from (default the published test BDKs ${DEFAULT_DUKPT_BDK.tdes} and
${DEFAULT_DUKPT_BDK.aes}; never production keys).
See docs/host-simulator.md.
`;

/** A DUKPT BDK flag's value: 32 hex digits (a double-length TDES key or an AES-128 key). */
function parseBdk(v: string, flag: string): string {
  if (!/^[0-9A-Fa-f]{32}$/.test(v))
    throw badValue(
      `${flag} must be 32 hex digits (a 16-byte BDK), got ${v.length} character${v.length === 1 ? '' : 's'}${/^[0-9A-Fa-f]*$/.test(v) ? '' : ' with non-hex digits'}`,
    );
  return v.toUpperCase();
}

function parsePort(v: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new Error(`${what} must be a port number 0..65535`);
  return Number(v);
}

/** Parses the arguments into simulator options (throws with a message on bad input). */
export function hostOptionsFromArgs(argv: string[]): HostSimulatorOptions | 'help' {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      dialect: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'control-port': { type: 'string' },
      ledger: { type: 'string' },
      'settlement-dir': { type: 'string' },
      'master-key': { type: 'string' },
      faults: { type: 'string' },
      cards: { type: 'string' },
      'terminal-params': { type: 'string' },
      'unknown-reversal': { type: 'string' },
      'dukpt-bdk-tdes': { type: 'string' },
      'dukpt-bdk-aes': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const o: HostSimulatorOptions = { logLevel: values['log-level'] ?? 'info' };
  if (values.dialect) o.dialect = values.dialect;
  if (values.port !== undefined) o.port = parsePort(values.port, '--port');
  if (values.host) o.host = values.host;
  const cp = values['control-port'];
  if (cp !== undefined) o.controlPort = cp === 'none' ? null : parsePort(cp, '--control-port');
  if (values.ledger) o.ledgerFile = values.ledger;
  if (values['settlement-dir']) o.settlementDir = values['settlement-dir'];
  if (values['master-key']) o.masterKey = values['master-key'];
  if (values.cards) o.cardsFile = values.cards;
  if (values['terminal-params']) o.terminalParams = values['terminal-params'];
  const bdkTdes = values['dukpt-bdk-tdes'];
  const bdkAes = values['dukpt-bdk-aes'];
  if (bdkTdes !== undefined || bdkAes !== undefined)
    o.dukptBdk = {
      ...(bdkTdes !== undefined ? { tdes: parseBdk(bdkTdes, '--dukpt-bdk-tdes') } : {}),
      ...(bdkAes !== undefined ? { aes: parseBdk(bdkAes, '--dukpt-bdk-aes') } : {}),
    };
  const ur = values['unknown-reversal'];
  if (ur !== undefined) {
    if (!/^[0-9A-Z]{2}$/.test(ur))
      throw new Error('--unknown-reversal must be a two-character response code');
    o.unknownReversalCode = ur;
  }
  if (values.faults) {
    const raw: unknown = JSON.parse(readFileSync(values.faults, 'utf8'));
    const list = Array.isArray(raw) ? raw : [raw];
    o.faults = list.map((r, i): FaultRuleInput => parseFaultRule(r, Array.isArray(raw) ? `$[${i}]` : '$'));
  }
  return o;
}

/** Runs until a signal; resolves with the exit code. */
export async function runHostCli(argv: string[]): Promise<number> {
  let options: HostSimulatorOptions | 'help';
  try {
    options = hostOptionsFromArgs(argv);
  } catch (err) {
    const failure =
      err instanceof FaultError
        ? badValue(`--faults: ${err.message}`)
        : (asUsageError(err) ?? badValue((err as Error).message));
    return printUsageError('posbridge-sim host', failure, HOST_HELP);
  }
  if (options === 'help') {
    process.stdout.write(HOST_HELP);
    return 0;
  }
  const sim = await startHostSimulator(options);
  process.stdout.write(
    `${JSON.stringify({ ready: true, iso: sim.isoPort, control: sim.controlPort ?? null })}\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`posbridge-sim host: ${signal}, stopping\n`);
      sim.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
