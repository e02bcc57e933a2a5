/**
 * `posbridge init` and the shipped example configuration: the example and the JSON Schema file in docs/
 * are valid and current; init asks on a terminal, takes flags with --yes, checks before writing, writes
 * 0600, never overwrites without --force.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/daemon/config.js';
import { CONFIG_SCHEMA, configSchemaJson } from '../../src/daemon/config-schema.js';
import { EXIT } from '../../src/daemon/failures.js';
import { defaultConfigPath, initCommand } from '../../src/daemon/init-command.js';
import { runCli } from '../../src/daemon/commands.js';
import { inProcess } from './cli-io.js';

const root = process.cwd();
const dir = (): string => mkdtempSync(join(tmpdir(), 'pb-init-'));

describe('the example configuration and the schema file', () => {
  it('docs/config.example.json is valid against the schema and loads; every top-level setting is used', () => {
    const example = JSON.parse(readFileSync(join(root, 'docs/config.example.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(CONFIG_SCHEMA);
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    const config = loadConfigFile(join(root, 'docs/config.example.json'), {});
    expect(config).toMatchObject({ terminalId: 'POS00001', hostEnabled: true, keyStore: { kind: 'os' } });
    // The example shows every setting but the other kind of desk (zvt; documented in docs/configuration.md).
    const unused = Object.keys(CONFIG_SCHEMA.properties).filter((k) => !(k in example));
    expect(unused).toEqual(['zvt']);
  });

  it('docs/config.schema.json is the schema the loader uses (regenerate: see configSchemaJson)', () => {
    expect(readFileSync(join(root, 'docs/config.schema.json'), 'utf8')).toBe(configSchemaJson());
  });

  it('docs/configuration.md names every setting of the schema', () => {
    const doc = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
    for (const k of Object.keys(CONFIG_SCHEMA.properties)) expect(doc, k).toContain(`\`${k}`);
    for (const k of Object.keys(CONFIG_SCHEMA.properties.timers.properties))
      expect(doc, k).toContain(`timers.${k}`);
  });
});

const READER_FLAGS = [
  '--terminal-id',
  'POS00001',
  '--merchant-id',
  '898310048160001',
  '--host',
  '10.1.2.3:5000',
  '--paired-serial',
  'PBR-0001',
  '--paired-serial',
  'PBR-0002',
  '--origin',
  'https://crm.example.com',
];

describe('posbridge init --yes', () => {
  it('writes a valid configuration, mode 0600, that start would load', async () => {
    const file = join(dir(), 'nested', 'config.json');
    const r = await inProcess(runCli, ['init', '--yes', '--config', file, ...READER_FLAGS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${file} (mode 600)`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const c = loadConfigFile(file, {});
    expect(c).toMatchObject({
      terminalId: 'POS00001',
      merchantId: '898310048160001',
      currency: '156',
      port: 7583,
      host: { address: '10.1.2.3', port: 5000, dialect: 'cup-pos' },
      readers: [{ transport: 'ble', namePrefix: 'PBR-', pairedSerials: ['PBR-0001', 'PBR-0002'] }],
      allowedOrigins: ['https://crm.example.com'],
      keyStore: { kind: 'os' },
    });
  });

  it('a ZVT desk, a serial reader, a key file', async () => {
    const d = dir();
    const zvt = join(d, 'zvt.json');
    const args = ['--terminal-id', '52500001', '--merchant-id', '898310048160001'];
    expect(
      (
        await inProcess(runCli, [
          'init',
          '-y',
          '--config',
          zvt,
          ...args,
          '--zvt',
          '192.168.1.50',
          '--zvt-password',
          '123456',
        ])
      ).code,
    ).toBe(0);
    expect(loadConfigFile(zvt, {})).toMatchObject({
      hostEnabled: false,
      zvt: { tcp: { host: '192.168.1.50', port: 20007 }, password: '123456' },
    });
    const serial = join(d, 'serial.json');
    const r = await inProcess(runCli, [
      'init',
      '--yes',
      '--config',
      serial,
      ...READER_FLAGS,
      '--reader',
      'serial',
      '--reader-path',
      '/dev/ttyUSB0',
      '--key-store',
      'file:/etc/posbridge/kek',
      '--port',
      '7600',
      '--state-dir',
      '/srv/posbridge',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(loadConfigFile(serial, {})).toMatchObject({
      port: 7600,
      stateDir: '/srv/posbridge',
      readers: [{ transport: 'serial', path: '/dev/ttyUSB0' }],
      keyStore: { kind: 'file', path: '/etc/posbridge/kek' },
    });
  });

  it('refuses to overwrite without --force (exit 1, file untouched); --force overwrites', async () => {
    const file = join(dir(), 'config.json');
    writeFileSync(file, '{"mine": true}\n', { mode: 0o644 });
    const refused = await inProcess(runCli, ['init', '--yes', '--config', file, ...READER_FLAGS]);
    expect(refused.code).toBe(EXIT.problem);
    expect(refused.stderr).toMatch(/exists: nothing was written \(posbridge init --force overwrites it/);
    expect(readFileSync(file, 'utf8')).toBe('{"mine": true}\n');
    const forced = await inProcess(runCli, ['init', '--yes', '--force', '--config', file, ...READER_FLAGS]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(loadConfigFile(file, {}).terminalId).toBe('POS00001');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('missing settings are named in one line; a value of the wrong form names what fits; nothing is written', async () => {
    const file = join(dir(), 'config.json');
    const missing = await inProcess(runCli, ['init', '--yes', '--config', file, '--terminal-id', 'POS00001']);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toBe(
      'posbridge init: --yes needs --merchant-id <15 characters>, --host <address:port>, --paired-serial <serial number>\n',
    );
    const bad = await inProcess(runCli, [
      'init',
      '--yes',
      '--config',
      file,
      ...READER_FLAGS,
      '--terminal-id',
      'POS1',
    ]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toBe(
      'posbridge init: --terminal-id: the terminal id is 8 characters (field 41), got 4\n',
    );
    const badHost = await inProcess(runCli, [
      'init',
      '--yes',
      '--config',
      file,
      ...READER_FLAGS,
      '--host',
      'acquirer',
    ]);
    expect(badHost.stderr).toMatch(/--host: the acquirer host must be host:port/);
    const badOrigin = await inProcess(runCli, [
      'init',
      '--yes',
      '--config',
      file,
      ...READER_FLAGS,
      '--origin',
      'crm.example.com/',
    ]);
    expect(badOrigin.stderr).toMatch(/crm\.example\.com\/ is not an origin/);
    expect(() => statSync(file)).toThrow();
  });

  it('without a terminal and without --yes: a usage error, nothing asked', async () => {
    const file = join(dir(), 'config.json');
    const r = await inProcess(
      (argv) => initCommand(argv, { ...io(), interactive: false }),
      ['--config', file],
    );
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toBe(
      'posbridge init: stdin is not a terminal: give --yes and the settings as flags (posbridge init --help)\n',
    );
  });

  it('the default file is ~/.config/posbridge/config.json (%APPDATA% on Windows)', () => {
    expect(defaultConfigPath({ HOME: '/home/x', XDG_CONFIG_HOME: '/home/x/.cfg' }, 'linux')).toBe(
      '/home/x/.cfg/posbridge/config.json',
    );
    expect(defaultConfigPath({ APPDATA: 'C:\\Users\\x\\AppData\\Roaming' }, 'win32')).toContain('posbridge');
  });
});

/** The process's streams (captured by inProcess). */
function io(): { out(t: string): void; err(t: string): void } {
  return {
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  };
}

describe('posbridge init on a terminal', () => {
  it('asks each setting with the flag or default offered, re-asks a wrong answer, then writes', async () => {
    const file = join(dir(), 'config.json');
    const input = new PassThrough();
    const prompt = new PassThrough();
    let asked = '';
    prompt.on('data', (b: Buffer) => (asked += b.toString()));
    // terminal, terminal id (wrong, then right), merchant id, name, currency, host, dialect, reader,
    // name prefix, serials, origins, port, state dir, key store
    input.end(
      [
        '',
        'POS1',
        'POS00009',
        '898310048160001',
        'Pudong Motors',
        '',
        '10.9.8.7:6000',
        '',
        'ble',
        '',
        'PBR-7, PBR-8',
        'https://crm.example.com',
        '',
        '',
        '',
      ].join('\n') + '\n',
    );
    const r = await inProcess(
      (argv) => initCommand(argv, { ...io(), input, prompt, interactive: true }),
      ['--config', file, '--merchant-name', 'from a flag'],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(asked).toContain(
      'Terminal: a card reader with the acquirer host (reader), or an integrated ZVT terminal (zvt) [reader]: ',
    );
    expect(asked).toContain('Terminal id (field 41, 8 characters): ');
    expect(asked).toContain('  the terminal id is 8 characters (field 41), got 4\n');
    expect(asked).toContain('Merchant name (on receipts; optional) [from a flag]: ');
    expect(asked).toContain('ISO 8583 dialect (');
    expect(asked).toContain('[cup-pos]: ');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfigFile(file, {})).toMatchObject({
      terminalId: 'POS00009',
      merchantName: 'Pudong Motors',
      host: { address: '10.9.8.7', port: 6000, dialect: 'cup-pos' },
      readers: [{ transport: 'ble', namePrefix: 'PBR-', pairedSerials: ['PBR-7', 'PBR-8'] }],
      allowedOrigins: ['https://crm.example.com'],
      port: 7583,
    });
  });

  it('answers that end early write nothing', async () => {
    const file = join(dir(), 'config.json');
    const input = new PassThrough();
    input.end('reader\nPOS00001\n');
    const r = await inProcess(
      (argv) => initCommand(argv, { ...io(), input, prompt: new PassThrough(), interactive: true }),
      ['--config', file],
    );
    expect(r.code).toBe(EXIT.problem);
    expect(r.stderr).toMatch(/no answer \(end of input\): nothing was written/);
    expect(() => statSync(file)).toThrow();
  });
});
