/**
 * `scanReaders()` and the adapter states, through the real Noble class over fake bindings carrying
 * several devices: readers of each shipped profile, one that advertises only its name, and devices
 * that are not readers. Also: a configured BLE reader on a powered-off adapter, and noble's own
 * warnings going to our logger.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BleTransport,
  bluetoothAvailability,
  BluetoothUnavailableError,
  createNoble,
  loadReaderProfile,
  ReaderDriver,
  scanReaders,
} from '../../src/terminal/index.js';
import { FakeNobleBindings, startBleReaderSimulator } from '../../simulators/reader/index.js';
import { SIM_SERIAL, TEST_TIMERS, until } from '../terminal/rig.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString('utf8'));
        cb();
      },
    }),
  );
  return { logger, lines };
}

function shop(): FakeNobleBindings {
  const b = new FakeNobleBindings();
  b.addPeripheral({ localName: 'PBR-0001', service: loadReaderProfile('posbridge').ble!, rssi: -48 });
  b.addPeripheral({ localName: 'PBR-NUS-02', service: loadReaderProfile('posbridge-nus').ble!, rssi: -71 });
  b.addPeripheral({ localName: 'MPOS-7731', service: loadReaderProfile('mpos-lenpfx').ble!, rssi: -62 });
  b.addPeripheral({
    localName: 'PBR-QUIET',
    service: loadReaderProfile('posbridge').ble!,
    advertiseService: false,
    rssi: -80,
  });
  b.addPeripheral({ localName: 'JBL Flip 5', rssi: -40 });
  b.addPeripheral({ localName: 'Mi Band', rssi: -55 });
  cleanups.push(() => b.stop());
  return b;
}

describe('scanReaders', () => {
  it('lists the readers in range, strongest first, with the profile each speaks', async () => {
    const noble = await createNoble(shop());
    const t0 = performance.now();
    const res = await scanReaders({ noble, timeoutMs: 150 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(res).toEqual({
      ok: true,
      readers: [
        expect.objectContaining({ name: 'PBR-0001', profile: 'posbridge', matchedBy: 'service', rssi: -48 }),
        expect.objectContaining({
          name: 'MPOS-7731',
          profile: 'mpos-lenpfx',
          matchedBy: 'service',
          rssi: -62,
        }),
        expect.objectContaining({
          name: 'PBR-NUS-02',
          profile: 'posbridge-nus',
          matchedBy: 'service',
          rssi: -71,
        }),
        // advertises no service: recognised by the name prefix, the default profile wins the tie
        expect.objectContaining({ name: 'PBR-QUIET', profile: 'posbridge', matchedBy: 'name', rssi: -80 }),
      ],
    });
    if (!res.ok) return;
    // what goes into the reader's `path`
    expect(res.readers[0]).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{12}$/),
      address: expect.stringMatching(/:/),
    });
  });

  it('filters by profile and by name prefix', async () => {
    const noble = await createNoble(shop());
    const nus = await scanReaders({ noble, timeoutMs: 100, profile: 'posbridge-nus' });
    expect(nus.ok && nus.readers.map((r) => [r.name, r.profile, r.matchedBy])).toEqual([
      ['PBR-NUS-02', 'posbridge-nus', 'service'],
      ['PBR-QUIET', 'posbridge-nus', 'name'],
    ]);
    const mpos = await scanReaders({ noble, timeoutMs: 100, namePrefix: 'mpos' });
    expect(mpos.ok && mpos.readers.map((r) => r.name)).toEqual(['MPOS-7731']);
    const none = await scanReaders({ noble, timeoutMs: 100, namePrefix: 'XYZ' });
    expect(none).toEqual({ ok: true, readers: [] });
  });

  it('follows the radio: RSSI changes, a silent or connected reader is not listed', async () => {
    const sim = await startBleReaderSimulator({ profile: 'posbridge', rssi: -90 });
    cleanups.push(() => sim.close());
    const noble = await createNoble(sim.bindings);
    const first = await scanReaders({ noble, timeoutMs: 100 });
    expect(first.ok && first.readers).toEqual([expect.objectContaining({ name: SIM_SERIAL, rssi: -90 })]);
    sim.peripheral.setRssi(-42);
    const nearer = await scanReaders({ noble, timeoutMs: 100 });
    expect(nearer.ok && nearer.readers[0]!.rssi).toBe(-42);
    sim.peripheral.setAdvertising(false);
    expect(await scanReaders({ noble, timeoutMs: 100 })).toEqual({ ok: true, readers: [] });
    sim.peripheral.setAdvertising(true);
    // connected to us: a reader stops advertising; a scan meanwhile shares the radio with the transport
    const t = new BleTransport({ profile: loadReaderProfile('posbridge'), path: sim.peripheral.id, noble });
    cleanups.push(() => t.close());
    await t.open();
    expect(await scanReaders({ noble, timeoutMs: 100 })).toEqual({ ok: true, readers: [] });
    expect(t.isOpen).toBe(true);
  });
});

describe('adapter states', () => {
  it('says why it cannot scan: off (after the wait), unauthorized and unsupported (at once)', async () => {
    const cases = [
      ['poweredOff', 'bluetooth_off', 150, 900],
      ['resetting', 'bluetooth_off', 150, 900],
      ['unauthorized', 'bluetooth_unauthorized', 0, 100],
      ['unsupported', 'no_bluetooth_adapter', 0, 100],
      ['unknown', 'no_bluetooth_adapter', 150, 900],
    ] as const;
    for (const [state, reason, min, max] of cases) {
      const bindings = new FakeNobleBindings({ state });
      cleanups.push(() => bindings.stop());
      const noble = await createNoble(bindings);
      const t0 = performance.now();
      const res = await scanReaders({ noble, timeoutMs: 100, availabilityTimeoutMs: 200 });
      const ms = performance.now() - t0;
      expect(res, state).toMatchObject({ ok: false, reason, message: expect.stringContaining(reason) });
      expect(ms, state).toBeGreaterThanOrEqual(min);
      expect(ms, state).toBeLessThan(max);
      expect(await bluetoothAvailability({ noble, timeoutMs: 200 }), state).toMatchObject({
        ok: false,
        reason,
      });
    }
  });

  it('waits for an adapter that is switching on', async () => {
    const bindings = new FakeNobleBindings({ state: 'poweredOff' });
    cleanups.push(() => bindings.stop());
    const noble = await createNoble(bindings);
    setTimeout(() => bindings.setState('poweredOn'), 100);
    expect(await bluetoothAvailability({ noble, timeoutMs: 1000 })).toEqual({ ok: true, state: 'poweredOn' });
  });

  it('a configured reader on a switched-off adapter: typed error, then connects once Bluetooth is on', async () => {
    const sim = await startBleReaderSimulator({ profile: 'posbridge' });
    cleanups.push(() => sim.close());
    sim.bindings.setState('poweredOff');
    const profile = loadReaderProfile('posbridge');
    const driver = new ReaderDriver({
      transport: new BleTransport({
        profile,
        path: SIM_SERIAL,
        noble: await createNoble(sim.bindings),
        availabilityTimeoutMs: 100,
      }),
      profile,
      pairedSerials: [SIM_SERIAL],
      timers: TEST_TIMERS,
    });
    cleanups.push(() => driver.close());
    driver.start();
    const err = await driver.whenReady(400).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BluetoothUnavailableError);
    expect(err).toMatchObject({
      code: 'reader_disconnected',
      reason: 'open_failed',
      bluetooth: 'bluetooth_off',
    });
    expect((err as BluetoothUnavailableError).toJSON()).toMatchObject({ bluetooth: 'bluetooth_off' });
    expect(driver.state).not.toBe('idle');
    sim.bindings.setState('poweredOn');
    await driver.whenReady(3000);
    // switched off while connected: noble cleans up, the driver loses the link and waits for it
    sim.bindings.setState('poweredOff');
    await until(() => driver.state === 'disconnected' || driver.state === 'connecting', 1000, 'link lost');
    sim.bindings.setState('poweredOn');
    await driver.whenReady(3000);
    expect((await driver.info()).serialNumber).toBe(SIM_SERIAL);
  });

  it("noble's warnings go to our logger, not the console", async () => {
    const bindings = new FakeNobleBindings();
    cleanups.push(() => bindings.stop());
    const noble = await createNoble(bindings);
    const { logger, lines } = capture();
    const warn = vi.spyOn(console, 'warn');
    cleanups.push(() => warn.mockRestore());
    await bluetoothAvailability({ noble, logger });
    // e.g. a notification for a peripheral noble does not know
    bindings.emit('disconnect', 'ffffffffffff', 0x13);
    expect(warn).not.toHaveBeenCalled();
    expect(lines.join('')).toContain('noble: unknown peripheral ffffffffffff disconnected!');
  });
});

describe('the process-wide central (lifecycle)', () => {
  it('an owned central stops its bindings when unusable, when disposed and idle, not while held', async () => {
    const { BleCentral } = await import('../../src/terminal/ble-central.js');
    const bindings = new FakeNobleBindings();
    cleanups.push(() => bindings.stop());
    const noble = await createNoble(bindings);
    const stop = vi.spyOn(noble as unknown as { stop(): void }, 'stop');
    const central = new BleCentral(noble, true);
    await central.ready(500);
    central.hold();
    central.hold();
    central.stopWhenIdle(); // the driver closed for good, but a scan still holds it
    central.release();
    expect(stop).not.toHaveBeenCalled();
    central.release(); // the last holder leaves: stopped at once
    expect(stop).toHaveBeenCalledTimes(1);
    expect(central.isDisposed).toBe(true);

    const off = new FakeNobleBindings({ state: 'unauthorized' });
    cleanups.push(() => off.stop());
    const noble2 = await createNoble(off);
    const stop2 = vi.spyOn(noble2 as unknown as { stop(): void }, 'stop');
    const c2 = new BleCentral(noble2, true);
    await expect(c2.ready(500)).rejects.toMatchObject({ bluetooth: 'bluetooth_unauthorized' });
    expect(stop2).toHaveBeenCalledTimes(1); // no bindings left running (timers, HCI polling)
  });
});
