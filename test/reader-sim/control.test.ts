import { afterEach, describe, expect, it } from 'vitest';
import { loadCards } from '../../simulators/shared/cards.js';
import { startReaderSimulator, type ReaderSimulatorHandle } from '../../simulators/reader/index.js';

let sim: ReaderSimulatorHandle | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(`http://127.0.0.1:${sim!.controlPort}${path}`, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('reader simulator control API', () => {
  it('health, behaviour, status, cards, drop, reset; no clear card data anywhere', async () => {
    sim = await startReaderSimulator({ tcp: { port: 0 } });
    expect(sim.port).toBeGreaterThan(0);
    const health = await call('GET', '/health');
    expect(health.json).toMatchObject({
      ok: true,
      serialNumber: 'PBR-SIM-0001',
      profile: 'posbridge',
      connected: false,
      tcp: sim.port,
    });

    const b = await call('POST', '/behaviour', {
      card: 'visa-chip',
      presentation: 'contactless',
      dropLinkAt: 'after_card_read',
      slowLink: { chunkDelayMs: 5, mtu: 20 },
      odaMethod: 'sda',
      clonedCard: true,
    });
    expect(b.status).toBe(200);
    expect(b.json).toMatchObject({
      card: 'visa-chip',
      presentation: 'contactless',
      dropLinkAt: 'after_card_read',
      slowLink: { chunkDelayMs: 5, mtu: 20 },
      odaMethod: 'sda',
      clonedCard: true,
    });
    expect(sim.behaviour().card).toBe('visa-chip');

    for (const bad of [
      { card: 'no-such-card' },
      { dropLinkAt: 'sometime' },
      { batteryPercent: 101 },
      { odaMethod: 'cda' },
      { clonedCard: 'yes' },
      { unknown: 1 },
      [1],
    ]) {
      const r = await call('POST', '/behaviour', bad);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: { code: 'bad_behaviour' } });
    }
    expect((await call('GET', '/status')).json).toMatchObject({
      connected: false,
      transaction: null,
      keyCheckValues: { tmk: expect.stringMatching(/^[0-9A-F]{8}$/) },
      lastOda: null,
      dukpt: null,
    });
    const cardsView = await call('GET', '/cards');
    expect((cardsView.json as unknown[]).length).toBe(loadCards().cards.length);
    for (const c of loadCards().cards) expect(cardsView.text).not.toContain(c.pan.reveal());
    expect((await call('POST', '/drop', { ms: 10 })).status).toBe(204);
    expect((await call('POST', '/reset')).status).toBe(204);
    expect(sim.behaviour().card).toBe('cup-debit-chip');
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('DELETE', '/behaviour')).status).toBe(405);
    expect((await call('POST', '/behaviour', 'not json{')).status).toBe(400);
  });
});
