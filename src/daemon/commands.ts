/**
 * The `posbridge` commands (cli.ts is the executable: it runs `runCli` and exits with its code, or
 * prints the one-line failure). Exit codes: failures.ts and docs/operations.md.
 */
import { parseArgs } from 'node:util';
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../card/index.js';
import { defaultStateDir, loadConfigFile, type DaemonConfig } from './config.js';
import { createDaemon, type Daemon } from './daemon.js';
import { decodeHex, dialectNames } from './decode-command.js';
import { doctor } from './doctor.js';
import { exportCsv, listOperations, openReadOnly, showOperation } from './journal-command.js';
import { RotatingLogFile, TeeDestination } from './log-file.js';
import { pairCommand, tokensCommand } from './pair-command.js';
import { keysCommand } from './keys-command.js';
import { readersCommand, reconcileCommand, settleCommand } from './ops-commands.js';
import { adminCall, removeDaemonFile, runningDaemon, writeDaemonFile } from './running.js';
import { CliFailure, describeFailure, EXIT, parsePortOption } from './failures.js';
import { recoveryLine, stopOnSignal, watchSignals } from './lifecycle.js';
import { ensureUsableStateDir, readToken } from './state-dir.js';

const HELP = `posbridge: local POS terminal bridge

Usage:
  posbridge start --config <file> [--home <dir>] [--port <n>]
                                      Run the daemon (--home/POSBRIDGE_HOME, --port/POSBRIDGE_PORT override the file).
  posbridge token                     Print the API token (for scripts and QA).
  posbridge pair                      Show a one-time code that pairs a CRM page (through the running daemon).
  posbridge tokens [revoke <id>]      List the paired pages' tokens, or revoke one (closes its sessions).
  posbridge doctor --config <file>    Check the machine: state directory, keys, journal, disk, host, reader, ZVT terminal.
  posbridge journal list [--state S] [--limit N]   Recent operations (masked card data only).
  posbridge journal show <id>         One operation with its host attempts, events and store-and-forward.
  posbridge journal export            Every operation as CSV on stdout.
  posbridge recover                   Run start-up recovery now (through the running daemon).
  posbridge settle [--operator <id>]  Close the current batch (through the running daemon).
  posbridge reconcile --file <csv>    Compare the journal with a host settlement file (docs/reconciliation.md).
  posbridge keys status | rewrap --to os|file:<path>   Where the key-encrypting key is; move the key files to another.
  posbridge readers scan | ports      Bluetooth LE readers in range (or why not); serial ports present.
  posbridge decode <hex> [--dialect cup-pos] [--length-header ...] [--no-tpdu] [--header <hex>|--no-header]
                                      Decode an ISO 8583 frame and describe it, card data masked.
  posbridge dialects                  List the ISO 8583 dialects in protocols/iso8583.
  posbridge <command> --help          Help for one command.

The state directory, for every command (start included): --home <dir>, else POSBRIDGE_HOME, else the
configuration's stateDir (start, doctor --config), else ~/.posbridge. The demo (posbridge-sim demo)
follows the same rule with ~/.posbridge-demo as its default.

Exit codes: 0 success (a clean stop); 1 the command ran and found a problem (rejected input, a failed
check, an unknown id), or a stop forced by a second signal; 2 usage error; 3 the daemon is not running
(for commands that need it); 4 invalid configuration; 5 the state directory cannot be used (in use by
another process, permission denied, not a directory); 6 the port cannot be listened on (in use).
`;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

function homeOf(values: { home?: string | undefined }): string {
  return values.home ?? defaultStateDir();
}

/** Human lines of `start` go to stderr: stdout carries only the JSON ready line. */
function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      home: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.config) {
    out(
      'usage: posbridge start --config <file> [--home <dir>] [--port <n>]\n' +
        'Runs until SIGTERM or SIGINT (a second one stops at once); prints {"ready":true,"ws":<port>} when listening.\n' +
        "State directory: --home, else POSBRIDGE_HOME, else the file's stateDir, else ~/.posbridge. Port: --port, else POSBRIDGE_PORT, else the file.\n" +
        'Logs: <state>/logs/posbridge.log (rotated), and pretty on a terminal. Exit codes: posbridge --help.',
    );
    if (values.help) return EXIT.ok;
    throw new CliFailure(
      EXIT.usage,
      'start needs --config <file>: give the configuration file (see docs/operations.md)',
    );
  }
  const portOverride = values.port !== undefined ? parsePortOption(values.port, '--port') : undefined;
  let config: DaemonConfig = loadConfigFile(values.config, {
    ...process.env,
    ...(values.home !== undefined ? { POSBRIDGE_HOME: values.home } : {}),
  });
  if (portOverride !== undefined) config = { ...config, port: portOverride };
  const stateDir = config.stateDir;
  ensureUsableStateDir(stateDir);
  // Counted from here: a signal during start-up stops the daemon as soon as it is up.
  const signals = watchSignals();
  let file: RotatingLogFile | undefined;
  let logger: pino.Logger | undefined;
  let daemon: Daemon;
  let port: number;
  try {
    file = new RotatingLogFile(`${stateDir}/logs`);
    logger = pino(
      {
        ...(cardLogOptions() as unknown as LoggerOptions),
        level: config.logLevel,
        base: { name: 'posbridge' },
      },
      new TeeDestination(file, process.stderr.isTTY ? process.stderr : undefined),
    );
    daemon = await createDaemon({ config, logger });
    ({ port } = await daemon.start());
  } catch (e) {
    signals.dispose();
    const f = describeFailure(e, { stateDir, port: config.port });
    // Into the log too, unless the directory is another process's (locked) or not ours to write.
    if (f.exitCode !== EXIT.stateDir) logger?.fatal({ err: e }, `cannot start: ${f.message}`);
    file?.end();
    if (f.exitCode === EXIT.problem && !(e instanceof CliFailure))
      throw new CliFailure(
        EXIT.problem,
        `cannot start: ${f.message}: see ${stateDir}/logs/posbridge.log, and report it if the cause is unclear`,
      );
    throw f;
  }
  writeDaemonFile(stateDir, { pid: process.pid, port });
  out(JSON.stringify({ ready: true, ws: port, stateDir }));
  say(
    `posbridge ready on 127.0.0.1:${port}; state directory ${stateDir} ` +
      `(other commands: POSBRIDGE_HOME=${shellQuote(stateDir)} posbridge token, or --home ${shellQuote(stateDir)})`,
  );
  let stopping = false;
  void daemon.recovered().then((r) => {
    if (!stopping) say(recoveryLine(r));
  });
  void signals.first.then(() => (stopping = true));
  const code = await stopOnSignal(signals, {
    inFlight: () => daemon.engine.inFlight(),
    stop: async () => {
      await daemon.stop();
      removeDaemonFile(stateDir);
    },
    say,
    logger,
  });
  // After a forced stop the daemon file would point at a process about to exit.
  removeDaemonFile(stateDir);
  file.end();
  return code;
}

/** Quotes a path for a POSIX shell when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./~-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Runs one `posbridge` command; resolves with its exit code, rejects with a failure for describeFailure. */
export async function runCli(argv: string[]): Promise<number> {
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
        process.stderr.write(
          `no token in ${homeOf(values)}: start the daemon once to create it, or point POSBRIDGE_HOME (or --home) at the state directory the daemon or the demo printed at start\n`,
        );
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
          'usage: posbridge doctor [--config <file> | --home <dir>] [--json]\nEach check passes, warns or fails with the fix. Exit 1 when any check fails. Without --config the host is not checked.\nA ZVT terminal (zvt in the configuration): connection, registration, status enquiry and diagnosis, over the\nrunning daemon’s connection when one runs (a terminal serves one cash register), else doctor connects itself.',
        );
        return EXIT.ok;
      }
      const config: Parameters<typeof doctor>[0] = values.config
        ? loadConfigFile(values.config, {
            ...process.env,
            ...(values.home !== undefined ? { POSBRIDGE_HOME: values.home } : {}),
          })
        : { stateDir: homeOf(values), readers: [] };
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
    case 'keys':
      return keysCommand(rest, homeOf);
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
