/**
 * The Bluetooth LE central under the `ble` transport and `scanReaders()`: one noble instance per
 * process with the platform's default bindings, or an injected one (tests build the real `Noble`
 * class over the simulator's fake bindings).
 *
 * - **Lazy.** @stoprocent/noble is loaded with `import()` the first time a BLE reader is opened or
 *   scanned for; a machine without Bluetooth (or without kernel support for it) starts and runs its
 *   serial and TCP readers as if noble did not exist.
 * - **Never a hang, never a crash.** The bindings are started synchronously inside a try/catch (a
 *   native binding that cannot load, or a socket family the kernel lacks, becomes
 *   `no_bluetooth_adapter`), and the adapter state is awaited for at most `availabilityTimeoutMs`
 *   (default 1500 ms): `BluetoothUnavailableError` with `bluetooth` = `no_bluetooth_adapter` /
 *   `bluetooth_off` / `bluetooth_unauthorized`.
 * - **noble's output goes to our logger**: its 'warning' events, and the `console.log` / `console.warn`
 *   lines its bindings print (recognised by the calling file), once a logger is known.
 * - **One scan at a time on the radio**: scan sessions (a transport looking for its reader,
 *   `scanReaders()`) share one noble scan, with duplicates on (RSSI updates, and a name that only
 *   arrives in the scan response) and without a service filter at the controller: readers that do not
 *   advertise their 128-bit service are still found by name; every session filters for itself.
 * - The default instance is stopped (its HCI socket closed, its timers gone) when Bluetooth turns out
 *   to be unavailable, when `scanReaders()` ends and nothing else uses it, or `idleStopMs` after the
 *   last transport closed; the next user starts a fresh one.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';
import { ReaderError } from './errors.js';

/** Why Bluetooth LE cannot be used here. Stable strings. */
export type BluetoothProblem = 'no_bluetooth_adapter' | 'bluetooth_off' | 'bluetooth_unauthorized';

/**
 * Bluetooth itself is unavailable (not the reader). A `ReaderError` (`reader_disconnected`, reason
 * `open_failed`) so the driver treats it as a failed connection attempt and retries with back-off;
 * `bluetooth` says what is wrong, and the message says what to do.
 */
export class BluetoothUnavailableError extends ReaderError {
  readonly bluetooth: BluetoothProblem;
  constructor(problem: BluetoothProblem, message: string) {
    super('reader_disconnected', `${problem}: ${message}`, { reason: 'open_failed' });
    this.name = 'BluetoothUnavailableError';
    this.bluetooth = problem;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), bluetooth: this.bluetooth };
  }
}

export type AdapterState =
  'poweredOn' | 'poweredOff' | 'unauthorized' | 'unsupported' | 'unknown' | 'resetting';

/* The parts of noble's objects posbridge uses (structural, so tests can pass any noble build). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

interface Emitter {
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
}

export interface NobleAdvertisement {
  localName?: string;
  serviceUuids?: string[];
  serviceData?: Array<{ uuid: string; data: Buffer }>;
  manufacturerData?: Buffer;
  txPowerLevel?: number;
}

export interface NobleCharacteristic extends Emitter {
  readonly uuid: string;
  readonly properties: string[];
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
}

export interface NoblePeripheral extends Emitter {
  readonly id: string;
  readonly address: string;
  readonly advertisement: NobleAdvertisement;
  readonly rssi: number;
  readonly mtu: number | null;
  readonly state: string;
  readonly connectable?: boolean;
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  cancelConnect(): void;
  discoverSomeServicesAndCharacteristicsAsync(
    serviceUuids: string[],
    characteristicUuids: string[],
  ): Promise<{ characteristics: NobleCharacteristic[] }>;
}

export interface NobleLike extends Emitter {
  readonly state: AdapterState | string;
  startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
  stop?(): void;
  listeners(event: string): Listener[];
  removeAllListeners(event?: string): unknown;
}

/** A noble instance, or a factory of one (called once per transport or scan). */
export type NobleSource = NobleLike | (() => NobleLike | Promise<NobleLike>);

/**
 * Milliseconds the default noble instance lives on after the last transport closed without being
 * disposed: longer than the driver's longest reconnect back-off (30 s by default), so reconnects reuse
 * it (starting the HCI bindings resets the adapter). `dispose()` (the driver's close) stops it at once.
 */
export const BLE_IDLE_STOP_MS = 60_000;

// ------------------------------------------------------------------ loading noble

type NobleCtor = new (bindings: unknown) => NobleLike;
type WithBindings = (bindingType?: string, options?: Record<string, unknown>) => NobleLike;
let nobleModule: Promise<{ Noble: NobleCtor; withBindings: WithBindings }> | undefined;

async function loadNoble(): Promise<{ Noble: NobleCtor; withBindings: WithBindings }> {
  nobleModule ??= Promise.all([
    import('@stoprocent/noble/lib/noble.js'),
    import('@stoprocent/noble/lib/resolve-bindings.js'),
  ]).then(([n, r]) => ({ Noble: n.default as NobleCtor, withBindings: r.default as WithBindings }));
  try {
    return await nobleModule;
  } catch (e) {
    nobleModule = undefined;
    throw new BluetoothUnavailableError(
      'no_bluetooth_adapter',
      `the Bluetooth LE library (@stoprocent/noble) cannot be loaded: ${errText(e)}`,
    );
  }
}

/** The real `Noble` class over the given bindings (the simulator's fake bindings, in tests). */
export async function createNoble(bindings: unknown): Promise<NobleLike> {
  const { Noble } = await loadNoble();
  return new Noble(bindings);
}

// ------------------------------------------------------------------ noble's console output

let bleLogger: Logger | undefined;
const ROUTED = Symbol('posbridge.nobleConsole');
const NOBLE_FILE = /[\\/]@stoprocent[\\/](?:noble|bluetooth-hci-socket)[\\/]/;

/**
 * noble's HCI bindings print adapter warnings with console.log / console.warn. Whenever the default
 * bindings start, console calls made from noble's own files are routed to the BLE logger (when one
 * is known); every other console call goes where it always went. Checked each time, since something
 * else may have replaced the console methods meanwhile.
 */
function routeNobleConsole(): void {
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    const original = console[level] as Console['log'] & { [ROUTED]?: true };
    if (original[ROUTED]) continue;
    const routed = function (this: Console, ...args: unknown[]): void {
      const log = bleLogger;
      if (log && NOBLE_FILE.test(new Error().stack ?? '')) {
        log.warn({ component: 'ble', source: 'noble' }, format(...args).trim());
        return;
      }
      original.apply(this, args);
    };
    console[level] = Object.assign(routed, { [ROUTED]: true as const });
  }
}

// ------------------------------------------------------------------ the central

const problemText: Record<BluetoothProblem, string> = {
  no_bluetooth_adapter:
    'no Bluetooth LE adapter is usable on this machine (none present, or the system lacks Bluetooth support); see docs/bluetooth.md',
  bluetooth_off:
    'Bluetooth is switched off: turn it on in the system settings (or `rfkill unblock bluetooth`)',
  bluetooth_unauthorized:
    process.platform === 'darwin'
      ? 'this app may not use Bluetooth: allow it in System Settings > Privacy & Security > Bluetooth'
      : process.platform === 'win32'
        ? 'Windows denied Bluetooth access: allow apps to use Bluetooth in Settings > Privacy & security'
        : 'no permission to use the Bluetooth adapter: give node the cap_net_raw capability (docs/bluetooth.md)',
};

export function bluetoothError(problem: BluetoothProblem, detail?: string): BluetoothUnavailableError {
  return new BluetoothUnavailableError(
    problem,
    detail ? `${problemText[problem]} (${detail})` : problemText[problem],
  );
}

function problemOf(state: string): BluetoothProblem | undefined {
  switch (state) {
    case 'poweredOn':
      return undefined;
    case 'unauthorized':
      return 'bluetooth_unauthorized';
    case 'poweredOff':
    case 'resetting':
      return 'bluetooth_off';
    default:
      return 'no_bluetooth_adapter';
  }
}

export class BleCentral {
  logger: Logger | undefined;
  private refs = 0;
  private stopWhenUnused = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private startError: BluetoothUnavailableError | undefined;
  /** `unsupported` / `unauthorized` seen since the last `poweredOn`: adapters flap through poweredOff. */
  private sticky: AdapterState | undefined;
  private readonly sessions = new Set<(p: NoblePeripheral) => void>();
  private scanning = false;
  private stoppingScan = false;
  private scanOps: Promise<unknown> = Promise.resolve();

  constructor(
    readonly noble: NobleLike,
    /** The process's default instance: stopped when unusable or idle. */
    readonly owned: boolean,
    logger?: Logger,
  ) {
    this.logger = logger;
    // noble prints its warnings with console.warn; ours go to the logger.
    noble.removeAllListeners('warning');
    noble.on('warning', (m: unknown) =>
      this.logger?.warn({ component: 'ble', source: 'noble' }, `noble: ${String(m)}`),
    );
    noble.on('discover', (p: NoblePeripheral) => {
      for (const s of [...this.sessions]) s(p);
    });
    noble.on('scanStop', () => this.onScanStop());
    this.start();
  }

  /**
   * Starts the bindings now, inside this try/catch: noble would otherwise start them on the next tick
   * after the first 'stateChange' listener, where a throwing native binding crashes the process, and
   * the HCI bindings report `unsupported` synchronously, before a listener could hear it. So noble's
   * own 'newListener' hook is held back while ours is added, then the `state` getter starts them.
   * The HCI bindings' SIGINT handler (which exits the process when it is the last one) is removed:
   * the daemon shuts down on its own terms.
   */
  private start(): void {
    const noble = this.noble;
    const onState = (s: AdapterState): void => {
      // Leaving poweredOn ends any scan (noble cleans up its peripherals too).
      if (s !== 'poweredOn') this.scanning = false;
      if (s === 'poweredOn') this.sticky = undefined;
      else if (s === 'unsupported') this.sticky = 'unsupported';
      else if (s === 'unauthorized' && this.sticky !== 'unsupported') this.sticky = 'unauthorized';
      this.logger?.debug({ component: 'ble', state: s }, 'bluetooth adapter state');
    };
    const hooks = noble.listeners('newListener');
    const sigint = new Set(process.listeners('SIGINT'));
    noble.removeAllListeners('newListener');
    noble.on('stateChange', onState);
    try {
      onState(noble.state as AdapterState);
    } catch (e) {
      this.startError = bluetoothError(
        'no_bluetooth_adapter',
        `the Bluetooth bindings failed to start: ${errText(e)}`,
      );
    } finally {
      for (const h of hooks) noble.on('newListener', h);
      for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.removeListener('SIGINT', l);
    }
  }

  get state(): string {
    try {
      return this.noble.state;
    } catch {
      return 'unsupported';
    }
  }

  hold(): void {
    this.refs++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** `immediate`: stop the default instance now if nobody else holds it (a one-off scan). */
  release(immediate = false): void {
    this.refs = Math.max(0, this.refs - 1);
    if (!this.owned || this.disposed || this.refs > 0) return;
    clearTimeout(this.idleTimer);
    if (immediate || this.stopWhenUnused) return this.dispose();
    this.idleTimer = setTimeout(() => this.dispose(), BLE_IDLE_STOP_MS);
    this.idleTimer.unref();
  }

  /** Stops the default instance as soon as nobody holds it (now, if nobody does). */
  stopWhenIdle(): void {
    if (!this.owned || this.disposed) return;
    if (this.refs === 0) return this.dispose();
    this.stopWhenUnused = true;
  }

  /**
   * Resolves when the adapter is powered on; otherwise rejects within `timeoutMs` with a
   * `BluetoothUnavailableError` (at once for `unsupported` / `unauthorized`).
   */
  ready(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const fail = (problem: BluetoothProblem, detail?: string): Promise<never> => {
      const err = bluetoothError(problem, detail);
      // Unusable: drop the default instance (no HCI polling, no repeated warnings); the next try starts afresh.
      if (this.owned) this.dispose();
      return Promise.reject(err);
    };
    if (this.startError) {
      if (this.owned) this.dispose();
      return Promise.reject(this.startError);
    }
    if (this.disposed) return fail('no_bluetooth_adapter', 'the Bluetooth central was stopped');
    const now = this.state;
    if (now === 'poweredOn') return Promise.resolve();
    if (this.sticky) return fail(problemOf(this.sticky)!, `adapter state ${this.sticky}`);
    return new Promise<void>((resolve, reject) => {
      let last = now;
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.noble.removeListener('stateChange', onState);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onState = (s: string): void => {
        last = s;
        if (s === 'poweredOn') done();
        else if (s === 'unsupported' || s === 'unauthorized')
          fail(problemOf(s)!, `adapter state ${s}`).catch(done);
      };
      const onAbort = (): void => done(aborted());
      const timer = setTimeout(() => {
        const p = problemOf(this.sticky ?? last) ?? 'no_bluetooth_adapter';
        fail(
          p,
          last === 'unknown'
            ? `the adapter reported no state within ${timeoutMs} ms`
            : `adapter state ${last}`,
        ).catch(done);
      }, timeoutMs);
      this.noble.on('stateChange', onState);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort);
    });
  }

  /**
   * Joins the shared scan; `onPeripheral` sees every advertisement (duplicates included) until the
   * returned function is called.
   */
  async scan(onPeripheral: (p: NoblePeripheral) => void): Promise<() => Promise<void>> {
    this.sessions.add(onPeripheral);
    try {
      await this.serial(async () => {
        if (this.scanning || this.sessions.size === 0) return;
        await within(this.noble.startScanningAsync([], true), 3000, 'start scanning');
        this.scanning = true;
      });
    } catch (e) {
      this.sessions.delete(onPeripheral);
      const p = problemOf(this.state);
      if (p) throw bluetoothError(p, `cannot scan: ${errText(e)}`);
      throw new ReaderError('reader_disconnected', `cannot scan for Bluetooth readers: ${errText(e)}`, {
        reason: 'open_failed',
      });
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      this.sessions.delete(onPeripheral);
      await this.serial(async () => {
        if (!this.scanning || this.sessions.size > 0) return;
        this.scanning = false;
        this.stoppingScan = true;
        try {
          await within(this.noble.stopScanningAsync(), 1000, 'stop scanning');
        } catch {
          // the adapter went away meanwhile: nothing is scanning any more either way
        } finally {
          this.stoppingScan = false;
        }
      });
    };
  }

  /** Some bindings stop scanning on their own (HCI, to connect): resume while sessions remain. */
  private onScanStop(): void {
    if (this.stoppingScan || !this.scanning) return;
    this.scanning = false;
    if (this.sessions.size === 0 || this.disposed) return;
    setTimeout(() => {
      void this.serial(async () => {
        if (this.scanning || this.sessions.size === 0 || this.disposed) return;
        await within(this.noble.startScanningAsync([], true), 3000, 'restart scanning');
        this.scanning = true;
      }).catch((e: unknown) =>
        this.logger?.warn({ component: 'ble', err: errText(e) }, 'BLE scan not resumed'),
      );
    }, 100).unref();
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.scanOps.then(op, op);
    this.scanOps = p.catch(() => undefined);
    return p;
  }

  /** Stops the default instance for good (its HCI socket, timers and exit handlers). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.idleTimer);
    this.sessions.clear();
    if (defaultCentral === this) defaultCentral = undefined;
    if (!this.owned) return;
    try {
      this.noble.stop?.();
    } catch {
      // the bindings never started
    }
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

let defaultCentral: BleCentral | undefined;
let creating: Promise<BleCentral> | undefined;
const injected = new WeakMap<NobleLike, BleCentral>();

/**
 * The central for `source` (default: the process's own noble with the platform's bindings), held
 * until `central.release()`. Rejects with `BluetoothUnavailableError` when noble cannot even load.
 */
export async function acquireCentral(source?: NobleSource, logger?: Logger): Promise<BleCentral> {
  if (logger) bleLogger = logger;
  let central: BleCentral;
  if (source) {
    const noble = typeof source === 'function' ? await source() : source;
    central = injected.get(noble) ?? new BleCentral(noble, false, logger);
    injected.set(noble, central);
  } else {
    central =
      defaultCentral ?? (await (creating ??= createDefault(logger).finally(() => (creating = undefined))));
  }
  if (logger) central.logger = logger;
  central.hold();
  return central;
}

async function createDefault(logger: Logger | undefined): Promise<BleCentral> {
  const { withBindings } = await loadNoble();
  if (defaultCentral && !defaultCentral.isDisposed) return defaultCentral;
  routeNobleConsole();
  const sigint = new Set(process.listeners('SIGINT'));
  let noble: NobleLike;
  try {
    noble = withBindings('default', {});
  } catch (e) {
    throw bluetoothError('no_bluetooth_adapter', `no Bluetooth bindings for this platform: ${errText(e)}`);
  } finally {
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.removeListener('SIGINT', l);
  }
  defaultCentral = new BleCentral(noble, true, logger);
  return defaultCentral;
}

/** Stops the process's default noble instance now (at shutdown; the next BLE use starts a new one). */
export function stopBluetooth(): void {
  defaultCentral?.dispose();
}

/**
 * Whether Bluetooth LE can be used here: `{ ok: true }` once the adapter is powered on, else the
 * problem, within `timeoutMs` (default 1500). Never throws, never hangs.
 */
export async function bluetoothAvailability(
  options: { timeoutMs?: number; noble?: NobleSource; logger?: Logger } = {},
): Promise<{ ok: true; state: 'poweredOn' } | { ok: false; reason: BluetoothProblem; message: string }> {
  let central: BleCentral | undefined;
  try {
    central = await acquireCentral(options.noble, options.logger);
    await central.ready(options.timeoutMs ?? 1500);
    return { ok: true, state: 'poweredOn' };
  } catch (e) {
    if (e instanceof BluetoothUnavailableError) return { ok: false, reason: e.bluetooth, message: e.message };
    return { ok: false, reason: 'no_bluetooth_adapter', message: errText(e) };
  } finally {
    central?.release(true);
  }
}

// ------------------------------------------------------------------ helpers

export function aborted(): ReaderError {
  return new ReaderError('reader_disconnected', 'closed while connecting', { reason: 'closed' });
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `p`, or a rejection after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * A UUID as noble spells it: lower case without dashes, and a Bluetooth base UUID
 * (0000xxxx-0000-1000-8000-00805F9B34FB) as its 16-bit short form `xxxx`.
 */
export function nobleUuid(uuid: string): string {
  const u = uuid.replace(/-/g, '').toLowerCase();
  const m = /^0000([0-9a-f]{4})00001000800000805f9b34fb$/.exec(u);
  return m ? m[1]! : u;
}
