/**
 * `posbridge init`: writes a daemon configuration file. On a terminal it asks for each setting (the flags
 * and defaults are the answers offered); `--yes` asks nothing. The result is checked against the
 * configuration's JSON Schema (and the loader's own rules) before anything is written; the file is written
 * 0600 (it can name key files and hold the ZVT password) through a temporary file and a rename, and an
 * existing file is overwritten only with `--force`.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { listDialects } from '../iso8583/index.js';
import { badValue, parseCommandArgs, processIo, UsageError, withUsage, type CommandIo } from './cli-args.js';
import { parseConfig } from './config.js';
import { CONFIG_SCHEMA } from './config-schema.js';
import { CliFailure, EXIT } from './failures.js';
import { usageOf } from './usage.js';

/** Where `init` writes by default (and where docs/operations.md's service examples read). */
export function defaultConfigPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'win32' && env['APPDATA']) return join(env['APPDATA'], 'posbridge', 'config.json');
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'posbridge', 'config.json');
}

export interface InitIo extends CommandIo {
  /** Answers (default stdin). */
  input?: NodeJS.ReadableStream;
  /** Where the questions go (default stderr: stdout carries only the result). */
  prompt?: NodeJS.WritableStream;
  /** Ask (default: stdin is a terminal). */
  interactive?: boolean;
}

const P = CONFIG_SCHEMA.properties;
const matches = (pattern: string) => (v: string) => new RegExp(pattern).test(v);

type Check = (value: string) => string | undefined;

const hostPort =
  (what: string, defaultPort?: number): Check =>
  (v) => {
    const m = /^(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(v);
    if (!m || (m[2] === undefined && defaultPort === undefined))
      return `${what} must be host:port, e.g. ${defaultPort === undefined ? '10.1.2.3:5000' : '192.168.1.50'}`;
    if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return 'the port must be 1-65535';
    return undefined;
  };

const splitHostPort = (v: string, defaultPort?: number): { host: string; port: number } => {
  const i = v.lastIndexOf(':');
  return i > 0 && !v.endsWith(']')
    ? { host: v.slice(0, i), port: Number(v.slice(i + 1)) }
    : { host: v, port: defaultPort! };
};

const list = (v: string): string[] =>
  v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

const CHECKS = {
  terminal: (v: string) => (['reader', 'zvt'].includes(v) ? undefined : 'reader or zvt'),
  terminalId: (v: string) =>
    matches(P.terminalId.pattern)(v)
      ? undefined
      : `the terminal id is 8 characters (field 41), got ${v.length}`,
  merchantId: (v: string) =>
    matches(P.merchantId.pattern)(v)
      ? undefined
      : `the merchant id is 15 characters (field 42), got ${v.length}`,
  merchantName: (v: string) => (v.length <= P.merchantName.maxLength ? undefined : 'at most 80 characters'),
  currency: (v: string) =>
    matches(P.currency.pattern)(v) ? undefined : 'the ISO 4217 numeric code, 3 digits (156 CNY, 978 EUR)',
  host: hostPort('the acquirer host'),
  dialect: (v: string) =>
    listDialects().includes(v) ? undefined : `one of ${listDialects().join(', ')} (posbridge dialects)`,
  reader: (v: string) => (['ble', 'serial', 'tcp'].includes(v) ? undefined : 'ble, serial or tcp'),
  readerPath: (v: string) => (v ? undefined : 'the serial device, e.g. /dev/ttyUSB0 or COM3'),
  readerAddress: hostPort('a networked reader'),
  namePrefix: () => undefined,
  pairedSerials: (v: string) =>
    list(v).length
      ? undefined
      : "at least one: the reader's serial number (on its label; posbridge readers scan)",
  zvt: (v: string) => (isSerialPath(v) ? undefined : hostPort('the ZVT terminal', 20007)(v)),
  zvtPassword: (v: string) =>
    matches(P.zvt.properties.password.pattern)(v) ? undefined : 'the terminal password is 6 digits',
  origins: (v: string) => {
    const bad = list(v).find((o) => !new RegExp(P.allowedOrigins.items.pattern).test(o));
    return bad ? `${bad} is not an origin: scheme and host only, e.g. https://crm.example.com` : undefined;
  },
  port: (v: string) =>
    /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? undefined : 'a port number 0-65535 (default 7583)',
  stateDir: () => undefined,
  keyStore: (v: string) =>
    v === 'os' || (/^file:/.test(v) && isAbsolute(v.slice(5)))
      ? undefined
      : 'os (the OS credential store) or file:<absolute path> (outside the state directory)',
} satisfies Record<string, Check>;

type Key = keyof typeof CHECKS;

function isSerialPath(v: string): boolean {
  return v.startsWith('/') || /^COM\d+$/i.test(v);
}

/** Asks one question at a time; a line per answer (buffered, so piped answers are not lost). */
class Asker {
  private readonly lines: AsyncIterator<string>;
  private readonly rl: ReturnType<typeof createInterface>;
  constructor(
    input: NodeJS.ReadableStream,
    private readonly prompt: NodeJS.WritableStream,
  ) {
    this.rl = createInterface({ input, terminal: false });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  async ask(question: string, check: Check, fallback?: string): Promise<string> {
    for (let tries = 0; tries < 5; tries++) {
      this.prompt.write(`${question}${fallback !== undefined && fallback !== '' ? ` [${fallback}]` : ''}: `);
      const next = await this.lines.next();
      if (next.done) {
        this.prompt.write('\n');
        throw new CliFailure(EXIT.problem, 'no answer (end of input): nothing was written');
      }
      const answer = next.value.trim() || fallback || '';
      const problem = check(answer);
      if (!problem) return answer;
      this.prompt.write(`  ${problem}\n`);
    }
    throw new CliFailure(EXIT.problem, `no valid answer to "${question}": nothing was written`);
  }

  close(): void {
    this.rl.close();
  }
}

export async function initCommand(args: string[], io: InitIo = processIo): Promise<number> {
  return withUsage('posbridge init', usageOf('init'), () => init(args, io), io);
}

async function init(args: string[], io: InitIo): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      config: { type: 'string' },
      force: { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
      'terminal-id': { type: 'string' },
      'merchant-id': { type: 'string' },
      'merchant-name': { type: 'string' },
      currency: { type: 'string' },
      terminal: { type: 'string' },
      host: { type: 'string' },
      dialect: { type: 'string' },
      reader: { type: 'string' },
      'reader-path': { type: 'string' },
      'reader-address': { type: 'string' },
      'name-prefix': { type: 'string' },
      'paired-serial': { type: 'string', multiple: true },
      zvt: { type: 'string' },
      'zvt-serial': { type: 'string' },
      'zvt-password': { type: 'string' },
      origin: { type: 'string', multiple: true },
      port: { type: 'string' },
      'state-dir': { type: 'string' },
      // --home names the state directory in every other command: the same here.
      home: { type: 'string' },
      'key-store': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(usageOf('init'));
    return EXIT.ok;
  }
  const path = resolve(values.config ?? defaultConfigPath());
  if (existsSync(path) && !values.force)
    throw new CliFailure(
      EXIT.problem,
      `${path} exists: nothing was written (posbridge init --force overwrites it, or give another --config <file>)`,
    );
  const interactive = !values.yes && (io.interactive ?? process.stdin.isTTY === true);
  if (!values.yes && !interactive)
    throw new UsageError(
      'stdin is not a terminal: give --yes and the settings as flags (posbridge init --help)',
    );
  if (values.zvt !== undefined && values['zvt-serial'] !== undefined)
    throw new UsageError('give --zvt <host[:port]> or --zvt-serial <path>, not both');

  // The flags, as answers: offered as defaults when asking, taken as they are with --yes.
  const given: Partial<Record<Key, string>> = {
    terminal:
      values.terminal ?? (values.zvt !== undefined || values['zvt-serial'] !== undefined ? 'zvt' : undefined),
    terminalId: values['terminal-id'],
    merchantId: values['merchant-id'],
    merchantName: values['merchant-name'],
    currency: values.currency,
    host: values.host,
    dialect: values.dialect,
    reader: values.reader,
    readerPath: values['reader-path'],
    readerAddress: values['reader-address'],
    namePrefix: values['name-prefix'],
    pairedSerials: values['paired-serial']?.join(','),
    zvt: values.zvt ?? values['zvt-serial'],
    zvtPassword: values['zvt-password'],
    origins: values.origin?.join(','),
    port: values.port,
    stateDir: values['state-dir'] ?? values.home,
    keyStore: values['key-store'],
  };
  const defaults: Partial<Record<Key, string>> = {
    terminal: 'reader',
    currency: '156',
    dialect: 'cup-pos',
    reader: 'ble',
    namePrefix: 'PBR-',
    port: '7583',
    keyStore: 'os',
  };
  const flagOf: Record<Key, string> = {
    terminal: '--terminal reader|zvt',
    terminalId: '--terminal-id <8 characters>',
    merchantId: '--merchant-id <15 characters>',
    merchantName: '--merchant-name <text>',
    currency: '--currency <3 digits>',
    host: '--host <address:port>',
    dialect: '--dialect <name>',
    reader: '--reader ble|serial|tcp',
    readerPath: '--reader-path <device>',
    readerAddress: '--reader-address <host:port>',
    namePrefix: '--name-prefix <prefix>',
    pairedSerials: '--paired-serial <serial number>',
    zvt: '--zvt <host[:port]> or --zvt-serial <path>',
    zvtPassword: '--zvt-password <6 digits>',
    origins: '--origin <https://crm.example.com>',
    port: '--port <n>',
    stateDir: '--state-dir <dir>',
    keyStore: '--key-store os|file:<path>',
  };

  const asker = interactive ? new Asker(io.input ?? process.stdin, io.prompt ?? process.stderr) : undefined;
  /** With --yes: the required settings not given, all named in one line at the end. */
  const missing: string[] = [];
  /** One setting: asked (with the flag or default offered), or with --yes the flag or default as given. */
  const get = async (key: Key, question: string, required: boolean): Promise<string> => {
    const offered = given[key] ?? defaults[key];
    if (asker) {
      const check: Check = (v) =>
        v === '' ? (required ? 'an answer is needed' : undefined) : CHECKS[key](v);
      return asker.ask(question, check, offered);
    }
    if (offered === undefined || offered === '') {
      if (required) missing.push(flagOf[key]);
      return '';
    }
    const problem = CHECKS[key](offered);
    if (problem) throw badValue(`${flagOf[key].split(' ')[0]}: ${problem}`);
    return offered;
  };

  let raw: Record<string, unknown>;
  try {
    if (asker)
      io.err(
        `posbridge init: writes ${path}. Enter keeps the value in brackets; docs/configuration.md explains each setting.`,
      );
    const terminal = await get(
      'terminal',
      'Terminal: a card reader with the acquirer host (reader), or an integrated ZVT terminal (zvt)',
      true,
    );
    const terminalId = await get('terminalId', 'Terminal id (field 41, 8 characters)', true);
    const merchantId = await get('merchantId', 'Merchant id (field 42, 15 characters)', true);
    const merchantName = await get('merchantName', 'Merchant name (on receipts; optional)', false);
    const currency = await get('currency', 'Currency (ISO 4217 numeric)', true);
    raw = { terminalId, merchantId, ...(merchantName ? { merchantName } : {}), currency };
    if (terminal === 'reader') {
      const host = splitHostPort(await get('host', 'Acquirer host (address:port)', true));
      const dialect = await get('dialect', `ISO 8583 dialect (${listDialects().join(', ')})`, true);
      raw['host'] = { address: host.host, port: host.port, dialect };
      const transport = await get('reader', 'Card reader connection (ble, serial or tcp)', true);
      const reader: Record<string, unknown> = { transport };
      if (transport === 'serial')
        reader['path'] = await get('readerPath', 'Serial device (posbridge readers ports lists them)', true);
      else if (transport === 'tcp') {
        const a = splitHostPort(await get('readerAddress', 'Reader address (host:port)', true));
        Object.assign(reader, { host: a.host, port: a.port });
      } else reader['namePrefix'] = await get('namePrefix', 'Bluetooth name prefix of the readers', true);
      reader['pairedSerials'] = list(
        await get('pairedSerials', "Reader serial number(s), comma separated (on the reader's label)", true),
      );
      raw['readers'] = [reader];
    } else {
      const where = await get(
        'zvt',
        'ZVT terminal: host[:port] over TCP (port 20007), or a serial device path',
        true,
      );
      const password = await get('zvtPassword', 'ZVT terminal password (6 digits)', true);
      raw['zvt'] = isSerialPath(where)
        ? { serial: { path: where }, password }
        : (() => {
            const a = splitHostPort(where, 20007);
            return { tcp: { host: a.host, port: a.port }, password };
          })();
    }
    const origins = list(
      await get('origins', 'CRM page origins allowed to connect, comma separated (optional)', false),
    );
    const port = Number(await get('port', 'WebSocket port on 127.0.0.1', true));
    const stateDir = await get('stateDir', 'State directory (empty: ~/.posbridge)', false);
    const keyStore = await get(
      'keyStore',
      'Key-encrypting key: os (the OS credential store) or file:<path>',
      true,
    );
    raw = {
      ...raw,
      allowedOrigins: origins,
      ...(port !== 7583 ? { port } : {}),
      ...(stateDir ? { stateDir: resolve(stateDir) } : {}),
      keyStore: keyStore === 'os' ? { kind: 'os' } : { kind: 'file', path: resolve(keyStore.slice(5)) },
    };
  } finally {
    asker?.close();
  }
  if (missing.length) throw new UsageError(`--yes needs ${missing.join(', ')}`);

  // The schema and the loader's own rules, exactly as `posbridge start` will apply them (exit 4 if not).
  parseConfig(raw, path, {});
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw e;
  }
  io.out(
    `wrote ${path} (mode 600). Next: posbridge doctor --config ${path}, then posbridge start --config ${path}`,
  );
  return EXIT.ok;
}
