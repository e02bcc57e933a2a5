/**
 * ZvtTerminal ↔ ZVT simulator over a real pseudo-terminal: the client opens the slave path with the real
 * serialport bindings, the simulator speaks through the master. DLE/STX framing, CRC, ACK/NAK,
 * retransmissions after NAKs and bad CRCs, and a lost completion repaired by the last transaction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeZvtRig, EUR, until, type ZvtRig } from './rig.js';

let rig: ZvtRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const cmd = (amount: number, reference = 'op-1') => ({ reference, amount, currency: EUR });

describe('ZVT over a serial line (PTY)', () => {
  it('registers, pays, voids and repeats the receipt over DLE/STX frames', async () => {
    rig = await makeZvtRig('serial');
    expect(rig.term.info().terminalId).toBe('52500001');
    const sale = await rig.term.sale(cmd(1_010)); // 10 10 in the amount: doubled DLEs on the wire
    if (sale.status !== 'approved') throw new Error(JSON.stringify(sale));
    expect(sale.result).toMatchObject({ amount: 1_010, receiptNo: '0001' });
    expect(sale.result.receipt!.merchant.length).toBeGreaterThan(5);
    expect(await rig.term.void({ ...cmd(1_010, 'op-2'), receiptNo: '0001' })).toMatchObject({
      status: 'approved',
    });
    expect(await rig.term.lastResult()).toMatchObject({
      status: 'known',
      approved: true,
      result: { receiptNo: '0002' },
    });
    expect(rig.term.linkStats).toMatchObject({ naksSent: 0, naksReceived: 0, retransmissions: 0 });
  });

  it('nakFrames 2: the client repeats each NAKed frame and the sale goes through', async () => {
    rig = await makeZvtRig('serial');
    rig.sim.setBehaviour({ nakFrames: 2 });
    const o = await rig.term.sale(cmd(300));
    expect(o.status).toBe('approved');
    expect(rig.term.linkStats.naksReceived).toBe(2);
    expect(rig.term.linkStats.retransmissions).toBe(2);
    expect(rig.sim.behaviour().nakFrames).toBe(0);
  });

  it('nakFrames 3: after two repeats the frame counts as not acknowledged: not_sent, nothing booked', async () => {
    rig = await makeZvtRig('serial');
    rig.sim.setBehaviour({ nakFrames: 3 });
    expect(await rig.term.sale(cmd(300))).toMatchObject({ status: 'not_sent', reason: 'not_acknowledged' });
    expect(rig.sim.ledger).toEqual([]);
    expect((await rig.term.sale(cmd(300, 'op-2'))).status).toBe('approved');
  });

  it('badCrc: the client NAKs a frame with a wrong CRC; the terminal repeats it correctly', async () => {
    rig = await makeZvtRig('serial');
    rig.sim.setBehaviour({ badCrc: 2 });
    const o = await rig.term.sale(cmd(450));
    expect(o.status).toBe('approved');
    expect(rig.term.linkStats.naksSent).toBe(2);
  });

  it('a lost completion is unknown; after the line is back lastResult tells the truth', async () => {
    rig = await makeZvtRig('serial');
    rig.sim.setBehaviour({ approveThenDropCompletion: true });
    const o = await rig.term.sale(cmd(6_600));
    // A serial line cannot hang up: the terminal goes silent and T4 expires.
    expect(o).toMatchObject({ status: 'unknown', reason: 'timeout' });
    await until(() => rig!.term.state === 'idle', 4000, 'registered again');
    expect(await rig.term.lastResult()).toMatchObject({
      status: 'known',
      approved: true,
      result: { amount: 6_600 },
    });
    expect(rig.sim.ledger).toEqual([expect.objectContaining({ status: 'approved', amount: 6_600 })]);
  });

  it('a banner on the line (the terminal came back) is skipped as noise', async () => {
    rig = await makeZvtRig('serial');
    rig.sim.setBehaviour({ nonZvtBanner: 'BOOT OK\r\n' });
    await rig.sim.drop(); // the terminal "restarts": silent, then back with its banner
    await until(() => rig!.term.linkStats.noise === 9, 2000, 'banner bytes');
    expect((await rig.term.sale(cmd(100))).status).toBe('approved');
  });
});
