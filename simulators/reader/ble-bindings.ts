/**
 * Fake noble bindings: a Bluetooth LE radio in memory. `new Noble(new FakeNobleBindings())` (the real
 * class from @stoprocent/noble/lib/noble) scans, connects, discovers, subscribes and writes through
 * noble's own code; on the other side of the "air" sit `FakeBlePeripheral`s, one per simulated device.
 *
 * The bindings implement what `Noble` calls (start, stop, startScanning, stopScanning, connect,
 * cancelConnect, disconnect, updateRssi, discoverServices, discoverIncludedServices,
 * discoverCharacteristics, read, write, broadcast, notify, discoverDescriptors, readValue, writeValue,
 * readHandle, writeHandle, setScanParameters, setAddress, addressToId, reset) and emit what it listens
 * to (stateChange, addressChange, scanStart, scanStop, discover, connect, disconnect, rssiUpdate,
 * servicesDiscover, characteristicsDiscover, read (notifications), write, notify, onMtu, ...), with
 * the argument orders of the HCI bindings. UUIDs are in noble's spelling (lower case, no dashes,
 * 16-bit short forms).
 *
 * A peripheral with a `service` is a GATT server with the profile's UART-like service: bytes the
 * central writes come out of its `FakeBleServerTransport` (a `Transport`, so the reader simulator's
 * link layer sits on it), and what that transport writes goes to the central as notifications, once
 * the central subscribed. Controls: advertising on/off, RSSI, the payload MTU it grants (20, i.e. no
 * MTU exchange, up to 244), forced disconnects (the reader ends the link, or walks out of range: the
 * link goes silent and the central hears of it only after the supervision timeout), a connection
 * interval with a number of packets per connection event (a radio model for benchmarks), and
 * counters of every packet's size per direction.
 */
import { EventEmitter } from 'node:events';
import { BaseTransport, nobleUuid, type BleSpec } from '../../src/terminal/index.js';

export type FakeAdapterState =
  'poweredOn' | 'poweredOff' | 'unauthorized' | 'unsupported' | 'unknown' | 'resetting';

/** HCI disconnect reasons the fake reports (what the HCI bindings pass to noble). */
export const HCI_REASON = {
  connectionTimeout: 0x08,
  remoteUserTerminated: 0x13,
  remotePowerOff: 0x15,
  localHostTerminated: 0x16,
  connectionFailed: 0x3e,
} as const;

export interface FakePeripheralOptions {
  /** Advertised local name (default `FAKE-<n>`). */
  localName?: string;
  /** Public address (default c0:ff:ee:00:00:<n>); noble's id is it without colons. */
  address?: string;
  rssi?: number;
  /** The GATT service this device serves (a profile's `ble` section); none: a device that only advertises. */
  service?: BleSpec;
  /** Put the service UUID in the advertisement (default true); false: found by name only. */
  advertiseService?: boolean;
  /** Payload bytes per packet it grants (ATT MTU - 3): 20 = no MTU exchange (default), up to 244. */
  mtu?: number;
  advertising?: boolean;
  connectable?: boolean;
  /** Re-advertise this long after a connection ended (default 0). */
  readvertiseMs?: number;
  /** 0 (default): packets are delivered on the next turn of the event loop; else at connection events. */
  connectionIntervalMs?: number;
  /** Packets per direction per connection event (default 4). */
  packetsPerEvent?: number;
}

export interface FakeBleStats {
  connections: number;
  /** Sizes of the central's writes, in order. */
  writes: number[];
  /** Sizes of the notifications sent to the central, in order. */
  notifications: number[];
  /** Packets longer than the MTU allows (a real stack would truncate or refuse them). */
  oversize: number;
  /** Notifications the reader sent before the central subscribed (lost). */
  unsubscribed: number;
  /** Packets lost in the air (out of range). */
  lost: number;
}

interface Connection {
  transport: FakeBleServerTransport;
  /** Payload MTU granted for this connection. */
  mtu: number;
  subscribed: boolean;
  silent: boolean;
  toCentral: Buffer[];
  toPeripheral: Buffer[];
  pump: NodeJS.Timeout | NodeJS.Immediate | undefined;
  supervision: NodeJS.Timeout | undefined;
}

/** The reader's end of one BLE connection: a `Transport` for the reader simulator's link layer. */
export class FakeBleServerTransport extends BaseTransport {
  readonly kind = 'ble' as const;
  readonly description: string;

  constructor(
    private readonly peripheral: FakeBlePeripheral,
    mtu: number,
  ) {
    super(mtu);
    this.description = `ble-peripheral:${peripheral.localName}`;
    this.markOpen();
  }

  open(): Promise<void> {
    return this.opened
      ? Promise.resolve()
      : Promise.reject(new Error('a BLE peripheral cannot reopen a connection: the central connects'));
  }

  /** The reader hangs up (the simulator dropping the link). */
  async close(): Promise<void> {
    if (!this.opened) return;
    this.closed({ reason: 'closed' });
    this.peripheral.endConnection(this, HCI_REASON.remoteUserTerminated);
  }

  write(bytes: Buffer): Promise<void> {
    if (!this.opened) return Promise.reject(this.notOpen());
    this.peripheral.notifyCentral(this, bytes);
    return Promise.resolve();
  }

  /** Bytes the central wrote. */
  deliver(bytes: Buffer): void {
    if (this.opened) this.emitData(bytes);
  }

  /** The connection ended from the central's side or in the air. */
  lost(message: string): void {
    this.closed({ reason: 'lost', message });
  }
}

let nextDevice = 1;

export class FakeBlePeripheral extends EventEmitter {
  readonly id: string;
  readonly address: string;
  readonly localName: string;
  readonly service: BleSpec | undefined;
  rssi: number;
  mtu: number;
  advertising: boolean;
  advertiseService: boolean;
  connectable: boolean;
  readvertiseMs: number;
  connectionIntervalMs: number;
  packetsPerEvent: number;
  readonly stats: FakeBleStats = {
    connections: 0,
    writes: [],
    notifications: [],
    oversize: 0,
    unsubscribed: 0,
    lost: 0,
  };
  /** False while out of range: no advertising, connections fail. */
  inRange = true;
  private conn: Connection | undefined;
  private readvertiseTimer: NodeJS.Timeout | undefined;
  private rangeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly radio: FakeNobleBindings,
    options: FakePeripheralOptions,
  ) {
    super();
    const n = nextDevice++;
    this.address = (options.address ?? `c0:ff:ee:00:${hex2(n >> 8)}:${hex2(n & 0xff)}`).toLowerCase();
    this.id = radio.addressToId(this.address);
    this.localName = options.localName ?? `FAKE-${n}`;
    this.service = options.service;
    this.rssi = options.rssi ?? -55;
    this.mtu = options.mtu ?? 20;
    this.advertising = options.advertising ?? true;
    this.advertiseService = options.advertiseService ?? true;
    this.connectable = options.connectable ?? true;
    this.readvertiseMs = options.readvertiseMs ?? 0;
    this.connectionIntervalMs = options.connectionIntervalMs ?? 0;
    this.packetsPerEvent = options.packetsPerEvent ?? 4;
    if (!Number.isInteger(this.mtu) || this.mtu < 20 || this.mtu > 244)
      throw new Error('mtu (payload per packet) must be 20 to 244');
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** Whether a scanning central hears it now. */
  get visible(): boolean {
    return this.advertising && this.inRange && !this.conn;
  }

  /** The reader's end of the current connection. */
  get transport(): FakeBleServerTransport | undefined {
    return this.conn?.transport;
  }

  /** The central subscribed to notifications on the current connection. */
  get subscribed(): boolean {
    return this.conn?.subscribed ?? false;
  }

  setAdvertising(on: boolean): void {
    this.advertising = on;
  }

  setRssi(dbm: number): void {
    this.rssi = dbm;
  }

  /** Payload MTU of the current connection, if any. */
  get connectionMtu(): number | undefined {
    return this.conn?.mtu;
  }

  /** The payload MTU granted from the next connection on. */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 20 || mtu > 244) throw new Error('mtu must be 20 to 244');
    this.mtu = mtu;
  }

  /** The reader ends the connection now (HCI reason 0x13 at the central). */
  disconnect(reason: number = HCI_REASON.remoteUserTerminated): void {
    const c = this.conn;
    if (c) this.endConnection(c.transport, reason);
  }

  /**
   * The reader walks out of range: from now on nothing crosses the air; the central learns of it
   * after `supervisionTimeoutMs` (HCI reason 0x08), and the reader is back in range (advertising,
   * connectable) after `backAfterMs` from now.
   */
  goOutOfRange(options: { supervisionTimeoutMs?: number; backAfterMs?: number } = {}): void {
    this.inRange = false;
    clearTimeout(this.rangeTimer);
    const c = this.conn;
    if (c) {
      c.silent = true;
      this.stats.lost += c.toCentral.length + c.toPeripheral.length;
      c.toCentral.length = 0;
      c.toPeripheral.length = 0;
      clearTimeout(c.supervision);
      c.supervision = setTimeout(
        () => this.endConnection(c.transport, HCI_REASON.connectionTimeout),
        options.supervisionTimeoutMs ?? 2000,
      );
    }
    if (options.backAfterMs !== undefined) {
      this.rangeTimer = setTimeout(() => this.comeBack(), options.backAfterMs);
    }
  }

  comeBack(): void {
    clearTimeout(this.rangeTimer);
    this.inRange = true;
  }

  // ------------------------------------------------------------------ used by the bindings

  advertisement(): {
    localName: string;
    serviceUuids: string[];
    serviceData: [];
    serviceSolicitationUuids: [];
    txPowerLevel: number;
    manufacturerData: Buffer | undefined;
  } {
    return {
      localName: this.localName,
      serviceUuids: this.service && this.advertiseService ? [nobleUuid(this.service.service)] : [],
      serviceData: [],
      serviceSolicitationUuids: [],
      txPowerLevel: 4,
      manufacturerData: undefined,
    };
  }

  /** A central connects: a new server transport (the reader simulator attaches to it). */
  acceptConnection(): FakeBleServerTransport {
    clearTimeout(this.readvertiseTimer);
    const transport = new FakeBleServerTransport(this, this.mtu);
    this.conn = {
      transport,
      mtu: this.mtu,
      subscribed: false,
      silent: false,
      toCentral: [],
      toPeripheral: [],
      pump: undefined,
      supervision: undefined,
    };
    this.stats.connections++;
    this.emit('connect', transport);
    return transport;
  }

  /** Ends the connection `transport` belongs to, and tells the central with `reason`. */
  endConnection(transport: FakeBleServerTransport, reason: number): void {
    const c = this.conn;
    if (!c || c.transport !== transport) return;
    this.conn = undefined;
    clearTimeout(c.supervision);
    if (c.pump) {
      clearTimeout(c.pump as NodeJS.Timeout);
      clearImmediate(c.pump as NodeJS.Immediate);
    }
    transport.lost(`BLE connection ended (reason 0x${reason.toString(16)})`);
    this.emit('disconnect', reason);
    this.radio.peripheralDisconnected(this, reason);
    if (this.readvertiseMs > 0 && this.advertising) {
      this.advertising = false;
      this.readvertiseTimer = setTimeout(() => (this.advertising = true), this.readvertiseMs);
    }
  }

  subscribe(on: boolean): void {
    if (this.conn) this.conn.subscribed = on;
  }

  /** A write from the central. */
  fromCentral(data: Buffer): 'ok' | 'oversize' | 'not_connected' {
    const c = this.conn;
    if (!c) return 'not_connected';
    this.stats.writes.push(data.length);
    if (data.length > c.mtu) {
      this.stats.oversize++;
      return 'oversize';
    }
    if (c.silent) {
      this.stats.lost++;
      return 'ok';
    }
    c.toPeripheral.push(Buffer.from(data));
    this.schedule(c);
    return 'ok';
  }

  /** A notification from the reader. */
  notifyCentral(transport: FakeBleServerTransport, data: Buffer): void {
    const c = this.conn;
    if (!c || c.transport !== transport) return;
    if (!c.subscribed) {
      this.stats.unsubscribed++;
      return;
    }
    let pkt = data;
    if (data.length > c.mtu) {
      // A notification longer than the MTU is cut to it by a real stack: counted, and delivered cut.
      this.stats.oversize++;
      pkt = data.subarray(0, c.mtu);
    }
    this.stats.notifications.push(pkt.length);
    if (c.silent) {
      this.stats.lost++;
      return;
    }
    c.toCentral.push(Buffer.from(pkt));
    this.schedule(c);
  }

  /** Delivers queued packets: next turn of the loop, or at connection events. */
  private schedule(c: Connection): void {
    if (c.pump || (c.toCentral.length === 0 && c.toPeripheral.length === 0)) return;
    const run = (): void => {
      c.pump = undefined;
      if (this.conn !== c) return;
      const n = this.connectionIntervalMs > 0 ? this.packetsPerEvent : Infinity;
      for (let i = 0; i < n && c.toPeripheral.length; i++) c.transport.deliver(c.toPeripheral.shift()!);
      for (let i = 0; i < n && c.toCentral.length; i++) {
        const pkt = c.toCentral.shift()!;
        if (this.conn === c) this.radio.notification(this, pkt);
      }
      this.schedule(c);
    };
    c.pump = this.connectionIntervalMs > 0 ? setTimeout(run, this.connectionIntervalMs) : setImmediate(run);
  }

  /** Stops everything (the radio closes). */
  shutdown(): void {
    clearTimeout(this.readvertiseTimer);
    clearTimeout(this.rangeTimer);
    this.disconnect(HCI_REASON.remotePowerOff);
  }
}

/**
 * The fake radio, as noble bindings. `state` is what the adapter reports (`setState()` changes it
 * later: off, unauthorized...). One bindings object can carry several peripherals.
 */
export class FakeNobleBindings extends EventEmitter {
  state: FakeAdapterState;
  readonly address: string;
  readonly peripherals = new Map<string, FakeBlePeripheral>();
  /** How often a scanning central hears each visible peripheral (ms). */
  advertIntervalMs: number;
  private scanning = false;
  private scanFilter: string[] = [];
  private allowDuplicates = false;
  private advertTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(options: { state?: FakeAdapterState; address?: string; advertIntervalMs?: number } = {}) {
    super();
    this.state = options.state ?? 'poweredOn';
    this.address = options.address ?? '0a:00:27:00:00:01';
    this.advertIntervalMs = options.advertIntervalMs ?? 20;
  }

  addPeripheral(options: FakePeripheralOptions = {}): FakeBlePeripheral {
    const p = new FakeBlePeripheral(this, options);
    if (this.peripherals.has(p.id)) throw new Error(`a peripheral with address ${p.address} exists`);
    this.peripherals.set(p.id, p);
    return p;
  }

  removePeripheral(p: FakeBlePeripheral): void {
    p.shutdown();
    this.peripherals.delete(p.id);
  }

  /** The adapter changes state (switched off, permission withdrawn, back on). */
  setState(state: FakeAdapterState): void {
    if (state === this.state) return;
    this.state = state;
    if (state !== 'poweredOn') {
      this.scanning = false;
      this.stopAdverts();
      // The central's side learns through noble's clean-up on the state change; the readers see the link go.
      for (const p of this.peripherals.values()) {
        const t = p.transport;
        if (t) p.endConnection(t, HCI_REASON.connectionTimeout);
      }
    }
    if (this.started) this.emit('stateChange', state);
  }

  // ------------------------------------------------------------------ noble's bindings interface

  start(): void {
    this.started = true;
    process.nextTick(() => {
      if (this.stopped) return;
      this.emit('addressChange', this.address);
      this.emit('stateChange', this.state);
    });
  }

  stop(): void {
    this.stopped = true;
    this.scanning = false;
    this.stopAdverts();
    for (const p of this.peripherals.values()) p.shutdown();
  }

  reset(): void {}

  setScanParameters(): void {
    process.nextTick(() => this.emit('scanParametersSet'));
  }

  setAddress(): void {}

  addressToId(address: string): string {
    return address.replace(/:/g, '').toLowerCase();
  }

  startScanning(serviceUuids?: string[], allowDuplicates?: boolean): void {
    this.scanFilter = (serviceUuids ?? []).map(nobleUuid);
    this.allowDuplicates = allowDuplicates === true;
    this.scanning = this.state === 'poweredOn';
    process.nextTick(() => this.emit('scanStart', !this.allowDuplicates));
    if (!this.scanning) return;
    setImmediate(() => this.advertise());
    this.stopAdverts();
    this.advertTimer = setInterval(() => this.advertise(), this.advertIntervalMs);
  }

  stopScanning(): void {
    this.scanning = false;
    this.stopAdverts();
    process.nextTick(() => this.emit('scanStop'));
  }

  connect(id: string): void {
    setImmediate(() => {
      const p = this.peripherals.get(id);
      if (this.state !== 'poweredOn') return this.emit('connect', id, new Error(`adapter is ${this.state}`));
      if (!p) return this.emit('connect', id, new Error(`unknown peripheral ${id}`));
      if (p.connected) return this.emit('connect', id, new Error('peripheral already connected'));
      if (!p.inRange || !p.connectable)
        return this.emit('connect', id, new Error('Connection Failed to be Established (0x3e)'));
      p.acceptConnection();
      this.emit('connect', id, null);
      // The MTU exchange follows the connection (as with the HCI bindings): noble reports the ATT MTU.
      setImmediate(() => {
        const mtu = p.connectionMtu;
        if (mtu !== undefined) this.emit('onMtu', id, mtu + 3);
      });
    });
  }

  cancelConnect(): void {}

  disconnect(id: string): void {
    const p = this.peripherals.get(id);
    const t = p?.transport;
    if (p && t) p.endConnection(t, HCI_REASON.localHostTerminated);
  }

  updateRssi(id: string): void {
    const p = this.peripherals.get(id);
    process.nextTick(() => this.emit('rssiUpdate', id, p?.rssi ?? -127));
  }

  discoverServices(id: string, uuids?: string[]): void {
    const p = this.peripherals.get(id);
    const all = ['1800', '1801', ...(p?.service ? [nobleUuid(p.service.service)] : [])];
    const want = (uuids ?? []).map(nobleUuid);
    this.later(id, () => {
      this.emit('servicesDiscover', id, want.length ? all.filter((u) => want.includes(u)) : all);
    });
  }

  discoverIncludedServices(id: string, serviceUuid: string): void {
    this.later(id, () => this.emit('includedServicesDiscover', id, serviceUuid, []));
  }

  discoverCharacteristics(id: string, serviceUuid: string, characteristicUuids?: string[]): void {
    const p = this.peripherals.get(id);
    const want = (characteristicUuids ?? []).map(nobleUuid);
    this.later(id, () => {
      if (!p) return;
      const chars =
        p.service && nobleUuid(p.service.service) === serviceUuid ? gattCharacteristics(p.service) : [];
      this.emit(
        'characteristicsDiscover',
        id,
        serviceUuid,
        want.length ? chars.filter((c) => want.includes(c.uuid)) : chars,
      );
    });
  }

  read(id: string, serviceUuid: string, characteristicUuid: string): void {
    this.later(id, () => this.emit('read', id, serviceUuid, characteristicUuid, Buffer.alloc(0), false));
  }

  write(
    id: string,
    serviceUuid: string,
    characteristicUuid: string,
    data: Buffer,
    withoutResponse: boolean,
  ): void {
    const p = this.peripherals.get(id);
    let error: Error | null = null;
    if (!p?.service || nobleUuid(p.service.write) !== characteristicUuid)
      error = new Error('no such characteristic');
    else {
      const r = p.fromCentral(Buffer.from(data));
      if (r === 'not_connected') error = new Error('not connected');
      else if (r === 'oversize' && withoutResponse)
        error = new Error(`write of ${data.length} bytes above the MTU (${p.connectionMtu ?? p.mtu})`);
    }
    this.later(id, () => this.emit('write', id, serviceUuid, characteristicUuid, error));
  }

  broadcast(id: string, serviceUuid: string, characteristicUuid: string, broadcast: boolean): void {
    this.later(id, () => this.emit('broadcast', id, serviceUuid, characteristicUuid, broadcast));
  }

  notify(id: string, serviceUuid: string, characteristicUuid: string, notify: boolean): void {
    const p = this.peripherals.get(id);
    const ok = p?.connected && p.service && nobleUuid(p.service.notify) === characteristicUuid;
    if (ok) p.subscribe(notify);
    this.later(id, () =>
      this.emit(
        'notify',
        id,
        serviceUuid,
        characteristicUuid,
        ok ? notify : false,
        ok ? null : new Error('cannot subscribe'),
      ),
    );
  }

  discoverDescriptors(id: string, serviceUuid: string, characteristicUuid: string): void {
    this.later(id, () => this.emit('descriptorsDiscover', id, serviceUuid, characteristicUuid, ['2902']));
  }

  readValue(id: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    this.later(id, () =>
      this.emit('valueRead', id, serviceUuid, characteristicUuid, descriptorUuid, Buffer.alloc(2)),
    );
  }

  writeValue(id: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    this.later(id, () => this.emit('valueWrite', id, serviceUuid, characteristicUuid, descriptorUuid));
  }

  readHandle(id: string, handle: number): void {
    this.later(id, () =>
      this.emit('handleRead', id, handle, Buffer.alloc(0), new Error('not supported by the fake')),
    );
  }

  writeHandle(id: string, handle: number): void {
    this.later(id, () => this.emit('handleWrite', id, handle, new Error('not supported by the fake')));
  }

  // ------------------------------------------------------------------ from the peripherals

  /** @internal */
  peripheralDisconnected(p: FakeBlePeripheral, reason: number): void {
    if (this.state !== 'poweredOn') return; // noble cleans up on the state change itself
    setImmediate(() => this.emit('disconnect', p.id, reason));
  }

  /** @internal */
  notification(p: FakeBlePeripheral, data: Buffer): void {
    if (!p.service) return;
    this.emit('read', p.id, nobleUuid(p.service.service), nobleUuid(p.service.notify), data, true);
  }

  /**
   * An answer on the next turn of the loop, only while the peripheral is still connected and the
   * adapter on: like the HCI bindings, which drop a connection's GATT listeners when it ends (noble
   * itself would throw on an answer for a peripheral it already cleaned up).
   */
  private later(id: string, emit: () => void): void {
    setImmediate(() => {
      if (this.state === 'poweredOn' && !this.stopped && this.peripherals.get(id)?.connected) emit();
    });
  }

  private advertise(): void {
    if (!this.scanning || this.state !== 'poweredOn') return;
    for (const p of this.peripherals.values()) {
      if (!p.visible) continue;
      const adv = p.advertisement();
      if (this.scanFilter.length && !adv.serviceUuids.some((u) => this.scanFilter.includes(u))) continue;
      this.emit('discover', p.id, p.address, 'public', p.connectable, adv, p.rssi, true);
    }
  }

  private stopAdverts(): void {
    clearInterval(this.advertTimer);
    this.advertTimer = undefined;
  }
}

function gattCharacteristics(s: BleSpec): Array<{ uuid: string; properties: string[] }> {
  const notify = nobleUuid(s.notify);
  const write = nobleUuid(s.write);
  if (notify === write)
    return [{ uuid: notify, properties: ['read', 'write', 'writeWithoutResponse', 'notify'] }];
  return [
    { uuid: write, properties: ['write', 'writeWithoutResponse'] },
    { uuid: notify, properties: ['notify'] },
  ];
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
