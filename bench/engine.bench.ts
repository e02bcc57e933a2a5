/**
 * Engine: fsyncs per sale and the latency the journal adds. The host simulator runs in process and
 * answers at once; the reader answers at once (InstantReader), so what is left is the engine, the
 * codec, the MAC, loopback TCP and the journal. Measured with synchronous=FULL and, in the same run,
 * with synchronous=OFF: the difference is what durability costs.
 */
import { startStack } from './stack.js';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runSales(
  synchronous: 'FULL' | 'OFF',
  count: number,
): Promise<{ p50: number; p99: number; commitsPerSale: number; advicesCommits: number }> {
  const { journal, engine, close } = await startStack({
    terminalId: 'BENCH001',
    synchronous,
    config: { saf: { adviceAfterCompletion: false } },
  });
  const lat: number[] = [];
  let commits = 0;
  for (let i = 0; i < count; i++) {
    const before = journal.commits;
    const t0 = performance.now();
    const v = engine.submit({
      kind: 'sale',
      idempotencyKey: `bench-${i}`,
      operatorId: 'bench',
      amount: 100_00 + i * 100,
    });
    const done = await engine.settled(v.id);
    lat.push(performance.now() - t0);
    commits += journal.commits - before;
    if (done.state !== 'completed') throw new Error(`sale ${i} ended ${done.state}`);
  }
  const beforeAdvice = journal.commits;
  await engine.saf.drainAdvices();
  const advicesCommits = (journal.commits - beforeAdvice) / count;
  await close();
  lat.sort((a, b) => a - b);
  return { p50: pct(lat, 50), p99: pct(lat, 99), commitsPerSale: commits / count, advicesCommits };
}

export async function run(): Promise<void> {
  const n = 300;
  const off = await runSales('OFF', n);
  const full = await runSales('FULL', n);
  console.log(`  ${n} chip sales each, one after another, simulators answering at once`);
  console.log(
    `  fsyncs (committed transactions) per sale: ${full.commitsPerSale.toFixed(2)} (goal <= 4); each TC upload later costs ${full.advicesCommits.toFixed(2)} more, in the advice lane`,
  );
  console.log(`  sale latency synchronous=FULL p50 ${full.p50.toFixed(2)} ms, p99 ${full.p99.toFixed(2)} ms`);
  console.log(`  sale latency synchronous=OFF  p50 ${off.p50.toFixed(2)} ms, p99 ${off.p99.toFixed(2)} ms`);
  console.log(
    `  added by durability: p50 ${(full.p50 - off.p50).toFixed(2)} ms, p99 ${(full.p99 - off.p99).toFixed(2)} ms (goal p99 < 10 ms)`,
  );
}
