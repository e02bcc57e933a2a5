/**
 * Simulator faults against the client over TCP: lost completions are `unknown` and the terminal's
 * last transaction tells the truth afterwards; refusals, busy, banners, long PIN entries and T3/T4.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ZvtTerminal, ZvtError } from '../../src/terminal/zvt/index.js';
import { makeZvtRig, EUR, TEST_TIMERS, until, type ZvtRig } from './rig.js';

let rig: ZvtRig | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

const cmd = (amount: number, reference = 'op-1') => ({ reference, amount, currency: EUR });

describe('ZVT faults (TCP)', () => {
  it('approveThenDropCompletion: unknown (connection_lost); after the reconnect lastResult says approved', async () => {
    rig = await makeZvtRig('tcp');
    await rig.term.sale(cmd(1_000)); // an earlier sale, so "last" must be the new one
    rig.sim.setBehaviour({ approveThenDropCompletion: true });
    const o = await rig.term.sale(cmd(2_345, 'op-2'));
    expect(o).toMatchObject({ status: 'unknown', reason: 'connection_lost' });
    if (o.status === 'unknown') expect(o.message).toContain('result 00');
    const booked = rig.sim.ledger.at(-1)!;
    expect(booked).toMatchObject({ status: 'approved', amount: 2_345, receiptNo: '0002' });
    expect(rig.sim.behaviour().approveThenDropCompletion).toBe(false); // one-shot
    await rig.term.whenReady(3000);
    const last = await rig.term.lastResult();
    expect(last).toMatchObject({
      status: 'known',
      approved: true,
      result: { amount: 2_345, receiptNo: '0002' },
    });
  });

  it('disconnectMidTransaction: unknown, nothing booked; lastResult shows the previous transaction', async () => {
    rig = await makeZvtRig('tcp');
    await rig.term.sale(cmd(1_000));
    rig.sim.setBehaviour({ disconnectMidTransaction: true });
    expect(await rig.term.sale(cmd(2_000, 'op-2'))).toMatchObject({
      status: 'unknown',
      reason: 'connection_lost',
    });
    expect(rig.sim.ledger).toHaveLength(1);
    await rig.term.whenReady(3000);
    expect(await rig.term.lastResult()).toMatchObject({
      status: 'known',
      result: { amount: 1_000, receiptNo: '0001' },
    });
  });

  it('disabledCommands ["06 31"]: refund is not_supported (84 83); sales still work', async () => {
    rig = await makeZvtRig('tcp', { sim: { behaviour: { disabledCommands: ['06 31'] } } });
    expect(await rig.term.refund(cmd(100))).toMatchObject({ status: 'not_supported', code: '83' });
    expect((await rig.term.sale(cmd(100))).status).toBe('approved');
  });

  it('busy: 84 A0 is `busy`, nothing happened; status enquiry still answers', async () => {
    rig = await makeZvtRig('tcp', { sim: { behaviour: { busy: true } } });
    expect(await rig.term.sale(cmd(100))).toMatchObject({ status: 'busy' });
    expect(await rig.term.statusEnquiry()).toMatchObject({ status: 'ok', terminalStatus: '9C' });
    expect(rig.sim.ledger).toEqual([]);
  });

  it('abortAfterApproval: an abort that comes too late leaves the sale approved', async () => {
    rig = await makeZvtRig('tcp', {
      sim: { behaviour: { abortAfterApproval: true, longPinEntryMs: 300, statusEveryMs: 50 } },
    });
    const sale = rig.term.sale(cmd(800));
    await until(() => rig!.progress.some((p) => p.progress === 'pin_entry_started'), 2000, 'PIN entry');
    expect(await rig.term.abort()).toBe('sent');
    expect((await sale).status).toBe('approved');
    expect(rig.sim.ledger).toEqual([expect.objectContaining({ status: 'approved', amount: 800 })]);
  });

  it('signatureRequired: approved with signatureRequired and a signature line on the merchant copy', async () => {
    rig = await makeZvtRig('tcp', {
      sim: { behaviour: { signatureRequired: true, card: 'mastercard-chip' } },
    });
    const o = await rig.term.sale(cmd(5_000));
    if (o.status !== 'approved') throw new Error(o.status);
    expect(o.result.signatureRequired).toBe(true);
    expect(o.result.cardName).toBe('MASTERCARD');
    expect(o.result.maskedPan).toMatch(/^520000\*+\d{4}$/);
    expect(o.result.receipt!.merchant).toContain('Unterschrift:');
    expect(o.result.receipt!.customer).not.toContain('Unterschrift:');
  });

  it('declineAmountSuffix off: an amount ending 51 is approved', async () => {
    rig = await makeZvtRig('tcp', { sim: { behaviour: { declineAmountSuffix: false } } });
    expect((await rig.term.sale(cmd(1_051))).status).toBe('approved');
  });

  it('customer cancels at the card prompt: declined 6C', async () => {
    rig = await makeZvtRig('tcp', { sim: { behaviour: { customerCancels: true } } });
    expect(await rig.term.sale(cmd(100))).toMatchObject({ status: 'declined', resultCode: '6C' });
  });

  it('a wrong registration password: registration_refused (84 83), whenReady rejects, it stays disconnected', async () => {
    rig = await makeZvtRig('tcp', { ready: false, client: { password: '654321' } });
    const err = await rig.term.whenReady(3000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZvtError);
    expect(err).toMatchObject({ code: 'registration_refused', status: '83', command: '06 00' });
    expect(rig.term.state).not.toBe('idle');
    expect(rig.term.error?.code).toBe('registration_refused');
    expect(await rig.term.sale(cmd(100))).toMatchObject({ status: 'not_sent', reason: 'link_down' });
  });

  it('nonZvtBanner: ASCII before the first APDU is skipped; the client registers and pays', async () => {
    rig = await makeZvtRig('tcp', { sim: { behaviour: { nonZvtBanner: 'ZVT-SERVER READY\r\n' } } });
    expect((await rig.term.sale(cmd(100))).status).toBe('approved');
    expect(rig.term.linkStats.noise).toBe('ZVT-SERVER READY\r\n'.length);
  });

  it('T4 is restarted by every intermediate status: a PIN entry of 3 x T4 still completes', async () => {
    const t4Ms = 400;
    rig = await makeZvtRig('tcp', {
      timers: { t4Ms },
      sim: { behaviour: { longPinEntryMs: 3 * t4Ms, statusEveryMs: t4Ms / 4 } },
    });
    const started = Date.now();
    const o = await rig.term.sale(cmd(1_500));
    expect(o.status).toBe('approved');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * t4Ms);
    expect(rig.progress.filter((p) => p.progress === 'pin_entry_started').length).toBeGreaterThanOrEqual(10);
  });

  it('without intermediate status the same PIN entry hits T4: unknown (timeout), nothing booked', async () => {
    const t4Ms = 400;
    rig = await makeZvtRig('tcp', {
      timers: { t4Ms },
      client: { configByte: 0x92 }, // 9A without 08: no 04 FF
      sim: { behaviour: { longPinEntryMs: 3 * t4Ms, statusEveryMs: t4Ms / 4 } },
    });
    expect(await rig.term.sale(cmd(1_500))).toMatchObject({ status: 'unknown', reason: 'timeout' });
    await until(() => rig!.term.state === 'idle', 3000, 'reconnected');
    await new Promise((r) => setTimeout(r, 3 * t4Ms));
    expect(rig.sim.ledger.filter((t) => t.status === 'approved')).toEqual([]);
  });

  it('no 80 00 within T3: not_sent (not_acknowledged) and the socket is closed (spec16 §5.2.5)', async () => {
    // A fake terminal that registers, then never answers.
    let sockets = 0;
    const server = net.createServer((s) => {
      sockets++;
      s.on('data', (d) => {
        if (d[0] === 0x06 && d[1] === 0x00) s.write(Buffer.from('800000060F00', 'hex'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const term = new ZvtTerminal({
      tcp: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
      password: '123456',
      timers: { ...TEST_TIMERS, t3Ms: 200 },
    });
    cleanups.push(() => term.close());
    term.start();
    await term.whenReady(2000);
    expect(await term.sale(cmd(100))).toMatchObject({ status: 'not_sent', reason: 'not_acknowledged' });
    await until(() => sockets === 2, 2000, 'a new connection after T3');
    await term.whenReady(2000);
  });
});
