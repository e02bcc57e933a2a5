import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { hostOptionsFromArgs } from '../../simulators/host/cli.js';
import { parseFaultRule } from '../../simulators/host/index.js';
import { card, TestClient } from './client.js';
import { field, harness, rc, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});
afterEach(() => {
  h.sim.faults.clear();
});

const cd = card('cup-magstripe');

describe('fault actions', () => {
  it('drop_response: the sale is committed but never answered', async () => {
    const c = await h.terminal();
    h.sim.faults.add({
      match: { mti: '0200', panLast4: cd.pan.lastFour },
      action: 'drop_response',
      times: 1,
    });
    const before = h.sim.ledger.available(cd.account);
    const req = await c.authFields(cd, { amount: 123_400 });
    await c.send(req.mti, req.fields);
    expect(await c.receive(300)).toBeUndefined();
    expect(h.sim.ledger.available(cd.account)).toBe(before - 123_400);
    // the inquiry finds it; the next sale is answered again (times: 1)
    expect(rc(await c.statusInquiry(c.batch, req.fields[11] as string))).toBe('00');
    expect(rc(await c.sale(cd, 100))).toBe('00');
  });

  it('delay: the answer comes after delayMs', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { mti: '0200' }, action: 'delay', delayMs: 250 });
    const t0 = Date.now();
    const r = await c.sale(cd, 100);
    expect(rc(r)).toBe('00');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it('close_before_response: the connection closes without an answer; the sale is committed', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { amount: 222_200 }, action: 'close_before_response' });
    const before = h.sim.ledger.available(cd.account);
    const req = await c.authFields(cd, { amount: 222_200 });
    await c.send(req.mti, req.fields);
    expect(await c.receive(1000)).toBeUndefined();
    await c.whenClosed();
    expect(c.closed).toBe(true);
    expect(h.sim.ledger.available(cd.account)).toBe(before - 222_200);
  });

  it('close_after_response: the answer arrives, then the connection closes', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { processingCode: '000000' }, action: 'close_after_response' });
    const r = await c.sale(cd, 100);
    expect(rc(r)).toBe('00');
    await c.whenClosed();
    expect(c.closed).toBe(true);
  });

  it('corrupt_mac: the response MAC does not verify', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { mti: '0200' }, action: 'corrupt_mac', times: 1 });
    const bad = await c.sale(cd, 100);
    expect(rc(bad)).toBe('00');
    expect(bad.macValid).toBe(false);
    expect((await c.sale(cd, 100)).macValid).toBe(true);
  });

  it('wrong_stan: the answer carries another STAN (with a valid MAC)', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { mti: '0200' }, action: 'wrong_stan' });
    const req = await c.authFields(cd, { amount: 100 });
    const r = await c.request(req.mti, req.fields);
    expect(field(r, 11)).not.toBe(req.fields[11]);
    expect(field(r, 11)).toBe(String(Number(req.fields[11]) + 1).padStart(6, '0'));
    expect(r.macValid).toBe(true);
  });

  it('duplicate_response: the same answer twice', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { mti: '0200' }, action: 'duplicate_response' });
    const r1 = await c.sale(cd, 100);
    const r2 = await c.receive(1000);
    expect(r2?.raw).toEqual(r1.raw);
  });

  it('garbage: a frame of random bytes instead of the answer; the stream stays in sync', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { mti: '0200' }, action: 'garbage', times: 1 });
    const g = await c.sale(cd, 100);
    expect(g.error).toBeDefined(); // random content does not decode
    expect(g.msg).toBeUndefined();
    expect(rc(await c.sale(cd, 100))).toBe('00');
  });

  it('reversal_96: reversals answered 96 N times without reversing, then reversed', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ action: 'reversal_96', times: 2 });
    const before = h.sim.ledger.available(cd.account);
    const req = await c.authFields(cd, { amount: 50_000 });
    expect(rc(await c.request(req.mti, req.fields))).toBe('00'); // a 0200 is not affected
    expect(rc(await c.reversal(req))).toBe('96');
    expect(rc(await c.reversal(req, '98', true))).toBe('96');
    expect(h.sim.ledger.available(cd.account)).toBe(before - 50_000);
    expect(rc(await c.reversal(req, '98', true))).toBe('00');
    expect(h.sim.ledger.available(cd.account)).toBe(before);
  });

  it('refuse_connections: new connections are closed at once until the rule goes', async () => {
    const rule = h.sim.faults.add({ action: 'refuse_connections' });
    const refused = await new Promise<string>((resolve) => {
      const s = connect(h.sim.isoPort, '127.0.0.1');
      s.on('error', () => resolve('error'));
      s.on('close', () => resolve('closed'));
      s.on('data', () => resolve('data'));
    });
    expect(['closed', 'error']).toContain(refused);
    h.sim.faults.remove(rule.id);
    const c = await TestClient.connect({ port: h.sim.isoPort, tid: 'REFUSE01' });
    expect(rc(await c.echo())).toBe('00');
    c.close();
  });

  it('nth: only from the nth matching request on', async () => {
    const c = await h.terminal();
    h.sim.faults.add({ match: { mti: '0200', nth: 2 }, action: 'drop_response', times: 1 });
    expect(rc(await c.sale(cd, 100))).toBe('00');
    const req = await c.authFields(cd, { amount: 100 });
    await c.send(req.mti, req.fields);
    expect(await c.receive(300)).toBeUndefined();
    expect(rc(await c.sale(cd, 100))).toBe('00');
  });

  it('rules are validated with a JSON path', () => {
    expect(() => parseFaultRule({ action: 'explode' })).toThrow(/\$\.action/);
    expect(() => parseFaultRule({ action: 'delay' })).toThrow(/\$\.delayMs/);
    expect(() => parseFaultRule({ action: 'garbage', match: { mti: '200' } })).toThrow(/\$\.match\.mti/);
    expect(() => parseFaultRule({ action: 'garbage', times: 0 })).toThrow(/\$\.times/);
  });
});

describe('fault rules at start', () => {
  it('--faults <file> is parsed (with JSON paths in errors) and the rules are active from the start', async () => {
    const file = join(h.dir, 'faults.json');
    writeFileSync(
      file,
      JSON.stringify([{ id: 'drop-big', match: { amount: 99_999_900 }, action: 'drop_response' }]),
    );
    const opts = hostOptionsFromArgs(['--port', '0', '--faults', file, '--unknown-reversal', '25']);
    if (opts === 'help') throw new Error('help');
    expect(opts.faults).toEqual([{ id: 'drop-big', match: { amount: 99_999_900 }, action: 'drop_response' }]);
    writeFileSync(file, JSON.stringify([{ action: 'drop_response' }, { action: 'delay' }]));
    expect(() => hostOptionsFromArgs(['--faults', file])).toThrow(/\$\[1\]\.delayMs/);

    const h2 = await harness({ ...opts, controlPort: null, logLevel: 'silent' });
    try {
      const c = await h2.terminal();
      const req = await c.authFields(card('cup-debit-chip'), { amount: 99_999_900 });
      await c.send(req.mti, req.fields);
      expect(await c.receive(300)).toBeUndefined();
      // and the other school of unknown reversals
      const never = await c.authFields(card('cup-debit-chip'), { amount: 1_000 });
      expect(rc(await c.reversal(never))).toBe('25');
    } finally {
      await h2.close();
    }
  });
});
