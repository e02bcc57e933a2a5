import { mkdtempSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  listSerialPorts,
  loadReaderProfile,
  ReaderDriver,
  ReaderError,
  SerialTransport,
} from '../../src/terminal/index.js';
import { startReaderSimulator } from '../../simulators/reader/index.js';
import { SIM_SERIAL, TEST_TIMERS, until } from './rig.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('serial ports', () => {
  it('lists ports without throwing even where udevadm is missing, scanning /dev as a fallback', async () => {
    const all = await listSerialPorts();
    expect(Array.isArray(all)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'pbdev-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of ['ttyUSB0', 'ttyACM3', 'rfcomm1', 'tty0', 'null', 'cu.usbserial-1410'])
      writeFileSync(join(dir, f), '');
    mkdirSync(join(dir, 'pts'));
    const found = await listSerialPorts({ devDir: dir });
    expect(found.map((p) => p.path.slice(dir.length + 1))).toEqual([
      'cu.usbserial-1410',
      'rfcomm1',
      'ttyACM3',
      'ttyUSB0',
    ]);
    expect(found.every((p) => p.source === 'scan')).toBe(true);
    expect(await listSerialPorts({ devDir: join(dir, 'missing') })).toEqual([]);
  });

  it('a missing device is a typed open error', async () => {
    const t = new SerialTransport({ path: '/dev/ttyUSB-posbridge-none', unplugPollMs: 0 });
    const err = await t.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReaderError);
    expect(err).toMatchObject({ code: 'reader_disconnected', reason: 'open_failed' });
  });

  it('notices an unplug (the device path disappears) and reconnects when it comes back', async () => {
    const require = createRequire(import.meta.url);
    const pty = (
      require('@lydell/node-pty') as {
        open(o: { encoding: null }): { ptsName: string; master: Duplex; slave: Duplex };
      }
    ).open({ encoding: null });
    pty.slave.pause();
    const sim = await startReaderSimulator({ stream: pty.master, control: false, ackMs: 60 });
    cleanups.push(async () => {
      await sim.close();
      if (!pty.slave.destroyed) pty.slave.destroy();
      pty.master.destroy();
    });
    const dir = mkdtempSync(join(tmpdir(), 'pbusb-'));
    const path = join(dir, 'ttyUSB0');
    symlinkSync(pty.ptsName, path);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const transport = new SerialTransport({ path, unplugPollMs: 25 });
    transport.on('open', () => {
      if (!pty.slave.destroyed) pty.slave.destroy();
    });
    const driver = new ReaderDriver({
      transport,
      profile: loadReaderProfile('posbridge'),
      pairedSerials: [SIM_SERIAL],
      timers: { ...TEST_TIMERS, keepAliveMs: 0 },
    });
    cleanups.push(() => driver.close());
    const states: string[] = [];
    driver.on('state', (e) =>
      states.push(`${e.state}${e.reason?.includes('unplugged') ? ' (unplugged)' : ''}`),
    );
    driver.start();
    await driver.whenReady(2000);
    unlinkSync(path);
    await until(() => states.includes('disconnected (unplugged)'), 2000, 'unplug noticed');
    await new Promise((r) => setTimeout(r, 100));
    expect(driver.state).not.toBe('idle');
    expect(driver.error).toMatchObject({ reason: 'open_failed' });
    symlinkSync(pty.ptsName, path);
    await until(() => driver.state === 'idle', 3000, 'replugged');
    expect((await driver.info()).serialNumber).toBe(SIM_SERIAL);
  });
});
