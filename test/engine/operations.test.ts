import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/index.js';
import { harness, type Harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const states = (id: string) =>
  h.events
    .filter((e) => e.kind === 'durable' && e.operationId === id && e.type === 'operation.state')
    .map((e) => (e.kind === 'durable' ? e.data['state'] : ''));

async function sale(amount: number, key = `sale-${amount}-${Math.random()}`, orderId = 'ORDER-1') {
  const v = h.engine.submit({ kind: 'sale', idempotencyKey: key, operatorId: 'op-7', orderId, amount });
  return h.engine.settled(v.id);
}

describe('sale', () => {
  it('chip with PIN: approved by the host, TC from the card, completed; journal rows and events', async () => {
    h = await harness();
    const v = await sale(12_345_600);
    expect(v.state).toBe('completed');
    expect(v.approvedAmount).toBe(12_345_600);
    expect(v.host.rrn).toMatch(/^.{12}$/);
    expect(v.host.authCode).toMatch(/^\d{6}$/);
    expect(v.card?.panDisplay).toBe('621234*********0010');
    expect(states(v.id)).toEqual(['awaiting_card', 'authorizing', 'approved', 'completed']);
    const attempts = h.journal.attemptsOf(v.id).filter((a) => a.purpose === 'request');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      purpose: 'request',
      mti: '0200',
      outcome: 'answered',
      responseCode: '00',
    });
    // The prepared reversal is cancelled; the TC upload waits in its own lane.
    const saf = h.journal.safOf(v.id);
    expect(saf.find((s) => s.lane === 'reversal')?.status).toBe('cancelled');
    expect(saf.find((s) => s.kind === 'tc_upload')).toBeDefined();
    await h.engine.saf.drainAdvices();
    expect(h.journal.safOf(v.id).find((s) => s.kind === 'tc_upload')?.status).toBe('done');
    expect(h.journal.attemptsOf(v.id).find((a) => a.purpose === 'advice')).toMatchObject({
      mti: '0320',
      responseCode: '00',
    });
    // Field 55 as sent: the profile's tags, never the sensitive ones the reader also gave.
    const op = h.journal.getOperation(v.id)!;
    expect(op.iccRequest?.toString('hex').toUpperCase()).toMatch(/^9F26/);
    expect(op.iccRequest?.toString('hex').toUpperCase()).not.toContain('5A0A');
    expect(op.card?.fingerprint).toMatch(/^fp1:/);
    // The host's ledger moved the money.
    expect(h.sim.ledger).toBeDefined();
  });

  it('declines keep their code and never complete on the card', async () => {
    h = await harness();
    const v = await sale(10_051); // ...51 → insufficient funds
    expect(v.state).toBe('declined');
    expect(v.reason).toBe('declined_51');
    expect(h.reader.completions.at(-1)?.approved).toBe(false);
    expect(h.journal.sealedPans()).not.toContain(v.id);
  });

  it('the same idempotency key never charges twice; different parameters are a conflict', async () => {
    h = await harness();
    const first = await sale(5_000, 'k-1');
    const again = h.engine.submit({
      kind: 'sale',
      idempotencyKey: 'k-1',
      operatorId: 'op-7',
      orderId: 'ORDER-1',
      amount: 5_000,
    });
    expect(again.id).toBe(first.id);
    expect(h.reader.starts).toBe(1);
    expect(() =>
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'k-1',
        operatorId: 'op-7',
        orderId: 'ORDER-1',
        amount: 6_000,
      }),
    ).toThrow(expect.objectContaining({ code: 'idempotency_conflict' }) as Error);
  });

  it('one transaction per reader', async () => {
    h = await harness();
    const a = h.engine.submit({ kind: 'sale', idempotencyKey: 'a', operatorId: 'op', amount: 100 });
    expect(() =>
      h.engine.submit({ kind: 'sale', idempotencyKey: 'b', operatorId: 'op', amount: 100 }),
    ).toThrow(expect.objectContaining({ code: 'reader_busy' }) as Error);
    await h.engine.settled(a.id);
  });

  it('customer cancels: cancelled, nothing sent', async () => {
    h = await harness();
    h.reader.behaviour = 'cancel';
    const v = await sale(100);
    expect(v.state).toBe('cancelled');
    expect(h.journal.attemptsOf(v.id)).toHaveLength(0);
  });

  it('rejects bad input with a path and journals nothing', () => {
    return harness().then((x) => {
      h = x;
      const bad = (req: object, path: string) => {
        try {
          h.engine.submit(req as never);
          throw new Error('accepted');
        } catch (e) {
          expect(e).toBeInstanceOf(EngineError);
          expect((e as EngineError).path).toBe(path);
        }
      };
      bad({ kind: 'sale', idempotencyKey: 'x', operatorId: 'o', amount: 12.5 }, 'amount');
      bad({ kind: 'sale', idempotencyKey: 'x', operatorId: 'o', amount: -1 }, 'amount');
      bad({ kind: 'sale', idempotencyKey: '', operatorId: 'o', amount: 1 }, 'idempotencyKey');
      bad({ kind: 'refund', idempotencyKey: 'x', operatorId: 'o', amount: 1 }, 'originalId');
      bad({ kind: 'sale', idempotencyKey: 'x', operatorId: 'o', amount: 1, currency: '840' }, 'currency');
      expect(h.journal.recentOperations()).toHaveLength(0);
    });
  });

  it('partial approval waits for the CRM: accepted → completed with the approved amount', async () => {
    h = await harness();
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'p1', operatorId: 'op', amount: 20_077 });
    for (let i = 0; i < 100 && h.engine.view(v.id).state !== 'partially_approved'; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(h.engine.view(v.id)).toMatchObject({ state: 'partially_approved', approvedAmount: 10_038 });
    h.engine.decidePartial(v.id, true);
    expect(await h.engine.settled(v.id)).toMatchObject({ state: 'completed', approvedAmount: 10_038 });
  });

  it('partial approval declined by the CRM is reversed', async () => {
    h = await harness();
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'p2', operatorId: 'op', amount: 20_077 });
    for (let i = 0; i < 100 && h.engine.view(v.id).state !== 'partially_approved'; i++)
      await new Promise((r) => setTimeout(r, 10));
    h.engine.decidePartial(v.id, false);
    await h.engine.settled(v.id);
    await h.engine.saf.drainReversals();
    expect(h.engine.view(v.id).state).toBe('reversed');
    const rev = h.journal.attemptsOf(v.id).find((a) => a.purpose === 'reversal');
    expect(rev).toMatchObject({ mti: '0400', outcome: 'answered', responseCode: '00' });
  });

  it('chip declines after host approval (AAC): reversed with reason 06', async () => {
    h = await harness();
    h.reader.behaviour = 'aac';
    const v = await sale(3_000);
    await h.engine.saf.drainReversals();
    expect(h.engine.view(v.id)).toMatchObject({ state: 'reversed', reason: 'chip_declined_after_approval' });
  });
});

describe('balance, pre-auth, capture, voids and refunds', () => {
  it('balance inquiry reports the balance and moves no money', async () => {
    h = await harness();
    const v = h.engine.submit({ kind: 'balance', idempotencyKey: 'bal', operatorId: 'op' });
    const done = await h.engine.settled(v.id);
    expect(done.state).toBe('completed');
    expect(done.result).toMatchObject({ balance: { amount: expect.any(Number), currency: '156' } });
    expect(h.journal.safOf(v.id)).toHaveLength(0);
  });

  it('pre-auth, then capture (no card), then the order summary', async () => {
    h = await harness();
    const pa = await h.engine.settled(
      h.engine.submit({
        kind: 'preauth',
        idempotencyKey: 'pa',
        operatorId: 'op',
        orderId: 'CAR-9',
        amount: 100_000,
      }).id,
    );
    expect(pa.state).toBe('completed');
    expect(h.engine.orderSummary('CAR-9')).toMatchObject({ held: 100_000, captured: 0 });
    await expect(async () =>
      h.engine.submit({
        kind: 'capture',
        idempotencyKey: 'cap-x',
        operatorId: 'op',
        originalId: pa.id,
        amount: 116_000,
      }),
    ).rejects.toMatchObject({ code: 'amount_exceeds_original' });
    const cap = await h.engine.settled(
      h.engine.submit({
        kind: 'capture',
        idempotencyKey: 'cap',
        operatorId: 'op',
        originalId: pa.id,
        amount: 110_000,
      }).id,
    );
    expect(cap.state).toBe('completed');
    expect(h.journal.attemptsOf(cap.id)[0]).toMatchObject({ mti: '0200', responseCode: '00' });
    expect(h.engine.orderSummary('CAR-9')).toMatchObject({ held: 0, captured: 110_000, net: 110_000 });
    expect(h.engine.view(pa.id).capturedAmount).toBe(110_000);
  });

  it('pre-auth void releases the hold', async () => {
    h = await harness();
    const pa = await h.engine.settled(
      h.engine.submit({
        kind: 'preauth',
        idempotencyKey: 'pa2',
        operatorId: 'op',
        orderId: 'CAR-2',
        amount: 50_000,
      }).id,
    );
    const pv = await h.engine.settled(
      h.engine.submit({ kind: 'preauth_void', idempotencyKey: 'pv', operatorId: 'op', originalId: pa.id }).id,
    );
    expect(pv.state).toBe('completed');
    expect(h.engine.view(pa.id).voided).toBe(true);
    expect(h.engine.orderSummary('CAR-2')).toMatchObject({ held: 0 });
  });

  it('void in the same batch; the original stays completed, views derive "voided"', async () => {
    h = await harness();
    const s = await sale(8_800, 's-void', 'CAR-3');
    const v = await h.engine.settled(
      h.engine.submit({ kind: 'void', idempotencyKey: 'void-1', operatorId: 'op', originalId: s.id }).id,
    );
    expect(v.state).toBe('completed');
    expect(h.engine.view(s.id)).toMatchObject({ state: 'completed', voided: true });
    expect(h.engine.orderSummary('CAR-3')).toMatchObject({ captured: 0, net: 0 });
    expect(() =>
      h.engine.submit({ kind: 'void', idempotencyKey: 'void-2', operatorId: 'op', originalId: s.id }),
    ).toThrow(expect.objectContaining({ code: 'wrong_state' }) as Error);
  });

  it('split payments and partial refunds; refunds never exceed what was captured', async () => {
    h = await harness();
    const a = await sale(300_000_00, 'split-a', 'CAR-7');
    const b = await sale(150_000_00, 'split-b', 'CAR-7');
    const r1 = await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'r1',
        operatorId: 'op',
        originalId: a.id,
        amount: 100_000_00,
      }).id,
    );
    expect(r1.state).toBe('completed');
    expect(() =>
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'r2',
        operatorId: 'op',
        originalId: a.id,
        amount: 200_000_01,
      }),
    ).toThrow(expect.objectContaining({ code: 'refund_exceeds_captured' }) as Error);
    const r2 = await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'r3',
        operatorId: 'op',
        originalId: a.id,
        amount: 200_000_00,
      }).id,
    );
    expect(r2.state).toBe('completed');
    expect(h.engine.view(a.id).refundedAmount).toBe(300_000_00);
    const summary = h.engine.orderSummary('CAR-7');
    expect(summary).toMatchObject({
      captured: 450_000_00,
      refunded: 300_000_00,
      net: 150_000_00,
      pending: 0,
    });
    expect(summary.operations.map((o) => o.kind)).toEqual(['sale', 'sale', 'refund', 'refund']);
    expect(b.state).toBe('completed');
  });

  it('a refund with the card present checks it is the original card', async () => {
    h = await harness();
    const s = await sale(7_000, 's-card');
    h.reader.pick('visa-chip');
    const r = await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'rc',
        operatorId: 'op',
        originalId: s.id,
        amount: 1_000,
        cardPresent: true,
      }).id,
    );
    expect(r).toMatchObject({ state: 'failed', reason: 'card_mismatch' });
    h.reader.pick('cup-debit-chip');
    const ok = await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'rc2',
        operatorId: 'op',
        originalId: s.id,
        amount: 1_000,
        cardPresent: true,
      }).id,
    );
    expect(ok.state).toBe('completed');
  });

  it('voids and refunds above the threshold need a supervisor approval code', async () => {
    h = await harness({ config: { supervisorThreshold: 100_000, supervisorCodes: { 'sup-1': '4711' } } });
    const s = await sale(500_000, 's-sup');
    expect(() =>
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'rs',
        operatorId: 'op',
        originalId: s.id,
        amount: 200_000,
      }),
    ).toThrow(expect.objectContaining({ code: 'supervisor_approval_required' }) as Error);
    expect(() =>
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'rs',
        operatorId: 'op',
        originalId: s.id,
        amount: 200_000,
        approvalCode: '1',
      }),
    ).toThrow(expect.objectContaining({ code: 'supervisor_approval_invalid' }) as Error);
    const r = await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'rs',
        operatorId: 'op',
        originalId: s.id,
        amount: 200_000,
        approvalCode: '4711',
      }).id,
    );
    expect(r.state).toBe('completed');
    expect(h.journal.auditOf(r.id).map((a) => a.action)).toContain('supervisor_approval');
    // A small refund needs no code.
    const small = await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'rs-small',
        operatorId: 'op',
        originalId: s.id,
        amount: 1_000,
      }).id,
    );
    expect(small.state).toBe('completed');
  });
});

describe('card data at rest', () => {
  it('no PAN digits (ASCII, hex or BCD) in the database file or its WAL after every operation', async () => {
    h = await harness();
    const s = await sale(9_900, 'leak-sale', 'LEAK');
    await h.engine.settled(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'leak-r',
        operatorId: 'op',
        originalId: s.id,
        amount: 100,
      }).id,
    );
    await h.engine.settled(
      h.engine.submit({
        kind: 'void',
        idempotencyKey: 'leak-v',
        operatorId: 'op',
        originalId: (await sale(500, 'leak-s2')).id,
      }).id,
    );
    const pa = await h.engine.settled(
      h.engine.submit({ kind: 'preauth', idempotencyKey: 'leak-pa', operatorId: 'op', amount: 1_000 }).id,
    );
    await h.engine.settled(
      h.engine.submit({
        kind: 'capture',
        idempotencyKey: 'leak-c',
        operatorId: 'op',
        originalId: pa.id,
        amount: 1_000,
      }).id,
    );
    await h.engine.settled(
      h.engine.submit({ kind: 'balance', idempotencyKey: 'leak-b', operatorId: 'op' }).id,
    );
    await sale(10_051, 'leak-decl');
    const pan = h.reader.card.pan.reveal();
    const forms = [
      Buffer.from(pan, 'latin1'),
      Buffer.from(pan.slice(0, 12), 'latin1'),
      Buffer.from(pan.length % 2 ? `${pan}0` : pan, 'hex'),
      Buffer.from(pan.length % 2 ? `${pan}F` : pan, 'hex'),
      Buffer.from(Buffer.from(pan).toString('hex'), 'latin1'),
    ];
    const files = readdirSync(h.dir).filter((f) => f.startsWith('journal.db'));
    expect(files).toEqual(expect.arrayContaining(['journal.db', 'journal.db-wal']));
    for (const f of files) {
      const bytes = readFileSync(join(h.dir, f));
      for (const form of forms) expect(bytes.includes(form), `${f} holds a PAN form`).toBe(false);
    }
  });
});
