import { afterEach, describe, expect, it } from 'vitest';
import { Link, loadReaderProfile, ReaderError, type Frame } from '../../src/terminal/index.js';
import { prng } from '../support/prng.js';
import { makePipe, type Pipe } from './pipe.js';

const posbridge = loadReaderProfile('posbridge');
const lenpfx = loadReaderProfile('mpos-lenpfx');
const links: Link[] = [];
afterEach(() => {
  for (const l of links.splice(0)) l.close();
});

function pair(
  pipe: Pipe,
  profile = posbridge,
  opts: { ackMs?: number; reassemblyMs?: number; retransmissions?: number } = {},
) {
  const host = new Link(pipe.a, { profile, role: 'host', ackMs: 30, reassemblyMs: 50, ...opts });
  const reader = new Link(pipe.b, { profile, role: 'reader', ackMs: 30, reassemblyMs: 50, ...opts });
  host.attach();
  reader.attach();
  links.push(host, reader);
  const atHost: Frame[] = [];
  const atReader: Frame[] = [];
  host.on('message', (f: Frame) => atHost.push(f));
  reader.on('message', (f: Frame) => atReader.push(f));
  return { host, reader, atHost, atReader };
}

describe('link layer', () => {
  it('delivers frames both ways with ACKs; the reader adds a status byte', async () => {
    const pipe = await makePipe();
    const { host, reader, atHost, atReader } = pair(pipe);
    await host.send(0x10, Buffer.from('hello'));
    await reader.send(0x10, Buffer.from('world'), 0x00);
    expect(atReader.map((f) => [f.cmd, f.status, f.payload.toString()])).toEqual([
      [0x10, undefined, 'hello'],
    ]);
    expect(atHost.map((f) => [f.cmd, f.status, f.payload.toString()])).toEqual([[0x10, 0, 'world']]);
    expect(atReader[0]!.seq).toBeGreaterThanOrEqual(1);
    expect(host.stats).toMatchObject({ framesSent: 1, framesReceived: 1, retransmissions: 0 });
  });

  it('splits frames to the MTU and reassembles them', async () => {
    const pipe = await makePipe(20);
    const { host, reader, atHost } = pair(pipe);
    const big = Buffer.alloc(512, 0xab);
    await reader.send(0x21, big, 0);
    expect(atHost[0]!.payload).toEqual(big);
    expect(Math.max(...pipe.writes.b2a)).toBeLessThanOrEqual(20);
    expect(pipe.writes.b2a.length).toBeGreaterThanOrEqual(Math.ceil((512 + 9) / 20));
    void host;
  });

  it('retransmits on NAK and delivers a corrupted frame exactly once', async () => {
    const pipe = await makePipe();
    const { host, atReader } = pair(pipe);
    let corrupt = 1;
    pipe.tamper = (chunk, dir) => {
      if (dir === 'a2b' && chunk.length > 3 && corrupt-- > 0) {
        const c = Buffer.from(chunk);
        c[c.length - 1] = c[c.length - 1]! ^ 0xff;
        return c;
      }
      return chunk;
    };
    await host.send(0x40, Buffer.from('mac me'));
    expect(atReader).toHaveLength(1);
    expect(host.stats.naksReceived).toBe(1);
    expect(host.stats.retransmissions).toBe(1);
  });

  it('suppresses the duplicate when an ACK is lost', async () => {
    const pipe = await makePipe();
    const { host, reader, atReader } = pair(pipe);
    let dropAcks = 1;
    pipe.tamper = (chunk, dir) => (dir === 'b2a' && chunk.length === 3 && dropAcks-- > 0 ? null : chunk);
    await host.send(0x40, Buffer.from('once'));
    await host.send(0x41, Buffer.from('twice?'));
    expect(atReader.map((f) => f.payload.toString())).toEqual(['once', 'twice?']);
    expect(reader.stats.duplicates).toBe(1);
  });

  it('gives up after 1 + 3 transmissions and reports the link broken', async () => {
    const pipe = await makePipe();
    const { host } = pair(pipe);
    pipe.tamper = (chunk, dir) => (dir === 'a2b' ? null : chunk);
    const failed = new Promise<ReaderError>((resolve) => host.once('failed', resolve));
    const err = await host.send(0x10, Buffer.alloc(0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReaderError);
    expect(err).toMatchObject({ code: 'reader_disconnected', reason: 'retransmissions_exhausted' });
    expect((await failed).reason).toBe('retransmissions_exhausted');
    expect(pipe.writes.a2b.length).toBe(4);
  });

  it('drops an incomplete frame after the reassembly timeout and carries on', async () => {
    const pipe = await makePipe();
    const { host, reader, atHost } = pair(pipe);
    pipe.inject('a', Buffer.from([0x02, 0x00, 0x40, 0x01])); // a frame start that never completes
    await new Promise((r) => setTimeout(r, 80));
    expect(host.pendingBytes).toBe(0);
    expect(host.stats.reassemblyTimeouts).toBe(1);
    await reader.send(0x10, Buffer.from('ok'), 0);
    expect(atHost.map((f) => f.payload.toString())).toEqual(['ok']);
  });

  it('numbers frames 1-255 and keeps counting across a reset, so a new session is never a duplicate', async () => {
    const pipe = await makePipe();
    const host = new Link(pipe.a, { profile: posbridge, role: 'host', ackMs: 30, initialSeq: 255 });
    const reader = new Link(pipe.b, { profile: posbridge, role: 'reader', ackMs: 30 });
    links.push(host, reader);
    host.attach();
    reader.attach();
    const seen: number[] = [];
    reader.on('message', (f: Frame) => seen.push(f.seq));
    await host.send(0x10, Buffer.from('a'));
    host.reset();
    await host.send(0x10, Buffer.from('b'));
    await host.send(0x10, Buffer.from('c'));
    expect(seen).toEqual([255, 1, 2]);
  });

  it('without ACKs (length-prefixed) frames are written once and bad ones dropped', async () => {
    const pipe = await makePipe();
    const { host, reader, atReader } = pair(pipe, lenpfx);
    let corrupt = 1;
    pipe.tamper = (chunk, dir) => {
      if (dir === 'a2b' && corrupt-- > 0) {
        const c = Buffer.from(chunk);
        c[c.length - 1] = c[c.length - 1]! ^ 0xff;
        return c;
      }
      return chunk;
    };
    await host.send(0xa1, Buffer.from('lost'));
    await host.send(0xa1, Buffer.from('kept'));
    await new Promise((r) => setTimeout(r, 80));
    expect(atReader.map((f) => f.payload.toString())).toEqual(['kept']);
    expect(reader.stats.badFrames).toBeGreaterThanOrEqual(1);
    expect(pipe.writes.a2b).toHaveLength(2);
  });

  it('delivers every message exactly once and in order over a noisy line (seeded)', async () => {
    const rand = prng(424242);
    const pipe = await makePipe(32);
    const { host, reader, atReader, atHost } = pair(pipe, posbridge, { retransmissions: 10 });
    pipe.tamper = (chunk) => {
      const r = rand();
      if (r < 0.05) return null; // lost chunk
      if (r < 0.1) {
        const c = Buffer.from(chunk);
        c[Math.floor(rand() * c.length)] = Math.floor(rand() * 256);
        return c;
      }
      if (r < 0.13) return Buffer.concat([Buffer.from([0x02, 0x15, 0x06]), chunk]); // noise that looks like frame starts
      return chunk;
    };
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const msg = `message ${i} ${'x'.repeat(Math.floor(rand() * 60))}`;
      sent.push(msg);
      await Promise.all([host.send(0x40, Buffer.from(msg)), reader.send(0x80, Buffer.from(msg), 0)]);
    }
    expect(atReader.map((f) => f.payload.toString())).toEqual(sent);
    expect(atHost.map((f) => f.payload.toString())).toEqual(sent);
  });
});
