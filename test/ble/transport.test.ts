/**
 * The BLE transport through the real Noble class over the simulator's fake bindings: scan, connect,
 * discovery, subscription, writes without response, MTU negotiation feeding the link layer's chunking,
 * disconnect detection (the reader hangs up; out of range: the supervision timeout), and the driver
 * losing the reader in the air at each step of a transaction, then reconnecting and recovering from
 * LAST_STATUS. (The whole driver suite also runs over BLE: test/terminal/driver.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BleTransport,
  bleTransportFactory,
  createCardReader,
  createNoble,
  Link,
  loadReaderProfile,
  registerTransport,
  buildPayload,
  type Frame,
  type StartTransaction,
  type TransportCloseEvent,
} from '../../src/terminal/index.js';
import {
  FakeNobleBindings,
  startBleReaderSimulator,
  type BleReaderSimulatorHandle,
  type FakeBleServerTransport,
} from '../../simulators/reader/index.js';
import { leakedSecrets, makeRig, SIM_SERIAL, TEST_TIMERS, until, type Rig } from '../terminal/rig.js';

const SALE: StartTransaction = {
  amount: 8_800n,
  currency: '156',
  type: 'sale',
  timeoutSeconds: 30,
  interfaces: ['chip', 'contactless', 'magstripe'],
  pinAllowed: true,
};

const cleanups: Array<() => Promise<void> | void> = [];
let rig: Rig | undefined;
afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (r) {
    await r.close();
    expect(leakedSecrets(r)).toEqual([]);
  }
  for (const c of cleanups.splice(0).reverse()) await c();
});

const bleOf = (r: Rig): BleReaderSimulatorHandle => r.sim as BleReaderSimulatorHandle;
let n = 0;
const ref = (): string => `ble-${Date.now().toString(36)}-${++n}`;

describe('BLE transport over noble', () => {
  it('connects by id: discovery, subscription, MTU 20 and 185 feeding the chunking both ways', async () => {
    const profile = loadReaderProfile('posbridge');
    for (const mtu of [20, 185]) {
      const bindings = new FakeNobleBindings();
      const p = bindings.addPeripheral({ localName: 'PBR-CHUNK', service: profile.ble!, mtu });
      let reader: Link | undefined;
      p.on('connect', (t: FakeBleServerTransport) => {
        reader = new Link(t, { profile, role: 'reader' });
        reader.attach();
      });
      const t = new BleTransport({
        profile,
        path: p.address.toUpperCase(),
        noble: await createNoble(bindings),
      });
      cleanups.push(
        () => t.close(),
        () => bindings.stop(),
      );
      await t.open();
      expect(t.isOpen).toBe(true);
      expect(t.mtu).toBe(mtu);
      expect(p.subscribed).toBe(true);
      expect(t.peripheralInfo).toMatchObject({ id: p.id, name: 'PBR-CHUNK', rssi: -55 });
      const host = new Link(t, { profile, role: 'host' });
      host.attach();
      // a 512-byte frame each way: host to reader in writes, reader to host in notifications
      const big = buildPayload(profile, [['icc_data', Buffer.alloc(498, 0x5a)]]); // DF55 82 01F2 + 498
      expect(big.length).toBe(503);
      const toReader = new Promise<Frame>((resolve) => reader!.once('message', resolve));
      await host.send(0x21, big);
      expect((await toReader).payload).toEqual(big);
      const toHost = new Promise<Frame>((resolve) => host.once('message', resolve));
      await reader!.send(0x21, big, 0);
      expect((await toHost).payload).toEqual(big);
      const frameLen = big.length + 8; // STX LEN(2) SEQ CMD ETX CRC(2): 511; from the reader + STATUS: 512
      const dataWrites = p.stats.writes.filter((w) => w > 3); // ACKs are 3 bytes
      expect(dataWrites).toEqual([...chunks(frameLen, mtu)]);
      expect(p.stats.notifications.filter((w) => w > 3)).toEqual([...chunks(frameLen + 1, mtu)]);
      expect(p.stats.oversize).toBe(0);
      host.close();
      reader!.close();
      await t.close();
      expect(p.connected).toBe(false);
    }
  });

  it('finds a reader by name prefix, also one that advertises no service; not one of another service', async () => {
    const profile = loadReaderProfile('posbridge');
    const bindings = new FakeNobleBindings();
    cleanups.push(() => bindings.stop());
    const nus = loadReaderProfile('posbridge-nus').ble!;
    bindings.addPeripheral({ localName: 'PBR-NUS-1', service: nus, rssi: -30 });
    const quiet = bindings.addPeripheral({
      localName: 'PBR-QUIET',
      service: profile.ble!,
      advertiseService: false,
    });
    const noble = await createNoble(bindings);
    const t = new BleTransport({ profile, namePrefix: 'pbr-', noble, scanTimeoutMs: 500 });
    cleanups.push(() => t.close());
    await t.open();
    expect(t.peripheralInfo.id).toBe(quiet.id);
    await t.close();
    // a path that is not an id is a name prefix; a name that matches nothing times out typed
    const none = new BleTransport({ profile, path: 'NOPE-', noble, scanTimeoutMs: 150 });
    await expect(none.open()).rejects.toMatchObject({ code: 'reader_disconnected', reason: 'open_failed' });
    await expect(none.open()).rejects.toThrow(
      /no Bluetooth reader matching ble:NOPE- in range within 150 ms/,
    );
  });

  it('createCardReader({ transport: "ble" }) connects by name prefix and pairs by serial number', async () => {
    const sim = await startBleReaderSimulator({ profile: 'posbridge-nus', mtu: 185, control: false });
    cleanups.push(() => sim.close());
    const noble = await createNoble(sim.bindings);
    registerTransport('ble', bleTransportFactory({ noble, scanTimeoutMs: 1000 }));
    cleanups.push(() => registerTransport('ble', bleTransportFactory()));
    const reader = createCardReader({
      transport: 'ble',
      path: 'PBR-SIM',
      profile: 'posbridge-nus',
      pairedSerials: [SIM_SERIAL],
      timers: TEST_TIMERS,
    });
    cleanups.push(() => reader.close());
    reader.start();
    await reader.whenReady(3000);
    expect(reader.transport.kind).toBe('ble');
    expect(reader.transport.mtu).toBe(185);
    expect((await reader.info()).serialNumber).toBe(SIM_SERIAL);
  });

  it('detects disconnects: the reader hanging up at once, out of range after the supervision timeout', async () => {
    const sim = await startBleReaderSimulator({ profile: 'posbridge', control: false });
    cleanups.push(() => sim.close());
    const profile = loadReaderProfile('posbridge');
    const noble = await createNoble(sim.bindings);
    const t = new BleTransport({ profile, path: sim.peripheral.id, noble });
    cleanups.push(() => t.close());
    const closes: Array<TransportCloseEvent & { at: number }> = [];
    t.on('close', (e) => closes.push({ ...e, at: performance.now() }));
    await t.open();
    sim.peripheral.disconnect();
    await until(() => closes.length === 1, 1000, 'close');
    expect(closes[0]).toMatchObject({
      reason: 'lost',
      message: 'Bluetooth link lost: the reader ended the connection',
    });
    await expect(t.write(Buffer.from([1]))).rejects.toMatchObject({ code: 'reader_disconnected' });

    await t.open(); // the same object reconnects
    expect(sim.peripheral.stats.connections).toBe(2);
    const gone = performance.now();
    sim.peripheral.goOutOfRange({ supervisionTimeoutMs: 200 });
    await t.write(Buffer.from([1, 2, 3])); // lost in the air, the central cannot tell yet
    await until(() => closes.length === 2, 2000, 'supervision timeout');
    expect(closes[1]).toMatchObject({
      reason: 'lost',
      message: expect.stringContaining('supervision timeout'),
    });
    expect(closes[1]!.at - gone).toBeGreaterThanOrEqual(190);
    expect(closes[1]!.at - gone).toBeLessThan(600);
    const other = new BleTransport({ profile, path: sim.peripheral.id, noble, scanTimeoutMs: 100 });
    await expect(other.open()).rejects.toThrow(/in range within 100 ms/);
    sim.peripheral.comeBack();
    await t.open();
    expect(t.isOpen).toBe(true);
  });

  it('close() during a scan aborts the open at once; open() afterwards starts afresh', async () => {
    const sim = await startBleReaderSimulator({ profile: 'posbridge', advertising: false, control: false });
    cleanups.push(() => sim.close());
    const t = new BleTransport({
      profile: loadReaderProfile('posbridge'),
      path: sim.peripheral.id,
      noble: await createNoble(sim.bindings),
      scanTimeoutMs: 5000,
    });
    const opening = t.open();
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await t.close();
    await expect(opening).rejects.toMatchObject({ reason: 'closed' });
    expect(performance.now() - t0).toBeLessThan(200);
    sim.peripheral.setAdvertising(true);
    await t.open();
    expect(t.isOpen).toBe(true);
    await t.close();
  });
});

describe('losing the reader in the air mid-transaction (BLE), then reconnect and LAST_STATUS recovery', () => {
  const AIR = { supervisionTimeoutMs: 150, backAfterMs: 350 };
  const statusAsked = (r: Rig, since: number): boolean =>
    r.logs.slice(since).some((l) => l.includes('"command":"last_status"'));

  it('before the card is read: the driver cancels the reader transaction after reconnecting', async () => {
    rig = await makeRig('ble', 'posbridge', { behaviour: { cardDelayMs: 2500 } });
    const r = rig;
    const reference = ref();
    const res = await r.driver.startTransaction(reference, SALE, (e) => {
      if (e.progress === 'present_card') bleOf(r).peripheral.goOutOfRange(AIR);
    });
    expect(res).toMatchObject({ status: 'error', code: 'reader_disconnected' });
    const mark = r.logs.length;
    await until(() => r.driver.state === 'idle', 3000, 'reconnected');
    expect(statusAsked(r, mark)).toBe(true);
    expect(await r.driver.lastTransactionStatus()).toMatchObject({ reference, stage: 'cancelled' });
    expect(bleOf(r).peripheral.stats.connections).toBe(2);
  });

  it('after the card is read: busy again after reconnecting, the engine declines it', async () => {
    rig = await makeRig('ble', 'posbridge');
    const r = rig;
    const reference = ref();
    const res = await r.driver.startTransaction(reference, SALE);
    expect(res.status).toBe('card_read');
    if (res.status === 'card_read') r.secrets.add(res.card.pinBlock!.reveal().toString('hex'));
    const mark = r.logs.length;
    r.states.length = 0;
    bleOf(r).peripheral.goOutOfRange(AIR);
    await until(
      () => r.states.includes('disconnected') && r.driver.state === 'busy',
      3000,
      'reconnected busy',
    );
    expect(statusAsked(r, mark)).toBe(true);
    expect(await r.driver.lastTransactionStatus()).toEqual({ reference, stage: 'card_read' });
    expect(
      await r.driver.completeTransaction(reference, {
        approved: false,
        responseCode: 'A0',
        unableToGoOnline: true,
      }),
    ).toMatchObject({ status: 'completed', cryptogram: 'aac' });
    expect(r.driver.state).toBe('idle');
  });

  it('after host approval: the completion lost in the air is sent again and answered once', async () => {
    rig = await makeRig('ble', 'mpos-lenpfx', { mtu: 185 });
    const r = rig;
    const reference = ref();
    const res = await r.driver.startTransaction(reference, SALE);
    expect(res.status).toBe('card_read');
    if (res.status === 'card_read') r.secrets.add(res.card.pinBlock!.reveal().toString('hex'));
    const data = Buffer.from('0200 request to MAC');
    expect(await r.driver.securityModule.mac(data)).toEqual(await r.soft.mac(data));
    bleOf(r).peripheral.goOutOfRange(AIR);
    const first = await r.driver.completeTransaction(reference, { approved: true, responseCode: '00' });
    expect(first).toMatchObject({ status: 'error' });
    await until(() => r.driver.state === 'busy' && r.transport.isOpen, 3000, 'reconnected busy');
    expect(await r.driver.lastTransactionStatus()).toEqual({ reference, stage: 'card_read' });
    const again = await r.driver.completeTransaction(reference, { approved: true, responseCode: '00' });
    expect(again).toMatchObject({ status: 'completed', cryptogram: 'tc' });
    expect(
      await r.driver.completeTransaction(reference, { approved: true, responseCode: '00' }),
    ).toMatchObject({
      status: 'completed',
      cryptogram: 'tc',
    });
    expect(r.sim.simulator.transactions().filter((t) => t.reference === reference)).toHaveLength(1);
    expect(r.transport.mtu).toBe(185);
  });
});

/** Sizes of `len` bytes cut into `mtu`-sized writes. */
function* chunks(len: number, mtu: number): Generator<number> {
  for (let off = 0; off < len; off += mtu) yield Math.min(mtu, len - off);
}
