import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyCheckValueHex, unwrapWorkingKeys } from '../../src/crypto/index.js';
import { DEFAULT_MASTER_KEY } from '../../simulators/host/index.js';
import { amount12, card, pan, TestClient } from './client.js';
import { field, harness, rc, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});

describe('sign-on', () => {
  it.each([
    ['001', 'single', 24, false],
    ['003', 'double', 40, false],
    ['004', 'double', 60, true],
  ] as const)(
    '60.3 %s hands out %s keys under the master key (%i bytes)',
    async (code, layout, size, tdk) => {
      const c = await h.client();
      const { response, kcv } = await c.signOn(code);
      expect(response.msg?.mti).toBe('0810');
      expect(rc(response)).toBe('00');
      const f62 = field(response, 62) as Buffer;
      expect(f62.length).toBe(size);
      // The client unwrapped them (KCVs checked inside); the host's KCVs are the same keys.
      const terminal = h.sim.ledger.session(c.tid)!;
      expect(terminal.kcv.pik).toBe(kcv.pik);
      expect(terminal.kcv.mak).toBe(kcv.mak);
      expect(terminal.kcv.tdk).toBe(tdk ? kcv.tdk : undefined);
      // And independently: unwrap under the documented master key, recompute the check values.
      const clear = unwrapWorkingKeys(Buffer.from(DEFAULT_MASTER_KEY, 'hex'), f62, layout);
      expect(keyCheckValueHex(clear.mak)).toBe(kcv.mak);
      expect(clear.tdk !== undefined).toBe(tdk);
      // A wrong master key does not unwrap them.
      expect(() => unwrapWorkingKeys(Buffer.from('11'.repeat(16), 'hex'), f62, layout)).toThrow(
        /check value/,
      );
    },
  );

  it('an unknown 60.3 is a format error', async () => {
    const c = await h.client();
    const r = await c.request('0800', {
      11: c.nextStan(),
      41: c.tid,
      42: c.mid,
      60: { '1': '00', '2': c.batch, '3': '009' },
    });
    expect(rc(r)).toBe('30');
    expect(field(r, 62)).toBeUndefined();
  });

  it('a new sign-on replaces the keys: MACs under the old MAK are refused', async () => {
    const first = await h.terminal();
    expect(rc(await first.sale(card('cup-magstripe'), 10000))).toBe('00');
    const second = await TestClient.connect({ port: h.sim.isoPort, tid: first.tid });
    for (let i = 0; i < 10; i++) second.nextStan(); // same TID: stay clear of first's STANs
    await second.signOn('001');
    // `first` still holds the replaced keys: its MACs no longer verify
    expect(rc(await first.sale(card('cup-magstripe'), 10000))).toBe('A0');
    const ok = await second.sale(card('cup-magstripe'), 10000);
    expect(rc(ok)).toBe('00');
    expect(ok.macValid).toBe(true);
    second.close();
  });

  it('echo works without a sign-on', async () => {
    const c = await h.client();
    const r = await c.echo();
    expect(r.msg?.mti).toBe('0830');
    expect(rc(r)).toBe('00');
  });
});

describe('sale', () => {
  it('a MACed sale is approved with a MACed answer and the balance goes down', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const before = h.sim.ledger.available(cd.account);
    const { mti, fields } = await c.authFields(cd, { amount: 12_345_600, pin: '123456' });
    const r = await c.request(mti, fields);
    expect(r.msg?.mti).toBe('0210');
    expect(rc(r)).toBe('00');
    expect(r.macValid).toBe(true);
    expect(field(r, 11)).toBe(fields[11]);
    expect(field(r, 41)).toBe(c.tid);
    expect(field(r, 37)).toMatch(/^[0-9]{12}$/);
    expect(field(r, 38)).toMatch(/^[0-9]{6}$/);
    expect(field(r, 4)).toBe(amount12(12_345_600));
    expect(h.sim.ledger.available(cd.account)).toBe(before - 12_345_600);
    const tx = h.sim.ledger.transactions({ tid: c.tid })[0]!;
    expect(tx).toMatchObject({
      type: 'sale',
      responseCode: '00',
      approvedAmount: 12_345_600,
      arqcVerified: true,
    });
    // ARPC in field 55
    expect((field(r, 55) as Buffer).subarray(0, 2).toString('hex')).toBe('910a');
  });

  it('a bad MAC is answered A0 without a MAC, with sign-on-again, and nothing is authorised', async () => {
    const c = await h.terminal();
    const cd = card('cup-magstripe');
    const before = h.sim.ledger.available(cd.account);
    const { mti, fields } = await c.authFields(cd, { amount: 50_000 });
    const wire = await c.send(mti, fields, { write: false });
    wire[wire.length - 1] = wire[wire.length - 1] === 0x30 ? 0x31 : 0x30;
    c.writeRaw(wire);
    const r = await c.receive();
    expect(rc(r)).toBe('A0');
    expect(field(r, 64)).toBeUndefined();
    expect(r?.flags).toContain('sign_on_again');
    expect(h.sim.ledger.available(cd.account)).toBe(before);
    expect(h.sim.ledger.transactions({ tid: c.tid })).toHaveLength(0);
  });

  it('a missing MAC and a terminal that never signed on are A0 too', async () => {
    const c = await h.terminal();
    const { mti, fields } = await c.authFields(card('cup-magstripe'), { amount: 100 });
    expect(rc(await c.request(mti, fields, { mac: false }))).toBe('A0');
    const stranger = await h.client();
    const s = await stranger.authFields(card('cup-magstripe'), { amount: 100 });
    expect(rc(await stranger.request(s.mti, s.fields, { mac: false }))).toBe('A0');
  });

  it.each([
    ['51', 1_000_051],
    ['55', 1_000_055],
    ['05', 1_000_005],
    ['14', 1_000_014],
    ['54', 1_000_054],
    ['91', 1_000_091],
  ])('amount ending in %s is declined %s', async (code, amount) => {
    const c = await h.terminal();
    const cd = card('visa-chip');
    const before = h.sim.ledger.available(cd.account);
    const r = await c.sale(cd, amount);
    expect(rc(r)).toBe(code);
    expect(r.macValid).toBe(true);
    expect(field(r, 38)).toBeUndefined();
    expect(field(r, 37)).toMatch(/^[0-9]{12}$/);
    expect(h.sim.ledger.available(cd.account)).toBe(before);
  });

  it('…77 is a partial approval of half when 60.6 = 1, else 51', async () => {
    const c = await h.terminal();
    const cd = card('cup-credit-chip');
    const before = h.sim.ledger.available(cd.account);
    const r = await c.sale(cd, 2_000_077, { partial: true });
    expect(rc(r)).toBe('10');
    expect(field(r, 4)).toBe(amount12(1_000_038));
    expect(field(r, 38)).toMatch(/^[0-9]{6}$/);
    expect(h.sim.ledger.available(cd.account)).toBe(before - 1_000_038);
    const no = await c.sale(cd, 2_000_077);
    expect(rc(no)).toBe('51');
  });

  it('other amounts approve while the balance allows; beyond it 51', async () => {
    const c = await h.terminal();
    const cd = card('cup-low-balance');
    expect(rc(await c.sale(cd, 60_000))).toBe('00');
    expect(rc(await c.sale(cd, 60_000))).toBe('51');
    expect(rc(await c.sale(cd, 40_000))).toBe('00');
    expect(h.sim.ledger.available(cd.account)).toBe(0);
  });

  it('wrong online PIN is 55, expired card 54, unknown card 14', async () => {
    const c = await h.terminal();
    expect(rc(await c.sale(card('cup-debit-chip'), 10_000, { pin: '654321' }))).toBe('55');
    expect(rc(await c.sale(card('cup-expired'), 10_000))).toBe('54');
    const { mti, fields } = await c.authFields(card('cup-magstripe'), { amount: 10_000 });
    fields[2] = pan('6299999999999999');
    expect(rc(await c.request(mti, fields))).toBe('14');
  });

  it('a token card moves its funding card’s account', async () => {
    const c = await h.terminal();
    const token = card('cup-token-huawei');
    const before = h.sim.ledger.available('cup-debit-chip');
    const r = await c.sale(token, 30_000, { entry: 'contactless' });
    expect(rc(r)).toBe('00');
    expect(h.sim.ledger.available('cup-debit-chip')).toBe(before - 30_000);
  });

  it('a STAN used twice in a batch is 94 and is not authorised again', async () => {
    const c = await h.terminal();
    const cd = card('cup-magstripe');
    const { mti, fields } = await c.authFields(cd, { amount: 10_000 });
    expect(rc(await c.request(mti, fields))).toBe('00');
    const before = h.sim.ledger.available(cd.account);
    expect(rc(await c.request(mti, fields))).toBe('94');
    expect(h.sim.ledger.available(cd.account)).toBe(before);
  });

  it('a request missing a mandatory field is 30', async () => {
    const c = await h.terminal();
    const { mti, fields } = await c.authFields(card('cup-magstripe'), { amount: 10_000 });
    delete fields[22];
    expect(rc(await c.request(mti, fields, { rules: false }))).toBe('30');
  });
});

describe('balance inquiry', () => {
  it('answers the available balance in field 54', async () => {
    const c = await h.terminal();
    const cd = card('mastercard-2series-magstripe');
    const r = await c.balance(cd, { pin: '4321' });
    expect(rc(r)).toBe('00');
    expect(field(r, 54)).toBe(`1002156C${amount12(h.sim.ledger.available(cd.account))}`);
    expect(field(r, 4)).toBeUndefined();
    expect(rc(await c.balance(cd, { pin: '0000' }))).toBe('55');
  });

  it('chip balance inquiries check the ARQC too', async () => {
    const c = await h.terminal();
    const r = await c.balance(card('visa-chip'));
    expect(rc(r)).toBe('00');
    expect(field(r, 54)).toMatch(/^1002156C[0-9]{12}$/);
  });
});
