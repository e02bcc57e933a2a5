import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PosbridgeClient, newIdempotencyKey, type Payment } from '../../src/api/client/index.js';
import { parseConfig } from '../../src/daemon/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { doctor } from '../../src/daemon/doctor.js';
import { removeDaemonFile, writeDaemonFile } from '../../src/daemon/running.js';
import { startDemo, type Demo } from '../../simulators/demo.js';
import { startZvtSimulator, type ZvtSimulatorHandle } from '../../simulators/zvt/index.js';

// A ZVT-only desk: the daemon (createDaemon) with a `zvt` configuration block and neither an acquirer
// link nor a reader. It starts, is ready once the terminal has registered, lists the terminal with kind
// zvt, and takes a sale over the WebSocket API with the typed client. The payment the CRM gets back has
// exactly the shape a card reader's payment has: only terminal.list tells the two kinds apart.
let sim: ZvtSimulatorHandle;
let daemon: Daemon;
let reader: Demo;
let stateDir = '';
const clients: PosbridgeClient[] = [];

const keyEnv = { POSBRIDGE_KEY_FILE: process.env['POSBRIDGE_KEY_FILE'] };

beforeAll(async () => {
  sim = await startZvtSimulator({
    tcp: { port: 0 },
    control: false,
    behaviour: { cardDelayMs: 0, processingMs: 0, card: 'cup-debit-chip' },
  });
  stateDir = mkdtempSync(join(tmpdir(), 'pb-zvt-daemon-'));
  const config = parseConfig(
    {
      port: 0,
      stateDir,
      terminalId: 'ZVTD0001',
      merchantId: '898310048160001',
      zvt: { tcp: { host: '127.0.0.1', port: sim.port }, password: '123456' },
      logLevel: 'silent',
    },
    'test',
    keyEnv,
  );
  expect(config.hostEnabled).toBe(false);
  expect(config.readers).toEqual([]);
  daemon = await createDaemon({ config, logger: pino({ level: 'silent' }) });
  await daemon.start();
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (stateDir) removeDaemonFile(stateDir);
  await daemon?.stop();
  await sim?.close();
  await reader?.stop();
});

async function client(port: number, token: string): Promise<PosbridgeClient> {
  const pb = new PosbridgeClient({ url: `ws://127.0.0.1:${port}/ws`, token, WebSocket: WebSocket as never });
  clients.push(pb);
  await pb.connect();
  return pb;
}

async function healthz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function ready(port: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 250; i++) {
    const h = await healthz(port);
    if (h.status === 200) return h.body;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not ready: ${JSON.stringify((await healthz(port)).body)}`);
}

/** The payment's fields and its card's, as a CRM page would see them (values aside). */
function shape(p: Payment): string[] {
  return [
    ...Object.keys(p).sort(),
    ...Object.keys(p.card ?? {})
      .filter((k) => !['deviceAccountLast4', 'fundingLast4'].includes(k))
      .map((k) => `card.${k}`)
      .sort(),
    ...Object.keys(p.host).map((k) => `host.${k}`),
  ];
}

describe('a ZVT-only desk (zvt block, no host, no readers)', () => {
  let zvtSale: Payment;

  it('starts, and reports health ready once the terminal is registered', async () => {
    const h = await ready(daemon.port);
    expect(h).toMatchObject({
      ready: true,
      host: 'not_configured',
      terminal: { kind: 'zvt', state: 'idle' },
    });
    expect(sim.simulator.registered).toBe(true);
  });

  it('lists the terminal with kind zvt and its capabilities', async () => {
    const pb = await client(daemon.port, daemon.token);
    const { terminals } = await pb.terminal.list();
    expect(terminals).toHaveLength(1);
    expect(terminals[0]).toMatchObject({
      terminalId: 'ZVTD0001',
      kind: 'zvt',
      state: 'idle',
      transport: 'tcp',
      serialNumber: '52500001',
    });
    expect(terminals[0]!.capabilities).toEqual(
      expect.arrayContaining(['sale', 'refund', 'void', 'preauth', 'capture']),
    );
  });

  it('takes a sale over the WebSocket API, the terminal books it, the order ledger counts it', async () => {
    const pb = await client(daemon.port, daemon.token);
    const events: string[] = [];
    pb.on('payment', (e) => {
      if (e.durable && e.state) events.push(e.state);
    });
    const { paymentId } = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-ZVT-1',
      amount: 6_400_000,
      currency: 'CNY',
    });
    zvtSale = await pb.waitForPayment(paymentId, { timeoutMs: 15_000 });
    expect(zvtSale).toMatchObject({
      state: 'completed',
      final: true,
      kind: 'sale',
      amount: 6_400_000,
      approvedAmount: 6_400_000,
      currency: 'CNY',
    });
    // Masked by the terminal: at most the first six and the last four digits.
    expect(zvtSale.card?.panDisplay).toMatch(/^\d{0,6}\*+\d{4}$/);
    expect(JSON.stringify(zvtSale)).not.toContain('6212345678000000010');
    expect(events).toContain('completed');
    const booked = sim.ledger.filter((t) => t.type === 'sale');
    expect(booked).toHaveLength(1);
    expect(booked[0]).toMatchObject({ status: 'approved', amount: 6_400_000, currency: '156' });
    expect(await pb.order.get('CAR-ZVT-1')).toMatchObject({ captured: 6_400_000, net: 6_400_000 });
  });

  it('the CRM cannot tell which kind took the money except from terminal.list', async () => {
    reader = await startDemo({
      stateDir: mkdtempSync(join(tmpdir(), 'pb-zvt-vs-reader-')),
      port: 0,
      customerDelayMs: 0,
      logLevel: 'silent',
      terminal: 'reader',
    });
    await ready(reader.port);
    const pb = await client(reader.port, reader.daemon.token);
    const { paymentId } = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-READER-1',
      amount: 6_400_000,
      currency: 'CNY',
    });
    const readerSale = await pb.waitForPayment(paymentId, { timeoutMs: 15_000 });
    expect(readerSale.state).toBe('completed');
    expect(shape(zvtSale)).toEqual(shape(readerSale));
    const { terminals } = await pb.terminal.list();
    expect(terminals[0]!.kind).toBe('reader');
  });

  it('doctor checks the terminal over the running daemon’s connection, which it never takes away', async () => {
    writeDaemonFile(stateDir, { pid: process.pid, port: daemon.port });
    const checks = await doctor({ stateDir, readers: [] });
    const zvt = checks.filter((c) => c.name.startsWith('ZVT'));
    expect(zvt.map((c) => [c.name, c.status])).toEqual([
      ['ZVT connection', 'pass'],
      ['ZVT registration', 'pass'],
      ['ZVT status enquiry', 'pass'],
      ['ZVT diagnosis', 'pass'],
    ]);
    expect(checks.find((c) => c.name === 'sign-on')).toMatchObject({ status: 'pass' });
    expect(checks.find((c) => c.name === 'card reader')).toBeUndefined();
    // Still the daemon's terminal: it takes the next sale.
    expect(daemon.integrated?.state).toBe('idle');
    const pb = await client(daemon.port, daemon.token);
    const { paymentId } = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-ZVT-2',
      amount: 100_000,
      currency: 'CNY',
    });
    expect((await pb.waitForPayment(paymentId, { timeoutMs: 15_000 })).state).toBe('completed');
  });

  it('an operation the terminal lacks is the typed error not_supported_by_terminal', async () => {
    sim.setBehaviour({ disabledCommands: ['06 31'] });
    const pb = await client(daemon.port, daemon.token);
    // The terminal itself refuses (84 83): the refund ends failed, nothing moved.
    const { paymentId } = await pb.payment.refund({
      paymentId: zvtSale.paymentId,
      amount: 100_000,
      idempotencyKey: newIdempotencyKey(),
    });
    const refund = await pb.waitForPayment(paymentId, { timeoutMs: 15_000 });
    expect(refund).toMatchObject({ state: 'failed', reason: 'not_supported_by_terminal' });
    sim.setBehaviour({ disabledCommands: [] });

    // The desk's configuration leaves refunds out (zvt.capabilities): refused before anything is sent.
    const other = await startZvtSimulator({ tcp: { port: 0 }, control: false });
    const dir = mkdtempSync(join(tmpdir(), 'pb-zvt-caps-'));
    const limited = await createDaemon({
      config: parseConfig(
        {
          port: 0,
          stateDir: dir,
          terminalId: 'ZVTD0002',
          merchantId: '898310048160001',
          zvt: { tcp: { host: '127.0.0.1', port: other.port }, password: '123456', capabilities: ['sale'] },
          logLevel: 'silent',
        },
        'test',
        keyEnv,
      ),
      logger: pino({ level: 'silent' }),
    });
    try {
      await limited.start();
      await ready(limited.port);
      const lpb = await client(limited.port, limited.token);
      expect((await lpb.terminal.list()).terminals[0]!.capabilities).toEqual(['sale']);
      const sale = await lpb.payment.sale({
        idempotencyKey: newIdempotencyKey(),
        orderId: 'CAR-ZVT-4',
        amount: 100_000,
        currency: 'CNY',
      });
      expect((await lpb.waitForPayment(sale.paymentId, { timeoutMs: 15_000 })).state).toBe('completed');
      const err = await lpb.payment
        .refund({ paymentId: sale.paymentId, amount: 100, idempotencyKey: newIdempotencyKey() })
        .then(
          () => undefined,
          (e: unknown) => e as { code?: string },
        );
      expect(err?.code).toBe('not_supported_by_terminal');
      expect(other.ledger.map((t) => t.type)).toEqual(['sale']);
    } finally {
      await limited.stop();
      await other.close();
    }
  });

  // The ZVT terminal's own receipt lines (06 D1) are journaled with the payment (result.terminal.receipt,
  // src/engine/integrated-flow.ts), but receipt.get renders posbridge's UnionPay slip from the operation
  // only (src/engine/receipts/receipt.ts): the terminal's lines never reach the CRM. Reported to the
  // lead (engine); flip `it.fails` to `it` once receipt.get shows them.
  it('receipt.get shows the lines the ZVT terminal printed, per copy', async () => {
    const pb = await client(daemon.port, daemon.token);
    const sale = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-ZVT-3',
      amount: 200_000,
      currency: 'CNY',
    });
    const { paymentId } = await pb.waitForPayment(sale.paymentId, { timeoutMs: 15_000 });
    const customer = await pb.receipt.get({ paymentId, copy: 'customer', format: 'text' });
    const merchant = await pb.receipt.get({ paymentId, copy: 'merchant', format: 'text' });
    expect(customer.text).toContain('KUNDENBELEG');
    expect(merchant.text).toContain('HAENDLERBELEG');
    expect(customer.text).not.toContain('HAENDLERBELEG');
  });
});
