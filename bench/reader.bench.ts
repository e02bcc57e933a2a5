/**
 * `npm run bench -- reader`: the reader link over a real pseudo-terminal (node-pty master, serialport
 * on the slave), like a USB or Bluetooth serial reader.
 *
 * - raw PTY round trip (8 bytes out, echoed back): the floor the protocol sits on;
 * - command round trip through the driver and the reader simulator (ECHO, DEVICE_INFO), p50 / p99,
 *   and the protocol overhead = command minus raw;
 * - moving a 512-byte card result at MTU 20 (BLE default) and 185 (a common negotiated MTU):
 *   chunking, reassembly, check bytes and the ACK;
 * - CPU cost of framing and TLV per command, without any I/O.
 * Goal: protocol overhead under 1 ms p99 per command on the PTY.
 */
import { createRequire } from 'node:module';
import { Duplex, PassThrough } from 'node:stream';
import {
  FrameCodec,
  Link,
  loadReaderProfile,
  Payload,
  ReaderDriver,
  SerialTransport,
  StreamTransport,
  buildPayload,
} from '../src/terminal/index.js';
import { ReaderSimulator } from '../simulators/reader/index.js';
import { measure, printRates } from './measure.js';

interface PtyPair {
  ptsName: string;
  master: Duplex;
  slave: Duplex;
}

function openPty(): PtyPair {
  const require = createRequire(import.meta.url);
  const pty = require('@lydell/node-pty') as { open(o: { encoding: null }): PtyPair };
  const t = pty.open({ encoding: null });
  t.slave.pause();
  return t;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function summary(label: string, samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  const r = { p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
  console.log(
    `  ${label.padEnd(48)} p50 ${r.p50.toFixed(3).padStart(7)} ms   p99 ${r.p99.toFixed(3).padStart(7)} ms   (n=${samples.length})`,
  );
  return r;
}

async function timed(n: number, warm: number, fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warm; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** A raw echo over its own PTY: 8 bytes out through serialport, echoed back by the master. */
async function rawPty(): Promise<{ once: () => Promise<void>; close: () => Promise<void> }> {
  const pty = openPty();
  const port = new SerialTransport({ path: pty.ptsName, unplugPollMs: 0 });
  await port.open();
  pty.slave.destroy();
  pty.master.on('data', (c: Buffer) => pty.master.write(c));
  const bytes = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  return {
    once: () =>
      new Promise<void>((resolve) => {
        let got = 0;
        const on = (c: Buffer): void => {
          got += c.length;
          if (got >= 8) {
            port.off('data', on);
            resolve();
          }
        };
        port.on('data', on);
        void port.write(bytes);
      }),
    async close() {
      await port.close();
      pty.master.destroy();
    },
  };
}

interface Bench {
  driver: ReaderDriver;
  close(): Promise<void>;
}

/** Driver + simulator over a PTY (`pty`) or over an in-memory pipe (`memory`: the protocol alone). */
async function setup(profileName: string, over: 'pty' | 'memory'): Promise<Bench> {
  const sim = new ReaderSimulator({ profile: profileName });
  let transport: SerialTransport | StreamTransport;
  let cleanup: () => void;
  if (over === 'pty') {
    const pty = openPty();
    const simTransport = new StreamTransport(pty.master, { mtu: 4096 });
    await simTransport.open();
    sim.attach(simTransport, 'line');
    transport = new SerialTransport({ path: pty.ptsName, unplugPollMs: 0 });
    transport.on('open', () => pty.slave.destroy());
    cleanup = () => pty.master.destroy();
  } else {
    const toSim = new PassThrough();
    const toHost = new PassThrough();
    const simTransport = new StreamTransport(Duplex.from({ readable: toSim, writable: toHost }));
    await simTransport.open();
    sim.attach(simTransport, 'line');
    transport = new StreamTransport(Duplex.from({ readable: toHost, writable: toSim }));
    cleanup = () => undefined;
  }
  const driver = new ReaderDriver({
    transport,
    profile: loadReaderProfile(profileName),
    pairedSerials: ['PBR-SIM-0001'],
    timers: { keepAliveMs: 0 },
  });
  driver.start();
  await driver.whenReady(5000);
  return {
    driver,
    async close() {
      await driver.close();
      await sim.close();
      cleanup();
    },
  };
}

async function cardResult(mtu: number, n: number): Promise<number[]> {
  const profile = loadReaderProfile('posbridge');
  const pty = openPty();
  const readerSide = new StreamTransport(pty.master, { mtu });
  await readerSide.open();
  const hostSide = new SerialTransport({ path: pty.ptsName, unplugPollMs: 0, mtu });
  await hostSide.open();
  pty.slave.destroy();
  const host = new Link(hostSide, { profile, role: 'host' });
  const reader = new Link(readerSide, { profile, role: 'reader' });
  host.attach();
  reader.attach();
  const payload = Buffer.alloc(512 - 3 - 4, 0x5a); // a 512-byte payload: one DF55 element of 505 bytes
  const body = buildPayload(profile, [['icc_data', payload]]);
  let onFrame: (() => void) | undefined;
  host.on('message', () => onFrame?.());
  const samples = await timed(n, 20, async () => {
    const got = new Promise<void>((resolve) => (onFrame = resolve));
    // delivered to the host, and acknowledged back to the reader
    await Promise.all([got, reader.send(0x21, body, 0)]);
  });
  host.close();
  reader.close();
  await hostSide.close();
  pty.master.destroy();
  return samples;
}

function cpu(): void {
  const profile = loadReaderProfile('posbridge');
  const codec = new FrameCodec(profile.framing);
  const parser = codec.parser(true);
  const reqPayload = buildPayload(profile, [
    ['mac_algorithm', 1],
    ['mac_data', Buffer.alloc(200, 0x31)],
  ]);
  const rsp = codec.encode({
    seq: 7,
    cmd: 0x40,
    status: 0,
    payload: buildPayload(profile, [['mac', Buffer.alloc(8, 0x41)]]),
  });
  let sink = 0;
  printRates([
    measure('encode MAC request (200-byte data)', () => {
      sink += codec.encode({ seq: 1, cmd: 0x40, payload: reqPayload }).length;
    }),
    measure('parse MAC response + TLV payload', () => {
      for (const e of parser.push(rsp))
        if (e.type === 'frame') sink += Payload.parse(profile, 'mac', e.frame.payload).require('mac').length;
    }),
    measure('build START payload', () => {
      sink += buildPayload(profile, [
        ['reference', 'pay-0001'],
        ['amount', Buffer.from('000012345600', 'hex')],
        ['currency', Buffer.from('0156', 'hex')],
        ['transaction_type', 0],
        ['timeout', Buffer.from('003c', 'hex')],
        ['interfaces', 7],
        ['pin_allowed', true],
      ]).length;
    }),
  ]);
  if (sink < 0) console.log(sink);
}

export async function run(): Promise<void> {
  const N = Number(process.env['BENCH_N'] ?? 2000);
  console.log('command round trips (driver + reader simulator in one process):');
  for (const p of ['posbridge', 'mpos-lenpfx']) {
    const mem = await setup(p, 'memory');
    const m = await timed(N, 1000, () => mem.driver.echo().then(() => undefined));
    await mem.close();
    summary(`${p}: ECHO over memory (protocol only)`, m);
    // Raw PTY echo and the command over a PTY, sample by sample in turn, so both see the same noise.
    const raw = await rawPty();
    const pty = await setup(p, 'pty');
    for (let i = 0; i < 300; i++) {
      await raw.once();
      await pty.driver.echo();
    }
    const rawSamples: number[] = [];
    const cmdSamples: number[] = [];
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      await raw.once();
      rawSamples.push(performance.now() - t);
      t = performance.now();
      await pty.driver.echo();
      cmdSamples.push(performance.now() - t);
    }
    const info = await timed(Math.floor(N / 2), 100, () => pty.driver.info().then(() => undefined));
    await pty.close();
    await raw.close();
    const r = summary(`${p}: raw PTY echo, 8 bytes`, rawSamples);
    const c = summary(`${p}: ECHO command over the PTY`, cmdSamples);
    summary(`${p}: DEVICE_INFO command over the PTY`, info);
    console.log(
      `  ${`${p}: overhead on the PTY (ECHO - raw)`.padEnd(48)} p50 ${(c.p50 - r.p50).toFixed(3).padStart(7)} ms   p99 ${(c.p99 - r.p99).toFixed(3).padStart(7)} ms   (goal < 1 ms p99)`,
    );
  }
  console.log(
    '\n512-byte card result, reader to host, delivered and acknowledged over the PTY (posbridge, CRC-16):',
  );
  for (const mtu of [20, 185])
    summary(`MTU ${mtu} (${Math.ceil((512 + 9) / mtu)} chunks)`, await cardResult(mtu, 300));
  console.log('\nCPU per operation (no I/O):');
  cpu();
}
