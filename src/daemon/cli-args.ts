/**
 * Argument parsing and usage errors for the `posbridge` and `posbridge-sim` commands, one convention:
 *
 * - `<command> [<subcommand>] --help` (or `-h`) prints that command's own usage on stdout, exit 0;
 * - a usage error prints ONE line on stderr, `<program> <command>: <what is wrong>[: <hint>]`, exit 2;
 *   an unknown option or a missing argument also prints the command's usage on stdout (a value of the
 *   wrong form does not: its line names the values that fit);
 * - Node's parseArgs errors become such a line (never a stack trace), with a "did you mean" when an
 *   option is one typo away from a known one.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliFailure, EXIT } from './failures.js';

export type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * A usage error: its message is the one line (without the program prefix); exit 2. `usage: false` for a
 * value of the wrong form, whose line already says what fits (no usage printed after it).
 */
export class UsageError extends CliFailure {
  readonly showUsage: boolean;
  constructor(message: string, options: { usage?: boolean } = {}) {
    super(EXIT.usage, message);
    this.name = 'UsageError';
    this.showUsage = options.usage ?? true;
  }
}

/** A value of the wrong form: one line naming what fits, no usage after it. */
export const badValue = (message: string): UsageError => new UsageError(message, { usage: false });

/** Where a command writes: the process's streams, or a test's. Lines get their newline here. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

const line = (t: string): string => (t.endsWith('\n') ? t : `${t}\n`);

export const processIo: CommandIo = {
  out: (t) => process.stdout.write(line(t)),
  err: (t) => process.stderr.write(line(t)),
};

/** True when `--help` or `-h` comes before a `--` (after it, it would be an argument). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** The edit distance of two short strings (insert, delete, replace, swap two neighbours). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      // Two letters swapped counts as one typo.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The known name closest to `given` when it is a plausible typo of it (prefix, or 1-2 edits away). */
export function closest(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = k.startsWith(given) && given.length >= 2 ? 0.5 : distance(given, k);
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  return best !== undefined && bestD <= Math.min(2, Math.max(1, Math.floor(given.length / 3)))
    ? best
    : undefined;
}

/** Node's parseArgs error as a one-line usage error; undefined for any other error. */
export function usageErrorFromParseArgs(
  e: unknown,
  knownOptions: readonly string[] = [],
): UsageError | undefined {
  const err = e as { code?: unknown; message?: unknown } | null;
  if (!err || typeof err.code !== 'string' || !err.code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const msg = typeof err.message === 'string' ? err.message : '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /Unknown option '([^']+)'/.exec(msg)?.[1] ?? msg;
    const near = name.startsWith('--') ? closest(name.slice(2), knownOptions) : undefined;
    return new UsageError(`unknown option ${name}${near ? ` (did you mean --${near}?)` : ''}`);
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(msg);
    if (missing) return new UsageError(`${missing[1]} needs a value`);
    const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(msg);
    if (noValue) return badValue(`${noValue[1]} takes no value`);
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /Unexpected argument '([^']*)'/.exec(msg)?.[1];
    return new UsageError(`unexpected argument ${JSON.stringify(arg ?? msg)}`);
  }
  return new UsageError(msg.split('\n')[0]!.replace(/\.$/, ''));
}

/** `parseArgs` (strict) whose errors are one-line usage errors. */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): Parsed<T> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw usageErrorFromParseArgs(e, Object.keys(config.options ?? {})) ?? e;
  }
}

/** The usage error in `e` (a UsageError, a CliFailure with exit 2, a parseArgs error), if it is one. */
export function asUsageError(e: unknown): CliFailure | undefined {
  if (e instanceof CliFailure) return e.exitCode === EXIT.usage ? e : undefined;
  return usageErrorFromParseArgs(e);
}

/**
 * Prints a usage error the one way: one line on stderr, then (unknown option, missing argument) the
 * usage on stdout; returns 2.
 */
export function printUsageError(
  program: string,
  error: CliFailure | string,
  usage: string | undefined,
  io: CommandIo = processIo,
): number {
  const message = typeof error === 'string' ? error : error.message;
  io.err(`${program}: ${message}`);
  const show = typeof error === 'string' || (error instanceof UsageError && error.showUsage);
  if (show && usage !== undefined) io.out(usage);
  return EXIT.usage;
}

/**
 * Runs a command; a usage error it throws is printed (one line, then the usage) and becomes exit 2.
 * Every other error goes on to the caller (cli.ts prints it as one line with its exit code).
 */
export async function withUsage(
  program: string,
  usage: string,
  run: () => Promise<number> | number,
  io: CommandIo = processIo,
): Promise<number> {
  try {
    return await run();
  } catch (e) {
    const u = asUsageError(e);
    if (!u) throw e;
    return printUsageError(program, u, usage, io);
  }
}
