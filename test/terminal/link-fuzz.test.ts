/**
 * Link-layer fuzz, seeded (FUZZ_SEED=n replays): random bytes and broken frames are NAKed or dropped,
 * never crash the parser, the link or the driver, never hang, and never come out as a corrupted frame
 * where a CRC protects them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  FrameCodec,
  Link,
  loadReaderProfile,
  ReaderDriver,
  ReaderError,
  type Frame,
  type ParseEvent,
} from '../../src/terminal/index.js';
import { ReaderSimulator } from '../../simulators/reader/index.js';
import { int, pick, prng, seedFromEnv } from '../support/prng.js';
import { makePipe } from './pipe.js';
import { SIM_SERIAL, TEST_TIMERS } from './rig.js';

const PROFILES = ['posbridge', 'posbridge-nus', 'mpos-lenpfx'] as const;
const seed = seedFromEnv('terminal link fuzz');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

describe.each(PROFILES)('fuzz: %s', (name) => {
  const profile = loadReaderProfile(name);
  const codec = new FrameCodec(profile.framing);

  it('parser: random bytes never throw and never leave more than a frame pending', () => {
    const rand = prng(seed);
    for (const fromReader of [true, false]) {
      const p = codec.parser(fromReader);
      for (let i = 0; i < 3000; i++) {
        const events = p.push(randomBytes(rand, int(rand, 1, 48)));
        for (const e of events) expect(['frame', 'ack', 'nak', 'bad']).toContain(e.type);
        expect(p.pending).toBeLessThanOrEqual(profile.framing.maxFrame + codec.overhead + 1);
        if (rand() < 0.05) p.expire();
      }
    }
  });

  it('parser: broken frames are dropped (or reported bad), intact ones come through', () => {
    const rand = prng(seed + 1);
    const p = codec.parser(true);
    const originals = new Set<string>();
    const key = (f: Frame): string => `${f.cmd}:${f.status}:${f.payload.toString('hex')}`;
    let intact = 0;
    let delivered = 0;
    const collect = (events: ParseEvent[]): void => {
      for (const e of events) {
        if (e.type !== 'frame') continue;
        delivered++;
        // a CRC lets nothing corrupted through; an 8-bit LRC may (1 in 256), so only count those
        if (profile.framing.check === 'crc16') expect(originals.has(key(e.frame))).toBe(true);
      }
    };
    for (let i = 0; i < 2000; i++) {
      const frame: Frame = {
        seq: profile.framing.variant === 'stx' ? int(rand, 1, 255) : -1,
        cmd: int(rand, 0, 255),
        status: int(rand, 0, 255),
        payload: randomBytes(rand, int(rand, 0, 80)),
      };
      originals.add(key(frame));
      let wire = codec.encode(frame);
      const mutation = pick(rand, ['none', 'none', 'flip', 'truncate', 'prefix', 'duplicate', 'chop']);
      switch (mutation) {
        case 'flip': {
          wire = Buffer.from(wire);
          const at = int(rand, 0, wire.length - 1);
          wire[at] = wire[at]! ^ (1 << int(rand, 0, 7));
          break;
        }
        case 'truncate':
          wire = wire.subarray(0, int(rand, 0, wire.length - 1));
          break;
        case 'prefix':
          wire = Buffer.concat([randomBytes(rand, int(rand, 1, 10)), wire]);
          intact++;
          break;
        case 'duplicate':
          wire = Buffer.concat([wire, wire]);
          intact += 2;
          break;
        case 'chop': {
          const cut = int(rand, 1, Math.max(1, wire.length - 1));
          collect(p.push(wire.subarray(0, cut)));
          wire = wire.subarray(cut);
          intact++;
          break;
        }
        default:
          intact++;
      }
      collect(p.push(wire));
      if (mutation === 'truncate' || mutation === 'flip') collect(p.expire());
    }
    collect(p.expire());
    // Most intact frames survive the garbage around them (a truncated frame may swallow the next one).
    expect(delivered).toBeGreaterThan(intact * 0.6);
  });

  it('link: noise into both ends, then a clean frame still gets through', async () => {
    const rand = prng(seed + 2);
    const pipe = await makePipe(int(rand, 16, 256));
    const host = new Link(pipe.a, { profile, role: 'host', ackMs: 20, reassemblyMs: 30, retransmissions: 3 });
    const reader = new Link(pipe.b, {
      profile,
      role: 'reader',
      ackMs: 20,
      reassemblyMs: 30,
      retransmissions: 3,
    });
    cleanups.push(
      () => host.close(),
      () => reader.close(),
    );
    let failures = 0;
    host.on('failed', () => failures++);
    reader.on('failed', () => failures++);
    host.attach();
    reader.attach();
    const got: Frame[] = [];
    host.on('message', (f: Frame) => got.push(f));
    for (let i = 0; i < 200; i++) {
      pipe.inject(rand() < 0.5 ? 'a' : 'b', randomBytes(rand, int(rand, 1, 40)));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 60)); // reassembly timeouts clear what is left
    expect(host.pendingBytes).toBe(0);
    expect(reader.pendingBytes).toBe(0);
    await reader.send(0x42, Buffer.from('after the noise'), 0);
    await new Promise((r) => setTimeout(r, 10));
    expect(got.some((f) => f.cmd === 0x42 && f.payload.toString() === 'after the noise')).toBe(true);
    if (profile.framing.ack) expect(host.stats.garbageBytes + host.stats.badFrames).toBeGreaterThan(0);
    expect(failures).toBe(0);
  });

  it('driver: garbage on the line between commands never breaks it', async () => {
    const rand = prng(seed + 3);
    const pipe = await makePipe();
    const sim = new ReaderSimulator({ profile: name, ackMs: 20, reassemblyMs: 30 });
    sim.attach(pipe.b, 'line');
    const driver = new ReaderDriver({
      transport: pipe.a,
      profile,
      pairedSerials: [SIM_SERIAL],
      timers: { ...TEST_TIMERS, ackMs: 20, reassemblyMs: 30, commandMs: 150, keepAliveMs: 0 },
    });
    cleanups.push(
      () => driver.close(),
      () => sim.close(),
    );
    driver.start();
    await driver.whenReady(2000);
    let ok = 0;
    for (let i = 0; i < 30; i++) {
      pipe.inject(rand() < 0.5 ? 'a' : 'b', randomBytes(rand, int(rand, 1, 30)));
      try {
        expect((await driver.echo(Buffer.from(`ping ${i}`))).toString()).toBe(`ping ${i}`);
        ok++;
      } catch (e) {
        // only typed reader errors, and only where no ACK protects the frame
        expect(e).toBeInstanceOf(ReaderError);
        expect(profile.framing.ack).toBe(false);
        await driver.whenReady(2000);
      }
    }
    expect(ok).toBeGreaterThan(profile.framing.ack ? 29 : 15);
    await new Promise((r) => setTimeout(r, 40));
    await driver.whenReady(2000);
    expect((await driver.info()).serialNumber).toBe(SIM_SERIAL);
  });
});
