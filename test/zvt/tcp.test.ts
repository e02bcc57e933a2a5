/** ZvtTerminal ↔ ZVT simulator over TCP: every command, its outcome, receipts, progress and the ledger. */
import { afterEach, describe, expect, it } from 'vitest';
import { makeZvtRig, EUR, until, type ZvtRig } from './rig.js';

let rig: ZvtRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const cmd = (amount: number, reference = 'op-1') => ({ reference, amount, currency: EUR });

describe('ZVT over TCP: client and simulator', () => {
  it('registers on connect (06 00 with password, config byte 9A, currency) and logs off on close', async () => {
    rig = await makeZvtRig('tcp');
    expect(rig.term.state).toBe('idle');
    expect(rig.term.info()).toMatchObject({
      kind: 'zvt',
      terminalId: '52500001',
      address: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/) as string,
    });
    expect(rig.sim.simulator.registered).toBe(true);
    expect(rig.sim.simulator.configByte).toBe(0x9a);
    expect(rig.term.capabilities.has('preauth_void')).toBe(true);
    await rig.term.close();
    await until(() => !rig!.sim.simulator.registered, 1000, 'log-off');
    expect(rig.term.state).toBe('disconnected');
  });

  it('sale: approved with the terminal facts, receipts as printed, progress, and a ledger entry', async () => {
    rig = await makeZvtRig('tcp');
    const progress: string[] = [];
    const o = await rig.term.sale(cmd(1234), (e) => progress.push(e.progress));
    expect(o.status).toBe('approved');
    if (o.status !== 'approved') return;
    expect(o.result).toMatchObject({
      resultCode: '00',
      amount: 1234,
      currency: '978',
      receiptNo: '0001',
      trace: '000001',
      terminalId: '52500001',
      maskedPan: '411111******3347',
      cardName: 'VISA',
    });
    expect(o.result.authCode).toMatch(/^\d{6}$/);
    expect(o.result.receipt!.merchant[0]).toBe('** HAENDLERBELEG **');
    expect(o.result.receipt!.customer[0]).toBe('** KUNDENBELEG **');
    expect(o.result.receipt!.customer.join('\n')).toContain('Betrag EUR         12,34');
    expect(progress).toEqual(['present_card', 'pin_entry_started', 'processing', 'remove_card']);
    expect(rig.sim.ledger).toEqual([
      expect.objectContaining({
        type: 'sale',
        status: 'approved',
        amount: 1234,
        receiptNo: '0001',
        trace: '000001',
      }),
    ]);
    expect(rig.term.state).toBe('idle');
    // Card data: only the masked PAN ever appears in the logs of both ends.
    expect(rig.logs.join('')).not.toMatch(/4111111111/);
  });

  it('sale declined by the host (amount ending 51): declined with the host code, nothing booked', async () => {
    rig = await makeZvtRig('tcp');
    const o = await rig.term.sale(cmd(1051));
    expect(o).toMatchObject({ status: 'declined', resultCode: '33' });
    if (o.status === 'declined') {
      expect(o.message).toContain('host code 51');
      expect(o.result?.receipt?.merchant.join('\n')).toContain('Abgelehnt (33)');
    }
    expect(rig.sim.ledger).toEqual([expect.objectContaining({ status: 'declined', receiptNo: null })]);
  });

  it('refund: the card is presented again; the ledger shows it refunded', async () => {
    rig = await makeZvtRig('tcp');
    const o = await rig.term.refund(cmd(500));
    expect(o).toMatchObject({ status: 'approved', result: { amount: 500 } });
    expect(rig.sim.ledger).toEqual([
      expect.objectContaining({ type: 'refund', status: 'refunded', amount: 500 }),
    ]);
  });

  it('void (reversal 06 30) by receipt number; a second void is declined B4 (already reversed)', async () => {
    rig = await makeZvtRig('tcp');
    const sale = await rig.term.sale(cmd(2000));
    if (sale.status !== 'approved') throw new Error(sale.status);
    const v = await rig.term.void({ ...cmd(2000, 'op-2'), receiptNo: sale.result.receiptNo! });
    expect(v).toMatchObject({ status: 'approved', result: { amount: 2000, receiptNo: '0002' } });
    const again = await rig.term.void({ ...cmd(2000, 'op-3'), receiptNo: sale.result.receiptNo! });
    expect(again).toMatchObject({ status: 'declined', resultCode: 'B4' });
    const unknown = await rig.term.void({ ...cmd(2000, 'op-4'), receiptNo: '0999' });
    expect(unknown).toMatchObject({ status: 'declined', resultCode: 'B5' });
    const ledger = rig.sim.ledger;
    expect(ledger[0]).toMatchObject({ type: 'sale', status: 'reversed', reversal: 'void' });
    expect(ledger[1]).toMatchObject({ type: 'void', status: 'approved', originalReceiptNo: '0001' });
  });

  it('pre-authorisation, capture (Book Total 06 24) and release (06 25)', async () => {
    rig = await makeZvtRig('tcp');
    const hold = await rig.term.preauth(cmd(10_000));
    if (hold.status !== 'approved') throw new Error(hold.status);
    expect(hold.result.receipt).toBeUndefined(); // no receipt for a successful pre-authorisation
    const cap = await rig.term.capture({
      ...cmd(7_550, 'op-2'),
      receiptNo: hold.result.receiptNo!,
      trace: hold.result.trace!,
    });
    expect(cap).toMatchObject({ status: 'approved', result: { amount: 7_550 } });
    const twice = await rig.term.capture({ ...cmd(100, 'op-3'), receiptNo: hold.result.receiptNo! });
    expect(twice).toMatchObject({ status: 'declined', resultCode: 'B8' });
    const hold2 = await rig.term.preauth(cmd(3_000, 'op-4'));
    if (hold2.status !== 'approved') throw new Error(hold2.status);
    const tooMuch = await rig.term.capture({ ...cmd(3_001, 'op-5'), receiptNo: hold2.result.receiptNo! });
    expect(tooMuch).toMatchObject({ status: 'declined', resultCode: 'B7' });
    const release = await rig.term.preauthVoid({ ...cmd(3_000, 'op-6'), receiptNo: hold2.result.receiptNo! });
    expect(release).toMatchObject({ status: 'approved' });
    const ledger = rig.sim.ledger;
    expect(ledger.filter((t) => t.type === 'preauth')).toEqual([
      expect.objectContaining({ status: 'approved', captured: 7_550, hold: 0 }),
      expect.objectContaining({ status: 'reversed', hold: 0 }),
    ]);
    expect(ledger.filter((t) => t.type === 'capture')).toEqual([
      expect.objectContaining({ amount: 7_550, status: 'approved' }),
    ]);
    expect(ledger.filter((t) => t.type === 'preauth_void')).toEqual([
      expect.objectContaining({ amount: 3_000 }),
    ]);
  });

  it('abort (06 B0) during the PIN entry: declined 6C, nothing booked; with nothing running it is not possible', async () => {
    rig = await makeZvtRig('tcp', { sim: { behaviour: { longPinEntryMs: 800, statusEveryMs: 100 } } });
    expect(await rig.term.abort()).toBe('not_possible');
    const sale = rig.term.sale(cmd(900));
    await until(() => rig!.progress.some((p) => p.progress === 'pin_entry_started'), 2000, 'PIN entry');
    expect(await rig.term.abort()).toBe('sent');
    expect(await sale).toMatchObject({ status: 'declined', resultCode: '6C' });
    expect(rig.sim.ledger).toEqual([]);
    expect(rig.term.state).toBe('idle');
  });

  it('repeat receipt (06 20): the last transaction, or none on a fresh terminal', async () => {
    rig = await makeZvtRig('tcp');
    expect(await rig.term.lastResult()).toEqual({ status: 'none' });
    const sale = await rig.term.sale(cmd(4_200));
    if (sale.status !== 'approved') throw new Error(sale.status);
    const last = await rig.term.lastResult();
    expect(last).toMatchObject({
      status: 'known',
      approved: true,
      result: { amount: 4_200, receiptNo: sale.result.receiptNo, trace: sale.result.trace },
    });
    await rig.term.sale(cmd(4_251, 'op-2'));
    expect(await rig.term.lastResult()).toMatchObject({
      status: 'known',
      approved: false,
      result: { resultCode: '33' },
    });
  });

  it('end of day (06 50): the batch total, an end-of-day ledger entry', async () => {
    rig = await makeZvtRig('tcp');
    await rig.term.sale(cmd(1_000));
    await rig.term.sale(cmd(2_500, 'op-2'));
    await rig.term.refund(cmd(300, 'op-3'));
    const eod = await rig.term.endOfDay();
    expect(eod).toMatchObject({ status: 'approved', result: { amount: 3_200 } });
    expect(rig.sim.ledger.at(-1)).toMatchObject({ type: 'end_of_day', amount: 3_200, count: 3, batch: 1 });
  });

  it('status enquiry (05 01) and diagnosis (06 70) for doctor', async () => {
    rig = await makeZvtRig('tcp');
    expect(await rig.term.statusEnquiry()).toMatchObject({
      status: 'ok',
      terminalStatus: '00',
      meaning: 'PT ready',
      swVersion: 'posbridge-zvt-sim 1.0',
      terminalId: '52500001',
      model: 'posbridge ZVT simulator',
    });
    expect(rig.term.info()).toMatchObject({
      model: 'posbridge ZVT simulator',
      firmware: 'posbridge-zvt-sim 1.0',
    });
    expect(await rig.term.diagnosis()).toMatchObject({ status: 'approved' });
  });

  it('one command at a time: a second is not_sent busy_locally; a capability left out is not_supported', async () => {
    rig = await makeZvtRig('tcp', { client: { capabilities: ['sale', 'repeat_receipt'] } });
    const first = rig.term.sale(cmd(100));
    const second = await rig.term.sale(cmd(200, 'op-2'));
    expect(second).toMatchObject({ status: 'not_sent', reason: 'busy_locally' });
    expect((await first).status).toBe('approved');
    expect(await rig.term.refund(cmd(100, 'op-3'))).toMatchObject({
      status: 'not_supported',
      code: 'not_supported_by_terminal',
    });
  });

  it('receipts as Print Text-Blocks (06 D3) when the client lists 06 D3 at registration', async () => {
    rig = await makeZvtRig('tcp', { client: { textBlocks: true } });
    expect(rig.sim.simulator.textBlocks).toBe(true);
    const o = await rig.term.sale(cmd(700));
    if (o.status !== 'approved') throw new Error(o.status);
    expect(o.result.receipt!.merchant[0]).toBe('** HAENDLERBELEG **');
    expect(o.result.receipt!.customer[0]).toBe('** KUNDENBELEG **');
  });

  it('a command while disconnected is not_sent link_down', async () => {
    rig = await makeZvtRig('tcp');
    await rig.sim.close();
    await until(
      () => rig!.term.state === 'disconnected' || rig!.term.state === 'connecting',
      2000,
      'link loss',
    );
    expect(await rig.term.sale(cmd(100))).toMatchObject({ status: 'not_sent', reason: 'link_down' });
    expect(await rig.term.lastResult()).toMatchObject({ status: 'unavailable' });
  });
});
