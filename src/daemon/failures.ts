/**
 * Exit codes and one-line failure messages shared by `posbridge` and `posbridge-sim demo`.
 *
 * A fatal error is reported as ONE line on stderr that names the cause and the fix, and the process
 * exits with the code of its class (docs/operations.md, "Exit codes"):
 *
 *   0 success (and a clean stop)
 *   1 the command ran and found a problem; an unexpected error; a forced stop (second signal)
 *   2 usage error (unknown option, `--port abc`)
 *   3 the daemon is not running (commands that need it)
 *   4 invalid configuration (the --config file, POSBRIDGE_PORT)
 *   5 the state directory cannot be used: in use by another process, permission denied, not a
 *     directory, read-only
 *   6 the port cannot be listened on (in use, or not allowed)
 */
import { JournalError, StateDirLock } from '../journal/index.js';
import { ConfigError } from './config.js';

export const EXIT = {
  ok: 0,
  problem: 1,
  usage: 2,
  notRunning: 3,
  config: 4,
  stateDir: 5,
  port: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: its message is the one line to print (without the program prefix). */
export class CliFailure extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** EACCES or EPERM: the file exists (or may), this user may not use it. */
export function isPermissionError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

export function permissionDeniedMessage(path: string, action: 'reading' | 'writing' = 'reading'): string {
  return `permission denied ${action} ${path}: run as the user that owns it or fix its mode`;
}

/** Thrown where a permission error used to look like a missing file (token, journal, daemon.json). */
export class StateAccessError extends CliFailure {
  readonly code = 'state_access';
  constructor(
    readonly path: string,
    readonly errno: string,
    action: 'reading' | 'writing' = 'reading',
  ) {
    super(EXIT.stateDir, permissionDeniedMessage(path, action));
    this.name = 'StateAccessError';
  }
}

/** Rethrows a permission error as a StateAccessError naming `path`; other errors unchanged. */
export function accessError(e: unknown, path: string, action: 'reading' | 'writing' = 'reading'): unknown {
  if (!isPermissionError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  return new StateAccessError(err.path ?? path, err.code!, action);
}

const WRITE_SYSCALLS = new Set(['mkdir', 'rmdir', 'unlink', 'rename', 'write', 'chmod', 'chown', 'link']);

const HOME_FIX = 'set POSBRIDGE_HOME (or --home) to a directory this user can write';

/**
 * The one line for a file-system error on the state directory (or a file in it), with its exit code;
 * undefined when `e` is not such an error.
 */
export function fileSystemFailure(
  e: unknown,
  fallbackPath?: string,
  action?: 'reading' | 'writing',
): CliFailure | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!err || typeof err.code !== 'string') return undefined;
  const path = err.path ?? fallbackPath ?? '(unknown path)';
  const act = action ?? (WRITE_SYSCALLS.has(err.syscall ?? '') ? 'writing' : 'reading');
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return new CliFailure(EXIT.stateDir, permissionDeniedMessage(path, act));
    case 'EROFS':
      return new CliFailure(EXIT.stateDir, `cannot write ${path}: read-only file system: ${HOME_FIX}`);
    case 'ENOTDIR':
      return new CliFailure(
        EXIT.stateDir,
        `cannot use ${path}: part of the path is a file, not a directory: ${HOME_FIX}`,
      );
    case 'EEXIST':
    case 'EISDIR':
      return new CliFailure(
        EXIT.stateDir,
        `cannot use ${path}: a file is in the way of the state directory: ${HOME_FIX}`,
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return new CliFailure(EXIT.stateDir, `no space left writing ${path}: free disk space and start again`);
    default:
      return undefined;
  }
}

export interface FailureContext {
  /** The state directory in use, when known. */
  stateDir?: string;
  /** The port asked for, when known. */
  port?: number;
  /** How this program is told another port (the demo has no configuration file). */
  portFix?: string;
}

const DEFAULT_PORT_FIX =
  'stop the program using it, or choose another port with --port <n> (or POSBRIDGE_PORT, or "port" in the configuration)';

/** Maps any start-up or command error to its exit code and one line naming the cause and the fix. */
export function describeFailure(e: unknown, ctx: FailureContext = {}): CliFailure {
  if (e instanceof CliFailure) return e;
  if (e instanceof ConfigError) return configFailure(e);
  if (e instanceof JournalError && e.code === 'state_dir_locked') {
    const dir = e.path ?? ctx.stateDir ?? 'the state directory';
    const owner = StateDirLock.owner(dir) ?? /process (\d+)/.exec(e.message)?.[1];
    return new CliFailure(
      EXIT.stateDir,
      `state directory ${dir} is in use by ${owner ? `process ${owner}` : 'another process'} (another posbridge or the demo): ` +
        'stop that process, or give this one its own state directory (POSBRIDGE_HOME or --home)',
    );
  }
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  // The key-encrypting key: its store unavailable, misplaced, or not the one that wrapped the keys.
  if (e instanceof Error && typeof err.code === 'string' && /^kek_/.test(err.code))
    return new CliFailure(
      err.code === 'kek_mismatch' || err.code === 'kek_required' ? EXIT.stateDir : EXIT.config,
      e.message,
    );
  if (err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
    return new CliFailure(EXIT.usage, `${err.message}: see --help`);
  }
  if (err?.syscall === 'listen' || err?.code === 'EADDRINUSE' || err?.code === 'EADDRNOTAVAIL') {
    const where = `${err.address ?? '127.0.0.1'}:${err.port ?? ctx.port ?? '?'}`;
    const fix = ctx.portFix ?? DEFAULT_PORT_FIX;
    if (err.code === 'EADDRINUSE')
      return new CliFailure(EXIT.port, `port ${where} is already in use (EADDRINUSE): ${fix}`);
    if (err.code === 'EACCES' || err.code === 'EPERM')
      return new CliFailure(EXIT.port, `not allowed to listen on ${where} (${err.code}): ${fix}`);
    return new CliFailure(EXIT.port, `cannot listen on ${where} (${err.code}): ${fix}`);
  }
  const fs = fileSystemFailure(e, ctx.stateDir);
  if (fs) return fs;
  const message = e instanceof Error ? e.message : String(e);
  return new CliFailure(EXIT.problem, message.split('\n')[0]!);
}

/** An invalid configuration, on one line: every problem with its path, then the fix. */
export function configFailure(e: ConfigError): CliFailure {
  const fileLevel = e.problems.length === 1 && e.problems[0]!.path === '';
  if (fileLevel)
    return new CliFailure(
      EXIT.config,
      `configuration ${e.source} ${e.problems[0]!.message}: give the path of a readable JSON configuration file (--config <file>)`,
    );
  const list = e.problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
  return new CliFailure(
    EXIT.config,
    `invalid configuration ${e.source} (${list}): fix ${e.problems.length === 1 ? 'this setting' : 'these settings'} and start again`,
  );
}

/** Parses a port option; a usage error when it is not 0-65535. */
export function parsePortOption(value: string, option: string, example = '7583'): number {
  const p = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(p) || p < 0 || p > 65535)
    throw new CliFailure(
      EXIT.usage,
      `${option} must be a port number 0-65535, got ${JSON.stringify(value)}: give a number, e.g. ${option} ${example} (0 picks a free port)`,
    );
  return p;
}

/**
 * Writes `line` to stderr, waits until stdout and stderr are flushed, then exits with `code`.
 * Exiting explicitly means a timer nobody needs any more (a background retry, a recovery still
 * waiting for a reader) cannot keep a stopped process alive.
 */
export function exitAfterFlush(code: number, line?: string): void {
  process.exitCode = code;
  const exit = (): void => process.exit(code);
  // Whatever happens to the streams, exit within a second.
  setTimeout(exit, 1000).unref();
  const flushErr = (): void => {
    if (line !== undefined) process.stderr.write(line.endsWith('\n') ? line : `${line}\n`, exit);
    else process.stderr.write('', exit);
  };
  process.stdout.write('', flushErr);
}
