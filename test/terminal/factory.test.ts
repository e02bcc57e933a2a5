import { afterEach, describe, expect, it } from 'vitest';
import {
  BleTransport,
  bleTransportFactory,
  createCardReader,
  createTransport,
  loadReaderProfile,
  probeReader,
  registerTransport,
  ReaderError,
  SerialTransport,
  StreamTransport,
  TcpTransport,
} from '../../src/terminal/index.js';
import { startReaderSimulator, type ReaderSimulatorHandle } from '../../simulators/reader/index.js';
import { SIM_SERIAL } from './rig.js';

let sim: ReaderSimulatorHandle | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('creating readers from configuration', () => {
  it('builds serial, tcp and ble transports from the config and the profile; a transport can be replaced', () => {
    const profile = loadReaderProfile('posbridge');
    const serial = createTransport(
      { transport: 'serial', path: '/dev/ttyUSB0', profile: 'posbridge', pairedSerials: [] },
      profile,
    );
    expect(serial).toBeInstanceOf(SerialTransport);
    expect(serial.description).toBe('serial:/dev/ttyUSB0');
    const tcp = createTransport(
      { transport: 'tcp', host: '127.0.0.1', port: 7000, mtu: 20, profile: 'posbridge', pairedSerials: [] },
      profile,
    );
    expect(tcp).toBeInstanceOf(TcpTransport);
    expect(tcp.mtu).toBe(20);
    expect(() =>
      createTransport({ transport: 'serial', profile: 'posbridge', pairedSerials: [] }, profile),
    ).toThrow(ReaderError);
    // 'ble' registers itself (src/terminal/ble.ts); noble is not loaded until it opens.
    const ble = createTransport(
      { transport: 'ble', path: 'c0:ff:ee:00:00:01', profile: 'posbridge', pairedSerials: [] },
      profile,
    );
    expect(ble).toBeInstanceOf(BleTransport);
    expect(ble.description).toBe('ble:c0:ff:ee:00:00:01');
    expect(ble.mtu).toBe(20);
    expect(
      createTransport(
        { transport: 'ble', namePrefix: 'PBR-7', profile: 'posbridge', pairedSerials: [] },
        profile,
      ).description,
    ).toBe('ble:PBR-7');
    const noBle = { ...profile, ble: undefined };
    expect(() =>
      createTransport({ transport: 'ble', path: 'PBR', profile: noBle, pairedSerials: [] }, noBle),
    ).toThrow(/has no ble section/);
    registerTransport('ble', () => new StreamTransport(undefined, { mtu: 20, description: 'ble:test' }));
    try {
      expect(
        createTransport({ transport: 'ble', path: 'AA:BB', profile: 'posbridge', pairedSerials: [] }, profile)
          .description,
      ).toBe('ble:test');
    } finally {
      registerTransport('ble', bleTransportFactory());
    }
    expect(() =>
      createTransport({ transport: 'usb' as 'tcp', profile: 'posbridge', pairedSerials: [] }, profile),
    ).toThrow(/no 'usb' transport/);
  });

  it('createCardReader + start + whenReady over TCP; probeReader reads an unpaired reader', async () => {
    sim = await startReaderSimulator({ tcp: { port: 0 }, control: false, serialNumber: 'PBR-NEW-42' });
    const info = await probeReader({
      transport: 'tcp',
      host: '127.0.0.1',
      port: sim.port!,
      profile: 'posbridge',
    });
    expect(info).toMatchObject({ serialNumber: 'PBR-NEW-42', model: 'posbridge-sim' });
    expect(info.keyCheckValues.tmk).toBe('08D7B4FB');
    const reader = createCardReader({
      transport: 'tcp',
      host: '127.0.0.1',
      port: sim.port!,
      profile: 'posbridge',
      pairedSerials: ['PBR-NEW-42'],
      expectedKcv: { tmk: '08D7B4FB' },
      timers: { backoffInitialMs: 20 },
    });
    try {
      reader.start();
      await reader.whenReady(2000);
      expect(reader.state).toBe('idle');
      expect(reader.lastKnownInfo?.serialNumber).toBe('PBR-NEW-42');
    } finally {
      await reader.close();
    }
    expect(reader.state).toBe('disconnected');
    const refused = createCardReader({
      transport: 'tcp',
      host: '127.0.0.1',
      port: sim.port!,
      profile: 'posbridge',
      pairedSerials: [SIM_SERIAL],
    });
    try {
      refused.start();
      await expect(refused.whenReady(2000)).rejects.toMatchObject({
        code: 'reader_not_paired',
        reason: 'not_paired',
      });
      await expect(refused.whenReady(2000)).rejects.toMatchObject({ code: 'reader_not_paired' });
    } finally {
      await refused.close();
    }
  });
});
