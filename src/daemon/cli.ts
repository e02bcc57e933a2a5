#!/usr/bin/env node
import { parseArgs } from 'node:util';
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../card/index.js';
import { ConfigError, defaultStateDir, loadConfigFile, type DaemonConfig } from './config.js';
import { createDaemon } from './daemon.js';
import { decodeHex, dialectNames } from './decode-command.js';
import { doctor } from './doctor.js';
import { exportCsv, listOperations, openReadOnly, showOperation } from './journal-command.js';
import { RotatingLogFile, TeeDestination } from './log-file.js';
import { pairCommand, tokensCommand } from './pair-command.js';
import { readersCommand, reconcileCommand, settleCommand } from './ops-commands.js';
import { adminCall, removeDaemonFile, runningDaemon, writeDaemonFile } from './running.js';
import { readToken } from './state-dir.js';

const HELP = `posbridge: local POS terminal bridge

Usage:
  posbridge start --config <file>     Run the daemon (POSBRIDGE_HOME, POSBRIDGE_PORT override the file).
  posbridge token                     Print the API token (for scripts and QA).
  posbridge pair                      Show a one-time code that pairs a CRM page (through the running daemon).
  posbridge tokens [revoke <id>]      List the paired pages' tokens, or revoke one (closes its sessions).
  posbridge doctor --config <file>    Check the machine: state directory, keys, journal, disk, host, reader.
  posbridge journal list [--state S] [--limit N]   Recent operations (masked card data only).
  posbridge journal show <id>         One operation with its host attempts, events and store-and-forward.
  posbridge journal export            Every operation as CSV on stdout.
  posbridge recover                   Run start-up recovery now (through the running daemon).
  posbridge settle [--operator <id>]  Close the current batch (through the running daemon).
  posbridge reconcile --file <csv>    Compare the journal with a host settlement file (docs/reconciliation.md).
  posbridge readers scan | ports      Bluetooth LE readers in range (or why not); serial ports present.
  posbridge decode <hex> [--dialect cup-pos] [--length-header ...] [--no-tpdu] [--header <hex>|--no-header]
                                      Decode an ISO 8583 frame and describe it, card data masked.
  posbridge dialects                  List the ISO 8583 dialects in protocols/iso8583.
  posbridge <command> --help          Help for one command.

Options for every command that reads the state directory: --home <dir> (default POSBRIDGE_HOME, else ~/.posbridge).

Exit codes: 0 success; 1 the command ran and found a problem (rejected input, a failed check, an
unknown id); 2 usage error; 3 the daemon is not running (for commands that need it); 4 invalid
configuration.
`;

const EXIT = { ok: 0, problem: 1, usage: 2, notRunning: 3, config: 4 } as const;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

function homeOf(values: { home?: string | undefined }): string {
  return values.home ?? defaultStateDir();
}

async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help || !values.config) {
    out(
      'usage: posbridge start --config <file>\nRuns until SIGTERM or SIGINT; prints {"ready":true,"ws":<port>} when listening. Logs: <state>/logs/posbridge.log (rotated), and pretty on a terminal.',
    );
    return values.help ? EXIT.ok : EXIT.usage;
  }
  let config: DaemonConfig;
  try {
    config = loadConfigFile(values.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT.config;
    }
    throw e;
  }
  const file = new RotatingLogFile(`${config.stateDir}/logs`);
  const logger = pino(
    {
      ...(cardLogOptions() as unknown as LoggerOptions),
      level: config.logLevel,
      base: { name: 'posbridge' },
    },
    new TeeDestination(file, process.stderr.isTTY ? process.stderr : undefined),
  );
  const daemon = await createDaemon({ config, logger });
  const { port } = await daemon.start();
  writeDaemonFile(config.stateDir, { pid: process.pid, port });
  out(JSON.stringify({ ready: true, ws: port, stateDir: config.stateDir }));
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('stopping: no new payments; finishing the ones in flight');
  await daemon.stop();
  removeDaemonFile(config.stateDir);
  file.end();
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command ? EXIT.ok : EXIT.usage;
  }
  switch (command) {
    case 'start':
      return startCommand(rest);
    case 'token': {
      const { values } = parseArgs({
        args: rest,
        options: { home: { type: 'string' }, help: { type: 'boolean', default: false } },
      });
      if (values.help) {
        out(
          'usage: posbridge token [--home <dir>]\nPrints the token scripts use in session.hello. CRM pages pair instead.',
        );
        return EXIT.ok;
      }
      const token = readToken(homeOf(values));
      if (!token) {
        process.stderr.write(`no token in ${homeOf(values)}: start the daemon once to create it\n`);
        return EXIT.problem;
      }
      out(token);
      return EXIT.ok;
    }
    case 'doctor': {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string' },
          home: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', default: false },
        },
      });
      if (values.help) {
        out(
          'usage: posbridge doctor [--config <file> | --home <dir>] [--json]\nEach check passes, warns or fails with the fix. Exit 1 when any check fails. Without --config the host is not checked.',
        );
        return EXIT.ok;
      }
      let config: Parameters<typeof doctor>[0];
      try {
        config = values.config ? loadConfigFile(values.config) : { stateDir: homeOf(values), readers: [] };
      } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return EXIT.config;
      }
      const checks = await doctor(config);
      if (values.json) out(JSON.stringify(checks, null, 2));
      else
        for (const c of checks)
          out(
            `${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail}${c.fix && c.status !== 'pass' ? `\n      fix: ${c.fix}` : ''}`,
          );
      return checks.some((c) => c.status === 'fail') ? EXIT.problem : EXIT.ok;
    }
    case 'journal': {
      const [sub, ...more] = rest;
      const { values, positionals } = parseArgs({
        args: more,
        allowPositionals: true,
        options: {
          home: { type: 'string' },
          state: { type: 'string' },
          limit: { type: 'string' },
          help: { type: 'boolean', default: false },
        },
      });
      if (values.help || !sub || !['list', 'show', 'export'].includes(sub)) {
        out('usage: posbridge journal list [--state S] [--limit N] | show <id> | export   [--home <dir>]');
        return values.help ? EXIT.ok : EXIT.usage;
      }
      const db = openReadOnly(homeOf(values));
      try {
        if (sub === 'list')
          out(
            JSON.stringify(
              listOperations(db, {
                ...(values.state ? { state: values.state } : {}),
                ...(values.limit ? { limit: Number(values.limit) } : {}),
              }),
              null,
              2,
            ),
          );
        else if (sub === 'export') process.stdout.write(exportCsv(db));
        else {
          const op = positionals[0] ? showOperation(db, positionals[0]) : undefined;
          if (!op) {
            process.stderr.write('no such operation\n');
            return EXIT.problem;
          }
          out(JSON.stringify(op, null, 2));
        }
      } finally {
        db.close();
      }
      return EXIT.ok;
    }
    case 'pair':
      return pairCommand(rest);
    case 'tokens':
      return tokensCommand(rest);
    case 'recover': {
      const { values } = parseArgs({
        args: rest,
        options: { home: { type: 'string' }, help: { type: 'boolean', default: false } },
      });
      if (values.help) {
        out(
          'usage: posbridge recover [--home <dir>]\nAsks the running daemon to run start-up recovery now (it also runs at every start).',
        );
        return EXIT.ok;
      }
      const d = runningDaemon(homeOf(values));
      if (!d) {
        process.stderr.write(
          'no daemon is running for this state directory; `posbridge start` runs recovery before taking payments\n',
        );
        return EXIT.notRunning;
      }
      const r = await adminCall(d, 'POST', '/admin/recover');
      out(JSON.stringify(r.json, null, 2));
      return r.status === 200 ? EXIT.ok : EXIT.problem;
    }
    case 'settle':
      return settleCommand(rest);
    case 'reconcile':
      return reconcileCommand(rest);
    case 'readers':
      return readersCommand(rest);
    case 'dialects':
      out(dialectNames().join('\n'));
      return EXIT.ok;
    case 'decode': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          dialect: { type: 'string', default: 'cup-pos' },
          'length-header': { type: 'string' },
          'no-tpdu': { type: 'boolean', default: false },
          header: { type: 'string' },
          'no-header': { type: 'boolean', default: false },
          help: { type: 'boolean', default: false },
        },
      });
      if (values.help || positionals.length !== 1) {
        process.stdout.write(HELP);
        return values.help ? EXIT.ok : EXIT.usage;
      }
      const lh = values['length-header'];
      if (lh !== undefined && !['none', '2-byte-binary', '2-byte-bcd', '4-byte-ascii'].includes(lh)) {
        process.stderr.write(`unknown --length-header ${lh}\n`);
        return EXIT.usage;
      }
      const result = decodeHex(positionals[0]!, {
        dialect: values.dialect,
        lengthHeader: lh as never,
        ...(values['no-tpdu'] ? { tpdu: null } : {}),
        ...(values['no-header'] ? { header: null } : values.header ? { header: values.header } : {}),
      });
      (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
      return result.ok ? EXIT.ok : EXIT.problem;
    }
    default:
      process.stderr.write(`unknown command ${command}\n${HELP}`);
      return EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`posbridge: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = EXIT.problem;
  },
);
