/**
 * ZVT: the time posbridge adds to a sale on an integrated terminal, beside the ISO 8583 path's, both
 * measured in this run. The ZVT terminal simulator runs in process and answers at once (card and host
 * delays 0); what it does per sale (the Status-Information, two receipts as print lines, the completion,
 * each acknowledged by the ECR) is the same for every client. Three clients, one sale after another:
 *
 * - a bare ECR: raw APDUs on a socket, the authorisation and an 80 00 00 to each terminal message,
 *   nothing else: the terminal's own round trip over loopback;
 * - `ZvtTerminal.sale()`: posbridge's ZVT client (decoding, receipts, timers, outcome);
 * - the engine: `submit` to `settled` through the integrated flow, journal `synchronous=FULL`.
 *
 * Bridge-added time = engine sale minus bare exchange (p50 and p99 each). The ISO 8583 figure is the
 * same difference on the reader path: an engine chip sale (instant reader, in-process host simulator)
 * minus a bare MACed 0200 round trip with the host simulator.
 */
import net, { type Socket } from 'node:net';
import { dialectFraming, loadDialect, type FieldInput } from '../src/iso8583/index.js';
import {
  ZvtTerminal,
  apduCode,
  apduHeader,
  encodeMessage,
  loadZvtTables,
  zvtMessages as M,
  type ZvtTables,
} from '../src/terminal/zvt/index.js';
import { startHostSimulator } from '../simulators/host/index.js';
import { startZvtSimulator } from '../simulators/zvt/index.js';
import { BenchTerminal } from './host.bench.js';
import { startStack } from './stack.js';

const SALES = 500;
const WARMUP = 50;
const PASSWORD = '123456';
const CURRENCY = '156';

interface Pcts {
  p50: number;
  p99: number;
}

function pcts(ms: number[]): Pcts {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { p50: at(50), p99: at(99) };
}

async function timed(n: number, warm: number, one: (i: number) => Promise<void>): Promise<Pcts> {
  for (let i = 0; i < warm; i++) await one(-1 - i);
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await one(i);
    lat.push(performance.now() - t0);
  }
  return pcts(lat);
}

/** A bare ZVT ECR on a socket: sends a command and acknowledges every terminal message until the end. */
class BareEcr {
  private buf: Buffer = Buffer.alloc(0);
  private onApdu: ((code: string) => void) | undefined;
  private readonly ackBytes: Buffer;

  private constructor(
    private readonly socket: Socket,
    private readonly tables: ZvtTables,
  ) {
    this.ackBytes = encodeMessage(M.ack(), tables);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      for (;;) {
        const h = apduHeader(this.buf);
        if (!h || this.buf.length < h.header + h.length) return;
        const code = apduCode({ cls: this.buf[0]!, ins: this.buf[1]! });
        this.buf = this.buf.subarray(h.header + h.length);
        this.onApdu?.(code);
      }
    });
  }

  static open(port: number, tables: ZvtTables): Promise<BareEcr> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new BareEcr(s, tables)));
      s.once('error', reject);
    });
  }

  /** Sends `bytes`; acknowledges the terminal's messages; resolves true at 06 0F, false at 06 1E / 84 xx. */
  command(bytes: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      this.onApdu = (code) => {
        if (code === '80 00') return; // the command's acknowledgement: the terminal is master now
        if (code.startsWith('84')) return resolve(false);
        this.socket.write(this.ackBytes);
        if (code === '06 0F') resolve(true);
        else if (code === '06 1E') resolve(false);
      };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

interface ZvtFigures {
  bare: Pcts;
  client: Pcts;
  engine: Pcts;
  commitsPerSale: number;
}

async function zvtPath(): Promise<ZvtFigures> {
  const sim = await startZvtSimulator({
    tcp: { port: 0 },
    control: false,
    password: PASSWORD,
    behaviour: { cardDelayMs: 0, processingMs: 0, declineAmountSuffix: false },
  });
  const tables = loadZvtTables();
  try {
    // 1. The bare ECR (registered as posbridge registers: 9A, so the same messages flow).
    const bare = await BareEcr.open(sim.port!, tables);
    const registered = await bare.command(
      encodeMessage(M.registration({ password: PASSWORD, configByte: 0x9a, currency: CURRENCY }), tables),
    );
    if (!registered) throw new Error('bare ECR: registration refused');
    const bareSale = async (i: number): Promise<void> => {
      const ok = await bare.command(
        encodeMessage(M.authorisation({ amount: 10_000 + Math.abs(i), currency: CURRENCY }), tables),
      );
      if (!ok) throw new Error('bare ECR: sale not approved');
    };
    const bare1 = await timed(SALES, WARMUP, bareSale);
    bare.close();

    // 2. posbridge's client alone, then the engine on top of it (one connection: the terminal takes one ECR).
    const term = new ZvtTerminal({
      tcp: { host: '127.0.0.1', port: sim.port! },
      password: PASSWORD,
      currency: CURRENCY,
      timers: { backoffInitialMs: 20, backoffMaxMs: 100 },
    }).start();
    await term.whenReady(5000);
    const client = await timed(SALES, WARMUP, async (i) => {
      const o = await term.sale({ reference: `c${i}`, amount: 20_000 + Math.abs(i), currency: CURRENCY });
      if (o.status !== 'approved') throw new Error(`client sale ${o.status}`);
    });
    const stack = await startStack({ terminalId: 'BENCHZVT', integrated: term });
    let commits = 0;
    const engine = await timed(SALES, WARMUP, async (i) => {
      const before = stack.journal.commits;
      const v = stack.engine.submit({
        kind: 'sale',
        idempotencyKey: `zvt-bench-${i}`,
        operatorId: 'bench',
        amount: 30_000 + Math.abs(i) * 100,
      });
      const done = await stack.engine.settled(v.id);
      if (done.state !== 'completed')
        throw new Error(`engine sale ${i} ended ${done.state} (${done.reason})`);
      if (i >= 0) commits += stack.journal.commits - before;
    });
    await stack.close();
    await term.close();

    // 3. The bare ECR again: the lower of the two bare runs is the terminal's own time.
    const again = await BareEcr.open(sim.port!, tables);
    await again.command(
      encodeMessage(M.registration({ password: PASSWORD, configByte: 0x9a, currency: CURRENCY }), tables),
    );
    const bare2 = await timed(SALES, WARMUP, async (i) => {
      const ok = await again.command(
        encodeMessage(M.authorisation({ amount: 40_000 + Math.abs(i), currency: CURRENCY }), tables),
      );
      if (!ok) throw new Error('bare ECR: sale not approved');
    });
    again.close();
    return {
      bare: { p50: Math.min(bare1.p50, bare2.p50), p99: Math.min(bare1.p99, bare2.p99) },
      client,
      engine,
      commitsPerSale: commits / SALES,
    };
  } finally {
    await sim.close();
  }
}

interface IsoFigures {
  bare: Pcts;
  engine: Pcts;
}

async function isoPath(): Promise<IsoFigures> {
  // The bare round trip: a MACed magstripe 0200 from a bare terminal to the host simulator.
  const sim = await startHostSimulator({ controlPort: null, logLevel: 'silent' });
  const d = loadDialect('cup-pos');
  let bare: Pcts;
  try {
    const t = await BenchTerminal.open(sim.isoPort, d, dialectFraming(d), 'BENCHISO');
    await t.signOn();
    const card = sim.cards.byId('cup-magstripe')!;
    const fields: Record<number, FieldInput> = {
      2: card.pan,
      3: '000000',
      4: '000000000100',
      22: '022',
      25: '00',
      41: 'BENCHISO',
      42: '898310048160001',
      49: '156',
      60: { '1': '22', '2': '000001', '3': '000' },
    };
    bare = await timed(SALES, WARMUP, async () => {
      if (!(await t.sale(fields))) throw new Error('bare ISO sale not approved');
    });
    t.close();
  } finally {
    await sim.close();
  }
  // The engine: a chip sale through the instant reader, the host link and the journal (FULL).
  const stack = await startStack({
    terminalId: 'BENCHISO',
    config: { saf: { adviceAfterCompletion: false } },
  });
  const engine = await timed(SALES, WARMUP, async (i) => {
    const v = stack.engine.submit({
      kind: 'sale',
      idempotencyKey: `iso-bench-${i}`,
      operatorId: 'bench',
      amount: 10_000 + Math.abs(i) * 100,
    });
    const done = await stack.engine.settled(v.id);
    if (done.state !== 'completed') throw new Error(`ISO engine sale ${i} ended ${done.state}`);
  });
  await stack.close();
  return { bare, engine };
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;

export async function run(): Promise<void> {
  const zvt = await zvtPath();
  const iso = await isoPath();
  const added = (e: Pcts, b: Pcts): Pcts => ({ p50: e.p50 - b.p50, p99: e.p99 - b.p99 });
  const zAdded = added(zvt.engine, zvt.bare);
  const iAdded = added(iso.engine, iso.bare);
  const row = (label: string, p: Pcts): void =>
    console.log(`  ${label.padEnd(58)} p50 ${ms(p.p50).padStart(9)}, p99 ${ms(p.p99).padStart(9)}`);
  console.log(`  ${SALES} sales each, one after another; simulators in process, answering at once`);
  console.log('  ZVT (integrated terminal; receipts as print lines, every message acknowledged):');
  row('bare ECR exchange (raw APDUs, acknowledgements only)', zvt.bare);
  row('ZvtTerminal.sale (posbridge ZVT client)', zvt.client);
  row('engine sale (integrated flow, journal synchronous=FULL)', zvt.engine);
  console.log(`  fsyncs (committed transactions) per ZVT sale: ${zvt.commitsPerSale.toFixed(2)}`);
  console.log('  ISO 8583 (reader path, same run):');
  row('bare MACed 0200 round trip with the host simulator', iso.bare);
  row('engine chip sale (instant reader, host link, journal FULL)', iso.engine);
  console.log('  bridge-added time per sale (engine minus bare exchange):');
  row('ZVT', zAdded);
  row('ISO 8583', iAdded);
  console.log(
    `  ZVT / ISO 8583 bridge-added: p50 ${(zAdded.p50 / iAdded.p50).toFixed(2)}x, p99 ${(zAdded.p99 / iAdded.p99).toFixed(2)}x`,
  );
}
