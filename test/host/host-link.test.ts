import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pan } from '../../src/card/index.js';
import { SoftwareSecurityModule } from '../../src/crypto/index.js';
import {
  Counter,
  FileCounterStore,
  FrameReader,
  HostLink,
  MemoryCounterStore,
  type HostOutcome,
  type LinkStateEvent,
  type StrayResponse,
} from '../../src/host/index.js';
import { dialectFraming, frame, loadDialect } from '../../src/iso8583/index.js';
import { FakeHost, TMK } from './fake-host.js';

const dialect = loadDialect('cup-pos');

function sale(amount = '000000010000') {
  return {
    mti: '0200',
    fields: {
      2: Pan.fromDigits('6212340000000000019'),
      3: '000000',
      4: amount,
      22: '051',
      25: '00',
      49: '156',
      60: { '1': '22', '2': '000123', '3': '000', '4': '5', '5': '0' },
    },
  };
}

let host: FakeHost;
let link: HostLink | undefined;

function makeLink(overrides: Partial<ConstructorParameters<typeof HostLink>[0]> = {}): HostLink {
  link = new HostLink({
    host: '127.0.0.1',
    port: host.port,
    dialect,
    terminalId: 'SIM00001',
    merchantId: '898310048160001',
    securityModule: new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' }),
    keyLayout: 'double',
    counters: new MemoryCounterStore(),
    timers: {
      connectMs: 1000,
      responseMs: 400,
      writeMs: 500,
      idleEchoMs: 0,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
      lateWindowMs: 5000,
    },
    ...overrides,
  });
  link.start();
  return link;
}

beforeEach(async () => {
  host = new FakeHost();
  await host.start();
});

afterEach(async () => {
  await link?.close();
  link = undefined;
  await host.stop();
});

describe('host link', () => {
  it('signs on, then sends a MACed sale and verifies the MACed answer', async () => {
    const l = makeLink();
    const states: string[] = [];
    l.on('state', (e: LinkStateEvent) => states.push(e.state));
    await l.whenReady();
    expect(host.signOns).toBe(1);
    const out = await l.request(sale());
    expect(out.status).toBe('answered');
    if (out.status !== 'answered') return;
    expect(out.response.mti).toBe('0210');
    expect(out.response.fields[39]).toBe('00');
    const req = host.received.find((m) => m.mti === '0200')!;
    expect(Buffer.isBuffer(req.fields[64])).toBe(true);
    expect(req.fields[11]).toBe(out.attempt.stan);
    expect(states).toContain('ready');
  });

  it('reassembles answers that arrive one byte at a time and several per chunk', async () => {
    const l = makeLink();
    await l.whenReady();
    host.behaviour = 'one_byte_at_a_time';
    expect((await l.request(sale())).status).toBe('answered');
    host.behaviour = 'answer';
    host.coalesce = 3;
    const outs = await Promise.all([l.request(sale('1')), l.request(sale('2')), l.request(sale('3'))]);
    expect(outs.map((o) => o.status)).toEqual(['answered', 'answered', 'answered']);
    expect(outs.map((o) => (o.status === 'answered' ? o.response.fields[4] : ''))).toEqual([
      '000000000001',
      '000000000002',
      '000000000003',
    ]);
  });

  it('a timeout is unknown, never failed, and the late answer is routed as late', async () => {
    const l = makeLink();
    await l.whenReady();
    host.delayMs = 600;
    const strays: StrayResponse[] = [];
    l.on('stray', (s: StrayResponse) => strays.push(s));
    const out = await l.request(sale());
    expect(out).toMatchObject({ status: 'unknown', reason: 'timeout' });
    await new Promise((r) => setTimeout(r, 400));
    expect(strays).toHaveLength(1);
    expect(strays[0]!.kind).toBe('late');
    expect(strays[0]!.attempt?.stan).toBe(out.attempt.stan);
  });

  it('an answer with the wrong STAN is unmatched and the request ends unknown', async () => {
    const l = makeLink();
    await l.whenReady();
    host.behaviour = 'wrong_stan';
    const strays: StrayResponse[] = [];
    l.on('stray', (s: StrayResponse) => strays.push(s));
    expect((await l.request(sale())).status).toBe('unknown');
    expect(strays.map((s) => s.kind)).toEqual(['unmatched']);
  });

  it('is not_sent while the link is down, and unknown when the connection drops after sending', async () => {
    const l = makeLink({ port: 1 });
    const early = await l.request(sale());
    expect(early).toMatchObject({ status: 'not_sent', reason: 'link_down' });
    await l.close();
    const l2 = makeLink();
    await l2.whenReady();
    host.behaviour = 'close';
    expect(await l2.request(sale())).toMatchObject({ status: 'unknown', reason: 'connection_lost' });
  });

  it('refuses a second request in flight with the same key', async () => {
    const l = makeLink();
    await l.whenReady();
    host.delayMs = 100;
    const msg = { ...sale(), fields: { ...sale().fields, 11: '000777' } };
    const [a, b] = await Promise.all([l.request(msg), l.request(msg)]);
    expect(a.status).toBe('answered');
    expect(b).toMatchObject({ status: 'not_sent', reason: 'duplicate_in_flight' });
  });

  it('a bad response MAC is mac_error, and an approval without a MAC is too', async () => {
    const l = makeLink();
    await l.whenReady();
    host.behaviour = 'bad_mac';
    expect((await l.request(sale())).status).toBe('mac_error');
    host.behaviour = 'no_mac';
    expect((await l.request(sale())).status).toBe('mac_error');
  });

  it('reconnects after the host restarts', async () => {
    const l = makeLink();
    await l.whenReady();
    const port = host.port;
    await host.stop();
    const keys = host.hsm;
    host = new FakeHost();
    host.hsm = keys; // a restarted host keeps the terminal's working keys
    await new Promise((r) => setTimeout(r, 50));
    await host.start(port);
    await l.whenReady(3000);
    // Keys survive a reconnect: no second sign-on is needed.
    expect((await l.request(sale())).status).toBe('answered');
  });

  it('signs on again when a response header asks', async () => {
    const l = makeLink();
    await l.whenReady();
    host.behaviour = 'sign_on_flag';
    expect((await l.request(sale())).status).toBe('answered');
    await new Promise((r) => setTimeout(r, 200));
    expect(host.signOns).toBe(2);
  });

  it('a security module that lost its working keys gets fresh ones: sign on again, then the request goes out (defect 4)', async () => {
    const sm = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' });
    const l = makeLink({ securityModule: sm });
    await l.whenReady();
    sm.clearWorkingKeys(); // the reader restarted and nothing reloaded its keys
    const o = await l.request(sale());
    expect(o.status).toBe('answered');
    expect(host.signOns).toBe(2);
    expect((await l.request(sale('000000020000'))).status).toBe('answered');
  });

  it('a re-sign-on whose keys the reader could not take (it dropped): the link reconnects and signs on until it can (defect 4)', async () => {
    const sm = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' });
    let loads = 0;
    const flaky = Object.assign(Object.create(sm) as SoftwareSecurityModule, {
      mac: (d: Buffer) => sm.mac(d),
      verifyMac: (d: Buffer, m: Buffer) => sm.verifyMac(d, m),
      keyCheckValues: () => sm.keyCheckValues(),
      loadWorkingKeys: async (f62: Buffer, layout: 'single' | 'double') => {
        loads++;
        if (loads === 2) {
          sm.clearWorkingKeys(); // the reader went away mid-command and came back empty
          throw Object.assign(new Error('reader link lost'), { code: 'reader_disconnected' });
        }
        return sm.loadWorkingKeys(f62, layout);
      },
    });
    const l = makeLink({ securityModule: flaky });
    await l.whenReady();
    host.behaviour = 'sign_on_flag';
    expect((await l.request(sale())).status).toBe('answered');
    host.behaviour = 'answer';
    await new Promise((r) => setTimeout(r, 300));
    await l.whenReady(3000);
    expect(loads).toBeGreaterThanOrEqual(3);
    expect((await l.request(sale('000000030000'))).status).toBe('answered');
  });

  it('echoes when idle', async () => {
    const l = makeLink({
      timers: {
        connectMs: 1000,
        responseMs: 400,
        writeMs: 500,
        idleEchoMs: 50,
        backoffInitialMs: 20,
        backoffMaxMs: 100,
        lateWindowMs: 1000,
      },
    });
    await l.whenReady();
    await new Promise((r) => setTimeout(r, 250));
    const echo = host.received.find((m) => m.mti === '0820');
    expect(echo).toBeDefined();
  });

  it('runs beforeSend (the journal) before the bytes leave, and does not send when it fails', async () => {
    const l = makeLink();
    await l.whenReady();
    const seen: number[] = [];
    const ok = await l.request(sale(), {
      beforeSend: (attempt) => {
        seen.push(host.received.filter((m) => m.mti === '0200').length);
        expect(attempt.stan).toMatch(/^\d{6}$/);
      },
    });
    expect(ok.status).toBe('answered');
    expect(seen).toEqual([0]);
    const out: HostOutcome = await l.request(sale(), {
      beforeSend: () => {
        throw new Error('disk full');
      },
    });
    expect(out).toMatchObject({ status: 'not_sent', reason: 'before_send_failed' });
    expect(host.received.filter((m) => m.mti === '0200')).toHaveLength(1);
  });
});

describe('frame reader', () => {
  const framing = dialectFraming(dialect);
  const f = (n: number) => frame(Buffer.alloc(n, 0x11), framing);

  it('skips zero-length keep-alives and refuses oversized frames', () => {
    const r = new FrameReader(framing, 100);
    const frames = r.push(Buffer.concat([Buffer.from([0, 0]), f(3), Buffer.from([0, 0])]));
    expect(frames).toHaveLength(1);
    expect(() => new FrameReader(framing, 100).push(Buffer.from([0x10, 0x00]))).toThrow(/frame_too_large/);
  });

  it('holds partial frames until complete', () => {
    const r = new FrameReader(framing, 100);
    const bytes = Buffer.concat([f(4), f(5)]);
    const got: Buffer[] = [];
    for (const b of bytes) got.push(...r.push(Buffer.from([b])));
    expect(got.map((g) => g.length)).toEqual([2 + 11 + 4, 2 + 11 + 5]);
    expect(r.buffered).toBe(0);
  });
});

describe('counters', () => {
  it('STAN runs 000001..999999 and wraps to 000001, never 000000, and survives a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-counters-'));
    const store = new FileCounterStore(join(dir, 'counters.json'));
    const stan = new Counter(store, 'stan');
    expect(stan.next()).toBe('000001');
    stan.set(999_998);
    expect(stan.next()).toBe('999999');
    expect(stan.next()).toBe('000001');
    const again = new Counter(new FileCounterStore(join(dir, 'counters.json')), 'stan');
    expect(again.next()).toBe('000002');
  });
});

describe('working keys stay out of logs (PCI DSS 4.0 3.6)', () => {
  it('host rx shows field 62 only as its length; "signed on" shows no full check value', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    const l = makeLink({ logger });
    await l.whenReady();
    const text = lines.join('\n');
    expect(text).toContain('signed on');
    expect(text).toMatch(/62 Reserved private \(keys, terminal data\): <\d+ bytes key-block>/);
    // The field 62 the host sent and the full check values it carries never appear.
    const f62 = host.lastField62!.toString('hex').toUpperCase();
    expect(text.toUpperCase()).not.toContain(f62.slice(0, 32));
    for (let i = 0; i + 8 <= f62.length; i += 8) {
      // every 4-byte chunk of the key block (encrypted keys and KCVs) is absent
      if (/^0+$/.test(f62.slice(i, i + 8))) continue;
      expect(text.toUpperCase(), `chunk ${i / 8} of field 62`).not.toContain(f62.slice(i, i + 8));
    }
  });
});
