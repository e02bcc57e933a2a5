/**
 * A small terminal for the host simulator tests: frames and unframes with the dialect, signs on, MACs
 * with a `SoftwareSecurityModule`, and builds the requests of docs/acquirer-messages.md. Deliberately
 * independent of src/host (the daemon's real client).
 */
import { connect, type Socket } from 'node:net';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import {
  computeDukptMac,
  dukptSchemeOfKsn,
  SoftwareSecurityModule,
  verifyDukptMac,
  type KeyCheckValues,
} from '../../src/crypto/index.js';
import {
  dialectFraming,
  frame,
  frameLength,
  loadDialect,
  unframe,
  type Dialect,
  type FieldInput,
  type Framing,
  type Iso8583Message,
  type Unframed,
} from '../../src/iso8583/index.js';
import { loadCards, type TestCard } from '../../simulators/shared/cards.js';
import { chipRequestData } from '../../simulators/shared/cryptogram.js';
import { DEFAULT_DUKPT_BDK, DEFAULT_MASTER_KEY } from '../../simulators/host/index.js';

export const cards = loadCards();
export function card(id: string): TestCard {
  const c = cards.byId(id);
  if (!c) throw new Error(`no test card ${id}`);
  return c;
}

export interface Received {
  raw: Buffer;
  unframed?: Unframed;
  msg?: Iso8583Message;
  /** Decode error, for garbage. */
  error?: Error;
  /** Response MAC check: undefined when the message has no field 64. */
  macValid?: boolean;
  flags: string[];
}

export interface ClientOptions {
  port: number;
  host?: string;
  tid?: string;
  mid?: string;
  masterKey?: string;
  batch?: string;
  dialect?: Dialect;
  /**
   * BDKs (hex) for DUKPT MACs under a `mac.dukpt` dialect: a request carrying a KSN is MACed with that
   * KSN's request key (any KSN: this client plays the PIN pad and the tests pick KSNs). Default: the
   * host simulator's defaults.
   */
  dukptBdk?: { tdes?: string; aes?: string };
}

type Fields = Record<number, FieldInput | undefined>;

export class TestClient {
  readonly dialect: Dialect;
  readonly framing: Framing;
  readonly sm: SoftwareSecurityModule;
  tid: string;
  mid: string;
  batch: string;
  private stanSeq = 0;
  private atc = 1;
  private socket!: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private queue: Received[] = [];
  private waiters: ((r: Received | undefined) => void)[] = [];
  private closedFlag = false;
  private closedPromise!: Promise<void>;
  /** STAN → KSN of DUKPT-MACed requests: their answers are checked with that KSN's response key. */
  private readonly ksnByStan = new Map<string, Buffer>();

  private constructor(private readonly opts: ClientOptions) {
    this.dialect = opts.dialect ?? loadDialect('cup-pos');
    this.framing = dialectFraming(this.dialect);
    this.sm = new SoftwareSecurityModule(Buffer.from(opts.masterKey ?? DEFAULT_MASTER_KEY, 'hex'), {
      macAlgorithm: 'cup-ecb',
    });
    this.tid = opts.tid ?? 'TERM0001';
    this.mid = opts.mid ?? '898310048160001';
    this.batch = opts.batch ?? '000001';
  }

  static async connect(opts: ClientOptions): Promise<TestClient> {
    const c = new TestClient(opts);
    await c.open();
    return c;
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(this.opts.port, this.opts.host ?? '127.0.0.1');
      this.socket = s;
      this.closedFlag = false;
      this.closedPromise = new Promise((r) => s.once('close', () => r()));
      s.setNoDelay(true);
      s.once('connect', () => resolve());
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('close', () => {
        if (this.socket !== s) return; // an earlier connection
        this.closedFlag = true;
        for (const w of this.waiters.splice(0)) w(undefined);
      });
    });
  }

  /** Reconnects (after the host closed the connection or restarted), keeping keys and counters. */
  async reconnect(port = this.opts.port): Promise<void> {
    const old = this.socket;
    old.destroy();
    if (!old.closed) await new Promise((r) => old.once('close', r));
    this.opts.port = port;
    this.buf = Buffer.alloc(0);
    this.queue = [];
    await this.open();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const total = frameLength(this.buf, this.framing);
      if (total === undefined || this.buf.length < total) return;
      const raw = Buffer.from(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
      this.deliver(raw);
    }
  }

  private deliver(raw: Buffer): void {
    const r: Received = { raw, flags: [] };
    try {
      r.unframed = unframe(raw, this.framing);
      r.flags = r.unframed.header?.flags ?? [];
      r.msg = this.dialect.unpack(r.unframed.body);
    } catch (err) {
      r.error = err as Error;
    }
    const done = (): void => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    };
    const ksn = r.msg ? this.ksnByStan.get(String(r.msg.fields[11])) : undefined;
    if (r.msg && r.msg.fields[64] !== undefined && ksn && r.unframed) {
      const body = r.unframed.body;
      try {
        const data = this.dialect.macInput(body);
        const mac = this.dialect.macOf(body);
        r.macValid = verifyDukptMac({ bdk: this.bdk(ksn) }, ksn, data, mac, {
          direction: 'response',
          macLength: 8,
        });
      } catch {
        r.macValid = false;
      }
      done();
    } else if (r.msg && r.msg.fields[64] !== undefined && this.sm.hasWorkingKeys && r.unframed) {
      const body = r.unframed.body;
      this.sm.verifyMac(this.dialect.macInput(body), this.dialect.macOf(body)).then(
        (ok) => {
          r.macValid = ok;
          done();
        },
        () => {
          r.macValid = false;
          done();
        },
      );
    } else done();
  }

  nextStan(): string {
    this.stanSeq = (this.stanSeq % 999999) + 1;
    return String(this.stanSeq).padStart(6, '0');
  }

  /** Packs (with a MAC when `mac`), frames and writes; returns the wire bytes. */
  async send(
    mti: string,
    fields: Fields,
    opts: { mac?: boolean; rules?: boolean; write?: boolean } = {},
  ): Promise<Buffer> {
    const clean: Record<number, FieldInput> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[Number(k)] = v;
    const mac = opts.mac ?? needsMac(mti);
    let body = this.dialect.pack({ mti, fields: clean }, { mac, rules: opts.rules ?? true });
    const ksn = mac ? this.dialect.dukptMacKsn(clean) : undefined;
    if (ksn) {
      this.ksnByStan.set(String(clean[11]), ksn);
      const input = this.dialect.macInput(body);
      body = this.dialect.applyMac(body, computeDukptMac({ bdk: this.bdk(ksn) }, ksn, input, { macLength: 8 }));
    } else if (mac) body = this.dialect.applyMac(body, await this.sm.mac(this.dialect.macInput(body)));
    const wire = frame(body, this.framing);
    if (opts.write !== false) this.socket.write(wire);
    return wire;
  }

  private bdk(ksn: Buffer): Buffer {
    const hex =
      dukptSchemeOfKsn(ksn) === 'dukpt-tdes'
        ? (this.opts.dukptBdk?.tdes ?? DEFAULT_DUKPT_BDK.tdes)
        : (this.opts.dukptBdk?.aes ?? DEFAULT_DUKPT_BDK.aes);
    return Buffer.from(hex, 'hex');
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Next frame from the host, or undefined on timeout / close. */
  receive(timeoutMs = 2000): Promise<Received | undefined> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.closedFlag) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const w = (r: Received | undefined): void => {
        clearTimeout(t);
        resolve(r);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends and waits for the next frame; throws on timeout. */
  async request(
    mti: string,
    fields: Fields,
    opts: { mac?: boolean; rules?: boolean; timeoutMs?: number } = {},
  ): Promise<Received> {
    await this.send(mti, fields, opts);
    const r = await this.receive(opts.timeoutMs ?? 3000);
    if (!r) throw new Error(`no answer to ${mti} STAN ${String(fields[11])}`);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ exchanges

  async signOn(networkCode = '004'): Promise<{ response: Received; kcv: KeyCheckValues }> {
    const response = await this.request('0800', {
      11: this.nextStan(),
      41: this.tid,
      42: this.mid,
      60: { '1': '00', '2': this.batch, '3': networkCode },
      63: '01 ',
    });
    const f62 = response.msg?.fields[62];
    if (!Buffer.isBuffer(f62))
      throw new Error(`sign-on answered ${String(response.msg?.fields[39])} without field 62`);
    const kcv = await this.sm.loadWorkingKeys(f62, networkCode === '001' ? 'single' : 'double');
    return { response, kcv };
  }

  private common(c: TestCard, extra: Fields): Fields {
    const now = new Date();
    const two = (n: number): string => String(n).padStart(2, '0');
    return {
      2: c.pan,
      11: this.nextStan(),
      12: `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`,
      13: `${two(now.getMonth() + 1)}${two(now.getDate())}`,
      41: this.tid,
      42: this.mid,
      49: '156',
      ...extra,
    };
  }

  /** Fields of a sale / pre-auth / balance request. */
  async authFields(
    c: TestCard,
    o: {
      amount?: number;
      kind?: 'sale' | 'preauth' | 'balance';
      entry?: 'chip' | 'contactless' | 'magstripe' | 'keyed';
      pin?: string;
      partial?: boolean;
      tamper?: (f55: Buffer) => Buffer;
      chipAmount?: number;
    } = {},
  ): Promise<{ mti: string; fields: Fields }> {
    const kind = o.kind ?? 'sale';
    const entry = o.entry ?? (c.imk ? 'chip' : 'magstripe');
    const pinDigit = o.pin !== undefined ? '1' : '2';
    const entryMode = { chip: '05', contactless: '07', magstripe: '02', keyed: '01' }[entry] + pinDigit;
    const fields: Fields = this.common(c, {
      3: kind === 'sale' ? '000000' : kind === 'preauth' ? '030000' : '310000',
      4: kind === 'balance' ? undefined : amount12(o.amount ?? 0),
      22: entryMode,
      25: kind === 'preauth' ? '06' : '00',
      60: {
        '1': kind === 'sale' ? '22' : kind === 'preauth' ? '10' : '01',
        '2': this.batch,
        '3': '000',
        '4': entry === 'chip' ? '5' : entry === 'contactless' ? '6' : '2',
        '5': '0',
        '6': o.partial ? '1' : '0',
      },
    });
    if (o.pin !== undefined) {
      fields[26] = '12';
      fields[52] = await this.sm.encryptPinBlock(o.pin, c.pan);
      fields[53] = '2600000000000000';
    }
    if ((entry === 'chip' || entry === 'contactless') && c.imk) {
      fields[23] = `0${c.psn ?? '00'}`;
      let f55 = chipRequestData(
        { imk: c.imk, pan: c.pan, psn: c.psn, cvn: c.cvn },
        {
          amount: o.chipAmount ?? (kind === 'balance' ? 0 : (o.amount ?? 0)),
          atc: this.atc++,
          transactionType: kind === 'balance' ? '31' : kind === 'preauth' ? '03' : '00',
        },
      );
      if (o.tamper) f55 = o.tamper(f55);
      fields[55] = f55;
    }
    return { mti: kind === 'preauth' ? '0100' : '0200', fields };
  }

  async sale(
    c: TestCard,
    amount: number,
    o: Parameters<TestClient['authFields']>[1] = {},
  ): Promise<Received> {
    const { mti, fields } = await this.authFields(c, { ...o, amount, kind: 'sale' });
    return this.request(mti, fields);
  }

  async preauth(
    c: TestCard,
    amount: number,
    o: Parameters<TestClient['authFields']>[1] = {},
  ): Promise<Received> {
    const { mti, fields } = await this.authFields(c, { ...o, amount, kind: 'preauth' });
    return this.request(mti, fields);
  }

  async balance(c: TestCard, o: Parameters<TestClient['authFields']>[1] = {}): Promise<Received> {
    const { mti, fields } = await this.authFields(c, { ...o, kind: 'balance' });
    return this.request(mti, fields);
  }

  /** 61 for an original: batch + STAN + date (MMDD). */
  ref(orig: Received, date = '0000'): Record<string, string> {
    const f = orig.msg!.fields;
    const batch = (f[60] as { get(id: string): string | undefined }).get('2')!;
    return { '1': batch, '2': f[11] as string, '3': date };
  }

  async completion(
    c: TestCard,
    pre: Received,
    amount: number,
    o: { authCode?: string } = {},
  ): Promise<Received> {
    return this.request(
      '0200',
      this.common(c, {
        3: '000000',
        4: amount12(amount),
        22: '012',
        25: '06',
        38: o.authCode ?? (pre.msg!.fields[38] as string),
        // 60 as its wire string: the dialect's rules select on "60": "20*", which the codec reads only
        // from a string or a Composite (see docs/acquirer-messages.md §3.7)
        60: `20${this.batch}000`,
        61: this.ref(pre),
      }),
    );
  }

  async preauthVoid(c: TestCard, pre: Received, amount: number): Promise<Received> {
    return this.request(
      '0100',
      this.common(c, {
        3: '200000',
        4: amount12(amount),
        22: '012',
        25: '06',
        38: pre.msg!.fields[38] as string,
        60: { '1': '11', '2': this.batch, '3': '000' },
        61: this.ref(pre),
      }),
    );
  }

  async void(
    c: TestCard,
    orig: Received,
    amount: number,
    o: { completion?: boolean; rrn?: string } = {},
  ): Promise<Received> {
    return this.request(
      '0200',
      this.common(c, {
        3: '200000',
        4: amount12(amount),
        22: '012',
        25: o.completion ? '06' : '00',
        37: o.rrn ?? (orig.msg!.fields[37] as string),
        38: o.completion ? (orig.msg!.fields[38] as string) : undefined,
        60: { '1': o.completion ? '21' : '23', '2': this.batch, '3': '000' },
        61: this.ref(orig),
      }),
    );
  }

  async refund(c: TestCard, orig: Received, amount: number, o: { date?: string } = {}): Promise<Received> {
    return this.request(
      '0220',
      this.common(c, {
        3: '200000',
        4: amount12(amount),
        22: '012',
        25: '00',
        37: orig.msg!.fields[37] as string,
        60: { '1': '25', '2': this.batch, '3': '000' },
        61: this.ref(orig, o.date),
      }),
    );
  }

  /** The reversal of a request (its sent fields): same 2/3/4/11, 60.1/60.2, reason in 39. */
  async reversal(orig: { mti: string; fields: Fields }, reason = '98', repeat = false): Promise<Received> {
    const f = orig.fields;
    const f60 = f[60] as Record<string, string>;
    return this.request(
      repeat ? '0401' : '0400',
      {
        2: f[2],
        3: f[3],
        4: f[4],
        11: f[11],
        22: f[22],
        25: f[25],
        39: reason,
        41: this.tid,
        42: this.mid,
        49: '156',
        60: { '1': f60['1']!, '2': f60['2']!, '3': '000' },
      },
      { rules: f[4] === undefined ? false : true },
    );
  }

  async statusInquiry(batch: string, stan: string, date = '0000'): Promise<Received> {
    return this.request('0820', {
      11: this.nextStan(),
      41: this.tid,
      42: this.mid,
      60: { '1': '00', '2': this.batch, '3': '380' },
      61: { '1': batch, '2': stan, '3': date },
    });
  }

  async echo(): Promise<Received> {
    return this.request('0820', {
      11: this.nextStan(),
      41: this.tid,
      42: this.mid,
      60: { '1': '00', '2': this.batch, '3': '301' },
    });
  }

  async settle(field48: string): Promise<Received> {
    return this.request('0500', {
      11: this.nextStan(),
      41: this.tid,
      42: this.mid,
      48: field48,
      49: '156',
      60: { '1': '00', '2': this.batch, '3': '201' },
    });
  }
}

export function needsMac(mti: string): boolean {
  return ['0100', '0200', '0220', '0320', '0400', '0401', '0620'].includes(mti);
}

export function amount12(n: number): string {
  return String(n).padStart(12, '0');
}

/** A Pan for digits (tests of unknown cards). */
export function pan(digits: string): Pan {
  return Pan.fromDigits(digits);
}

export { SensitiveBytes };
