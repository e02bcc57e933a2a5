/**
 * `npm run bench -- ble`: the reader link over Bluetooth LE, through the real Noble class and the
 * `ble` transport, over the simulator's fake bindings (an in-memory radio; no adapter needed).
 *
 * - command round trip through the driver and the reader simulator (ECHO, DEVICE_INFO), p50 / p99,
 *   for both framings: the cost of noble's event plumbing, the transport and the link layer;
 * - a 512-byte card result (reader to host, delivered and acknowledged) at MTU 20 (no MTU exchange)
 *   and 185 (a typical negotiated MTU): chunking, reassembly, check bytes and the ACK;
 * - the same over a modelled radio: a 15 ms connection interval with 4 packets per connection event
 *   each way (a common central setting), to show what the MTU exchange buys on real air.
 */
import {
  BleTransport,
  buildPayload,
  createNoble,
  Link,
  loadReaderProfile,
  ReaderDriver,
  type Frame,
} from '../src/terminal/index.js';
import {
  FakeNobleBindings,
  startBleReaderSimulator,
  type FakeBleServerTransport,
} from '../simulators/reader/index.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function summary(label: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(52)} p50 ${percentile(s, 0.5).toFixed(3).padStart(8)} ms   p99 ${percentile(s, 0.99).toFixed(3).padStart(8)} ms   (n=${samples.length})`,
  );
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

async function commands(profileName: string, n: number): Promise<void> {
  const sim = await startBleReaderSimulator({ profile: profileName, mtu: 185 });
  const profile = loadReaderProfile(profileName);
  const transport = new BleTransport({
    profile,
    path: sim.peripheral.id,
    noble: await createNoble(sim.bindings),
  });
  const driver = new ReaderDriver({
    transport,
    profile,
    pairedSerials: ['PBR-SIM-0001'],
    timers: { keepAliveMs: 0 },
  });
  driver.start();
  await driver.whenReady(5000);
  summary(
    `${profileName}: ECHO over fake BLE (MTU ${transport.mtu})`,
    await timed(n, 300, () => driver.echo().then(() => undefined)),
  );
  summary(
    `${profileName}: DEVICE_INFO over fake BLE`,
    await timed(Math.floor(n / 2), 100, () => driver.info().then(() => undefined)),
  );
  await driver.close();
  await sim.close();
}

async function cardResult(
  mtu: number,
  n: number,
  radio?: { connectionIntervalMs: number; packetsPerEvent: number },
): Promise<number[]> {
  const profile = loadReaderProfile('posbridge');
  const bindings = new FakeNobleBindings();
  const p = bindings.addPeripheral({ localName: 'PBR-BENCH', service: profile.ble!, mtu, ...radio });
  let reader: Link | undefined;
  p.on('connect', (t: FakeBleServerTransport) => {
    reader = new Link(t, { profile, role: 'reader', ackMs: 2000 });
    reader.attach();
  });
  const t = new BleTransport({ profile, path: p.id, noble: await createNoble(bindings) });
  await t.open();
  const host = new Link(t, { profile, role: 'host', ackMs: 2000 });
  host.attach();
  // a 512-byte frame from the reader: STX LEN SEQ CMD STATUS, DF55 82 01F2 + 498 bytes, ETX CRC
  const body = buildPayload(profile, [['icc_data', Buffer.alloc(498, 0x5a)]]);
  let onFrame: ((f: Frame) => void) | undefined;
  host.on('message', (f: Frame) => onFrame?.(f));
  const samples = await timed(n, radio ? 3 : 50, async () => {
    const got = new Promise<Frame>((resolve) => (onFrame = resolve));
    await Promise.all([got, reader!.send(0x21, body, 0)]);
  });
  host.close();
  reader!.close();
  await t.close();
  bindings.stop();
  return samples;
}

export async function run(): Promise<void> {
  const N = Number(process.env['BENCH_N'] ?? 2000);
  console.log(
    'command round trips over fake BLE (driver, BLE transport, noble, fake radio, reader simulator):',
  );
  for (const p of ['posbridge', 'mpos-lenpfx']) await commands(p, N);
  console.log('\n512-byte card result, reader to host, delivered and acknowledged (posbridge, CRC-16):');
  for (const mtu of [20, 185])
    summary(`in memory, MTU ${mtu} (${Math.ceil(512 / mtu)} notifications)`, await cardResult(mtu, 500));
  const radio = { connectionIntervalMs: 15, packetsPerEvent: 4 };
  for (const mtu of [20, 185])
    summary(
      `15 ms interval, 4 packets/event, MTU ${mtu} (${Math.ceil(512 / mtu)} notif.)`,
      await cardResult(mtu, 30, radio),
    );
}
