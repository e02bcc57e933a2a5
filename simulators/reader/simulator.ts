/**
 * The simulated card reader: the reader end of the posbridge reader protocol (any profile), holding a
 * terminal master key, loading working keys from field 62, computing MACs, reading the test cards of
 * simulators/cards.json (PIN blocks under the PIK, tracks under the TDK, field 55 with a real ARQC)
 * and completing with a real second GENERATE AC. Customer and link behaviours come from `Behaviour`.
 *
 * It talks through whatever transport is attached: one TCP connection at a time (a new one replaces
 * the old), a serial port, or a stream such as a pseudo-terminal master. State (keys, the current and
 * past transactions) outlives connections, as in a real reader.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  CryptoError,
  DesKey,
  DukptPinPad,
  Sm4Key,
  dukptInitialKey,
  gmSupport,
  kcvForLog,
  schemeKey,
  schemeMac,
  unwrapWorkingKeys,
  wipeWorkingKeys,
  type KeyScheme,
  type MacAlgorithm,
  type SchemeKey,
  type WorkingKeyLayout,
} from '../../src/crypto/index.js';
import {
  CANCEL_CODES,
  CRYPTOGRAM_CODES,
  decodeAmount,
  decodeCurrency,
  decodeInterfaces,
  encodeCapabilities,
  INTERFACE_BITS,
  KEY_LAYOUT_CODES,
  KEY_NAME_CODES,
  KEY_SCHEME_CODES,
  Link,
  readerParamDigest,
  loadReaderProfile,
  MAC_ALGORITHM_CODES,
  OUTCOME_CODES,
  Payload,
  PROGRESS_CODES,
  ReaderError,
  STAGE_CODES,
  TRANSACTION_TYPE_CODES,
  buildPayload,
  uint16,
  type CancelOutcome,
  type CommandName,
  type Frame,
  type ReaderProfile,
  type ReaderProgress,
  type StatusName,
  type TagName,
  type TagValue,
  type TransactionOutcome,
  type TransactionType,
  type Transport,
} from '../../src/terminal/index.js';
import { loadCards, type CardTable, type TestCard } from '../shared/cards.js';
import {
  parseAidEntry,
  parseCapkEntry,
  ParamEntryError,
  AIP_DDA,
  personalise,
  signDynamicData,
  tacDenies,
  TVR_DDA_FAILED,
  TVR_SDA_FAILED,
  TVR_SDA_SELECTED,
  verifyDda,
  verifySda,
  type CardOdaData,
  type HeldAid,
  type HeldCapk,
  type HeldSet,
} from './oda.js';
import { DEFAULT_BEHAVIOUR, parseBehaviour, type Behaviour, type OdaMethod } from './behaviour.js';
import {
  aidOf,
  choosePresentation,
  completeCard,
  readCard,
  wantsPin,
  type CardRead,
  type Completion,
  type ReadRequest,
  type WorkingKeysHeld,
} from './card-data.js';

/**
 * The documented test terminal master key (double length), the same as the host simulator's default
 * so the two interoperate out of the box. Its check value is 08D7B4FB (GET /status shows it).
 */
export const DEFAULT_READER_TMK = '0123456789ABCDEFFEDCBA9876543210';

/** The X9.24 test BDKs and KSNs a DUKPT simulator reader is "injected" with by default (never production). */
const DUKPT_INJECTION = {
  'dukpt-tdes': { bdk: '0123456789ABCDEFFEDCBA9876543210', ksn: 'FFFF9876543210E00000' },
  'dukpt-aes': { bdk: 'FEDCBA9876543210F1F1F1F1F1F1F1F1', ksn: '123456789012345600000000' },
} as const;
export const DEFAULT_SERIAL_NUMBER = 'PBR-SIM-0001';

export interface ReaderSimulatorOptions {
  /** Profile name or compiled profile (default 'posbridge'). */
  profile?: string | ReaderProfile;
  serialNumber?: string;
  model?: string;
  firmware?: string;
  /** Terminal master key, hex (8, 16 or 24 bytes; 16 for SM4). */
  tmk?: string;
  /**
   * The key schemes the master key works in (device_info `key_scheme`): default both DES and SM4, the
   * same 16 bytes serving as either (a simulator's shortcut; a real reader is injected per scheme).
   */
  keySchemes?: readonly KeyScheme[];
  /**
   * A DUKPT reader (profile `pinKeyScheme` dukpt-tdes / dukpt-aes): its injected initial key (IPEK or
   * AES initial key, hex) and KSN (hex, 10 or 12 bytes). Default: derived from the test BDKs the host
   * simulator uses (DEFAULT_DUKPT_BDK there) for KSN FFFF9876543210E00000 / 123456789012345600000000.
   */
  dukpt?: { initialKey?: string; ksn?: string };
  cardsFile?: string;
  behaviour?: Partial<Behaviour>;
  /** The reader has a printer (default true). */
  printer?: boolean;
  logger?: Logger;
  /** Reader-side link timers (profile defaults). */
  ackMs?: number;
  retransmissions?: number;
  reassemblyMs?: number;
}

type SimStage = 'waiting_card' | 'card_read' | 'completed' | 'cancelled';

interface SimTxn {
  reference: string;
  request: ReadRequest & { timeoutSeconds: number };
  stage: SimStage;
  outcome: TransactionOutcome | undefined;
  reason: string | undefined;
  cardId: string;
  read: CardRead | undefined;
  completion: { status: 'ok' | 'card_removed'; result: Completion | undefined } | undefined;
  cancelledByOperator: boolean;
  abort: AbortController;
  startedAt: Date;
}

/** A transaction as the control API shows it: no card data beyond the masked PAN. */
export interface SimTxnView {
  reference: string;
  type: TransactionType;
  amount: string;
  currency: string;
  stage: SimStage;
  outcome?: TransactionOutcome;
  card?: string;
  pan?: string;
  interface?: string;
  entryMode?: string;
  pinEntered?: boolean;
  cryptogram?: 'tc' | 'aac' | 'none';
  completion?: 'ok' | 'card_removed';
  issuerAuthenticated?: boolean;
  startedAt: string;
}

interface Endpoint {
  transport: Transport;
  link: Link;
  kind: 'socket' | 'line';
  /** Closes a socket endpoint; for a line, the reader goes silent for a while. */
  drop: (ms: number) => void;
  muted: boolean;
  baseMtu: number;
}

export class ReaderSimulator extends EventEmitter {
  readonly profile: ReaderProfile;
  readonly serialNumber: string;
  readonly model: string;
  readonly firmware: string;
  readonly printer: boolean;
  readonly cards: CardTable;
  behaviour: Behaviour;
  /** What the reader's display shows, lines printed, beeps. */
  display: string[] = [];
  printed: string[] = [];
  beeps = 0;
  commandsSeen = 0;

  private readonly tmk: DesKey;
  /** The same master key bytes as an SM4 key, when the reader supports SM4 (and OpenSSL has it). */
  private readonly tmkSm4: Sm4Key | undefined;
  readonly keySchemes: readonly KeyScheme[];
  /** Per-transaction PIN keys when the profile says DUKPT; the counter advances with every PIN. */
  readonly pinPad: DukptPinPad | undefined;
  private keys: (WorkingKeysHeld & { layout: WorkingKeyLayout }) | undefined;
  private endpoint: Endpoint | undefined;
  private txn: SimTxn | undefined;
  private readonly history: SimTxn[] = [];
  private readonly atc = new Map<string, number>();
  /** The CAPK and AID sets load_capks / load_aids gave it (kept across link drops, like keys). */
  private capks: HeldSet<HeldCapk> | undefined;
  private aids: HeldSet<HeldAid> | undefined;
  private readonly pendingParts = new Map<
    'capk' | 'aid',
    { total: number; next: number; entries: Buffer[] }
  >();
  private readonly oda = new Map<string, CardOdaData>();
  /** The last offline data authentication: which method, and why it failed (QA, tests). */
  lastOda: { card: string; method: OdaMethod; ok: boolean; why?: string } | undefined;
  private transactionCounter = 0;
  private readonly log: Logger | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: ReaderSimulatorOptions = {}) {
    super();
    this.profile =
      typeof options.profile === 'object'
        ? options.profile
        : loadReaderProfile(options.profile ?? 'posbridge');
    this.serialNumber = options.serialNumber ?? DEFAULT_SERIAL_NUMBER;
    this.model = options.model ?? 'posbridge-sim';
    this.firmware = options.firmware ?? '1.0.0';
    this.printer = options.printer !== false;
    this.cards = loadCards(options.cardsFile);
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...(options.behaviour ? this.validate(options.behaviour) : {}) };
    const tmkBytes = Buffer.from(options.tmk ?? DEFAULT_READER_TMK, 'hex');
    this.tmk = DesKey.from(tmkBytes, 'tmk');
    const wanted = options.keySchemes ?? ['des', 'sm4'];
    // SM4 only where it can run: a 16-byte master key and OpenSSL with SM4.
    this.tmkSm4 =
      wanted.includes('sm4') && tmkBytes.length === 16 && gmSupport().sm4
        ? Sm4Key.from(tmkBytes, 'tmk')
        : undefined;
    this.keySchemes = wanted.filter((k) => k !== 'sm4' || this.tmkSm4 !== undefined);
    tmkBytes.fill(0);
    const scheme = this.profile.pinKeyScheme;
    if (scheme !== 'session') {
      const ksn = Buffer.from(options.dukpt?.ksn ?? DUKPT_INJECTION[scheme].ksn, 'hex');
      const initialKey = options.dukpt?.initialKey
        ? Buffer.from(options.dukpt.initialKey, 'hex')
        : dukptInitialKey(Buffer.from(DUKPT_INJECTION[scheme].bdk, 'hex'), ksn);
      this.pinPad = new DukptPinPad({ initialKey, ksn });
      initialKey.fill(0);
    }
    this.log = options.logger?.child({
      component: 'reader-sim',
      serialNumber: this.serialNumber,
      profile: this.profile.name,
    });
  }

  // ------------------------------------------------------------------ behaviour and inspection

  private validate(b: Partial<Behaviour>): Partial<Behaviour> {
    return parseBehaviour(b, (id) => this.cards.byId(id) !== undefined);
  }

  /** Merges a partial behaviour (validated; throws `BehaviourError`). */
  setBehaviour(partial: Partial<Behaviour> | unknown): Behaviour {
    const p = this.validate(partial as Partial<Behaviour>);
    this.behaviour = { ...this.behaviour, ...p };
    this.applyLinkBehaviour();
    this.log?.info({ behaviour: p }, 'behaviour changed');
    return { ...this.behaviour };
  }

  /** Default behaviour, no transactions, display and printer cleared. Keys are kept (like a power cycle). */
  reset(): void {
    this.behaviour = {
      ...DEFAULT_BEHAVIOUR,
      ...(this.options.behaviour ? this.validate(this.options.behaviour) : {}),
    };
    this.txn?.abort.abort();
    this.txn = undefined;
    this.history.length = 0;
    this.display = [];
    this.printed = [];
    this.beeps = 0;
    this.applyLinkBehaviour();
  }

  get connected(): boolean {
    return this.endpoint !== undefined && !this.endpoint.muted && this.endpoint.transport.isOpen;
  }

  get keyCheckValues(): { tmk: string; pik?: string; mak?: string; tdk?: string } {
    // The master key's check value in the scheme of the loaded keys (DES before any are loaded).
    const hex = (k: SchemeKey): string => k.checkValue(4).toString('hex').toUpperCase();
    const out: { tmk: string; pik?: string; mak?: string; tdk?: string } = {
      tmk: hex(this.keys?.scheme === 'sm4' && this.tmkSm4 ? this.tmkSm4 : this.tmk),
    };
    if (this.keys) {
      out.pik = hex(this.keys.pik);
      out.mak = hex(this.keys.mak);
      if (this.keys.tdk) out.tdk = hex(this.keys.tdk);
    }
    return out;
  }

  /** Forgets the working keys (a reader that restarted). */
  clearKeys(): void {
    this.keys = undefined;
  }

  transactions(): SimTxnView[] {
    const all = [...this.history];
    if (this.txn && !all.includes(this.txn)) all.push(this.txn);
    return all.map((t) => viewOf(t));
  }

  currentTransaction(): SimTxnView | undefined {
    return this.txn ? viewOf(this.txn) : undefined;
  }

  get linkStats(): Link['stats'] | undefined {
    return this.endpoint?.link.stats;
  }

  // ------------------------------------------------------------------ endpoints

  /**
   * Talks through `transport` (already open) from now on. `socket`: dropping the link closes it;
   * `line` (serial, pseudo-terminal): dropping the link silences the reader for a while.
   */
  attach(transport: Transport, kind: 'socket' | 'line'): void {
    if (this.closed) return;
    const old = this.endpoint;
    if (old) {
      old.link.close();
      if (old.kind === 'socket' && old.transport !== transport) void old.transport.close();
    }
    const link = new Link(transport, {
      profile: this.profile,
      role: 'reader',
      ...(this.options.ackMs !== undefined ? { ackMs: this.options.ackMs } : {}),
      ...(this.options.retransmissions !== undefined
        ? { retransmissions: this.options.retransmissions }
        : {}),
      ...(this.options.reassemblyMs !== undefined ? { reassemblyMs: this.options.reassemblyMs } : {}),
      ...(this.log ? { logger: this.log } : {}),
    });
    const ep: Endpoint = {
      transport,
      link,
      kind,
      muted: false,
      baseMtu: transport.mtu,
      drop: (ms) => {
        if (kind === 'socket') {
          link.close();
          if (this.endpoint === ep) this.endpoint = undefined;
          void transport.close();
          return;
        }
        ep.muted = true;
        link.detach();
        link.reset('link dropped');
        setTimeout(() => {
          if (this.endpoint !== ep || this.closed) return;
          ep.muted = false;
          link.reset('link back');
          link.attach();
          this.log?.info('link back');
        }, ms).unref();
      },
    };
    link.on('message', (f: Frame) => {
      const run = (): Promise<void> =>
        this.handle(ep, f).catch((e: unknown) => this.log?.error({ err: e }, 'command handling failed'));
      this.chain = this.chain.then(run, run);
    });
    transport.on('close', () => {
      if (this.endpoint === ep && kind === 'socket') {
        link.close();
        this.endpoint = undefined;
        this.log?.info('host disconnected');
      }
    });
    link.attach();
    this.endpoint = ep;
    this.applyLinkBehaviour();
    this.log?.info({ transport: transport.description }, 'host connected');
  }

  /** Drops the link now (TCP: closes the connection; serial / stream: silent for `ms`). */
  dropLink(ms = this.behaviour.dropForMs): void {
    const ep = this.endpoint;
    if (!ep) return;
    this.log?.info({ ms, kind: ep.kind }, 'dropping the link');
    ep.drop(ms);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.txn?.abort.abort();
    const ep = this.endpoint;
    this.endpoint = undefined;
    if (ep) {
      ep.link.close();
      await ep.transport.close().catch(() => undefined);
    }
    this.keys = undefined;
  }

  private applyLinkBehaviour(): void {
    const ep = this.endpoint;
    if (!ep) return;
    const slow = this.behaviour.slowLink;
    ep.link.chunkDelayMs = slow?.chunkDelayMs ?? 0;
    (ep.transport as { mtu: number }).mtu = slow?.mtu ?? ep.baseMtu;
    ep.link.outgoingFilter = (bytes, info) => {
      if (info.attempt !== 1 || this.behaviour.corruptFrames <= 0) return bytes;
      this.behaviour.corruptFrames--;
      const bad = Buffer.from(bytes);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xa5;
      this.log?.info({ cmd: info.frame.cmd }, 'corrupting a frame');
      return bad;
    };
  }

  // ------------------------------------------------------------------ sending

  private async send(
    cmd: number,
    status: StatusName,
    entries: ReadonlyArray<readonly [TagName, TagValue | undefined]>,
  ): Promise<boolean> {
    const ep = this.endpoint;
    if (!ep || ep.muted) return false;
    try {
      await ep.link.send(cmd, buildPayload(this.profile, entries), this.profile.status[status]);
      return true;
    } catch (e) {
      this.log?.debug({ err: (e as Error).message }, 'send failed');
      return false;
    }
  }

  private async notify(
    name: 'progress' | 'transaction_event',
    entries: ReadonlyArray<readonly [TagName, TagValue | undefined]>,
  ): Promise<boolean> {
    return this.send(this.profile.notifications[name], 'ok', entries);
  }

  private progress(txn: SimTxn, p: ReaderProgress, digits?: number): Promise<boolean> {
    return this.notify('progress', [
      ['reference', txn.reference],
      ['progress', PROGRESS_CODES[p]],
      ['pin_digits', digits],
    ]);
  }

  // ------------------------------------------------------------------ commands

  private async handle(ep: Endpoint, frame: Frame): Promise<void> {
    if (ep.muted || this.endpoint !== ep) return;
    this.commandsSeen++;
    const name = this.profile.commandByCode.get(frame.cmd);
    const reply = (
      status: StatusName,
      entries: ReadonlyArray<readonly [TagName, TagValue | undefined]> = [],
    ): Promise<boolean> => this.send(frame.cmd, status, entries);
    if (!name) {
      await reply('unknown_command', [['error_text', 'unknown command']]);
      return;
    }
    let p: Payload;
    try {
      p = Payload.parse(this.profile, name, frame.payload);
    } catch {
      await reply('bad_request', [['error_text', 'payload is not BER-TLV']]);
      return;
    }
    try {
      await this.dispatch(name, p, reply);
    } catch (e) {
      if (e instanceof ReaderError && (e.reason === 'missing_tag' || e.reason === 'bad_value')) {
        await reply('bad_request', [['error_text', `${e.reason} ${e.tag ?? ''}`.trim()]]);
        return;
      }
      this.log?.error({ err: e, command: name }, 'reader simulator failed a command');
      await reply('internal_error', [['error_text', 'internal error']]);
    }
  }

  private async dispatch(
    name: CommandName,
    p: Payload,
    reply: (
      status: StatusName,
      entries?: ReadonlyArray<readonly [TagName, TagValue | undefined]>,
    ) => Promise<boolean>,
  ): Promise<void> {
    this.log?.debug({ command: name }, 'command');
    switch (name) {
      case 'echo':
        await reply('ok', [['echo_data', p.get('echo_data')]]);
        return;
      case 'device_info': {
        const k = this.keyCheckValues;
        const kcv = (hex: string | undefined): Buffer | undefined =>
          hex ? Buffer.from(hex, 'hex') : undefined;
        await reply('ok', [
          ['serial_number', this.serialNumber],
          ['model', this.model],
          ['firmware', this.firmware],
          ['battery', this.behaviour.batteryPercent],
          ['protocol_version', this.profile.protocolVersion],
          [
            'capabilities',
            encodeCapabilities([
              'chip',
              'contactless',
              'magstripe',
              'pinpad',
              'display',
              ...(this.printer ? (['printer'] as const) : []),
            ]),
          ],
          ['max_frame', uint16(this.profile.framing.maxFrame)],
          ['kcv_tmk', kcv(k.tmk)],
          ['kcv_pik', kcv(k.pik)],
          ['kcv_mak', kcv(k.mak)],
          ['kcv_tdk', kcv(k.tdk)],
          ['key_scheme', Buffer.from(this.keySchemes.map((x) => KEY_SCHEME_CODES[x]))],
          ['capk_digest', this.capks?.digest],
          ['aid_digest', this.aids?.digest],
        ]);
        return;
      }
      case 'load_keys':
        return this.loadKeys(p, reply);
      case 'start_transaction':
        return this.start(p, reply);
      case 'card_result':
        return this.cardResult(p, reply);
      case 'complete_transaction':
        return this.complete(p, reply);
      case 'cancel':
        return this.cancel(p, reply);
      case 'last_status': {
        const t = this.txn ?? this.history[this.history.length - 1];
        if (!t) {
          await reply('ok', [['stage', STAGE_CODES.none]]);
          return;
        }
        const c = t.completion;
        await reply('ok', [
          ['reference', t.reference],
          ['stage', STAGE_CODES[t.stage]],
          ['cryptogram', c?.status === 'ok' && c.result ? CRYPTOGRAM_CODES[c.result.cryptogram] : undefined],
          ['icc_data', c?.result?.iccData],
        ]);
        return;
      }
      case 'display_text':
        this.display = p.all('display_line').map((b) => b.toString('utf8'));
        await reply('ok');
        return;
      case 'print_lines':
        if (!this.printer) {
          await reply('not_supported', [['error_text', 'no printer']]);
          return;
        }
        this.printed.push(...p.all('print_line').map((b) => b.toString('utf8')));
        await reply('ok');
        return;
      case 'beep':
        this.beeps += p.byte('beep_count') ?? 1;
        await reply('ok');
        return;
      case 'mac':
      case 'verify_mac':
        return this.mac(name, p, reply);
      case 'load_capks':
        return this.loadParams('capk', p, reply);
      case 'load_aids':
        return this.loadParams('aid', p, reply);
    }
  }

  /** What load_capks / load_aids left in the reader (for the control API and tests). */
  get parameters(): {
    capk?: { digest: string; keys: string[] };
    aid?: { digest: string; aids: string[] };
  } {
    return {
      ...(this.capks
        ? {
            capk: {
              digest: this.capks.digest.toString('hex'),
              keys: this.capks.entries.map((c) => `${c.rid}/${c.index}`),
            },
          }
        : {}),
      ...(this.aids
        ? { aid: { digest: this.aids.digest.toString('hex'), aids: this.aids.entries.map((a) => a.aid) } }
        : {}),
    };
  }

  /** Forgets the CAPK and AID sets (a reader reset to factory state). */
  clearParameters(): void {
    this.capks = undefined;
    this.aids = undefined;
    this.pendingParts.clear();
  }

  private async loadParams(
    kind: 'capk' | 'aid',
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const part = p.require('param_part');
    if (part.length !== 2 || part[0]! < 1 || part[0]! > part[1]!) {
      await reply('bad_request', [['error_text', 'param_part: part number and count expected']]);
      return;
    }
    const [no, total] = [part[0]!, part[1]!];
    // Part 1 starts a set afresh; any other part must follow the one before it.
    if (no === 1) this.pendingParts.set(kind, { total, next: 1, entries: [] });
    const pending = this.pendingParts.get(kind);
    if (!pending || pending.next !== no || pending.total !== total) {
      this.pendingParts.delete(kind);
      await reply('bad_request', [['error_text', `param_part ${no}/${total} out of order`]]);
      return;
    }
    pending.entries.push(...p.all('param_entry').map((e) => Buffer.from(e)));
    pending.next++;
    if (no < total) {
      await reply('ok');
      return;
    }
    this.pendingParts.delete(kind);
    const digest = p.require('param_digest');
    if (!Buffer.from(readerParamDigest(pending.entries), 'hex').equals(digest)) {
      await reply('bad_request', [['error_text', 'param_digest does not match the entries']]);
      return;
    }
    try {
      if (kind === 'capk')
        this.capks = {
          digest: Buffer.from(digest),
          entries: pending.entries.map((e, i) => parseCapkEntry(e, i)),
        };
      else
        this.aids = {
          digest: Buffer.from(digest),
          entries: pending.entries.map((e, i) => parseAidEntry(e, i)),
        };
    } catch (e) {
      if (!(e instanceof ParamEntryError)) throw e;
      // The set held before stays: a set is taken whole or not at all.
      this.log?.warn({ kind, err: e.message }, 'parameter set refused');
      await reply(e.checkValue ? 'key_error' : 'bad_request', [['error_text', e.message]]);
      return;
    }
    this.log?.info({ kind, entries: pending.entries.length }, 'parameter set loaded');
    await reply('ok');
  }

  /**
   * Offline data authentication and the TAC-denial check for a chip read (see oda.ts); undefined when
   * the reader holds no CAPK set.
   */
  private authenticate(
    card: TestCard,
  ): { tvr: string; denied: string | undefined; unpredictableNumber: Buffer } | undefined {
    if (!this.capks || !card.imk) return undefined;
    const pan = card.pan.reveal();
    const aid = aidOf(card);
    const aip = Buffer.from('7C00', 'hex');
    let data = this.oda.get(card.id);
    if (!data) {
      data = personalise(pan, card.expiry, aip);
      this.oda.set(card.id, data);
    }
    const capk = this.capks.entries.find((c) => c.rid === aid.slice(0, 10) && c.index === data.caIndex);
    const b = this.behaviour;
    // EMV Book 3 10.3: DDA when card (AIP) and kernel both support it, else SDA.
    const method = b.odaMethod === 'dda' && (aip[0]! & AIP_DDA) !== 0 ? 'dda' : 'sda';
    // The DDOL's terminal dynamic data: the unpredictable number, the same 9F37 the ARQC then covers.
    const un = randomBytes(4);
    const result =
      method === 'dda'
        ? verifyDda(capk, data, pan, card.expiry, aip, un, signDynamicData(un, b.clonedCard))
        : verifySda(capk, data, pan, card.expiry, aip);
    const tvr = Buffer.alloc(5);
    if (method === 'sda') tvr[0] = result.ok ? TVR_SDA_SELECTED : TVR_SDA_FAILED;
    else if (!result.ok) tvr[0] = TVR_DDA_FAILED;
    this.lastOda = { card: card.id, method, ok: result.ok, ...(result.ok ? {} : { why: result.why }) };
    const params = this.aids?.entries.find((a) => aid.startsWith(a.aid) || a.aid.startsWith(aid));
    if (!result.ok)
      this.log?.info({ card: card.id, method, why: result.why }, 'offline data authentication failed');
    return {
      tvr: tvr.toString('hex').toUpperCase(),
      denied: tacDenies(tvr, params)
        ? `terminal action analysis: TAC-denial (${result.ok ? 'TVR' : result.why})`
        : undefined,
      unpredictableNumber: un,
    };
  }

  private async loadKeys(
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const field62 = p.require('field62');
    const layout = p.requireCode('key_layout', KEY_LAYOUT_CODES);
    const scheme: KeyScheme = p.has('key_scheme') ? p.requireCode('key_scheme', KEY_SCHEME_CODES) : 'des';
    if (!this.keySchemes.includes(scheme)) {
      await reply('not_supported', [['error_text', `no ${scheme} master key`]]);
      return;
    }
    try {
      const tmk = scheme === 'sm4' ? this.tmkSm4! : this.tmk;
      const clear = unwrapWorkingKeys(tmk, field62, layout, scheme);
      try {
        this.keys = {
          scheme,
          layout,
          pik: schemeKey(scheme, clear.pik, 'pik'),
          mak: schemeKey(scheme, clear.mak, 'mak'),
          tdk: clear.tdk ? schemeKey(scheme, clear.tdk, 'tdk') : undefined,
        };
      } finally {
        wipeWorkingKeys(clear);
      }
    } catch (e) {
      if (e instanceof CryptoError && e.code === 'kcv_mismatch') {
        const key = e.key === 'pik' || e.key === 'mak' || e.key === 'tdk' ? e.key : undefined;
        await reply('key_error', [['failed_key', key ? KEY_NAME_CODES[key] : undefined]]);
        return;
      }
      if (e instanceof CryptoError) {
        await reply('bad_request', [['error_text', e.code]]);
        return;
      }
      throw e;
    }
    const k = this.keyCheckValues;
    this.log?.info({ layout, scheme, kcv: kcvForLog(k) }, 'working keys loaded');
    if (this.behaviour.dropLinkAt === 'during_load_keys') {
      this.behaviour.dropLinkAt = null;
      this.dropLink();
      return;
    }
    await reply('ok', [
      ['kcv_tmk', Buffer.from(k.tmk, 'hex')],
      ['kcv_pik', k.pik ? Buffer.from(k.pik, 'hex') : undefined],
      ['kcv_mak', k.mak ? Buffer.from(k.mak, 'hex') : undefined],
      ['kcv_tdk', k.tdk ? Buffer.from(k.tdk, 'hex') : undefined],
    ]);
  }

  private async mac(
    name: 'mac' | 'verify_mac',
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const ksn = p.get('ksn');
    if (ksn && ksn.length > 0) {
      await this.dukptMac(name, ksn, p, reply);
      return;
    }
    if (!this.keys) {
      await reply('no_keys');
      return;
    }
    const algorithm = p.requireCode('mac_algorithm', MAC_ALGORITHM_CODES) as MacAlgorithm;
    const data = p.require('mac_data');
    let mac: Buffer;
    try {
      mac = schemeMac(this.keys.scheme, algorithm, this.keys.mak, data);
    } catch (e) {
      if (e instanceof CryptoError) {
        await reply('bad_request', [['error_text', e.code]]);
        return;
      }
      throw e;
    }
    if (name === 'mac') {
      await reply('ok', [['mac', mac]]);
      return;
    }
    const given = p.require('mac');
    await reply('ok', [['mac_valid', given.length === mac.length && given.equals(mac)]]);
  }

  /**
   * MAC / verify-MAC with a KSN: the DUKPT PIN pad's current transaction keys (request key to MAC what
   * the terminal sends, response key to check the host's answer). No session keys needed. Another KSN
   * than the current one is refused: the pad keeps no key of an earlier transaction.
   */
  private async dukptMac(
    name: 'mac' | 'verify_mac',
    ksn: Buffer,
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    if (!this.pinPad) {
      await reply('bad_request', [['error_text', 'no DUKPT key in this reader']]);
      return;
    }
    const data = p.require('mac_data');
    try {
      if (name === 'mac') {
        await reply('ok', [['mac', this.pinPad.mac(ksn, data, 'request')]]);
        return;
      }
      const ok = this.pinPad.verifyMac(ksn, data, p.require('mac'), 'response');
      await reply('ok', [['mac_valid', ok]]);
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      await reply('bad_request', [['error_text', String(e.reason ?? e.code)]]);
    }
  }

  // ------------------------------------------------------------------ transactions

  private live(): SimTxn | undefined {
    const t = this.txn;
    return t && (t.stage === 'waiting_card' || t.stage === 'card_read') ? t : undefined;
  }

  private async start(
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const reference = p.requireText('reference', /^[\x21-\x7e]{1,64}$/);
    const live = this.live();
    if (live) {
      // A repeated START for the transaction in progress is answered again, never restarted.
      await reply(
        live.reference === reference ? 'ok' : 'busy',
        live.reference === reference ? [] : [['error_text', 'transaction in progress']],
      );
      return;
    }
    const amount = decodeAmount(p.require('amount'));
    const currency = decodeCurrency(p.require('currency'));
    if (amount === undefined) throw p.error('amount', 'bad_value', 'n12 BCD expected');
    if (currency === undefined) throw p.error('currency', 'bad_value', 'n3 BCD expected');
    const type = p.requireCode('transaction_type', TRANSACTION_TYPE_CODES);
    const timeoutSeconds = p.uint('timeout') ?? 60;
    const interfaces = decodeInterfaces(p.requireByte('interfaces'));
    const pinAllowed = p.byte('pin_allowed') === 1;
    if (this.behaviour.batteryPercent < this.behaviour.lowBatteryThreshold) {
      await reply('low_battery', [['error_text', 'battery too low for a transaction']]);
      return;
    }
    if (!this.keys) {
      await reply('no_keys', [['error_text', 'no working keys (sign on first)']]);
      return;
    }
    const txn: SimTxn = {
      reference,
      request: { amount, currency, type, interfaces, pinAllowed, timeoutSeconds },
      stage: 'waiting_card',
      outcome: undefined,
      reason: undefined,
      cardId: this.behaviour.card,
      read: undefined,
      completion: undefined,
      cancelledByOperator: false,
      abort: new AbortController(),
      startedAt: new Date(),
    };
    if (this.txn) this.archive(this.txn);
    this.txn = txn;
    this.log?.info({ reference, type, amount: amount.toString(), currency }, 'transaction started');
    await reply('ok');
    void this.scenario(txn).catch((e: unknown) => {
      if (!txn.abort.signal.aborted) this.log?.error({ err: e }, 'scenario failed');
    });
  }

  private archive(t: SimTxn): void {
    if (!this.history.includes(t)) this.history.push(t);
    if (this.history.length > 50) this.history.shift();
  }

  private async scenario(txn: SimTxn): Promise<void> {
    const b = this.behaviour;
    const signal = txn.abort.signal;
    const sleep = (ms: number): Promise<void> => abortableSleep(ms, signal);
    await this.progress(txn, 'present_card');
    if (b.dropLinkAt === 'before_card_read') {
      this.behaviour.dropLinkAt = null;
      this.dropLink();
      // The customer never gets to present the card: the transaction waits until cancelled or timed out.
      await sleep(txn.request.timeoutSeconds * 1000);
      return this.end(txn, 'timeout', 'no card presented');
    }
    if (b.customerCancels) {
      await sleep(b.cardDelayMs);
      return this.end(txn, 'cancelled_customer', 'cancelled on the reader');
    }
    if (b.noCard) {
      await sleep(b.noCardTimeoutMs ?? txn.request.timeoutSeconds * 1000);
      return this.end(txn, 'timeout', 'no card presented');
    }
    await sleep(b.cardDelayMs);
    const card = this.cards.byId(b.card);
    if (!card) return this.end(txn, 'card_error', 'unknown card');
    txn.cardId = card.id;
    const how = choosePresentation(card, b.presentation, txn.request.interfaces);
    if (!how) return this.end(txn, 'card_error', 'card cannot be read with the interfaces allowed');
    await this.progress(txn, 'card_detected');
    if (wantsPin(card, how.iface, txn.request) && card.pin) {
      await this.progress(txn, 'pin_entry_started');
      for (let i = 1; i <= card.pin.length; i++) {
        await sleep(b.pinDigitDelayMs);
        await this.progress(txn, 'pin_digit_entered', i);
      }
    }
    await this.progress(txn, 'processing');
    await sleep(b.processingDelayMs);
    const keys = this.keys;
    if (!keys) return this.end(txn, 'card_error', 'working keys gone');
    const chipRead = (how.iface === 'chip' || how.iface === 'contactless') && !how.fallback;
    const oda = chipRead ? this.authenticate(card) : undefined;
    if (oda?.denied) return this.end(txn, 'declined_offline', oda.denied);
    const atc = (this.atc.get(card.id) ?? 0x0010) + 1;
    this.atc.set(card.id, atc);
    txn.read = readCard({
      card,
      iface: how.iface,
      fallback: how.fallback,
      request: txn.request,
      keys,
      atc,
      transactionCounter: ++this.transactionCounter,
      wrongPin: b.wrongPin,
      terminalSerial: this.serialNumber,
      ...(this.pinPad ? { pinPad: this.pinPad } : {}),
      ...(oda ? { tvr: oda.tvr, unpredictableNumber: oda.unpredictableNumber } : {}),
    });
    txn.stage = 'card_read';
    txn.outcome = 'card_read';
    this.log?.info(
      {
        reference: txn.reference,
        card: card.id,
        pan: card.pan,
        interface: how.iface,
        fallback: how.fallback,
      },
      'card read',
    );
    if (this.behaviour.dropLinkAt === 'after_card_read') {
      // The card is read, the host never hears of it: it finds out with LAST_STATUS after reconnecting.
      this.behaviour.dropLinkAt = null;
      this.dropLink();
      return;
    }
    if (how.iface === 'contactless') await this.progress(txn, 'remove_card');
    await this.notify('transaction_event', [
      ['reference', txn.reference],
      ['outcome', OUTCOME_CODES.card_read],
    ]);
  }

  private async end(txn: SimTxn, outcome: TransactionOutcome, reason: string): Promise<void> {
    if (txn.stage !== 'waiting_card') return;
    txn.stage = 'cancelled';
    txn.outcome = outcome;
    txn.reason = reason;
    this.log?.info({ reference: txn.reference, outcome }, 'transaction ended without a card');
    await this.notify('transaction_event', [
      ['reference', txn.reference],
      ['outcome', OUTCOME_CODES[outcome]],
      ['reason', reason],
    ]);
  }

  private async cardResult(
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const reference = p.requireText('reference');
    const t = this.txn;
    if (!t || t.reference !== reference || t.stage !== 'card_read' || !t.read) {
      await reply('no_transaction');
      return;
    }
    const r = t.read;
    await reply('ok', [
      ['reference', t.reference],
      ['pan', r.card.pan.reveal()],
      ['track2', r.trackTwo?.reveal()],
      ['pin_block', r.pinBlock?.reveal()],
      ['ksn', r.ksn],
      ['icc_data', r.iccData],
      ['entry_mode', r.entryMode],
      ['card_sequence_number', r.cardSequenceNumber],
      ['expiry', r.expiry],
      ['interface', INTERFACE_BITS[r.interface]],
      ['fallback', r.fallback],
    ]);
  }

  private async complete(
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const reference = p.requireText('reference');
    const approved = p.byte('approved') === 1;
    const unable = p.byte('unable_to_go_online') === 1;
    const issuerData = p.get('issuer_data');
    const t =
      this.txn?.reference === reference ? this.txn : this.history.find((h) => h.reference === reference);
    if (!t) {
      await reply(this.live() ? 'reference_mismatch' : 'no_transaction');
      return;
    }
    if (t.stage === 'completed' && t.completion) return this.replyCompletion(t, reply);
    if (t.stage !== 'card_read' || !t.read) {
      await reply('wrong_state', [['error_text', `transaction is ${t.stage}`]]);
      return;
    }
    if (approved && this.behaviour.dropLinkAt === 'after_host_approval') {
      // The host's approval never reaches the card: the reader stays at card_read.
      this.behaviour.dropLinkAt = null;
      this.dropLink();
      return;
    }
    if (this.behaviour.cardRemovedBeforeCompletion) {
      t.stage = 'completed';
      t.completion = { status: 'card_removed', result: undefined };
      this.log?.info({ reference }, 'card removed before completion');
      return this.replyCompletion(t, reply);
    }
    const result = completeCard({
      read: t.read,
      approved,
      unableToGoOnline: unable,
      issuerData,
      chipDeclines: this.behaviour.chipDeclines,
    });
    t.stage = 'completed';
    t.completion = { status: 'ok', result };
    this.log?.info(
      { reference, cryptogram: result.cryptogram, issuerAuthenticated: result.issuerAuthenticated },
      'transaction completed',
    );
    if (t.read.interface === 'chip') await this.progress(t, 'remove_card');
    return this.replyCompletion(t, reply);
  }

  private async replyCompletion(
    t: SimTxn,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const c = t.completion!;
    if (c.status === 'card_removed') {
      await reply('card_removed', [['error_text', 'card removed before completion']]);
      return;
    }
    const r = c.result!;
    await reply('ok', [
      ['reference', t.reference],
      ['cryptogram', CRYPTOGRAM_CODES[r.cryptogram]],
      ['icc_data', r.iccData],
      ['script_results', r.scriptResults],
    ]);
  }

  private async cancel(
    p: Payload,
    reply: (s: StatusName, e?: ReadonlyArray<readonly [TagName, TagValue | undefined]>) => Promise<boolean>,
  ): Promise<void> {
    const reference = p.text('reference');
    const t = this.txn;
    const outcome = (o: CancelOutcome): Promise<boolean> =>
      reply('ok', [
        ['cancel_outcome', CANCEL_CODES[o]],
        ['reference', t?.reference],
      ]);
    if (!t || (reference !== undefined && t.reference !== reference)) {
      await outcome('no_transaction');
      return;
    }
    switch (t.stage) {
      case 'waiting_card':
        t.abort.abort();
        t.stage = 'cancelled';
        t.outcome = 'cancelled_operator';
        t.cancelledByOperator = true;
        this.log?.info({ reference: t.reference }, 'transaction cancelled by the operator');
        await outcome('cancelled');
        await this.notify('transaction_event', [
          ['reference', t.reference],
          ['outcome', OUTCOME_CODES.cancelled_operator],
        ]);
        return;
      case 'card_read':
        await outcome('too_late_card_read');
        return;
      case 'completed':
        await outcome('too_late_completed');
        return;
      case 'cancelled':
        // A repeated cancel (its answer was lost) gets the same answer.
        await outcome(t.cancelledByOperator ? 'cancelled' : 'no_transaction');
        return;
    }
  }
}

function viewOf(t: SimTxn): SimTxnView {
  const v: SimTxnView = {
    reference: t.reference,
    type: t.request.type,
    amount: t.request.amount.toString(),
    currency: t.request.currency,
    stage: t.stage,
    startedAt: t.startedAt.toISOString(),
  };
  if (t.outcome) v.outcome = t.outcome;
  if (t.read) {
    v.card = t.read.card.id;
    v.pan = t.read.card.pan.masked;
    v.interface = t.read.fallback ? 'fallback' : t.read.interface;
    v.entryMode = t.read.entryMode;
    v.pinEntered = t.read.pinEntered;
  }
  if (t.completion) {
    v.completion = t.completion.status;
    if (t.completion.result) {
      v.cryptogram = t.completion.result.cryptogram;
      if (t.completion.result.issuerAuthenticated !== undefined)
        v.issuerAuthenticated = t.completion.result.issuerAuthenticated;
    }
  }
  return v;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
