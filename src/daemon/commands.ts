/**
 * The `posbridge` commands (cli.ts is the executable: it runs `runCli` and exits with its code, or
 * prints the one-line failure). Exit codes: failures.ts and docs/operations.md.
 */
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../card/index.js';
import { defaultStateDir, loadConfigFile, type DaemonConfig } from './config.js';
import { createDaemon, type Daemon } from './daemon.js';
import { badValue, closest, parseCommandArgs, UsageError, wantsHelp, withUsage } from './cli-args.js';
import { decodeHex, dialectNames, LENGTH_HEADERS } from './decode-command.js';
import { doctor } from './doctor.js';
import { initCommand } from './init-command.js';
import { exportCsv, listOperations, openReadOnly, showOperation } from './journal-command.js';
import { RotatingLogFile, TeeDestination } from './log-file.js';
import { pairCommand, tokensCommand } from './pair-command.js';
import { paramsCommand } from './params-command.js';
import { keysCommand } from './keys-command.js';
import { hubCommand, hubEnrolCommand } from './hub-command.js';
import { readersCommand, reconcileCommand, settleCommand } from './ops-commands.js';
import { adminCall, removeDaemonFile, runningDaemon, writeDaemonFile } from './running.js';
import { CliFailure, describeFailure, EXIT, parsePortOption } from './failures.js';
import { recoveryLine, stopOnSignal, watchSignals } from './lifecycle.js';
import { ensureUsableStateDir, readToken } from './state-dir.js';
import { HELP, helpFor, USAGE, usageOf } from './usage.js';

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
  const { values } = parseCommandArgs({
    args,
    options: {
      config: { type: 'string' },
      home: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(usageOf('start'));
    return EXIT.ok;
  }
  if (!values.config)
    throw new UsageError(
      'needs --config <file>: the configuration file (posbridge init writes one; docs/configuration.md)',
    );
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
    // `posbridge help <command>` is `posbridge <command> --help`.
    const asked = command === 'help' && rest[0] !== undefined ? helpFor(rest[0], rest.slice(1)) : undefined;
    process.stdout.write(asked !== undefined ? `${asked}\n` : HELP);
    if (command === 'help' && rest[0] !== undefined && asked === undefined) {
      process.stderr.write(`posbridge: unknown command ${JSON.stringify(rest[0])}${suggestion(rest[0])}\n`);
      return EXIT.usage;
    }
    if (command) return EXIT.ok;
    process.stderr.write('posbridge: give a command: posbridge --help lists them\n');
    return EXIT.usage;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(
      `posbridge: unknown command ${JSON.stringify(command)}${suggestion(command)}: posbridge --help lists them\n`,
    );
    process.stdout.write(HELP);
    return EXIT.usage;
  }
  // `--help` anywhere (before `--`) prints the command's (or subcommand's) own usage and runs nothing.
  if (wantsHelp(rest)) {
    out(helpFor(command, rest) ?? HELP);
    return EXIT.ok;
  }
  const sub = rest[0] !== undefined && USAGE[command]?.subcommands?.[rest[0]] ? rest[0] : undefined;
  return withUsage(
    `posbridge ${command}`,
    (sub !== undefined && helpFor(command, [sub])) || usageOf(command),
    () => run(rest),
  );
}

function suggestion(command: string): string {
  const near = closest(command, Object.keys(COMMANDS));
  return near ? ` (did you mean ${near}?)` : '';
}

async function tokenCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: { home: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    out(usageOf('token'));
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

async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      config: { type: 'string' },
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(usageOf('doctor'));
    return EXIT.ok;
  }
  const config: Parameters<typeof doctor>[0] = values.config
    ? {
        ...loadConfigFile(values.config, {
          ...process.env,
          ...(values.home !== undefined ? { POSBRIDGE_HOME: values.home } : {}),
        }),
        source: 'config',
      }
    : { stateDir: homeOf(values), readers: [], source: 'state-dir' };
  const checks = await doctor(config);
  if (values.json) out(JSON.stringify(checks, null, 2));
  else
    for (const c of checks)
      out(
        `${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail}${c.fix && c.status !== 'pass' ? `\n      fix: ${c.fix}` : ''}`,
      );
  return checks.some((c) => c.status === 'fail') ? EXIT.problem : EXIT.ok;
}

const JOURNAL_SUBCOMMANDS = ['list', 'show', 'export'];

async function journalCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...more] = positionals;
  if (values.help) {
    out(helpFor('journal', positionals) ?? usageOf('journal'));
    return EXIT.ok;
  }
  if (sub === undefined) throw new UsageError('give a subcommand: list, show <id> or export');
  if (!JOURNAL_SUBCOMMANDS.includes(sub))
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: list, show <id> or export`);
  if (sub === 'show' && more.length !== 1)
    throw new UsageError(
      more.length ? 'show takes one operation id' : 'show needs the operation id (journal list shows them)',
    );
  if (sub !== 'show' && more.length) throw new UsageError(`unexpected argument ${JSON.stringify(more[0])}`);
  if (sub !== 'list' && (values.state !== undefined || values.limit !== undefined))
    throw new UsageError(`--state and --limit are for journal list, not journal ${sub}`);
  if (values.limit !== undefined && !/^[1-9]\d{0,6}$/.test(values.limit))
    throw badValue(`--limit must be a positive number, got ${JSON.stringify(values.limit)}`);
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
      const op = showOperation(db, more[0]!);
      if (!op) {
        process.stderr.write(
          `no operation ${more[0]!} in this journal: posbridge journal list shows the recent ones\n`,
        );
        return EXIT.problem;
      }
      out(JSON.stringify(op, null, 2));
    }
  } finally {
    db.close();
  }
  return EXIT.ok;
}

async function recoverCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: { home: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    out(usageOf('recover'));
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

async function dialectsCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    out(usageOf('dialects'));
    return EXIT.ok;
  }
  out(dialectNames().join('\n'));
  return EXIT.ok;
}

async function decodeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      dialect: { type: 'string', default: 'cup-pos' },
      'length-header': { type: 'string' },
      'no-tpdu': { type: 'boolean', default: false },
      header: { type: 'string' },
      'no-header': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(usageOf('decode'));
    return EXIT.ok;
  }
  if (!positionals.length)
    throw new UsageError(
      'needs the frame as hex: posbridge decode <hex> (e.g. "$(posbridge-sim sample --hex)")',
    );
  // Hex given in pieces (`decode 60 00 03 ...` without quotes) is one frame.
  if (positionals.length > 1 && !positionals.every((p) => /^[0-9A-Fa-f]+$/.test(p)))
    throw new UsageError(`takes one frame; unexpected argument ${JSON.stringify(positionals[1])}`);
  const lh = values['length-header'];
  if (lh !== undefined && !(LENGTH_HEADERS as readonly string[]).includes(lh))
    throw badValue(`--length-header must be one of ${LENGTH_HEADERS.join(', ')}, got ${JSON.stringify(lh)}`);
  if (values.header !== undefined && values['no-header'])
    throw new UsageError('give --header <hex> or --no-header, not both');
  if (values.header !== undefined && !/^([0-9A-Fa-f]{2})*$/.test(values.header))
    throw badValue(`--header must be hex bytes, got ${JSON.stringify(values.header)}`);
  const result = decodeHex(positionals.join(''), {
    dialect: values.dialect,
    ...(lh !== undefined ? { lengthHeader: lh as (typeof LENGTH_HEADERS)[number] } : {}),
    ...(values['no-tpdu'] ? { tpdu: null } : {}),
    ...(values['no-header'] ? { header: null } : values.header ? { header: values.header } : {}),
  });
  if (result.ok) out(result.text);
  else process.stderr.write(`posbridge decode: ${result.text}\n`);
  return result.ok ? EXIT.ok : EXIT.problem;
}

/** Every command: its handler (usage and help: usage.ts). */
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  init: (args) => initCommand(args),
  start: startCommand,
  token: tokenCommand,
  doctor: doctorCommand,
  journal: journalCommand,
  pair: (args) => pairCommand(args),
  tokens: (args) => tokensCommand(args),
  recover: recoverCommand,
  keys: (args) => keysCommand(args, homeOf),
  settle: settleCommand,
  params: paramsCommand,
  reconcile: reconcileCommand,
  readers: readersCommand,
  hub: hubCommand,
  'hub-enrol': hubEnrolCommand,
  dialects: dialectsCommand,
  decode: decodeCommand,
};
