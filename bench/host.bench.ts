/**
 * Host simulator throughput: 50 concurrent terminal connections (one TID each, signed on, double-length
 * keys) doing MACed magstripe sales in a closed loop against the in-process simulator over loopback for
 * about 3 s. Client and simulator share this process (and its one event loop), as in the tests.
 * Prints authorisations per second and p50 / p99 / max latency. Goal: >= 10,000/s, p99 < 20 ms.
 */
import { connect, type Socket } from 'node:net';
import { SoftwareSecurityModule } from '../src/crypto/index.js';
import {
  dialectFraming,
  frame,
  frameLength,
  loadDialect,
  unframe,
  type Dialect,
  type FieldInput,
  type Framing,
} from '../src/iso8583/index.js';
import { HostLink, MemoryCounterStore } from '../src/host/index.js';
import { DEFAULT_MASTER_KEY, startHostSimulator } from '../simulators/host/index.js';
import { printRates, type Rate } from './measure.js';

const CONNECTIONS = 50;
const DURATION_MS = 3000;
const WARMUP_MS = 500;

/** A bare ISO 8583 terminal: packs, MACs, frames and unpacks, nothing else (also used by bench/zvt). */
export class BenchTerminal {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: ((body: Buffer) => void) | undefined;
  private stan = 0;
  readonly sm = new SoftwareSecurityModule(Buffer.from(DEFAULT_MASTER_KEY, 'hex'), {
    macAlgorithm: 'cup-ecb',
  });

  constructor(
    private readonly socket: Socket,
    private readonly d: Dialect,
    private readonly framing: Framing,
    readonly tid: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      for (;;) {
        const total = frameLength(this.buf, this.framing);
        if (total === undefined || this.buf.length < total) return;
        const one = this.buf.subarray(0, total);
        this.buf = this.buf.subarray(total);
        const w = this.waiter;
        this.waiter = undefined;
        w?.(unframe(one, this.framing).body);
      }
    });
  }

  static open(port: number, d: Dialect, framing: Framing, tid: string): Promise<BenchTerminal> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new BenchTerminal(s, d, framing, tid)));
      s.once('error', reject);
    });
  }

  private nextStan(): string {
    this.stan = (this.stan % 999999) + 1;
    return String(this.stan).padStart(6, '0');
  }

  private exchange(wire: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.socket.write(wire);
    });
  }

  async signOn(): Promise<void> {
    const body = this.d.pack({
      mti: '0800',
      fields: {
        11: this.nextStan(),
        41: this.tid,
        42: '898310048160001',
        60: { '1': '00', '2': '000001', '3': '004' },
      },
    });
    const resp = this.d.unpack(await this.exchange(frame(body, this.framing)));
    await this.sm.loadWorkingKeys(resp.fields[62] as Buffer, 'double');
  }

  /** One MACed sale; returns false unless approved with a valid response MAC and the right STAN. */
  async sale(fields: Record<number, FieldInput>): Promise<boolean> {
    const stan = this.nextStan();
    fields[11] = stan;
    let body = this.d.pack({ mti: '0200', fields }, { mac: true });
    body = this.d.applyMac(body, await this.sm.mac(this.d.macInput(body)));
    const rx = await this.exchange(frame(body, this.framing));
    const msg = this.d.unpack(rx);
    if (msg.fields[39] !== '00' || msg.fields[11] !== stan) return false;
    return this.sm.verifyMac(this.d.macInput(rx), this.d.macOf(rx));
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function run(): Promise<void> {
  const sim = await startHostSimulator({ controlPort: null, logLevel: 'silent' });
  const d = loadDialect('cup-pos');
  const framing = dialectFraming(d);
  const card = sim.cards.byId('cup-magstripe')!;
  try {
    const terminals = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) =>
        BenchTerminal.open(sim.isoPort, d, framing, `BENCH${String(i).padStart(3, '0')}`),
      ),
    );
    await Promise.all(terminals.map((t) => t.signOn()));

    const latencies: number[] = [];
    let ok = 0;
    let failed = 0;
    const start = performance.now();
    const measureFrom = start + WARMUP_MS;
    const end = measureFrom + DURATION_MS;
    await Promise.all(
      terminals.map(async (t) => {
        const fields: Record<number, FieldInput> = {
          2: card.pan,
          3: '000000',
          4: '000000000100',
          11: '000000',
          22: '022',
          25: '00',
          41: t.tid,
          42: '898310048160001',
          49: '156',
          60: { '1': '22', '2': '000001', '3': '000' },
        };
        for (;;) {
          const t0 = performance.now();
          if (t0 >= end) return;
          const approved = await t.sale(fields);
          const t1 = performance.now();
          if (t0 < measureFrom) continue;
          if (approved) {
            ok += 1;
            latencies.push(t1 - t0);
          } else failed += 1;
        }
      }),
    );
    const elapsed = Math.min(performance.now(), end + 50) - measureFrom;
    for (const t of terminals) t.close();

    latencies.sort((a, b) => a - b);
    const pct = (p: number): number =>
      latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    const rates: Rate[] = [
      { label: `MACed sales, ${CONNECTIONS} connections, loopback`, opsPerSec: (ok * 1000) / elapsed },
    ];
    console.log(
      `  ${ok.toLocaleString('en-US')} approved, ${failed} failed, ${(elapsed / 1000).toFixed(1)} s measured`,
    );
    printRates(rates);
    console.log(
      `  latency p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms, max ${(latencies[latencies.length - 1] ?? NaN).toFixed(2)} ms`,
    );
    console.log(`  goal: >= 10,000/s and p99 < 20 ms (client and simulator share one process)`);
    await linkOverhead(sim.isoPort, d, framing, card.pan);
  } finally {
    await sim.close();
  }
}

/**
 * The host link's own cost per request, excluding the codec and the MAC: the same sequential MACed
 * sales through `HostLink.request` and through the bare terminal above (which packs, MACs, frames and
 * unpacks exactly as the link does), in one run; the difference per request is matching, timers,
 * promises, state and logging checks.
 */
async function linkOverhead(port: number, d: Dialect, framing: Framing, pan: FieldInput): Promise<void> {
  const n = 3000;
  const fields = (tid: string): Record<number, FieldInput> => ({
    2: pan,
    3: '000000',
    4: '000000000100',
    22: '022',
    25: '00',
    41: tid,
    42: '898310048160001',
    49: '156',
    60: { '1': '22', '2': '000001', '3': '000' },
  });
  const bare = await BenchTerminal.open(port, d, framing, 'LINKBAR1');
  await bare.signOn();
  const link = new HostLink({
    host: '127.0.0.1',
    port,
    dialect: d,
    terminalId: 'LINKOVH1',
    merchantId: '898310048160001',
    securityModule: new SoftwareSecurityModule(Buffer.from(DEFAULT_MASTER_KEY, 'hex'), {
      macAlgorithm: 'cup-ecb',
    }),
    keyLayout: 'double',
    counters: new MemoryCounterStore(),
    timers: { idleEchoMs: 0 },
  });
  link.start();
  await link.whenReady(5000);
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 300; i++) await fn();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return ((performance.now() - t0) * 1000) / n;
  };
  const bareUs = await time(() => bare.sale(fields('LINKBAR1')));
  const linkUs = await time(() => link.request({ mti: '0200', fields: fields('LINKOVH1') }));
  const bareUs2 = await time(() => bare.sale(fields('LINKBAR1')));
  const base = Math.min(bareUs, bareUs2);
  console.log(
    `  sequential MACed sale round trip: bare ${base.toFixed(0)} µs, through HostLink ${linkUs.toFixed(0)} µs`,
  );
  console.log(`  host link overhead per request (excluding codec and MAC): ${(linkUs - base).toFixed(0)} µs`);
  bare.close();
  await link.close();
}
