import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card } from './client.js';
import { field, harness, rc, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});

const json = async (r: Response): Promise<unknown> => r.json();

describe('control API', () => {
  it('GET /health', async () => {
    const r = await h.control('/health');
    expect(r.status).toBe(200);
    expect(await json(r)).toMatchObject({
      ok: true,
      dialect: 'cup-pos',
      iso: h.sim.isoPort,
      control: h.sim.controlPort,
    });
  });

  it('POST /faults, GET /faults, DELETE /faults/:id, DELETE /faults', async () => {
    const add = await h.control('/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'slow', match: { mti: '0200' }, action: 'delay', delayMs: 10 }),
    });
    expect(add.status).toBe(201);
    expect(await json(add)).toMatchObject({
      id: 'slow',
      action: 'delay',
      delayMs: 10,
      times: null,
      matched: 0,
      fired: 0,
    });
    const many = await h.control('/faults', {
      method: 'POST',
      body: JSON.stringify([
        { action: 'garbage', match: { amount: 99 } },
        { action: 'reversal_96', times: 3 },
      ]),
    });
    expect(many.status).toBe(201);
    expect(((await json(many)) as unknown[]).length).toBe(2);
    const list = (await json(await h.control('/faults'))) as { id: string }[];
    expect(list.map((f) => f.id)).toEqual(['slow', expect.any(String), expect.any(String)]);

    // the rule works and its counters show
    const c = await h.terminal();
    expect(rc(await c.sale(card('cup-magstripe'), 100))).toBe('00');
    const after = (await json(await h.control('/faults'))) as { id: string; fired: number }[];
    expect(after.find((f) => f.id === 'slow')!.fired).toBe(1);

    expect((await h.control('/faults/slow', { method: 'DELETE' })).status).toBe(204);
    expect((await h.control('/faults/slow', { method: 'DELETE' })).status).toBe(404);
    expect(h.sim.faults.size).toBe(2);
    expect((await h.control('/faults', { method: 'DELETE' })).status).toBe(204);
    expect(h.sim.faults.size).toBe(0);
  });

  it('rejects bad fault rules with the JSON path, and adds none of a bad list', async () => {
    const r = await h.control('/faults', {
      method: 'POST',
      body: JSON.stringify([{ action: 'garbage' }, { action: 'nope' }]),
    });
    expect(r.status).toBe(400);
    expect(await json(r)).toMatchObject({
      error: { code: 'bad_fault', message: expect.stringContaining('$[1].action') },
    });
    expect(h.sim.faults.size).toBe(0);
    const notJson = await h.control('/faults', { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('GET /ledger, GET /transactions?tid=&stan=, GET /cards', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const sale = await c.sale(cd, 654_300);
    const ledger = (await json(await h.control('/ledger'))) as {
      accounts: Record<string, { available: number }>;
      transactions: { tid: string; status: string }[];
      terminals: Record<string, { kcv: { mak: string }; field62?: string }>;
    };
    expect(ledger.accounts[cd.id]!.available).toBe(h.sim.ledger.available(cd.id));
    expect(ledger.transactions.filter((t) => t.tid === c.tid)).toHaveLength(1);
    expect(ledger.terminals[c.tid]!.kcv.mak).toMatch(/^[0-9A-F]{8}$/);
    expect(ledger.terminals[c.tid]!.field62).toBeUndefined();

    const txs = (await json(
      await h.control(`/transactions?tid=${c.tid}&stan=${field(sale, 11) as string}`),
    )) as {
      rrn: string;
      status: string;
      panMasked: string;
    }[];
    expect(txs).toHaveLength(1);
    expect(txs[0]).toMatchObject({ rrn: field(sale, 37), status: 'approved', panMasked: cd.pan.masked });
    expect(await json(await h.control(`/transactions?tid=${c.tid}&stan=999999`))).toEqual([]);

    const cardsText = await (await h.control('/cards')).text();
    expect(cardsText).not.toContain(cd.pan.reveal());
    const cards = JSON.parse(cardsText) as { id: string; pan: string; available: number }[];
    expect(cards.find((x) => x.id === cd.id)).toMatchObject({
      pan: cd.pan.masked,
      available: h.sim.ledger.available(cd.id),
    });
    expect(cards.find((x) => x.id === 'cup-token-huawei')).toMatchObject({
      token: { par: expect.any(String) },
    });
  });

  it('GET /settlement-file returns CSV and writes it', async () => {
    const c = await h.terminal();
    const sale = await c.sale(card('visa-chip'), 10_000);
    const r = await h.control(`/settlement-file?tid=${c.tid}&batch=${c.batch}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const csv = await r.text();
    expect(csv.split('\n')[0]).toBe('date,tid,batch,stan,rrn,amount,type,status');
    expect(csv).toContain(
      `,${c.tid},${c.batch},${field(sale, 11) as string},${field(sale, 37) as string},10000,sale,approved`,
    );
    expect(readFileSync(r.headers.get('x-settlement-file')!, 'utf8')).toBe(csv);
    expect((await h.control('/settlement-file?batch=12')).status).toBe(400);
  });

  it('POST /reset: opening balances, no transactions, no faults; terminals stay signed on', async () => {
    const c = await h.terminal();
    await c.sale(card('cup-magstripe'), 10_000);
    h.sim.faults.add({ action: 'garbage', match: { amount: 1 } });
    expect((await h.control('/reset', { method: 'POST' })).status).toBe(204);
    expect(h.sim.ledger.snapshot.transactions).toHaveLength(0);
    expect(h.sim.ledger.available('cup-magstripe')).toBe(card('cup-magstripe').balance);
    expect(h.sim.faults.size).toBe(0);
    expect(rc(await c.sale(card('cup-magstripe'), 10_000))).toBe('00');
  });

  it('unknown routes 404, wrong methods 405', async () => {
    expect((await h.control('/nope')).status).toBe(404);
    expect((await h.control('/ledger', { method: 'POST' })).status).toBe(405);
    expect((await h.control('/faults/x', { method: 'GET' })).status).toBe(405);
  });
});
