/**
 * What the commands print: `decode` explains field 55 tag by tag (card data masked), `posbridge-sim
 * sample --hex` pipes into it, `reconcile --format json|csv|text`, `doctor` one clear line per finding.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import { runCli } from '../../src/daemon/commands.js';
import { decodeHex, renderBerTlv } from '../../src/daemon/decode-command.js';
import { doctor, isDemoStateDir, plainMessage } from '../../src/daemon/doctor.js';
import { EXIT } from '../../src/daemon/failures.js';
import { reportText } from '../../src/daemon/reconcile-text.js';
import { writeDaemonFile } from '../../src/daemon/running.js';
import { loadOrCreateToken } from '../../src/daemon/state-dir.js';
import {
  REPORT_CSV_HEADER,
  reportCsv,
  reportJson,
  type ReconciliationReport,
} from '../../src/engine/index.js';
import { dialectFraming, frame, loadDialect } from '../../src/iso8583/index.js';
import { StateDirLock } from '../../src/journal/index.js';
import { runSimCli } from '../../simulators/sim-cli.js';
import { inProcess } from './cli-io.js';

const PAN = '6212340000000000019';
/** The PAN as BCD hex, as it sits in a frame (odd length: padded). */
const PAN_HEX = /62123400000000000190?/i;

/** A cup-pos sale whose field 55 carries card data that must never show: 5A (PAN), 57 (track 2), 5F24. */
function saleWithCardDataIn55(): string {
  const d = loadDialect('cup-pos');
  const f55 =
    '9F2608A1B2C3D4E5F60708' +
    '9F270180' +
    '950580000080' +
    '00' +
    '9B026800' +
    '5A0862123400000000' +
    '01' + // PAN (8 bytes, 16 digits)
    '5711' +
    '6212340000000000019D30122011234500000F'.slice(0, 34) + // track 2 equivalent (17 bytes)
    '5F2403301231' + // expiry
    '9F3403420302';
  const body = d.pack(
    {
      mti: '0200',
      fields: {
        2: Pan.fromDigits(PAN),
        3: '000000',
        4: '000000010000',
        11: '000042',
        14: SensitiveBytes.fromText('3012'),
        22: '051',
        25: '00',
        41: 'SIM00001',
        42: '898310048160001',
        49: '156',
        55: Buffer.from(f55, 'hex'),
        60: { '1': '22', '2': '000001', '3': '000', '4': '5', '5': '0' },
      },
    },
    { mac: true },
  );
  return frame(body, dialectFraming(d)).toString('hex').toUpperCase();
}

describe('posbridge decode: field 55 tag by tag', () => {
  it('each tag on its own line with its name, explainers under TVR, TSI, CID and CVM results; card data masked', async () => {
    const hex = saleWithCardDataIn55();
    const r = await inProcess(runCli, ['decode', hex]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^ {3}55 ICC system related data: \d+ bytes BER-TLV, 8 tags:$/m);
    expect(out).toMatch(/^ {8}9F26 Application Cryptogram \(8\): A1B2C3D4E5F60708$/m);
    expect(out).toMatch(/^ {12}cryptogram: ARQC/m);
    expect(out).toMatch(/^ {8}95 Terminal Verification Results \(TVR\) \(5\): 8000008000$/m);
    expect(out).toMatch(/byte 1 bit 8: Offline data authentication was not performed/);
    expect(out).toMatch(/byte 4 bit 8: Transaction exceeds floor limit/);
    expect(out).toMatch(/9B Transaction Status Information \(TSI\) \(2\): 6800/);
    expect(out).toMatch(/method: Enciphered PIN verified online/);
    // Sensitive tags: the length only, wherever they are.
    expect(out).toMatch(/^ {8}5A Application Primary Account Number \(PAN\) \(8\): \*\*\*$/m);
    expect(out).toMatch(/^ {8}57 Track 2 Equivalent Data \(17\): \*\*\*$/m);
    expect(out).toMatch(/^ {8}5F24 Application Expiration Date \(3\): \*\*\*$/m);
    // Field 2 masked; the PAN never in clear, not even as the BCD of the frame.
    expect(out).toContain('621234*********0019');
    expect(out).not.toContain(PAN);
    expect(out).not.toContain('6212340000000000');
    expect(out).not.toMatch(PAN_HEX);
  });

  it('a field 55 that is not BER-TLV says so (length only), and rejected frames get a hint', () => {
    expect(renderBerTlv(Buffer.from('9F26', 'hex'))).toMatch(/^<2 bytes, not BER-TLV: /);
    const hex = saleWithCardDataIn55();
    const noLengthHeader = decodeHex(hex.slice(4), { dialect: 'cup-pos' });
    expect(noLengthHeader.ok).toBe(false);
    expect(noLengthHeader.text).toMatch(/^length_header_mismatch: .*add --length-header none$/);
    expect(decodeHex(hex.slice(4), { dialect: 'cup-pos', lengthHeader: 'none' }).ok).toBe(true);
    expect(decodeHex('00', { dialect: 'nope' }).text).toMatch(
      /^unknown_dialect.*posbridge dialects lists them \(.*cup-pos/,
    );
  });

  it('a rejected frame: exit 1, one line on stderr with the hint', async () => {
    const r = await inProcess(runCli, ['decode', saleWithCardDataIn55().slice(4)]);
    expect(r.code).toBe(EXIT.problem);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^posbridge decode: length_header_mismatch: .*--length-header none/);
  });

  it('posbridge-sim sample --hex pipes into posbridge decode; sample alone describes it, PAN masked', async () => {
    const sample = await inProcess(runSimCli, ['sample', '--hex'], 'posbridge-sim');
    expect(sample.code).toBe(0);
    const hex = sample.stdout.trim();
    const decoded = await inProcess(runCli, ['decode', hex]);
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(decoded.stdout).toMatch(/55 ICC system related data: \d+ bytes BER-TLV, 15 tags:/);
    expect(decoded.stdout).toContain('60.1 Transaction type code: 22 (sale)');
    expect(decoded.stdout).not.toContain(PAN);
    const described = await inProcess(runSimCli, ['sample'], 'posbridge-sim');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('9F27 Cryptogram Information Data (1): 80');
    expect(described.stdout).toContain('621234*********0019');
    expect(described.stdout).not.toContain(PAN);
    expect(described.stdout).not.toMatch(PAN_HEX);
    expect(described.stdout).not.toContain(hex);
  });
});

/** A report with one of each status; the masked PAN only, as the engine writes them. */
function report(): ReconciliationReport {
  const zero = { debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 };
  return {
    generatedAt: '2031-04-21T02:00:00.000Z',
    terminalId: 'SIM00001',
    source: { file: '/srv/acquirer/settle-20310420.csv', sha256: 'ab'.repeat(32), hasBatchNumbers: true },
    scope: { batches: ['000001'], from: '2031-04-20', to: '2031-04-20' },
    tolerance: { dateDays: 1 },
    summary: {
      hostLines: 3,
      otherTerminals: 1,
      ignoredHostLines: 0,
      localOperations: 2,
      matched: 2,
      matchedBy: { tid_batch_stan: 2, tid_rrn: 0, tid_stan_date: 0 },
      counts: {
        host_only: 1,
        local_only: 0,
        amount_mismatch: 1,
        status_mismatch: 0,
        pending_reversal: 0,
        late_arrival: 0,
      },
      errors: [{ line: 7, error: 'amount is not a number' }],
    },
    totals: [
      {
        batch: '000001',
        local: { domestic: { ...zero, debitAmount: 160_000, debitCount: 2 }, foreign: zero },
        settlement: null,
        hostFile: { ...zero, debitAmount: 179_000, debitCount: 3 },
        difference: { ...zero, debitAmount: 19_000, debitCount: 1 },
      },
    ],
    items: [
      {
        category: 'amount_mismatch',
        terminalId: 'SIM00001',
        batch: '000001',
        stan: '000012',
        rrn: '310420000012',
        matchedBy: 'tid_batch_stan',
        local: {
          operationId: 'op-12',
          kind: 'sale',
          state: 'completed',
          reason: null,
          terminalId: 'SIM00001',
          batch: '000001',
          stan: '000012',
          date: '2031-04-20',
          rrn: '310420000012',
          authCode: '123456',
          amount: 60_000,
          approvedAmount: null,
          currency: '156',
          maskedPan: '621234*********0019',
          scheme: 'unionpay',
          orderId: 'CAR-1',
          class: 'captured',
        },
        host: {
          line: 3,
          date: '2031-04-20',
          terminalId: 'SIM00001',
          batch: '000001',
          stan: '000012',
          rrn: '310420000012',
          amount: 59_000,
          type: 'sale',
          status: 'approved',
          class: 'captured',
        },
        amountDelta: -1_000,
        detail: 'the host settled 590.00, the journal approved 600.00',
        action: { code: 'confirm_amount_with_acquirer', text: 'Ask the acquirer which amount was settled.' },
        status: 'needs_attention',
      },
      {
        category: 'host_only',
        terminalId: 'SIM00001',
        batch: '000001',
        stan: '000013',
        rrn: '310420000013',
        local: null,
        host: {
          line: 4,
          date: '2031-04-20',
          terminalId: 'SIM00001',
          batch: '000001',
          stan: '000013',
          rrn: '310420000013',
          amount: 20_000,
          type: 'sale',
          status: 'approved',
          class: 'captured',
        },
        detail: 'the host settled a sale the journal does not know',
        action: {
          code: 'refund_or_confirm_with_customer',
          text: 'Refund it or confirm it with the customer.',
        },
        status: 'needs_attention',
      },
    ],
  };
}

describe('posbridge reconcile --format json|csv|text', () => {
  let home: string;
  let server: Server;
  let lock: StateDirLock;
  const asked: unknown[] = [];

  beforeAll(async () => {
    // A running daemon as the CLI sees it: the state directory's lock, token and daemon.json, and the
    // admin route answering as the daemon's does.
    home = mkdtempSync(join(tmpdir(), 'pb-reconcile-format-'));
    lock = StateDirLock.acquire(home);
    loadOrCreateToken(home);
    const r = report();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        asked.push(JSON.parse(body));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ report: r, json: reportJson(r), csv: reportCsv(r) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    writeDaemonFile(home, { pid: process.pid, port: (server.address() as AddressInfo).port });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    lock.release();
  });

  const reconcile = (...args: string[]) =>
    inProcess(runCli, ['reconcile', '--file', '/srv/acquirer/settle.csv', '--home', home, ...args]);

  it('json (the default): the report, not a quoted string; exit 1 on differences', async () => {
    const r = await reconcile();
    expect(r.code).toBe(EXIT.problem);
    const printed = JSON.parse(r.stdout) as ReconciliationReport;
    expect(printed.items).toHaveLength(2);
    expect((await reconcile('--format', 'json')).stdout).toBe(r.stdout);
    expect(asked[0]).toEqual({ file: '/srv/acquirer/settle.csv' });
  });

  it('csv, and --csv as its alias', async () => {
    const csv = await reconcile('--format', 'csv');
    expect(csv.stdout.split('\n')[0]).toBe(REPORT_CSV_HEADER.join(','));
    expect(csv.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect((await reconcile('--csv')).stdout).toBe(csv.stdout);
    expect((await reconcile('--csv', '--format', 'csv')).code).toBe(EXIT.problem);
    const both = await reconcile('--csv', '--format', 'text');
    expect(both.code).toBe(EXIT.usage);
    expect(both.stderr).toMatch(/^posbridge reconcile: --csv is --format csv/);
  });

  it('text: a summary for people, each item with what to do; masked PAN only', async () => {
    const r = await reconcile('--format', 'text');
    expect(r.code).toBe(EXIT.problem);
    expect(r.stdout).toBe(reportText(report()));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(
      'Reconciliation of terminal SIM00001 against the host settlement file /srv/acquirer/settle-20310420.csv',
    );
    expect(r.stdout).toContain(
      'Matched 2 of 3 host lines (tid_batch_stan 2); 2 journal operations; 1 line(s) of other terminals ignored',
    );
    expect(r.stdout).toContain(
      'Differences: 2 (2 need attention, 0 resolved): host_only 1, amount_mismatch 1',
    );
    expect(r.stdout).toContain(
      'Totals of batch 000001: journal debit 2 / 1,600.00, credit 0 / 0.00; host file debit 3 / 1,790.00, credit 0 / 0.00; difference debit +1 / +190.00, credit 0 / 0.00',
    );
    expect(r.stdout).toMatch(
      /NEEDS ATTENTION {2}amount_mismatch \(batch 000001 STAN 000012 RRN 310420000012\)/,
    );
    expect(r.stdout).toContain(
      'journal: sale 600.00 completed card 621234*********0019 (op-12); host: line 3 sale 590.00 approved on 2031-04-20; host minus journal -10.00',
    );
    expect(r.stdout).toContain('to do: Refund it or confirm it with the customer.');
    expect(r.stdout).toContain('line 7: amount is not a number');
    expect(r.stdout).not.toMatch(/\d{16}/);
  });

  it('text of a clean report says so', () => {
    const clean = { ...report(), items: [], summary: { ...report().summary, errors: [] } };
    expect(reportText(clean)).toContain('Differences: none: the journal and the host agree');
    expect(reportText(clean)).not.toContain('Items:');
  });
});

describe('posbridge doctor: one clear line per finding, only about what is configured', () => {
  it('plainMessage keeps one code and one line', () => {
    expect(
      plainMessage(
        'reader_disconnected: no_bluetooth_adapter: no Bluetooth LE adapter is usable on this machine',
      ),
    ).toBe('no_bluetooth_adapter: no Bluetooth LE adapter is usable on this machine');
    expect(plainMessage('a: b\n  c', { all: true })).toBe('a: b; c');
    expect(plainMessage('kek_mismatch: x', { all: true })).toBe('x');
  });

  it('Bluetooth: never a warning without a Bluetooth reader; with one, its problem in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-doctor-ble-'));
    const noBle = await doctor({
      stateDir: dir,
      readers: [{ transport: 'tcp', host: '127.0.0.1', port: 1, pairedSerials: ['X'] }],
      host: {
        address: '127.0.0.1',
        port: 1,
        dialect: 'cup-pos',
        keyLayout: 'double',
        macAlgorithm: 'cup-ecb',
        security: 'reader',
      },
    });
    const bt = noBle.find((c) => c.name === 'Bluetooth')!;
    expect(bt.status).toBe('pass');
    expect(bt.detail).toMatch(
      /^adapter powered on$|^not used: no Bluetooth reader configured; no usable adapter here \(\w+\)$/,
    );
    const withBle = await doctor({
      stateDir: dir,
      readers: [{ transport: 'ble', namePrefix: 'PBR-', pairedSerials: ['X'] }],
      source: 'config',
    });
    const ble = withBle.find((c) => c.name === 'Bluetooth')!;
    if (ble.status === 'pass') expect(ble.detail).toBe('adapter powered on');
    else {
      expect(ble.status).toBe('fail');
      expect(ble.fix).toMatch(/docs\/bluetooth\.md/);
      expect(ble.detail).not.toMatch(/^[a-z]+_[a-z_]+:/); // no code prefixes in front
      expect(ble.detail).toMatch(/\((no_bluetooth_adapter|bluetooth_off|bluetooth_unauthorized)\)$/);
      expect(ble.detail).not.toContain('\n');
    }
    for (const c of [...noBle, ...withBle]) {
      expect(c.detail, c.name).not.toContain('\n');
      const codes = c.detail.match(/\b[a-z]+(?:_[a-z]+)+\b/g) ?? [];
      expect(new Set(codes).size, `${c.name}: ${c.detail}`).toBe(codes.length);
    }
  });

  it('the demo state directory: no --config warning, its key file reported, one line each', async () => {
    vi.stubEnv('POSBRIDGE_KEY_FILE', '');
    try {
      const root = mkdtempSync(join(tmpdir(), 'pb-doctor-demo-'));
      const home = join(root, 'demo');
      mkdirSync(join(home, 'simulators'), { recursive: true, mode: 0o700 });
      writeFileSync(`${home}.kek`, 'k'.repeat(44), { mode: 0o600 });
      expect(isDemoStateDir(home)).toBe(true);
      const r = await inProcess(runCli, ['doctor', '--home', home]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/acquirer host|no --config|--config/);
      expect(r.stdout).toContain(
        `PASS  key-encrypting key: the demo's key file ${home}.kek, beside the state directory`,
      );
      expect(r.stdout).not.toContain('OS credential store,');
      expect(r.stdout).toMatch(
        /^PASS {2}Bluetooth: (adapter powered on|not used: no Bluetooth reader configured; .*)$/m,
      );
      expect(r.stdout).toMatch(/^WARN {2}sign-on: no demo running: .*\n {6}fix: start the demo/m);
      // Files not created yet: one finding, not one per file.
      expect(r.stdout.match(/not created yet/g)).toHaveLength(1);
      for (const line of r.stdout.trimEnd().split('\n'))
        expect(line).toMatch(/^(PASS|WARN|FAIL) {2}[^:]+: \S.*$|^ {6}fix: \S/);

      // Not the demo's: a key file beside the state directory is still found, and warned about.
      const other = join(root, 'desk');
      mkdirSync(other, { mode: 0o700 });
      writeFileSync(`${other}.kek`, 'k'.repeat(44), { mode: 0o600 });
      const desk = await inProcess(runCli, ['doctor', '--home', other, '--json']);
      const checks = JSON.parse(desk.stdout) as { name: string; status: string; detail: string }[];
      expect(checks.find((c) => c.name === 'key-encrypting key')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining(`${other}.kek, found beside the state directory`) as string,
      });
      expect(checks.find((c) => c.name === 'acquirer host')?.status).toBe('warn');
      expect(checks.find((c) => c.name === 'Bluetooth')?.status).toBe('pass');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('a missing state directory is one finding, not one per file', async () => {
    const r = await inProcess(runCli, ['doctor', '--home', join(tmpdir(), 'pb-doctor-none', 'x')]);
    expect(r.stdout).toMatch(/^WARN {2}state directory: .* does not exist yet/m);
    expect(r.stdout).not.toMatch(/^\w+ {2}(key files?|journal integrity)\b/m);
  });
});
