/**
 * The reader simulator as a Bluetooth LE peripheral, in process:
 *
 *   const sim = await startBleReaderSimulator({ profile: 'posbridge', mtu: 185 });
 *   const noble = await createNoble(sim.bindings);          // the real Noble class, fake radio
 *   const reader = new ReaderDriver({ transport: new BleTransport({ profile, path: sim.peripheral.id, noble }), ... });
 *
 * The peripheral advertises the profile's service UUID and the local name (default: the serial
 * number, `PBR-SIM-0001`), grants the given payload MTU (20: no MTU exchange; 185: a typical
 * negotiated one), and serves the reader simulator on every connection (state, keys and transactions
 * outlive connections, as in a real reader). `dropLink()` and the `dropLinkAt` behaviour end the
 * connection from the reader's side; `peripheral.goOutOfRange()` loses it in the air (supervision
 * timeout). Several simulated readers can share one radio (`bindings`).
 */
import { pino, type Logger } from 'pino';
import { cardLogOptions } from '../../src/card/index.js';
import { FakeNobleBindings, type FakeBlePeripheral, type FakePeripheralOptions } from './ble-bindings.js';
import { startReaderControlApi, type ReaderControlApi } from './control.js';
import type { ReaderSimulatorHandle } from './handle.js';
import { DEFAULT_SERIAL_NUMBER, ReaderSimulator, type ReaderSimulatorOptions } from './simulator.js';

export interface StartBleReaderSimulatorOptions
  extends ReaderSimulatorOptions, Omit<FakePeripheralOptions, 'service'> {
  /** The radio to appear on (default: a new one, powered on). */
  bindings?: FakeNobleBindings;
  /** The control API (default: none). */
  control?: { port?: number; host?: string } | false;
  /** With no `logger`: pino JSON to stderr at this level (card data masked). */
  logLevel?: string;
}

export interface BleReaderSimulatorHandle extends ReaderSimulatorHandle {
  bindings: FakeNobleBindings;
  peripheral: FakeBlePeripheral;
}

export async function startBleReaderSimulator(
  options: StartBleReaderSimulatorOptions = {},
): Promise<BleReaderSimulatorHandle> {
  const logger: Logger | undefined =
    options.logger ??
    (options.logLevel
      ? pino(
          { ...cardLogOptions(), level: options.logLevel, base: { sim: 'reader-ble' } },
          pino.destination(2),
        )
      : undefined);
  const sim = new ReaderSimulator({ ...options, ...(logger ? { logger } : {}) });
  if (!sim.profile.ble) throw new Error(`profile ${sim.profile.name} has no ble section`);
  const ownBindings = !options.bindings;
  const bindings = options.bindings ?? new FakeNobleBindings();
  const peripheral = bindings.addPeripheral({
    ...pick(options),
    localName: options.localName ?? options.serialNumber ?? DEFAULT_SERIAL_NUMBER,
    service: sim.profile.ble,
  });
  peripheral.on('connect', (t) => sim.attach(t, 'socket'));

  let control: ReaderControlApi | undefined;
  if (options.control) {
    control = await startReaderControlApi(options.control.port ?? 0, options.control.host ?? '127.0.0.1', {
      sim,
      log: logger,
      ports: () => ({
        ble: { id: peripheral.id, name: peripheral.localName },
        control: control?.port ?? null,
      }),
    });
  }

  let closed = false;
  return {
    simulator: sim,
    bindings,
    peripheral,
    port: undefined,
    controlPort: control?.port,
    serialPath: undefined,
    behaviour: () => ({ ...sim.behaviour }),
    setBehaviour: (b) => sim.setBehaviour(b),
    dropLink: (ms) => sim.dropLink(ms),
    reset: () => sim.reset(),
    async close() {
      if (closed) return;
      closed = true;
      await control?.close();
      await sim.close();
      if (ownBindings) bindings.stop();
      else bindings.removePeripheral(peripheral);
    },
  };
}

function pick(o: StartBleReaderSimulatorOptions): Omit<FakePeripheralOptions, 'service'> {
  const out: Omit<FakePeripheralOptions, 'service'> = {};
  if (o.address !== undefined) out.address = o.address;
  if (o.rssi !== undefined) out.rssi = o.rssi;
  if (o.advertiseService !== undefined) out.advertiseService = o.advertiseService;
  if (o.mtu !== undefined) out.mtu = o.mtu;
  if (o.advertising !== undefined) out.advertising = o.advertising;
  if (o.connectable !== undefined) out.connectable = o.connectable;
  if (o.readvertiseMs !== undefined) out.readvertiseMs = o.readvertiseMs;
  if (o.connectionIntervalMs !== undefined) out.connectionIntervalMs = o.connectionIntervalMs;
  if (o.packetsPerEvent !== undefined) out.packetsPerEvent = o.packetsPerEvent;
  return out;
}
