/**
 * The Bluetooth LE transport (`transport: 'ble'`) and `scanReaders()`.
 *
 * A BLE reader is a GATT server with a UART-like service (profile `ble`: service, notify and write
 * characteristics). `open()`:
 *   1. Bluetooth available? (`BluetoothUnavailableError` within `availabilityTimeoutMs` otherwise);
 *   2. scan until a reader matches: by peripheral id or address (`path`), else by advertised name
 *      prefix (`path` that is not an id, `namePrefix`, or the profile's) among devices that advertise
 *      the profile's service or no service at all;
 *   3. connect, discover the service and its two characteristics (one may serve both), subscribe to
 *      notifications;
 *   4. `mtu` = the negotiated ATT MTU - 3 (20 until negotiated), capped by the configured `mtu`; the
 *      link layer reads it before each frame, so a later MTU exchange takes effect at once.
 * Every notification is one 'data' chunk; `write()` is a write without response (or with response
 * when the characteristic only allows that), one at a time. A disconnect (supervision timeout out of
 * range, reader switched off, adapter off) closes the transport with reason `lost`; the driver then
 * reconnects with back-off through `open()` again and, mid-transaction, asks for LAST_STATUS.
 *
 * `close()` aborts an `open()` in progress (scan, connect, discovery) and disconnects.
 */
import type { Logger } from 'pino';
import {
  acquireCentral,
  aborted,
  BluetoothUnavailableError,
  errText,
  nobleUuid,
  within,
  type BleCentral,
  type BluetoothProblem,
  type NobleCharacteristic,
  type NoblePeripheral,
  type NobleSource,
} from './ble-central.js';
import { ReaderError } from './errors.js';
import { registerTransport, type TransportFactory } from './factory.js';
import { listReaderProfiles, loadReaderProfile, type BleSpec, type ReaderProfile } from './profile.js';
import { BaseTransport } from './transport.js';

export interface BleTransportOptions {
  /** The profile (its `ble` section gives the GATT UUIDs and the default name prefix). */
  profile: ReaderProfile;
  /** Peripheral id (noble's id: the address without colons on Linux, a UUID on macOS) or address; anything else is a name prefix. */
  path?: string;
  /** Advertised name prefix, when there is no `path` (default: the profile's `ble.namePrefix`). */
  namePrefix?: string;
  /** Cap on the write size (default: whatever the link negotiated). */
  mtu?: number;
  /** A noble instance or factory (tests: the real `Noble` over fake bindings). Default: the platform's. */
  noble?: NobleSource;
  /** How long `open()` scans for the reader (default 10 000 ms). */
  scanTimeoutMs?: number;
  /** How long to wait for the adapter to report powered on (default 1500 ms). */
  availabilityTimeoutMs?: number;
  /** Connect, discovery and subscription, each (default 8000 ms). */
  stepTimeoutMs?: number;
  /** One write (default 5000 ms). */
  writeTimeoutMs?: number;
  /**
   * Whether noble's `mtu` is already the payload size (CoreBluetooth reports the largest write) rather
   * than the ATT MTU (HCI, WinRT). Default: true on macOS with the default bindings, else false.
   */
  mtuIsPayload?: boolean;
  logger?: Logger;
}

/** Smallest and largest payload per write: ATT MTU 23 - 3, and 517 - 3. */
const MIN_MTU = 20;
const MAX_MTU = 514;

const HCI_REASONS: Record<number, string> = {
  0x08: 'supervision timeout (out of range)',
  0x13: 'the reader ended the connection',
  0x14: 'the reader ended the connection (low resources)',
  0x15: 'the reader powered off',
  0x16: 'disconnected by this host',
  0x22: 'LMP response timeout',
  0x3b: 'unacceptable connection parameters',
  0x3d: 'MIC failure',
  0x3e: 'connection failed to be established',
};

function disconnectText(reason: unknown): string {
  if (typeof reason === 'number') return HCI_REASONS[reason] ?? `HCI reason 0x${reason.toString(16)}`;
  return typeof reason === 'string' && reason ? reason : 'unknown reason';
}

const ID_LIKE =
  /^(?:[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{12}|[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

function normId(s: string): string {
  return s.replace(/[:-]/g, '').toLowerCase();
}

function startsWithCi(name: string | undefined, prefix: string): boolean {
  return name !== undefined && name.toLowerCase().startsWith(prefix.toLowerCase());
}

function advertisedServices(p: NoblePeripheral): string[] {
  const a = p.advertisement ?? {};
  return [...(a.serviceUuids ?? []), ...(a.serviceData ?? []).map((d) => d.uuid)].map(nobleUuid);
}

export class BleTransport extends BaseTransport {
  readonly kind = 'ble' as const;
  readonly description: string;
  private readonly spec: BleSpec;
  private readonly options: BleTransportOptions;
  private readonly log: Logger | undefined;
  private central: BleCentral | undefined;
  /** The central of the last open, for `dispose()`. */
  private lastCentral: BleCentral | undefined;
  private peripheral: NoblePeripheral | undefined;
  private writeChar: NobleCharacteristic | undefined;
  private withoutResponse = true;
  private session = 0;
  private detach: (() => void) | undefined;
  private opening: Promise<void> | undefined;
  private abortOpen: AbortController | undefined;
  private closing: Promise<void> | undefined;
  private writeChain: Promise<void> = Promise.resolve();
  private lastName: string | undefined;
  private lastRssi: number | undefined;

  constructor(options: BleTransportOptions) {
    const spec = options.profile.ble;
    if (!spec)
      throw new ReaderError('reader_protocol_error', `profile ${options.profile.name} has no ble section`, {
        reason: 'bad_config',
      });
    super(Math.min(spec.defaultMtu, options.mtu ?? Infinity));
    if (options.mtu !== undefined && (!Number.isInteger(options.mtu) || options.mtu < 1))
      throw new ReaderError('reader_protocol_error', 'mtu must be a positive integer', {
        reason: 'bad_config',
      });
    this.spec = spec;
    this.options = options;
    this.description = `ble:${options.path ?? options.namePrefix ?? spec.namePrefix ?? nobleUuid(spec.service)}`;
    this.log = options.logger?.child({ component: 'ble', reader: this.description });
  }

  /** The connected reader's id, advertised name and RSSI (last seen), for health and logs. */
  get peripheralInfo(): { id?: string; address?: string; name?: string; rssi?: number } {
    const p = this.peripheral;
    return {
      ...(p ? { id: p.id, address: p.address } : {}),
      ...(this.lastName ? { name: this.lastName } : {}),
      ...(this.lastRssi !== undefined ? { rssi: this.lastRssi } : {}),
    };
  }

  open(): Promise<void> {
    if (this.opened) return Promise.resolve();
    if (this.opening) return this.opening;
    const ac = new AbortController();
    this.abortOpen = ac;
    const p = this.connect(ac.signal).finally(() => {
      if (this.opening === p) this.opening = undefined;
      if (this.abortOpen === ac) this.abortOpen = undefined;
    });
    this.opening = p;
    return p;
  }

  private async connect(signal: AbortSignal): Promise<void> {
    await this.closing;
    const o = this.options;
    const central = await acquireCentral(o.noble, o.logger);
    this.central = central;
    this.lastCentral = central;
    const session = ++this.session;
    this.mtu = Math.min(this.spec.defaultMtu, o.mtu ?? Infinity);
    let p: NoblePeripheral | undefined;
    const cleanups: Array<() => void> = [];
    try {
      if (signal.aborted) throw aborted();
      await central.ready(o.availabilityTimeoutMs ?? 1500, signal);
      p = await this.find(central, signal);
      const peripheral = p;
      this.lastName = peripheral.advertisement?.localName;
      this.lastRssi = peripheral.rssi;
      const onDisconnect = (reason: unknown): void => this.onDisconnect(session, reason);
      peripheral.on('disconnect', onDisconnect);
      cleanups.push(() => peripheral.removeListener('disconnect', onDisconnect));
      const onMtu = (): void => this.applyMtu(peripheral);
      peripheral.on('mtu', onMtu);
      cleanups.push(() => peripheral.removeListener('mtu', onMtu));

      const stepMs = o.stepTimeoutMs ?? 8000;
      await this.step(peripheral.connectAsync(), stepMs, 'connect', signal, () => peripheral.cancelConnect());
      const notifyUuid = nobleUuid(this.spec.notify);
      const writeUuid = nobleUuid(this.spec.write);
      const { characteristics } = await this.step(
        peripheral.discoverSomeServicesAndCharacteristicsAsync(
          [nobleUuid(this.spec.service)],
          [...new Set([notifyUuid, writeUuid])],
        ),
        stepMs,
        'service discovery',
        signal,
      );
      const notify = characteristics.find(
        (c) => nobleUuid(c.uuid) === notifyUuid && hasAny(c, ['notify', 'indicate']),
      );
      const write = characteristics.find(
        (c) => nobleUuid(c.uuid) === writeUuid && hasAny(c, ['writeWithoutResponse', 'write']),
      );
      if (!notify || !write) {
        throw new ReaderError(
          'reader_disconnected',
          `the reader has no ${!notify ? 'notify' : 'write'} characteristic ${!notify ? this.spec.notify : this.spec.write} in service ${this.spec.service} (profile ${o.profile.name})`,
          { reason: 'open_failed' },
        );
      }
      this.withoutResponse =
        (this.spec.writeWithoutResponse && hasAny(write, ['writeWithoutResponse'])) ||
        !hasAny(write, ['write']);
      const onData = (data: Buffer, isNotification?: boolean): void => {
        if (this.session === session && isNotification !== false) this.emitData(Buffer.from(data));
      };
      notify.on('data', onData);
      cleanups.push(() => notify.removeListener('data', onData));
      await this.step(notify.subscribeAsync(), stepMs, 'subscribe', signal);
      if (signal.aborted || this.session !== session) throw aborted();
      this.peripheral = peripheral;
      this.writeChar = write;
      this.detach = () => cleanups.splice(0).forEach((c) => c());
      this.writeChain = Promise.resolve();
      this.applyMtu(peripheral);
      this.markOpen();
      this.log?.info(
        { id: peripheral.id, name: this.lastName, rssi: this.lastRssi, mtu: this.mtu },
        'BLE reader connected',
      );
    } catch (e) {
      cleanups.splice(0).forEach((c) => c());
      if (p && p.state !== 'disconnected' && p.state !== 'error') await quietDisconnect(p);
      this.releaseCentral();
      if (e instanceof ReaderError) throw e;
      throw new ReaderError('reader_disconnected', `cannot connect to ${this.description}: ${errText(e)}`, {
        reason: 'open_failed',
      });
    }
  }

  /** Scans until a peripheral matches, for at most `scanTimeoutMs`. */
  private async find(central: BleCentral, signal: AbortSignal): Promise<NoblePeripheral> {
    const o = this.options;
    const ms = o.scanTimeoutMs ?? 10_000;
    const matches = this.matcher();
    let onFound!: (p: NoblePeripheral) => void;
    const found = new Promise<NoblePeripheral>((resolve) => (onFound = resolve));
    const stop = await central.scan((p) => {
      if (p.connectable !== false && matches(p)) onFound(p);
    });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        found,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ReaderError(
                  'reader_disconnected',
                  `no Bluetooth reader matching ${this.description} in range within ${ms} ms`,
                  { reason: 'open_failed' },
                ),
              ),
            ms,
          );
          onAbort = () => reject(aborted());
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      await stop();
    }
  }

  private matcher(): (p: NoblePeripheral) => boolean {
    const path = this.options.path;
    if (path) {
      const want = normId(path);
      const idLike = ID_LIKE.test(path);
      return (p) =>
        normId(p.id) === want ||
        (p.address ? normId(p.address) === want : false) ||
        (!idLike && startsWithCi(p.advertisement?.localName, path));
    }
    const prefix = this.options.namePrefix ?? this.spec.namePrefix;
    const service = nobleUuid(this.spec.service);
    return (p) => {
      const services = advertisedServices(p);
      const serviceOk = services.includes(service);
      if (prefix)
        return startsWithCi(p.advertisement?.localName, prefix) && (serviceOk || services.length === 0);
      return serviceOk;
    };
  }

  private async step<T>(
    op: Promise<T>,
    ms: number,
    what: string,
    signal: AbortSignal,
    onGiveUp?: () => void,
  ): Promise<T> {
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        within(op, ms, what),
        new Promise<never>((_, reject) => {
          onAbort = () => reject(aborted());
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort);
        }),
      ]);
    } catch (e) {
      op.catch(() => undefined);
      try {
        onGiveUp?.();
      } catch {
        // nothing left to cancel
      }
      throw e;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private applyMtu(p: NoblePeripheral): void {
    const raw = p.mtu;
    if (!raw) return;
    const payloadIsMtu =
      this.options.mtuIsPayload ?? (this.options.noble === undefined && process.platform === 'darwin');
    const payload = Math.max(MIN_MTU, Math.min(MAX_MTU, payloadIsMtu ? raw : raw - 3));
    const next = Math.min(payload, this.options.mtu ?? Infinity);
    if (next !== this.mtu) {
      this.log?.debug({ mtu: next, att: payloadIsMtu ? raw + 3 : raw }, 'BLE MTU');
      this.mtu = next;
    }
  }

  private onDisconnect(session: number, reason: unknown): void {
    if (session !== this.session) return;
    this.session++;
    this.teardown();
    const message = `Bluetooth link lost: ${disconnectText(reason)}`;
    this.log?.warn({ reason: disconnectText(reason) }, 'BLE reader disconnected');
    this.closed({ reason: 'lost', message });
    this.releaseCentral();
  }

  private teardown(): void {
    this.detach?.();
    this.detach = undefined;
    this.peripheral = undefined;
    this.writeChar = undefined;
  }

  private releaseCentral(): void {
    const c = this.central;
    this.central = undefined;
    c?.release();
  }

  close(): Promise<void> {
    this.abortOpen?.abort();
    const p = this.peripheral;
    const opening = this.opening;
    const previous = this.closing;
    // A new open() waits for this close (and the aborted open) to finish, then starts afresh.
    this.opening = undefined;
    this.session++;
    this.teardown();
    this.closed({ reason: 'closed' });
    const run = async (): Promise<void> => {
      await previous;
      await opening?.catch(() => undefined);
      if (p && p.state !== 'disconnected') await quietDisconnect(p);
      this.releaseCentral();
    };
    const c = run().finally(() => {
      if (this.closing === c) this.closing = undefined;
    });
    this.closing = c;
    return c;
  }

  /**
   * The last close: disconnects, and lets the process's Bluetooth bindings stop once nothing else
   * uses them (otherwise they stay up for `BLE_IDLE_STOP_MS`, so that reconnects reuse them).
   */
  async dispose(): Promise<void> {
    await this.close();
    const c = this.lastCentral;
    this.lastCentral = undefined;
    c?.stopWhenIdle();
  }

  write(bytes: Buffer): Promise<void> {
    const ch = this.writeChar;
    if (!this.opened || !ch) return Promise.reject(this.notOpen());
    const session = this.session;
    const run = async (): Promise<void> => {
      const step = Math.max(1, this.mtu);
      for (let off = 0; off < bytes.length; off += step) {
        if (!this.opened || this.session !== session) throw this.notOpen();
        try {
          await within(
            ch.writeAsync(bytes.subarray(off, Math.min(bytes.length, off + step)), this.withoutResponse),
            this.options.writeTimeoutMs ?? 5000,
            'BLE write',
          );
        } catch (e) {
          throw new ReaderError('reader_disconnected', `write failed: ${errText(e)}`, {
            reason: 'transport_error',
          });
        }
      }
    };
    const p = this.writeChain.then(run);
    this.writeChain = p.catch(() => undefined);
    return p;
  }
}

function hasAny(c: NobleCharacteristic, props: string[]): boolean {
  return (c.properties ?? []).some((p) => props.includes(p));
}

async function quietDisconnect(p: NoblePeripheral): Promise<void> {
  try {
    await within(p.disconnectAsync(), 1000, 'disconnect');
  } catch {
    // gone already, or the adapter went away
  }
}

// ------------------------------------------------------------------ scanning

export interface ScanReadersOptions {
  /** How long to listen (default 5000 ms). */
  timeoutMs?: number;
  /** Only readers of this profile (default: every shipped profile with a `ble` section). */
  profile?: string | ReaderProfile;
  /** Only readers whose advertised name starts with this (case-insensitive). */
  namePrefix?: string;
  noble?: NobleSource;
  availabilityTimeoutMs?: number;
  logger?: Logger;
}

export interface BleReaderFound {
  /** Advertised local name ('' when the reader advertises none). */
  name: string;
  /** What to put in the reader's `path`: noble's peripheral id. */
  id: string;
  address?: string;
  /** Strongest signal seen during the scan, dBm. */
  rssi: number;
  /** The profile it speaks (the one whose service it advertises, else whose name prefix it carries). */
  profile: string;
  matchedBy: 'service' | 'name';
}

export type ScanReadersResult =
  | { ok: true; readers: BleReaderFound[] }
  | { ok: false; reason: BluetoothProblem | 'scan_failed'; message: string };

function shippedBleProfiles(): ReaderProfile[] {
  const out: ReaderProfile[] = [];
  for (const name of listReaderProfiles()) {
    try {
      const p = loadReaderProfile(name);
      if (p.ble) out.push(p);
    } catch {
      // a broken profile file is reported by its own validation, not here
    }
  }
  // The default profile first: it wins a tie on name prefix.
  return out.sort((a, b) => (a.name === 'posbridge' ? -1 : b.name === 'posbridge' ? 1 : 0));
}

/**
 * Readers in range, strongest first: devices that advertise a profile's service, or (advertising
 * none of ours) whose name carries a profile's name prefix. Never throws for Bluetooth problems: says
 * why it cannot scan instead.
 */
export async function scanReaders(options: ScanReadersOptions = {}): Promise<ScanReadersResult> {
  const wanted = options.profile
    ? typeof options.profile === 'string'
      ? loadReaderProfile(options.profile)
      : options.profile
    : undefined;
  if (wanted && !wanted.ble)
    throw new ReaderError('reader_protocol_error', `profile ${wanted.name} has no ble section`, {
      reason: 'bad_config',
    });
  // A device advertising a known reader service speaks that profile; one advertising none of them may
  // still be a reader of the wanted profile(s), recognised by its name prefix.
  const shipped = shippedBleProfiles();
  const known = wanted && !shipped.some((p) => p.name === wanted.name) ? [wanted, ...shipped] : shipped;
  const candidates = wanted ? [wanted] : shipped;
  const found = new Map<string, BleReaderFound>();
  const classify = (p: NoblePeripheral): BleReaderFound | undefined => {
    const name = p.advertisement?.localName ?? '';
    if (options.namePrefix && !startsWithCi(name, options.namePrefix)) return undefined;
    const services = advertisedServices(p);
    const bySvc = known.find((pr) => services.includes(nobleUuid(pr.ble!.service)));
    if (bySvc && !candidates.some((c) => c.name === bySvc.name)) return undefined;
    const byName = bySvc
      ? undefined
      : candidates.find((pr) => pr.ble!.namePrefix && startsWithCi(name, pr.ble!.namePrefix));
    const pr = bySvc ?? byName;
    if (!pr) return undefined;
    return {
      name,
      id: p.id,
      ...(p.address ? { address: p.address } : {}),
      rssi: p.rssi,
      profile: pr.name,
      matchedBy: bySvc ? 'service' : 'name',
    };
  };
  let central: BleCentral | undefined;
  try {
    central = await acquireCentral(options.noble, options.logger);
    await central.ready(options.availabilityTimeoutMs ?? 1500);
    const stop = await central.scan((p) => {
      const r = classify(p);
      if (!r) return;
      const prev = found.get(r.id);
      found.set(r.id, prev ? { ...r, name: r.name || prev.name, rssi: Math.max(prev.rssi, r.rssi) } : r);
    });
    await new Promise((r) => setTimeout(r, options.timeoutMs ?? 5000));
    await stop();
    const readers = [...found.values()].sort((a, b) => b.rssi - a.rssi || a.name.localeCompare(b.name));
    options.logger?.info({ component: 'ble', found: readers.length }, 'BLE scan finished');
    return { ok: true, readers };
  } catch (e) {
    if (e instanceof BluetoothUnavailableError) return { ok: false, reason: e.bluetooth, message: e.message };
    return { ok: false, reason: 'scan_failed', message: errText(e) };
  } finally {
    central?.release(true);
  }
}

// ------------------------------------------------------------------ registration

/**
 * The `ble` transport factory: `createCardReader({ transport: 'ble', path: <id | address | name
 * prefix>, namePrefix?, profile })`. `defaults` inject a noble instance or timers (tests).
 */
export function bleTransportFactory(defaults: Partial<BleTransportOptions> = {}): TransportFactory {
  return (c, profile) =>
    new BleTransport({
      ...defaults,
      profile,
      ...(c.path ? { path: c.path } : {}),
      ...(c.namePrefix ? { namePrefix: c.namePrefix } : {}),
      ...(c.mtu ? { mtu: c.mtu } : {}),
      ...(c.logger ? { logger: c.logger } : {}),
    });
}

registerTransport('ble', bleTransportFactory());
