/**
 * The acquirer's decisions: one request message in, one response message (or none) out, with the
 * ledger updated synchronously. docs/acquirer-messages.md is the contract this implements; section
 * numbers below refer to it.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Pan } from '../../src/card/index.js';
import {
  computeDukptMac,
  dukptSchemeOfKsn,
  generateWorkingKeys,
  parseAesKsn,
  parseKsn,
  schemeKey,
  schemeMac,
  unwrapWorkingKeys,
  verifyDukptMac,
  verifyDukptPinBlock,
  verifySchemePinBlock,
  wipeWorkingKeys,
  wrapWorkingKeys,
  type DukptScheme,
  type KeyScheme,
  type SchemeKey,
} from '../../src/crypto/index.js';
import { Composite, type Dialect, type FieldInput, type Iso8583Message } from '../../src/iso8583/index.js';
import { decodeScriptResults, encodeTlv, findTlv, tlv, tryParseTlv, type Tlv } from '../../src/emv/index.js';
import type { CardTable, TestCard } from '../shared/cards.js';
import { issuerAuthenticationDataFor, verifyCryptogram, type CvnScheme } from '../shared/cryptogram.js';
import { Ledger, type LedgerTx, type SettlementTotals, type Totals, type TxType } from './ledger.js';
import type { TerminalParamServer } from './terminal-params.js';

export interface ResponsePlan {
  mti: string;
  fields: Record<number, FieldInput>;
  /** MAC the response with the terminal's MAK (or, with `macKsn`, that DUKPT transaction's response key). */
  mac: boolean;
  /** The request was MACed under this DUKPT KSN (dialect `mac.dukpt`): so is the response. */
  macKsn?: Buffer;
  /** Set the header's sign-on-again flag. */
  signOnAgain: boolean;
  /** Another processing-requirement nibble for the header (terminal management: 4 CAPKs, 5 IC parameters). */
  headerNibble?: number;
  tid: string;
  /** Work to finish before the response leaves (the settlement file). */
  tasks: Promise<unknown>[];
}

export interface AuthorizerOptions {
  dialect: Dialect;
  cards: CardTable;
  ledger: Ledger;
  /** Terminal master key for a TID (an `Sm4Key` when the dialect's sign-on key scheme is 'sm4'). */
  masterKeyFor(tid: string): SchemeKey;
  now(): Date;
  /** Answer to a reversal of a transaction the host never saw (default '00'). */
  unknownReversalCode: string;
  /** Writes the settlement file for a closed batch; returns its path. */
  writeSettlementFile(tid: string, batch: string): Promise<string>;
  warn(obj: Record<string, unknown>, msg: string): void;
  /** DUKPT base derivation keys (TDES 16 bytes, AES-128 16 bytes) for PIN blocks sent with a KSN. */
  dukptBdk?: { tdes?: Buffer; aes?: Buffer };
  /** Terminal management: CAPK and IC parameter downloads (docs/terminal-management.md). */
  params?: TerminalParamServer;
}

interface TerminalKeys {
  pik: SchemeKey;
  mak: SchemeKey;
  tdk: SchemeKey | undefined;
}

const CHIP_ENTRY = new Set(['05', '07', '95', '98']);
const SIGN_ON_LAYOUT: Record<string, { layout: 'single' | 'double'; tdk: boolean }> = {
  '001': { layout: 'single', tdk: false },
  '003': { layout: 'double', tdk: false },
  '004': { layout: 'double', tdk: true },
};

/**
 * The response code of a new authorisation whose DUKPT KSN was used before (ISO 8583 / CUP `63`,
 * "security violation" / 违反安全规定): a replayed KSN means a replayed PIN block.
 */
export const KSN_REPLAY_CODE = '63';

/** What the host remembers of one DUKPT device (an initial key ID): the highest counter used. */
export interface DukptDeviceState {
  scheme: DukptScheme;
  /**
   * The device: the TDES initial KSN (the KSN with its 21-bit counter cleared, 20 hex digits) or the
   * AES initial key ID (16 hex digits). Not secret: the KSN travels in clear.
   */
  device: string;
  /** The highest transaction counter a verified PIN block used. */
  counter: number;
  /** The request that used it (tid:batch:stan). */
  request: string;
  tid: string;
  stan: string;
  at: string;
  /** PIN blocks verified under this device's KSNs. */
  used: number;
  /** New authorisations declined because their KSN was not above `counter`. */
  replays: number;
  /** Requests whose field 64 verified under this device's DUKPT MAC keys (dialect `mac.dukpt`). */
  macs: number;
}

/** What KsnGuard keeps per device (the MAC count apart). */
type DeviceRecord = Omit<DukptDeviceState, 'macs'>;

/** The device (initial key ID) and counter of a KSN of either scheme; `bad_data` for another length. */
export function ksnDevice(ksn: Uint8Array): { scheme: DukptScheme; device: string; counter: number } {
  const scheme = dukptSchemeOfKsn(ksn);
  if (scheme === 'dukpt-tdes') {
    const p = parseKsn(ksn);
    return { scheme, device: p.initialKsn.toString('hex').toUpperCase(), counter: p.counter };
  }
  const p = parseAesKsn(ksn);
  return { scheme, device: p.initialKeyId.toString('hex').toUpperCase(), counter: p.counter };
}

/**
 * The host's KSN replay rule (docs/host-simulator.md): per DUKPT device (initial key ID) the highest
 * transaction counter a verified PIN block used. A new authorisation whose KSN counter is not above it
 * (the same KSN again, or an older one) is a replay. The same request again (same TID, batch and STAN
 * with the same KSN) is not: the host answers it as a repeat (`94`, §1) before the PIN is looked at.
 * Reversals and advices carry no PIN block and are never checked. Kept in memory: a simulated reader
 * starts its counter again when its process starts, and so does the host's memory of it.
 */
export class KsnGuard {
  /** Per device; `macs` is counted apart (a MAC is checked before the PIN, for devices not yet here). */
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly macCounts = new Map<string, number>();

  /** `undefined` when the KSN may be used by `request`; else the device state it replays. */
  check(ksn: Uint8Array, request: string): DeviceRecord | undefined {
    const { scheme, device, counter } = ksnDevice(ksn);
    const last = this.devices.get(`${scheme}:${device}`);
    if (!last || counter > last.counter) return undefined;
    if (counter === last.counter && request === last.request) return undefined; // the same request
    return last;
  }

  /** Notes that a PIN block under `ksn` verified for `request`. */
  use(ksn: Uint8Array, request: string, tid: string, stan: string, at: string): void {
    const { scheme, device, counter } = ksnDevice(ksn);
    const k = `${scheme}:${device}`;
    const last = this.devices.get(k);
    this.devices.set(k, {
      scheme,
      device,
      counter: Math.max(counter, last?.counter ?? 0),
      request: last && last.counter > counter ? last.request : request,
      tid,
      stan,
      at,
      used: (last?.used ?? 0) + 1,
      replays: last?.replays ?? 0,
    });
  }

  /** Counts a request MAC that verified under `ksn`'s DUKPT keys. */
  macVerified(ksn: Uint8Array): void {
    const { scheme, device } = ksnDevice(ksn);
    const k = `${scheme}:${device}`;
    this.macCounts.set(k, (this.macCounts.get(k) ?? 0) + 1);
  }

  /** Counts a declined replay against the device. */
  replayed(state: DeviceRecord): void {
    state.replays += 1;
  }

  list(): DukptDeviceState[] {
    return [...this.devices.entries()].map(([k, d]) => ({ ...d, macs: this.macCounts.get(k) ?? 0 }));
  }

  clear(): void {
    this.devices.clear();
    this.macCounts.clear();
  }
}

class Decline extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

export class Authorizer {
  private readonly keys = new Map<string, TerminalKeys>();
  private readonly macMessages: Set<string>;
  private readonly responses: Record<string, string>;
  /** The dialect's key scheme: DES/3DES, or SM4 keys, PIN block and MAC. */
  readonly keyScheme: KeyScheme;
  /** DUKPT devices seen and their highest counters (the KSN replay rule). */
  readonly ksns = new KsnGuard();

  constructor(private readonly o: AuthorizerOptions) {
    this.keyScheme = o.dialect.spec.exchanges?.signOn?.keyScheme ?? 'des';
    this.macMessages = new Set([...(o.dialect.spec.mac?.messages ?? []), '0401']);
    this.responses = o.dialect.spec.exchanges?.responses ?? {};
    this.restoreSessions();
  }

  /** Working keys from the ledger's sessions (field 62 unwrapped again under the master key). */
  restoreSessions(): void {
    this.keys.clear();
    for (const s of Object.values(this.o.ledger.snapshot.sessions)) {
      try {
        const scheme = this.keyScheme;
        const f62 = Buffer.from(s.field62, 'hex');
        const clear = unwrapWorkingKeys(this.o.masterKeyFor(s.tid), f62, s.layout, scheme);
        try {
          this.keys.set(s.tid, {
            pik: schemeKey(scheme, clear.pik, 'pik'),
            mak: schemeKey(scheme, clear.mak, 'mak'),
            tdk: clear.tdk ? schemeKey(scheme, clear.tdk, 'tdk') : undefined,
          });
        } finally {
          wipeWorkingKeys(clear);
        }
      } catch {
        this.o.warn(
          { tid: s.tid },
          'stored working keys do not unwrap under the master key; the terminal must sign on',
        );
      }
    }
  }

  macKey(tid: string): SchemeKey | undefined {
    return this.keys.get(tid)?.mak;
  }

  /** The BDK for a KSN's scheme (TDES or AES DUKPT), if configured. */
  private dukptBdkFor(ksn: Uint8Array): Buffer | undefined {
    return dukptSchemeOfKsn(ksn) === 'dukpt-tdes' ? this.o.dukptBdk?.tdes : this.o.dukptBdk?.aes;
  }

  /**
   * The response MAC for `plan` over `input`: the DUKPT response key of the request's KSN, or the
   * terminal's session MAK; undefined without a key (the response then leaves unMACed).
   */
  responseMac(plan: ResponsePlan, input: Buffer): Buffer | undefined {
    if (plan.macKsn) {
      const bdk = this.dukptBdkFor(plan.macKsn);
      return bdk && computeDukptMac({ bdk }, plan.macKsn, input, { direction: 'response', macLength: 8 });
    }
    const mak = this.macKey(plan.tid);
    return mak && schemeMac(this.keyScheme, 'cup-ecb', mak, input);
  }

  responseMti(mti: string): string | undefined {
    const mapped = this.responses[mti];
    if (mapped) return mapped;
    if (!/^[0-9]{4}$/.test(mti)) return undefined;
    const third = Number(mti[2]);
    if (third % 2 !== 0) return undefined; // a response, not a request
    return `${mti.slice(0, 2)}${third + 1}${mti[3]}`;
  }

  /**
   * Handles one request. `body` is the packed request (for the MAC check). `forceReversal96` is the
   * `reversal_96` fault. Returns undefined when the message gets no answer (a response MTI, garbage).
   */
  handle(req: Iso8583Message, body: Buffer, forceReversal96 = false): ResponsePlan | undefined {
    const respMti = this.responseMti(req.mti);
    if (!respMti) {
      this.o.warn({ mti: req.mti }, 'not a request message; ignored');
      return undefined;
    }
    const tid = text(req, 41) ?? '';
    const plan: ResponsePlan = {
      mti: respMti,
      fields: this.base(req),
      mac: false,
      signOnAgain: false,
      tid,
      tasks: [],
    };
    const keys = this.keys.get(tid);

    // §1 MAC: sign-on and network management work without keys; everything else needs a session.
    const hasMac = req.fields[64] !== undefined;
    if (req.mti !== '0800' && req.mti !== '0820' && !keys) return this.a0(plan);
    if (this.macMessages.has(req.mti) && !hasMac) return this.a0(plan);
    if (hasMac) {
      if (!keys) return this.a0(plan);
      const ksn = this.o.dialect.dukptMacKsn(req.fields);
      let ok = false;
      try {
        const input = this.o.dialect.macInput(body);
        const got = this.o.dialect.macOf(body);
        if (ksn) {
          const bdk = this.dukptBdkFor(ksn);
          ok = bdk !== undefined && verifyDukptMac({ bdk }, ksn, input, got, { macLength: 8 });
        } else {
          const expected = schemeMac(this.keyScheme, 'cup-ecb', keys.mak, input);
          ok = got.length === expected.length && timingSafeEqual(expected, got);
        }
      } catch {
        ok = false;
      }
      if (!ok) {
        if (ksn) this.o.warn({ tid, mti: req.mti }, 'DUKPT MAC does not verify under the KSN; answered A0');
        return this.a0(plan);
      }
      plan.mac = true;
      if (ksn) {
        plan.macKsn = ksn;
        this.ksns.macVerified(ksn);
      }
    }

    try {
      switch (req.mti) {
        case '0800':
          if (!this.terminalManagement(req, plan)) this.signOn(req, plan);
          break;
        case '0820':
          if (!this.terminalManagement(req, plan)) this.networkAdvice(req, plan);
          break;
        case '0100':
        case '0200':
        case '0220':
          this.financial(req, plan);
          break;
        case '0400':
        case '0401':
          if (forceReversal96) plan.fields[39] = '96';
          else this.reversal(req, plan);
          break;
        case '0320':
          this.upload(req, plan);
          break;
        case '0500':
          this.settlement(req, plan);
          break;
        case '0620':
          this.scriptAdvice(req, plan);
          break;
        case '0920':
          this.signatureUpload(req, plan);
          break;
        default:
          plan.fields[39] = '12';
      }
    } catch (err) {
      if (err instanceof Decline) plan.fields[39] = err.code;
      else {
        // A simulator bug must be visible to the terminal (and the tests), not a silent timeout.
        this.o.warn({ err, mti: req.mti, tid }, 'request handling failed; answered 96');
        plan.fields[39] = '96';
      }
    }
    return plan;
  }

  /** CAPK / IC parameter query, download and end (0800 / 0820 by 60.3); false when the request is not one. */
  private terminalManagement(req: Iso8583Message, plan: ResponsePlan): boolean {
    const spec = this.o.dialect.spec.exchanges?.terminalManagement;
    const params = this.o.params;
    if (!spec || !params) return false;
    const f = req.fields[spec.field];
    const a = params.answer(spec, req.mti, sub(req, 60, '3') ?? '', Buffer.isBuffer(f) ? f : undefined);
    if (!a) return false;
    require(req, [11, 41, 60]);
    plan.fields[39] = a.rc;
    if (a.field) plan.fields[spec.field] = a.field;
    return true;
  }

  private a0(plan: ResponsePlan): ResponsePlan {
    plan.fields[39] = 'A0';
    plan.mac = false;
    plan.signOnAgain = true;
    return plan;
  }

  private base(req: Iso8583Message): Record<number, FieldInput> {
    const f: Record<number, FieldInput> = {};
    for (const n of [2, 3, 4, 11, 22, 25, 41, 42, 49, 60]) {
      const v = req.fields[n];
      if (v !== undefined) f[n] = v;
    }
    const now = this.o.now();
    f[12] = hhmmss(now);
    f[13] = mmdd(now);
    return f;
  }

  // ------------------------------------------------------------------ §3.1 sign-on, §3.2 echo, §4 inquiry

  private signOn(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [11, 41, 42, 60]);
    const code = sub(req, 60, '3') ?? '';
    const scheme = this.keyScheme;
    const choice = scheme === 'sm4' ? this.sm4SignOnLayout(code) : SIGN_ON_LAYOUT[code];
    if (!choice) throw new Decline('30');
    const tid = plan.tid;
    const fresh = generateWorkingKeys(choice.layout, { withTdk: choice.tdk, scheme });
    try {
      const field62 = wrapWorkingKeys(this.o.masterKeyFor(tid), fresh, choice.layout, scheme);
      const pik = schemeKey(scheme, fresh.pik, 'pik');
      const mak = schemeKey(scheme, fresh.mak, 'mak');
      const tdk = fresh.tdk ? schemeKey(scheme, fresh.tdk, 'tdk') : undefined;
      const old = this.keys.get(tid);
      this.keys.set(tid, { pik, mak, tdk });
      old?.pik.destroy();
      old?.mak.destroy();
      old?.tdk?.destroy();
      const kcv = {
        pik: pik.checkValue(4).toString('hex').toUpperCase(),
        mak: mak.checkValue(4).toString('hex').toUpperCase(),
      };
      this.o.ledger.setSession({
        tid,
        layout: choice.layout,
        networkCode: code,
        field62: field62.toString('hex'),
        kcv: tdk ? { ...kcv, tdk: tdk.checkValue(4).toString('hex').toUpperCase() } : kcv,
        signedOnAt: this.o.now().toISOString(),
      });
      plan.fields[62] = field62;
      plan.fields[39] = '00';
    } finally {
      wipeWorkingKeys(fresh);
    }
  }

  /** The KSN of a DUKPT PIN block: the dialect's field whose content is 'dukpt-ksn' (cup-pos-dukpt: 53). */
  private ksnOf(req: Iso8583Message): Buffer | undefined {
    const n = this.o.dialect.ksnField;
    const v = n === undefined ? undefined : req.fields[n];
    return Buffer.isBuffer(v) ? v : undefined;
  }

  /** SM4 keys come in the 'double' layout only: the dialect's sign-on code for it (cup-pos-sm4: 005). */
  private sm4SignOnLayout(code: string): { layout: 'double'; tdk: boolean } | undefined {
    const codes = this.o.dialect.spec.exchanges?.signOn?.networkCodes ?? {};
    return codes['double'] === code ? { layout: 'double', tdk: true } : undefined;
  }

  private networkAdvice(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [11, 41, 60]);
    const code = sub(req, 60, '3');
    const inquiry = this.o.dialect.spec.exchanges?.statusInquiry;
    if (inquiry && code === inquiry.networkCode) {
      if (!this.keys.has(plan.tid)) {
        this.a0(plan);
        return;
      }
      require(req, [61]);
      plan.fields[61] = req.fields[61]!;
      const orig = this.findByRef(plan.tid, req);
      if (!orig || orig.reversal) {
        plan.fields[39] = inquiry.notFoundCodes?.[0] ?? '25';
        return;
      }
      plan.fields[39] = orig.responseCode;
      plan.fields[3] = orig.processingCode;
      plan.fields[37] = orig.rrn;
      if (orig.authCode) plan.fields[38] = orig.authCode;
      if (orig.approvedAmount > 0) plan.fields[4] = amount12(orig.approvedAmount);
      return;
    }
    plan.fields[39] = '00'; // echo (301) and other network advices
  }

  /** The original named by field 61 (batch + STAN + date) of this terminal. */
  private findByRef(tid: string, req: Iso8583Message): LedgerTx | undefined {
    const batch = sub(req, 61, '1');
    const stan = sub(req, 61, '2');
    if (!batch || !stan) return undefined;
    const t = this.o.ledger.tx(`${tid}:${batch}:${stan}`);
    if (!t) return undefined;
    const date = sub(req, 61, '3');
    if (date && date !== '0000' && date !== t.terminalDate && date !== t.hostMmdd) return undefined;
    return t;
  }

  // ------------------------------------------------------------------ §3.3 - §3.9 financial requests

  private financial(req: Iso8583Message, plan: ResponsePlan): void {
    const type = classify(req);
    if (!type) throw new Decline('12');
    const need: number[] = [2, 3, 11, 22, 25, 41, 42, 49, 60];
    if (type !== 'balance') need.push(4);
    if (type === 'completion' || type === 'preauth_void' || type === 'completion_void') need.push(38, 61);
    if (type === 'void' || type === 'completion_void' || type === 'refund') need.push(37, 61);
    require(req, need);

    const ledger = this.o.ledger;
    const tid = plan.tid;
    const batch = sub(req, 60, '2') ?? '000000';
    const stan = text(req, 11)!;
    const key = `${tid}:${batch}:${stan}`;
    if (ledger.tx(key)) throw new Decline('94'); // §1: STAN already used in this batch; not recorded
    plan.fields[15] = mmdd(this.o.now());

    const pan = req.fields[2] as Pan;
    const card = this.o.cards.byPan(pan.reveal());
    const amount = type === 'balance' ? 0 : Number(text(req, 4));
    const now = this.o.now();
    const tx: LedgerTx = {
      key,
      tid,
      mid: text(req, 42) ?? '',
      batch,
      stan,
      mti: req.mti,
      processingCode: text(req, 3) ?? '',
      type,
      transactionType: sub(req, 60, '1') ?? '',
      at: now.toISOString(),
      hostDate: isoDate(now),
      hostMmdd: mmdd(now),
      panMasked: pan.masked,
      panLast4: pan.lastFour,
      domestic: card?.domestic ?? true,
      amount,
      approvedAmount: 0,
      responseCode: '96',
      rrn: ledger.nextRrn(),
      refundedAmount: 0,
      refunds: [],
    };
    const terminalDate = text(req, 13);
    if (terminalDate) tx.terminalDate = terminalDate;
    const entry = text(req, 22);
    if (entry) tx.entryMode = entry;
    if (card) {
      tx.cardId = card.id;
      tx.account = card.account;
    }
    plan.fields[37] = tx.rrn;

    let code: string;
    try {
      if (!card) throw new Decline('14');
      if (ledger.isClosed(tid, batch)) throw new Decline('12');
      switch (type) {
        case 'sale':
        case 'preauth':
        case 'balance':
          code = this.authorise(req, plan, tx, card);
          break;
        case 'completion':
          code = this.completion(req, tx, card);
          break;
        case 'preauth_void':
          code = this.preauthVoid(req, tx, card);
          break;
        case 'void':
        case 'completion_void':
          code = this.void(req, tx, card);
          break;
        case 'refund':
          code = this.refund(req, tx, card);
          break;
      }
    } catch (err) {
      if (!(err instanceof Decline)) throw err;
      code = err.code;
    }
    tx.responseCode = code;
    if (code !== '00' && code !== '10') tx.approvedAmount = 0;
    else if (type !== 'balance' && type !== 'completion') tx.authCode ??= authCode();
    if (tx.authCode && (code === '00' || code === '10')) plan.fields[38] = tx.authCode;
    if (type !== 'balance' && (code === '00' || code === '10')) plan.fields[4] = amount12(tx.approvedAmount);
    plan.fields[39] = code;
    ledger.add(tx);
  }

  /** §2: sale, pre-auth and balance inquiry. */
  private authorise(req: Iso8583Message, plan: ResponsePlan, tx: LedgerTx, card: TestCard): string {
    const ledger = this.o.ledger;
    // Chip data first: a tampered field 55 is declined whatever the amount says.
    let arpc: { sessionKey: Buffer; arqc: Buffer; scheme: CvnScheme } | undefined;
    const entry = (text(req, 22) ?? '').slice(0, 2);
    if (card.imk && CHIP_ENTRY.has(entry)) {
      const f55 = req.fields[55];
      if (!Buffer.isBuffer(f55)) return '05';
      const parsed = tryParseTlv(f55);
      if (!parsed.ok) return '05';
      // The card's CVN (cards.json) selects key derivation and ARPC method; 9F10 must show that CVN.
      const check = verifyCryptogram(
        { imk: card.imk, pan: card.pan, psn: psnOf(req, card), cvn: card.cvn },
        parsed.elements,
      );
      if (!check.ok) {
        this.o.warn(
          { tid: tx.tid, stan: tx.stan, reason: check.reason, tag: check.tag },
          'ARQC check failed',
        );
        return '05';
      }
      const amountTag = findTlv(parsed.elements, '9F02');
      if (tx.type !== 'balance' && amountTag?.value.toString('hex') !== text(req, 4)) return '05';
      tx.arqcVerified = true;
      arpc = { sessionKey: check.sessionKey, arqc: check.arqc, scheme: check.scheme };
    }
    const code = this.decide(req, tx, card);
    if (arpc) {
      const elements: Tlv[] = [
        tlv('91', issuerAuthenticationDataFor(arpc.scheme, arpc.sessionKey, arpc.arqc, code)),
      ];
      if ((code === '00' || code === '10') && card.issuerScript) {
        // An issuer script (PUT DATA of a dummy counter) so the terminal has script results to advise.
        elements.push(
          tlv('72', [
            tlv('9F18', Buffer.from('00000001', 'hex')),
            tlv('86', Buffer.from('04DA9F580903', 'hex')),
          ]),
        );
      }
      plan.fields[55] = encodeTlv(elements);
    }
    if (code === '00' && tx.type === 'balance') {
      const available = ledger.available(card.account);
      plan.fields[54] = `1002${this.o.cards.currency}${available < 0 ? 'D' : 'C'}${amount12(Math.abs(available))}`;
    }
    return code;
  }

  private decide(req: Iso8583Message, tx: LedgerTx, card: TestCard): string {
    const ledger = this.o.ledger;
    let approve = tx.amount;
    let code = '00';
    if (tx.type !== 'balance') {
      const outcome = this.o.cards.outcomeFor(tx.amount);
      if (outcome?.outcome === 'decline') return outcome.responseCode;
      if (outcome?.outcome === 'partial') {
        if (sub(req, 60, '6') !== '1') return '51';
        approve = Math.floor(tx.amount / 2);
        code = outcome.responseCode;
      }
    }
    if (expired(card.expiry, this.o.now())) return '54';
    const pinBlock = req.fields[52];
    if (pinBlock !== undefined && card.pin !== null) {
      const pik = this.keys.get(tx.tid)?.pik;
      let ok = false;
      const ksn = this.ksnOf(req);
      try {
        const bytes = (pinBlock as { reveal(): Buffer }).reveal();
        if (ksn) {
          // A DUKPT reader: the PIN key comes from the BDK and the KSN, not from the session.
          const bdk = this.dukptBdkFor(ksn);
          ok = bdk !== undefined && verifyDukptPinBlock(bdk, ksn, bytes, card.pan, card.pin);
        } else {
          ok = pik !== undefined && verifySchemePinBlock(this.keyScheme, bytes, card.pan, pik, card.pin);
        }
        bytes.fill(0);
      } catch {
        ok = false;
      }
      if (!ok) return '55';
      if (ksn) {
        // The KSN replay rule: a verified PIN block under a KSN whose counter is not above the
        // device's last one is a replayed PIN block (a repeat of the same request was answered 94).
        const last = this.ksns.check(ksn, tx.key);
        if (last) {
          const { counter } = ksnDevice(ksn);
          this.ksns.replayed(last);
          this.o.warn(
            {
              tid: tx.tid,
              stan: tx.stan,
              rc: KSN_REPLAY_CODE,
              scheme: last.scheme,
              device: last.device,
              counter,
              lastCounter: last.counter,
              lastTid: last.tid,
              lastStan: last.stan,
            },
            counter === last.counter
              ? `DUKPT KSN replayed: counter ${counter} of device ${last.device} was used by ${last.request}; declined ${KSN_REPLAY_CODE}`
              : `DUKPT KSN replayed: counter ${counter} of device ${last.device} is not above the last used (${last.counter}, ${last.request}); declined ${KSN_REPLAY_CODE}`,
          );
          return KSN_REPLAY_CODE;
        }
        this.ksns.use(ksn, tx.key, tx.tid, tx.stan, tx.at);
      }
    }
    if (tx.type === 'balance') return '00';
    if (ledger.available(card.account) < approve) return '51';
    tx.approvedAmount = approve;
    if (tx.type === 'sale') ledger.move(card.account, -approve);
    else {
      ledger.move(card.account, 0, approve);
      tx.held = approve;
    }
    return code;
  }

  /** The pre-auth a completion or pre-auth void refers to: 61 batch + STAN, else PAN + auth code. */
  private findPreauth(req: Iso8583Message, tid: string, card: TestCard): LedgerTx {
    const code = text(req, 38);
    let pre = this.findByRef(tid, req);
    if (!pre && code)
      pre = this.o.ledger.snapshot.transactions.find(
        (t) => t.type === 'preauth' && t.cardId === card.id && t.authCode === code && t.approvedAmount > 0,
      );
    if (!pre || pre.type !== 'preauth' || pre.approvedAmount <= 0) throw new Decline('25');
    if (pre.authCode !== code || pre.cardId !== card.id) throw new Decline('25');
    return pre;
  }

  private completion(req: Iso8583Message, tx: LedgerTx, card: TestCard): string {
    const ledger = this.o.ledger;
    const pre = this.findPreauth(req, tx.tid, card);
    if (pre.reversal || pre.voidedBy || pre.completedBy) return '12';
    if (tx.amount <= 0 || tx.amount > Math.floor(pre.approvedAmount * 1.15)) return '13';
    const held = pre.held ?? 0;
    const extra = tx.amount - held;
    if (extra > 0 && ledger.available(card.account) < extra) return '51';
    ledger.move(card.account, -tx.amount, -held);
    pre.held = 0;
    pre.completedBy = tx.key;
    tx.originalKey = pre.key;
    tx.approvedAmount = tx.amount;
    tx.authCode = pre.authCode;
    return '00';
  }

  private preauthVoid(req: Iso8583Message, tx: LedgerTx, card: TestCard): string {
    const pre = this.findPreauth(req, tx.tid, card);
    if (pre.reversal || pre.voidedBy || pre.completedBy) return '12';
    if (tx.amount !== pre.approvedAmount && tx.amount !== pre.amount) return '13';
    this.o.ledger.move(card.account, 0, -(pre.held ?? 0));
    pre.held = 0;
    pre.voidedBy = tx.key;
    tx.originalKey = pre.key;
    tx.approvedAmount = pre.approvedAmount;
    return '00';
  }

  private void(req: Iso8583Message, tx: LedgerTx, card: TestCard): string {
    const ledger = this.o.ledger;
    const orig = this.findByRef(tx.tid, req);
    if (!orig || orig.rrn !== text(req, 37) || orig.cardId !== card.id) return '25';
    const wanted: TxType = tx.type === 'void' ? 'sale' : 'completion';
    if (orig.type !== wanted || orig.approvedAmount <= 0) return '12';
    if (orig.batch !== tx.batch || ledger.isClosed(orig.tid, orig.batch)) return '12';
    if (orig.reversal || orig.voidedBy || orig.refundedAmount > 0) return '12';
    if (tx.amount !== orig.approvedAmount) return '13';
    if (tx.type === 'void') {
      ledger.move(card.account, orig.approvedAmount);
    } else {
      const pre = orig.originalKey ? ledger.tx(orig.originalKey) : undefined;
      const rehold = pre ? pre.approvedAmount : 0;
      ledger.move(card.account, orig.approvedAmount, rehold);
      if (pre) {
        pre.completedBy = undefined;
        pre.held = rehold;
      }
      tx.authCode = text(req, 38) ?? undefined;
    }
    orig.voidedBy = tx.key;
    tx.originalKey = orig.key;
    tx.approvedAmount = orig.approvedAmount;
    return '00';
  }

  private refund(req: Iso8583Message, tx: LedgerTx, card: TestCard): string {
    const orig = this.o.ledger.txByRrn(text(req, 37) ?? '');
    if (!orig) return '25';
    const b = sub(req, 61, '1');
    const s = sub(req, 61, '2');
    const d = sub(req, 61, '3');
    if (s && s !== '000000' && s !== orig.stan) return '25';
    if (b && b !== '000000' && b !== orig.batch) return '25';
    if (d && d !== '0000' && d !== orig.terminalDate && d !== orig.hostMmdd) return '25';
    if (orig.cardId !== card.id) return '25';
    if ((orig.type !== 'sale' && orig.type !== 'completion') || orig.approvedAmount <= 0) return '12';
    if (orig.reversal || orig.voidedBy) return '12';
    if (tx.amount <= 0 || orig.refundedAmount + tx.amount > orig.approvedAmount) return '13';
    this.o.ledger.move(card.account, tx.amount);
    orig.refundedAmount += tx.amount;
    orig.refunds.push(tx.key);
    tx.originalKey = orig.key;
    tx.approvedAmount = tx.amount;
    return '00';
  }

  // ------------------------------------------------------------------ §3.10 reversal

  private reversal(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [2, 3, 11, 22, 25, 39, 41, 42, 49, 60]);
    const ledger = this.o.ledger;
    const tid = plan.tid;
    const batch = sub(req, 60, '2') ?? '000000';
    const stan = text(req, 11)!;
    const reason = text(req, 39) ?? '';
    const at = this.o.now().toISOString();
    const orig = ledger.tx(`${tid}:${batch}:${stan}`);
    const unmatched = (why: 'unknown' | 'declined_original' | 'key_mismatch', answered: string): void =>
      ledger.addUnmatchedReversal({ tid, batch, stan, mti: req.mti, reason, at, answered, why });
    if (!orig) {
      unmatched('unknown', this.o.unknownReversalCode);
      plan.fields[39] = this.o.unknownReversalCode;
      return;
    }
    const pan = req.fields[2] as Pan;
    const card = this.o.cards.byPan(pan.reveal());
    const amt = text(req, 4);
    const sameCard = orig.cardId ? card?.id === orig.cardId : pan.masked === orig.panMasked;
    const sameAmount =
      amt === undefined
        ? orig.type === 'balance'
        : Number(amt) === orig.amount || Number(amt) === orig.approvedAmount;
    if (!sameCard || text(req, 3) !== orig.processingCode || !sameAmount) {
      unmatched('key_mismatch', '12');
      plan.fields[39] = '12';
      return;
    }
    if (orig.reversal) {
      orig.reversal.attempts += 1;
      ledger.touch();
      plan.fields[39] = '00';
      return;
    }
    if (ledger.isClosed(orig.tid, orig.batch)) {
      plan.fields[39] = '12';
      return;
    }
    if (orig.approvedAmount > 0) {
      const undone = this.undo(orig);
      if (undone !== '00') {
        plan.fields[39] = undone;
        return;
      }
    } else if (orig.responseCode !== '00') {
      unmatched('declined_original', '00');
    }
    orig.reversal = { mti: req.mti, reason, at, attempts: 1 };
    ledger.touch();
    plan.fields[39] = '00';
  }

  /** Undoes the effect of an approved transaction on the accounts and its related records. */
  private undo(t: LedgerTx): string {
    const ledger = this.o.ledger;
    const acct = t.account;
    const rel = (k: string | undefined): LedgerTx | undefined => (k ? ledger.tx(k) : undefined);
    switch (t.type) {
      case 'sale':
        if (!t.voidedBy) ledger.move(acct, t.approvedAmount - t.refundedAmount);
        return '00';
      case 'completion': {
        if (t.voidedBy) return '00';
        const pre = rel(t.originalKey);
        ledger.move(acct, t.approvedAmount - t.refundedAmount, pre ? pre.approvedAmount : 0);
        if (pre) {
          pre.completedBy = undefined;
          pre.held = pre.approvedAmount;
        }
        return '00';
      }
      case 'preauth':
        if (t.completedBy || t.voidedBy) return '12';
        ledger.move(acct, 0, -(t.held ?? 0));
        t.held = 0;
        return '00';
      case 'preauth_void': {
        const pre = rel(t.originalKey);
        if (pre) {
          ledger.move(acct, 0, pre.approvedAmount);
          pre.voidedBy = undefined;
          pre.held = pre.approvedAmount;
        }
        return '00';
      }
      case 'void': {
        const sale = rel(t.originalKey);
        if (sale) {
          ledger.move(acct, -sale.approvedAmount);
          sale.voidedBy = undefined;
        }
        return '00';
      }
      case 'completion_void': {
        const comp = rel(t.originalKey);
        const pre = rel(comp?.originalKey);
        if (comp) {
          ledger.move(acct, -comp.approvedAmount, pre ? -pre.approvedAmount : 0);
          comp.voidedBy = undefined;
          if (pre) {
            pre.completedBy = comp.key;
            pre.held = 0;
          }
        }
        return '00';
      }
      case 'refund': {
        const orig = rel(t.originalKey);
        ledger.move(acct, -t.approvedAmount);
        if (orig) {
          orig.refundedAmount -= t.approvedAmount;
          orig.refunds = orig.refunds.filter((k) => k !== t.key);
        }
        return '00';
      }
      case 'balance':
        return '00';
    }
  }

  // ------------------------------------------------------------------ §3.11 - §3.14 advices and settlement

  /** Original of an advice: 61 batch + STAN (+ date), else 37 RRN. */
  private adviceOriginal(req: Iso8583Message, tid: string): LedgerTx | undefined {
    return this.findByRef(tid, req) ?? (text(req, 37) ? this.o.ledger.txByRrn(text(req, 37)!) : undefined);
  }

  private upload(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [11, 41, 42, 60]);
    const ledger = this.o.ledger;
    const code = sub(req, 60, '3');
    const batch = sub(req, 60, '2') ?? '000000';
    const state = ledger.upload(plan.tid, batch);
    if (code === '202') {
      require(req, [48]);
      const captured = ledger
        .transactions({ tid: plan.tid, batch })
        .filter(
          (t) =>
            ['sale', 'completion', 'refund'].includes(t.type) &&
            t.approvedAmount > 0 &&
            !t.reversal &&
            !t.voidedBy,
        )
        .map((t) => t.key);
      state.ended = {
        at: this.o.now().toISOString(),
        declaredCount: Number(text(req, 48) ?? '0'),
        notUploaded: captured.filter((k) => !state.uploaded.includes(k)),
      };
      ledger.touch();
      plan.fields[39] = '00';
      return;
    }
    if (code !== '201' && code !== '203') throw new Decline('30');
    if (req.fields[61] === undefined && req.fields[37] === undefined) throw new Decline('30');
    const orig = this.adviceOriginal(req, plan.tid);
    if (!orig) {
      const ref = `${sub(req, 61, '1') ?? ''}:${sub(req, 61, '2') ?? ''}`;
      if (!state.notFound.includes(ref)) state.notFound.push(ref);
      ledger.touch();
      plan.fields[39] = '25';
      return;
    }
    if (code === '201') {
      if (!state.uploaded.includes(orig.key)) state.uploaded.push(orig.key);
      orig.uploaded = true;
    } else {
      let verified = false;
      const card = orig.cardId ? this.o.cards.byId(orig.cardId) : undefined;
      const f55 = req.fields[55];
      if (card?.imk && Buffer.isBuffer(f55)) {
        const parsed = tryParseTlv(f55);
        if (parsed.ok)
          verified = verifyCryptogram(
            { imk: card.imk, pan: card.pan, psn: psnOf(req, card), cvn: card.cvn },
            parsed.elements,
            {
              arc: orig.responseCode,
            },
          ).ok;
      }
      orig.tc = { verified, at: this.o.now().toISOString() };
    }
    ledger.touch();
    plan.fields[39] = '00';
  }

  private scriptAdvice(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [11, 41, 42, 55, 60]);
    const f55 = req.fields[55];
    const parsed = Buffer.isBuffer(f55) ? tryParseTlv(f55) : undefined;
    const results = parsed?.ok
      ? (findTlv(parsed.elements, 'DF31') ?? findTlv(parsed.elements, '9F5B'))
      : undefined;
    if (!results) throw new Decline('30');
    const decoded = decodeScriptResults(results.value);
    if (!decoded.ok) throw new Decline('30');
    const orig = this.adviceOriginal(req, plan.tid);
    if (!orig) throw new Decline('25');
    orig.scriptResults = decoded.value.map((r) => ({
      outcome: r.outcome,
      sequence: r.sequence,
      scriptIdHex: r.scriptIdHex,
    }));
    this.o.ledger.touch();
    if (orig.rrn) plan.fields[37] = orig.rrn;
    plan.fields[39] = '00';
  }

  private signatureUpload(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [11, 41, 42, 60, 62]);
    const orig = this.adviceOriginal(req, plan.tid);
    if (!orig) throw new Decline('25');
    const img = req.fields[62];
    orig.signature = { bytes: Buffer.isBuffer(img) ? img.length : 0, at: this.o.now().toISOString() };
    this.o.ledger.touch();
    plan.fields[39] = '00';
  }

  private settlement(req: Iso8583Message, plan: ResponsePlan): void {
    require(req, [11, 41, 42, 48, 49, 60]);
    const ledger = this.o.ledger;
    const batch = sub(req, 60, '2') ?? '000000';
    plan.fields[15] = mmdd(this.o.now());
    const repeat = ledger.settlement(plan.tid, batch);
    if (repeat) {
      plan.fields[48] = repeat.field48;
      plan.fields[39] = '00';
      return;
    }
    const f48 = text(req, 48) ?? '';
    if (!/^[0-9]{62}$/.test(f48)) throw new Decline('30');
    const terminal = parseTotals(f48);
    const host = ledger.totals(plan.tid, batch);
    const same = (a: Totals, b: Totals): boolean =>
      a.debitAmount === b.debitAmount &&
      a.debitCount === b.debitCount &&
      a.creditAmount === b.creditAmount &&
      a.creditCount === b.creditCount;
    const result = {
      domestic: same(terminal.domestic, host.domestic) ? '1' : '2',
      foreign: same(terminal.foreign, host.foreign) ? '1' : '2',
    } as const;
    const field48 = `${f48.slice(0, 30)}${result.domestic}${f48.slice(31, 61)}${result.foreign}`;
    ledger.closeBatch(plan.tid, batch);
    const settlement = {
      tid: plan.tid,
      batch,
      at: this.o.now().toISOString(),
      terminal,
      host,
      result,
      field48,
    } as Parameters<Ledger['addSettlement']>[0];
    ledger.addSettlement(settlement);
    plan.tasks.push(
      this.o.writeSettlementFile(plan.tid, batch).then((path) => {
        settlement.file = path;
        ledger.touch();
      }),
    );
    plan.fields[48] = field48;
    plan.fields[39] = '00';
  }
}

// ------------------------------------------------------------------ helpers

function text(req: Iso8583Message, n: number): string | undefined {
  const v = req.fields[n];
  if (typeof v === 'string') return v;
  if (v instanceof Composite) return v.wire;
  return undefined;
}

function sub(req: Iso8583Message, n: number, id: string): string | undefined {
  const v = req.fields[n];
  return v instanceof Composite ? v.get(id) : undefined;
}

function require(req: Iso8583Message, fields: readonly number[]): void {
  for (const n of fields) if (req.fields[n] === undefined) throw new Decline('30');
}

/** The exchange a 0100/0200/0220 is, from 60.1 (else the processing code). */
function classify(req: Iso8583Message): TxType | undefined {
  const t = sub(req, 60, '1');
  const pc = text(req, 3);
  if (req.mti === '0100') {
    if (t === '10' || (t === undefined && pc?.startsWith('03'))) return 'preauth';
    if (t === '11' || (t === undefined && pc === '200000')) return 'preauth_void';
    return pc?.startsWith('03') ? 'preauth' : pc === '200000' ? 'preauth_void' : undefined;
  }
  if (req.mti === '0220') return t === '25' || pc === '200000' ? 'refund' : undefined;
  switch (t) {
    case '22':
      return 'sale';
    case '01':
      return 'balance';
    case '20':
      return 'completion';
    case '21':
      return 'completion_void';
    case '23':
      return 'void';
  }
  return pc === '000000' ? 'sale' : pc === '310000' ? 'balance' : pc === '200000' ? 'void' : undefined;
}

function psnOf(req: Iso8583Message, card: TestCard): string | null {
  const f23 = text(req, 23);
  return f23 ? f23.slice(-2) : card.psn;
}

function parseTotals(f48: string): SettlementTotals {
  const part = (s: string): Totals => ({
    debitAmount: Number(s.slice(0, 12)),
    debitCount: Number(s.slice(12, 15)),
    creditAmount: Number(s.slice(15, 27)),
    creditCount: Number(s.slice(27, 30)),
  });
  return { domestic: part(f48.slice(0, 31)), foreign: part(f48.slice(31, 62)) };
}

/** Field 48 of a 0500 from totals (the daemon's side; used by tests and QA tools). */
export function settlementField48(t: SettlementTotals): string {
  const part = (p: Totals): string =>
    `${amount12(p.debitAmount)}${String(p.debitCount).padStart(3, '0')}${amount12(p.creditAmount)}${String(p.creditCount).padStart(3, '0')}0`;
  return part(t.domestic) + part(t.foreign);
}

function expired(expiry: string, now: Date): boolean {
  const yymm = Number(expiry);
  const current = (now.getFullYear() % 100) * 100 + (now.getMonth() + 1);
  return yymm < current;
}

function authCode(): string {
  return String(randomInt(1, 1_000_000)).padStart(6, '0');
}

export function amount12(n: number): string {
  return String(n).padStart(12, '0');
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

export function hhmmss(d: Date): string {
  return `${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

export function mmdd(d: Date): string {
  return `${two(d.getMonth() + 1)}${two(d.getDate())}`;
}

export function isoDate(d: Date): string {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}
