/**
 * The host simulator's KSN replay rule (docs/host-simulator.md): a DUKPT PIN block under a KSN whose
 * transaction counter is not above the last one the host verified for that device (initial key ID) is a
 * replayed PIN block, declined `63` (security violation) with the reason in the log. The same request
 * again (a 0200 repeated after a lost answer, its reversal) is not a replay. And the --dukpt-bdk-* flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/daemon/cli-args.js';
import type { SensitiveBytes } from '../../src/card/index.js';
import { DukptPinPad, dukptInitialKey, ksnWithCounter } from '../../src/crypto/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { hostOptionsFromArgs } from '../../simulators/host/cli.js';
import { runSimCli } from '../../simulators/sim-cli.js';
import { inProcess } from '../daemon/cli-io.js';
import {
  DEFAULT_DUKPT_BDK,
  KSN_REPLAY_CODE,
  KsnGuard,
  ksnDevice,
  type DukptDeviceState,
} from '../../simulators/host/index.js';
import { card, type TestClient } from './client.js';
import { harness, rc, type Harness } from './helpers.js';

const DIALECT = loadDialect('cup-pos-dukpt');
const TDES_KSN = 'FFFF9876543210E00000'; // X9.24-1 Annex A: counter 0
const AES_KSN = '123456789012345600000000';
const debit = card('cup-debit-chip'); // PIN 123456

/** A PIN pad injected from the BDK with the KSN (as the reader simulator's default). */
function pad(bdkHex: string, ksnHex: string): DukptPinPad {
  const ksn = Buffer.from(ksnHex, 'hex');
  return new DukptPinPad({ initialKey: dukptInitialKey(Buffer.from(bdkHex, 'hex'), ksn), ksn });
}

interface PinUnderKsn {
  ksn: Buffer;
  pinBlock: SensitiveBytes;
}

/** A new sale (fresh STAN, fresh ARQC) whose PIN block and KSN are `pin`'s. */
async function saleFields(
  c: TestClient,
  pin: PinUnderKsn,
  amount: number,
): Promise<{ mti: string; fields: Awaited<ReturnType<TestClient['authFields']>>['fields'] }> {
  const req = await c.authFields(debit, { amount, pin: '123456' });
  req.fields[52] = pin.pinBlock;
  req.fields[53] = pin.ksn;
  return req;
}

async function sale(c: TestClient, pin: PinUnderKsn, amount: number): Promise<string | undefined> {
  const req = await saleFields(c, pin, amount);
  return rc(await c.request(req.mti, req.fields));
}

async function devices(h: Harness): Promise<DukptDeviceState[]> {
  return ((await (await h.control('/dukpt')).json()) as { devices: DukptDeviceState[] }).devices;
}

describe('host simulator: DUKPT KSN replay', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ dialect: 'cup-pos-dukpt' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('declines a new authorisation under a used KSN (63) and says why in its log; the money does not move', async () => {
    const c = await h.terminal({ dialect: DIALECT });
    const p = pad(DEFAULT_DUKPT_BDK.tdes, TDES_KSN);
    const first = p.encryptPin('123456', debit.pan);
    expect(await sale(c, first, 1_000)).toBe('00');
    const second = p.encryptPin('123456', debit.pan);
    expect(await sale(c, second, 2_000)).toBe('00');

    const before = h.sim.ledger.account(debit.account)!.balance;
    const logFrom = h.logs.length;
    // The very same KSN and PIN block in a new request (new STAN, new cryptogram): a replay.
    const replay = await saleFields(c, second, 3_000);
    const answer = await c.request(replay.mti, replay.fields);
    expect(rc(answer)).toBe(KSN_REPLAY_CODE);
    expect(KSN_REPLAY_CODE).toBe('63');
    expect(answer.msg?.fields[38], 'no authorisation code on a decline').toBeUndefined();
    expect(h.sim.ledger.account(debit.account)!.balance).toBe(before);
    const tx = h.sim.ledger.transactions({ tid: c.tid, stan: replay.fields[11] as string })[0]!;
    expect(tx).toMatchObject({ responseCode: '63', approvedAmount: 0 });

    const line = h.logs.slice(logFrom).find((l) => l.includes('DUKPT KSN replayed'));
    expect(line, 'the log says why').toBeDefined();
    const entry = JSON.parse(line!) as Record<string, unknown>;
    expect(entry).toMatchObject({
      tid: c.tid,
      stan: replay.fields[11],
      rc: '63',
      scheme: 'dukpt-tdes',
      device: 'FFFF9876543210E00000',
      counter: 2,
      lastCounter: 2,
    });
    expect(entry['msg']).toMatch(
      /counter 2 of device FFFF9876543210E00000 was used by .*:000001:\d{6}; declined 63/,
    );
    // Never the PIN block in the log.
    const block = second.pinBlock.reveal().toString('hex');
    for (const l of h.logs) expect(l.toLowerCase()).not.toContain(block);
  });

  it('declines a counter below the last one used (an older KSN), names both counters', async () => {
    const c = await h.terminal({ dialect: DIALECT });
    const p = pad(DEFAULT_DUKPT_BDK.tdes, 'AAAA9876543210E00000');
    const older = p.encryptPin('123456', debit.pan); // counter 1, held back
    const newer = p.encryptPin('123456', debit.pan); // counter 2
    expect(await sale(c, newer, 1_100)).toBe('00');
    const logFrom = h.logs.length;
    expect(await sale(c, older, 1_200)).toBe('63');
    expect(h.logs.slice(logFrom).join('\n')).toMatch(
      /counter 1 of device AAAA9876543210E00000 is not above the last used \(2, /,
    );
    // The device goes on with its next counter.
    expect(await sale(c, p.encryptPin('123456', debit.pan), 1_300)).toBe('00');
  });

  it('the same request again after a lost answer, and its reversal, are not replays', async () => {
    const c = await h.terminal({ dialect: DIALECT });
    const p = pad(DEFAULT_DUKPT_BDK.tdes, 'BBBB9876543210E00000');
    const pin = p.encryptPin('123456', debit.pan);
    const req = await saleFields(c, pin, 4_200);
    h.sim.faults.add({
      id: 'lost',
      match: { mti: '0200', amount: 4_200 },
      action: 'drop_response',
      times: 1,
    });
    await c.send(req.mti, req.fields);
    expect(await c.receive(400), 'the answer was lost').toBeUndefined();
    // The terminal sends the very same 0200 again (same STAN, KSN and PIN block): a repeat, which the
    // host answers as a duplicate transmission (94, §1), never as a replayed KSN.
    const repeat = await c.request(req.mti, req.fields);
    expect(rc(repeat)).toBe('94');
    // ... and its reversal goes through (no PIN block, no KSN check).
    expect(rc(await c.reversal(req))).toBe('00');
    expect(rc(await c.reversal(req, '98', true))).toBe('00');
    const d = (await devices(h)).find((x) => x.device === 'BBBB9876543210E00000')!;
    expect(d).toMatchObject({ counter: 1, used: 1, replays: 0 });
    const tx = h.sim.ledger.transactions({ tid: c.tid, stan: req.fields[11] as string })[0]!;
    expect(tx.responseCode).toBe('00');
    expect(tx.reversal).toBeDefined();
    // The next PIN under the next KSN is fine.
    expect(await sale(c, p.encryptPin('123456', debit.pan), 4_300)).toBe('00');
  });

  it('the guard itself: the same KSN for the same request is not a replay, for another request it is', () => {
    const g = new KsnGuard();
    const ksn = ksnWithCounter(Buffer.from(TDES_KSN, 'hex'), 5);
    expect(g.check(ksn, 'T1:000001:000007')).toBeUndefined();
    g.use(ksn, 'T1:000001:000007', 'T1', '000007', '2026-01-01T00:00:00.000Z');
    expect(g.check(ksn, 'T1:000001:000007')).toBeUndefined();
    expect(g.check(ksn, 'T1:000001:000008')).toMatchObject({ counter: 5, request: 'T1:000001:000007' });
    expect(g.check(ksnWithCounter(Buffer.from(TDES_KSN, 'hex'), 4), 'T1:000001:000007')).toBeDefined();
    expect(g.check(ksnWithCounter(Buffer.from(TDES_KSN, 'hex'), 6), 'T1:000001:000009')).toBeUndefined();
    expect(ksnDevice(Buffer.from(AES_KSN.replace(/0{8}$/, '0000002A'), 'hex'))).toEqual({
      scheme: 'dukpt-aes',
      device: '1234567890123456',
      counter: 42,
    });
  });

  it('a wrong PIN under a forged high counter does not lock the device out; devices count apart', async () => {
    const c = await h.terminal({ dialect: DIALECT });
    const ksn = 'CCCC9876543210E00000';
    const p = pad(DEFAULT_DUKPT_BDK.tdes, ksn);
    expect(await sale(c, p.encryptPin('123456', debit.pan), 5_100)).toBe('00');
    // Counter 200 of the same device, but the PIN is wrong: 55, and the counter is not taken.
    const ahead = new DukptPinPad({
      initialKey: dukptInitialKey(Buffer.from(DEFAULT_DUKPT_BDK.tdes, 'hex'), Buffer.from(ksn, 'hex')),
      ksn: ksnWithCounter(Buffer.from(ksn, 'hex'), 199),
    });
    expect(await sale(c, ahead.encryptPin('999999', debit.pan), 5_200)).toBe('55');
    expect(await sale(c, p.encryptPin('123456', debit.pan), 5_300)).toBe('00');
    // Another device starts at its own counter 1.
    expect(
      await sale(
        c,
        pad(DEFAULT_DUKPT_BDK.tdes, 'DDDD9876543210E00000').encryptPin('123456', debit.pan),
        5_400,
      ),
    ).toBe('00');
    const list = await devices(h);
    expect(list.find((d) => d.device === 'CCCC9876543210E00000')).toMatchObject({
      counter: 2,
      used: 2,
      replays: 0,
    });
    expect(list.find((d) => d.device === 'DDDD9876543210E00000')).toMatchObject({ counter: 1, used: 1 });
  });

  it('AES DUKPT: the initial key ID is the device; a used KSN is declined 63', async () => {
    const c = await h.terminal({ dialect: DIALECT });
    const p = pad(DEFAULT_DUKPT_BDK.aes, AES_KSN);
    const pin = p.encryptPin('123456', debit.pan);
    expect(await sale(c, pin, 6_100)).toBe('00');
    expect(await sale(c, pin, 6_200)).toBe('63');
    expect((await devices(h)).find((d) => d.device === '1234567890123456')).toMatchObject({
      scheme: 'dukpt-aes',
      counter: 1,
      used: 1,
      replays: 1,
    });
  });

  it('GET /dukpt lists the devices; POST /reset forgets them (a fresh reader may start again)', async () => {
    expect((await devices(h)).length).toBeGreaterThan(0);
    expect((await h.control('/dukpt', { method: 'POST' })).status).toBe(405);
    expect((await h.control('/reset', { method: 'POST' })).status).toBe(204);
    expect(await devices(h)).toEqual([]);
    const c = await h.terminal({ dialect: DIALECT });
    // The first device's first KSN again, after the reset: accepted.
    expect(await sale(c, pad(DEFAULT_DUKPT_BDK.tdes, TDES_KSN).encryptPin('123456', debit.pan), 7_000)).toBe(
      '00',
    );
  });
});

describe('host simulator: --dukpt-bdk-tdes / --dukpt-bdk-aes', () => {
  const OTHER_TDES = '00112233445566778899AABBCCDDEEFF';
  const OTHER_AES = 'A0A1A2A3A4A5A6A7A8A9AAABACADAEAF';

  it('are validated: 32 hex digits, a usage error naming the flag (never echoing the value)', () => {
    const o = hostOptionsFromArgs([
      '--dukpt-bdk-tdes',
      OTHER_TDES.toLowerCase(),
      '--dukpt-bdk-aes',
      OTHER_AES,
    ]);
    expect(o).not.toBe('help');
    expect(o === 'help' ? undefined : o.dukptBdk).toEqual({ tdes: OTHER_TDES, aes: OTHER_AES });
    expect(hostOptionsFromArgs(['--dukpt-bdk-aes', OTHER_AES])).toMatchObject({
      dukptBdk: { aes: OTHER_AES },
    });
    expect(hostOptionsFromArgs([])).not.toHaveProperty('dukptBdk');
    for (const [flag, value] of [
      ['--dukpt-bdk-tdes', '0123'],
      ['--dukpt-bdk-tdes', `${OTHER_TDES}00`],
      ['--dukpt-bdk-aes', 'Z0A1A2A3A4A5A6A7A8A9AAABACADAEAF'],
      ['--dukpt-bdk-aes', ''],
    ] as const) {
      let err: unknown;
      try {
        hostOptionsFromArgs([flag, value]);
      } catch (e) {
        err = e;
      }
      expect(err, `${flag} ${value}`).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toMatch(new RegExp(`^${flag} must be 32 hex digits`));
      expect((err as UsageError).showUsage).toBe(false);
      if (value) expect((err as UsageError).message).not.toContain(value);
    }
  });

  it('as the executable: one line naming the flag, exit 2, no usage, no stack trace; --help names them', async () => {
    const r = await inProcess(runSimCli, ['host', '--dukpt-bdk-aes', 'A0A1A2'], 'posbridge-sim');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^posbridge-sim host: --dukpt-bdk-aes must be 32 hex digits \(a 16-byte BDK\), got 6 characters\n$/,
    );
    const help = await inProcess(runSimCli, ['host', '--help'], 'posbridge-sim');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dukpt-bdk-tdes <32 hex>');
    expect(help.stdout).toContain('--dukpt-bdk-aes <32 hex>');
    // The engine runner's scheme options are checked the same way (the chaos lanes use them).
    const engine = await inProcess(
      runSimCli,
      [
        'engine',
        '--dir',
        '/nonexistent',
        '--host-port',
        '1',
        '--reader-port',
        '2',
        '--dialect',
        'cup-pos-nope',
      ],
      'posbridge-sim',
    );
    expect(engine.code).toBe(2);
    expect(engine.stderr).toMatch(
      /^posbridge-sim engine: --dialect cup-pos-nope is not a dialect in protocols\/iso8583 \(.*cup-pos-dukpt.*\)\n$/,
    );
    const profile = await inProcess(
      runSimCli,
      [
        'engine',
        '--dir',
        '/nonexistent',
        '--host-port',
        '1',
        '--reader-port',
        '2',
        '--reader-profile',
        'nope',
      ],
      'posbridge-sim',
    );
    expect(profile.stderr).toMatch(
      /--reader-profile nope is not a profile in protocols\/terminal \(.*posbridge-dukpt-tdes.*\)/,
    );
  });

  it('reach the host: PINs under the configured BDK verify, under the default test BDK they do not', async () => {
    const o = hostOptionsFromArgs(['--dukpt-bdk-tdes', OTHER_TDES, '--dukpt-bdk-aes', OTHER_AES]);
    if (o === 'help') throw new Error('help');
    const h2 = await harness({ ...o, dialect: 'cup-pos-dukpt', controlPort: null, logLevel: 'silent' });
    try {
      // The terminal's MACs (field 64, DUKPT) come from the same BDKs as its PIN pads' keys.
      const c = await h2.terminal({ dialect: DIALECT, dukptBdk: { tdes: OTHER_TDES, aes: OTHER_AES } });
      expect(await sale(c, pad(OTHER_TDES, TDES_KSN).encryptPin('123456', debit.pan), 800)).toBe('00');
      expect(
        await sale(
          c,
          pad(DEFAULT_DUKPT_BDK.tdes, 'EEEE9876543210E00000').encryptPin('123456', debit.pan),
          900,
        ),
      ).toBe('55');
      expect(await sale(c, pad(OTHER_AES, AES_KSN).encryptPin('123456', debit.pan), 1_000)).toBe('00');
      expect(
        await sale(
          c,
          pad(DEFAULT_DUKPT_BDK.aes, 'ABCDEF789012345600000000').encryptPin('123456', debit.pan),
          1_100,
        ),
      ).toBe('55');
      // A terminal MACing under the default BDK does not pass the MAC check: A0, before any PIN check.
      const other = await h2.terminal({ dialect: DIALECT });
      expect(
        await sale(
          other,
          pad(DEFAULT_DUKPT_BDK.tdes, 'EEEE9876543210E00000').encryptPin('123456', debit.pan),
          1_200,
        ),
      ).toBe('A0');
    } finally {
      await h2.close();
    }
  });
});
