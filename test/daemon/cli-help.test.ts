/**
 * Every command and subcommand of `posbridge` and `posbridge-sim`: its own `--help` (its usage, exit 0,
 * nothing run), and usage errors (unknown option, missing argument, a bad value): exit 2, ONE line on
 * stderr naming the problem, the usage on stdout for an unknown option or a missing argument, never a
 * stack trace. In-process (runCli, runSimCli); the executables' wiring has its own spawned checks.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/daemon/commands.js';
import { closest, usageErrorFromParseArgs } from '../../src/daemon/cli-args.js';
import { EXIT } from '../../src/daemon/failures.js';
import { HELP, USAGE } from '../../src/daemon/usage.js';
import { runSimCli, SIM_COMMANDS, SIM_HELP } from '../../simulators/sim-cli.js';
import { runCli as spawnCli } from '../../simulators/processes.js';
import { inProcess, type Ran } from './cli-io.js';

const posbridge = (argv: string[]): Promise<Ran> => inProcess(runCli, argv);
const sim = (argv: string[]): Promise<Ran> => inProcess(runSimCli, argv, 'posbridge-sim');

const commands = Object.keys(USAGE);
const subcommands = commands.flatMap((c) =>
  Object.keys(USAGE[c]!.subcommands ?? {}).map((s) => [c, s] as const),
);
const empty = mkdtempSync(join(tmpdir(), 'pb-cli-help-'));

/** One line on stderr, starting with the program and command, without a stack trace. */
function oneLine(r: Ran, prefix: string): string {
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]!.startsWith(`${prefix}: `) || lines[0]!.startsWith(`${prefix} `), lines[0]).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|ERR_PARSE_ARGS/);
  return lines[0]!;
}

describe('posbridge --help', () => {
  it('the global help lists every command; no command is a usage error (exit 2), --help is not', async () => {
    for (const c of commands) expect(HELP, c).toContain(`posbridge ${c}`);
    const help = await posbridge(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe(HELP);
    expect((await posbridge(['-h'])).code).toBe(0);
    const none = await posbridge([]);
    expect(none).toMatchObject({ code: EXIT.usage, stdout: HELP });
    expect(oneLine(none, 'posbridge')).toBe('posbridge: give a command: posbridge --help lists them');
    // `posbridge help decode` is `posbridge decode --help`.
    expect((await posbridge(['help', 'decode'])).stdout).toMatch(/^usage: posbridge decode <hex>/);
  });

  it.each(commands)('posbridge %s --help prints its own usage and runs nothing (exit 0)', async (c) => {
    for (const flag of ['--help', '-h']) {
      const r = await posbridge([c, flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith(`usage: posbridge ${c}`), r.stdout).toBe(true);
      expect(r.stdout).not.toBe(HELP);
    }
  });

  it.each(subcommands)('posbridge %s %s --help prints the subcommand usage (exit 0)', async (c, s) => {
    const r = await posbridge([c, s, '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`usage: posbridge ${c} ${s}`), r.stdout).toBe(true);
    // With other arguments too: --help wins, nothing runs.
    expect((await posbridge([c, s, 'x', '--home', empty, '--help'])).code).toBe(0);
  });

  it('decode --help and dialects --help are their own, not the global help or the list', async () => {
    const decode = await posbridge(['decode', '--help']);
    expect(decode.stdout).toMatch(/^usage: posbridge decode <hex>/);
    expect(decode.stdout).toContain('--length-header');
    expect(decode.stdout).toContain('field 55 tag by tag');
    const dialects = await posbridge(['dialects', '--help']);
    expect(dialects.stdout).toMatch(/^usage: posbridge dialects/);
    expect(dialects.stdout).not.toContain('cup-pos-moonwa');
  });
});

describe('posbridge usage errors: exit 2, one line, then the usage', () => {
  it.each(commands)('posbridge %s --bogus-flag', async (c) => {
    const r = await posbridge([c, '--bogus-flag']);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    const line = oneLine(r, `posbridge ${c}`);
    // A command with subcommands may say the subcommand comes first.
    expect(line).toMatch(
      /unknown option --bogus-flag|give the subcommand first|unknown subcommand|give a subcommand/,
    );
    expect(r.stdout).toMatch(new RegExp(`usage: posbridge ${c}`));
  });

  it.each(subcommands)('posbridge %s %s --bogus-flag', async (c, s) => {
    const r = await posbridge([c, s, '--bogus-flag', '--home', empty]);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    expect(oneLine(r, `posbridge ${c}`)).toContain('unknown option --bogus-flag');
    expect(r.stdout).toContain(`usage: posbridge ${c}`);
  });

  it.each([
    [['start'], /needs --config <file>.*posbridge init/],
    [['decode'], /needs the frame as hex/],
    [['decode', 'AB', 'zz'], /takes one frame/],
    [['journal'], /give a subcommand: list, show <id> or export/],
    [['journal', 'show'], /show needs the operation id/],
    [['journal', 'list', 'extra'], /unexpected argument "extra"/],
    [['keys'], /give a subcommand: status or rewrap/],
    [['keys', 'rewrap'], /rewrap needs --to os or --to file:<path>/],
    [['readers'], /give a subcommand: scan or ports/],
    [['readers', 'bluetooth'], /unknown subcommand "bluetooth"/],
    [['tokens', 'revoke'], /revoke needs the token id/],
    [['reconcile'], /give what to compare the journal with: --file .* or --qr/],
    [['reconcile', '--qr', 'alipay'], /--qr needs --date/],
    [['hub'], /give a subcommand: serve, code or revoke/],
    [['hub', 'code'], /needs --store <store>/],
    [['hub', 'revoke'], /needs the daemon id/],
    [['hub-enrol'], /needs --hub <url> and --code <code>/],
    [['init', '--yes'], /--yes needs --terminal-id .*--merchant-id/],
    [['doctor', '--home'], /--home needs a value/],
  ])('missing argument: posbridge %j', async (argv, message) => {
    const r = await posbridge([
      ...argv,
      ...(argv[0] === 'init' ? ['--config', join(empty, 'new.json')] : []),
    ]);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    expect(oneLine(r, `posbridge ${argv[0]!}`)).toMatch(message);
    expect(r.stdout).toContain(`usage: posbridge ${argv[0]!}`);
  });

  it.each([
    [
      ['start', '--config', 'x.json', '--port', 'abc'],
      /--port must be a port number 0-65535, got "abc": .*e\.g\. --port 7583/,
    ],
    [['decode', 'AB', '--length-header', 'two'], /--length-header must be one of none, 2-byte-binary/],
    [['decode', 'AB', '--header', 'xyz'], /--header must be hex bytes/],
    [['reconcile', '--file', 'x.csv', '--format', 'xml'], /--format must be json, csv or text, got "xml"/],
    [['reconcile', '--qr', 'paypal', '--date', '2031-01-01'], /--qr must be alipay or wechat/],
    [['reconcile', '--qr', 'alipay', '--date', '1.1.2031'], /--date must be YYYY-MM-DD/],
    [['journal', 'list', '--limit', 'ten', '--home', empty], /--limit must be a positive number/],
    [['keys', 'rewrap', '--to', 'nowhere', '--home', empty], /--to must be os or file:<path>/],
    [['readers', 'scan', '--timeout-ms', 'soon'], /--timeout-ms must be a number of milliseconds/],
    [['hub-enrol', '--hub', 'hub.example', '--code', 'X'], /--hub must be the hub's http\(s\) URL/],
    [['doctor', '--json=yes'], /--json takes no value/],
  ])(
    'a value of the wrong form: posbridge %j, one line naming what fits, no usage',
    async (argv, message) => {
      const r = await posbridge(argv);
      expect(r.code, r.stderr).toBe(EXIT.usage);
      expect(oneLine(r, `posbridge ${argv[0]!}`)).toMatch(message);
      expect(r.stdout).toBe('');
    },
  );

  it('a typo gets a "did you mean", an unknown command too', async () => {
    const r = await posbridge(['decode', 'AB', '--dialcet', 'cup-pos']);
    expect(oneLine(r, 'posbridge decode')).toBe(
      'posbridge decode: unknown option --dialcet (did you mean --dialect?)',
    );
    const cmd = await posbridge(['doctr']);
    expect(cmd.code).toBe(EXIT.usage);
    expect(oneLine(cmd, 'posbridge')).toMatch(/unknown command "doctr" \(did you mean doctor\?\)/);
    expect(cmd.stdout).toBe(HELP);
    expect(closest('hom', ['home', 'json'])).toBe('home');
    expect(closest('xyz', ['home', 'json'])).toBeUndefined();
    expect(usageErrorFromParseArgs(new Error('plain'))).toBeUndefined();
  });

  it('--home is accepted wherever a state directory is used (readers too)', async () => {
    const ports = await posbridge(['readers', 'ports', '--home', empty]);
    expect(ports.code, ports.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(ports.stdout))).toBe(true);
  });

  it('commands that need the daemon exit 3 when none runs', async () => {
    for (const argv of [['pair'], ['recover'], ['settle']]) {
      const r = await posbridge([...argv, '--home', empty]);
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(EXIT.notRunning);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });
});

describe('posbridge-sim', () => {
  const simCommands = Object.keys(SIM_COMMANDS);

  it('--help lists every command', async () => {
    for (const c of simCommands) expect(SIM_HELP, c).toContain(`posbridge-sim ${c}`);
    expect(await sim(['--help'])).toMatchObject({ code: 0, stdout: SIM_HELP, stderr: '' });
    const none = await sim([]);
    expect(none).toMatchObject({ code: EXIT.usage, stdout: SIM_HELP });
    expect(oneLine(none, 'posbridge-sim')).toContain('give a command');
    const unknown = await sim(['hots']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(oneLine(unknown, 'posbridge-sim')).toMatch(/unknown command "hots" \(did you mean host\?\)/);
  });

  it.each(simCommands)(
    'posbridge-sim %s --help prints its own usage and runs nothing (exit 0)',
    async (c) => {
      const r = await sim([c, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^(usage: )?posbridge-sim ${c}\\b`));
      expect(r.stdout).toBe(SIM_COMMANDS[c]!.usage);
    },
  );

  it.each(simCommands)('posbridge-sim %s --bogus-flag: exit 2, one line, the usage', async (c) => {
    const r = await sim([c, '--bogus-flag']);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    expect(oneLine(r, `posbridge-sim ${c}`)).toContain('unknown option --bogus-flag');
    expect(r.stdout).toContain(`posbridge-sim ${c}`);
  });

  it.each([
    [['reader'], /give one of --tcp <port> or --serial/],
    [['engine'], /needs --dir <stateDir>/],
    [['engine', '--dir', empty], /needs a terminal/],
    [['laptop', '--home', empty], /needs --tid, --host-port, --hub/],
    [['run'], /needs scenario file/],
  ])('missing argument: posbridge-sim %j', async (argv, message) => {
    const r = await sim(argv);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    expect(oneLine(r, `posbridge-sim ${argv[0]!}`)).toMatch(message);
    expect(r.stdout).toContain(`posbridge-sim ${argv[0]!}`);
  });

  it.each([
    [['host', '--port', 'x'], /--port must be a port number/],
    [['zvt', '--password', '12'], /--password must be 6 digits/],
    [['qr', '--notify-url', 'ftp://x'], /--notify-url must be an http\(s\) URL/],
    [['fleet', '--laptops', '0'], /--laptops must be 1 to 200/],
    [['demo', '--log-level', 'loud'], /--log-level must be one of/],
  ])('a value of the wrong form: posbridge-sim %j', async (argv, message) => {
    const r = await sim(argv);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    expect(oneLine(r, `posbridge-sim ${argv[0]!}`)).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('sample --help prints help instead of running; --hex is the frame alone, on one line', async () => {
    const help = await sim(['sample', '--help']);
    expect(help.stdout).toMatch(/^usage: posbridge-sim sample \[--hex\]/);
    expect(help.stdout).not.toContain('MTI 0200');
    const hex = await sim(['sample', '--hex']);
    expect(hex.code).toBe(0);
    expect(hex.stdout).toMatch(/^[0-9A-F]+\n$/);
  });
});

// The sources as they are now (a build in dist/ may be older).
const posbridgeCli = (): string[] => ['--import', 'tsx', join(process.cwd(), 'src', 'daemon', 'cli.ts')];
const simCli = (): string[] => ['--import', 'tsx', join(process.cwd(), 'simulators', 'cli.ts')];

describe('the executables', () => {
  it('posbridge and posbridge-sim: --help exits 0, an unknown option exits 2 with one line (no stack trace)', async () => {
    const help = await spawnCli(posbridgeCli(), ['decode', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: posbridge decode/);
    const bad = await spawnCli(posbridgeCli(), ['journal', 'list', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('posbridge journal: unknown option --bogus\n');
    const simBad = await spawnCli(simCli(), ['sample', '--bogus']);
    expect(simBad.code).toBe(2);
    expect(simBad.stderr).toBe('posbridge-sim sample: unknown option --bogus\n');
    const simHelp = await spawnCli(simCli(), ['sample', '--help']);
    expect(simHelp.code).toBe(0);
    expect(simHelp.stdout).toMatch(/^usage: posbridge-sim sample/);
  });
});
