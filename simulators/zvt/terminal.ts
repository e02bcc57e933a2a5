/**
 * The simulated ZVT payment terminal (PT): registration state, behaviour, ledger and the dispatch of
 * ECR commands. One ECR connection at a time: a new one replaces the old. The transaction flows are in
 * flows.ts.
 */
import type { Logger } from 'pino';
import {
  SerialZvtLink,
  apduCode,
  decodeMessage,
  encodePassword,
  field,
  findBmp,
  loadZvtTables,
  nibbles,
  zvtMessages as M,
  decodeTlv,
  findTlv,
  type Apdu,
  type ZvtLink,
  type ZvtMessage,
  type ZvtTables,
} from '../../src/terminal/zvt/index.js';
import { loadCards, type CardTable } from '../shared/cards.js';
import { DEFAULT_ZVT_BEHAVIOUR, parseZvtBehaviour, type ZvtBehaviour } from './behaviour.js';
import type { FlowSim, LastTransaction } from './flow-sim.js';
import * as flows from './flows.js';
import { ZvtLedger, type ZvtTxn } from './ledger.js';
import { PtSession } from './session.js';

export const DEFAULT_SIM_PASSWORD = '123456';
export const DEFAULT_SIM_TERMINAL_ID = '52500001';
/** The config byte after Log-Off (spec15 §2.24); the simulator also starts with it. */
export const LOGGED_OFF_CONFIG = 0x86;
/**
 * A wrong password is answered 84 83 ("function not possible"): the spec defines no password error
 * code, 83 is its generic refusal.
 */
export const WRONG_PASSWORD_APRC = 0x83;
/** 84 A0 "receiver not ready" (the spec's busy, e.g. Display Image: "Receiver is busy"). */
export const BUSY_APRC = 0xa0;

/** Commands that carry a password checked by the simulator. */
const PASSWORD_COMMANDS = new Set(['06 00', '06 20', '06 30', '06 31', '06 50']);
/** Commands refused while `busy`. */
const TRANSACTION_COMMANDS = new Set([
  '06 01',
  '06 20',
  '06 22',
  '06 24',
  '06 25',
  '06 30',
  '06 31',
  '06 50',
  '06 70',
]);

export interface ZvtSimulatorOptions {
  /** The terminal's 6-digit password (default 123456). */
  password?: string;
  /** 8 digits (BMP 29, default 52500001). */
  terminalId?: string;
  /** ISO 4217 numeric codes accepted (default 978 and the card table's currency). */
  currencies?: string[];
  behaviour?: Partial<ZvtBehaviour>;
  cardsFile?: string;
  /** How long the terminal waits for the ECR's 80 00 to its messages (default 5000 ms). */
  ackTimeoutMs?: number;
  swVersion?: string;
  logger?: Logger;
}

export type { LastTransaction } from './flow-sim.js';

export class ZvtTerminalSimulator implements FlowSim {
  readonly ledger = new ZvtLedger();
  readonly tables: ZvtTables;
  readonly cards: CardTable;
  readonly password: string;
  readonly terminalId: string;
  readonly currencies: Set<string>;
  readonly swVersion: string;
  readonly log: Logger | undefined;
  private current: ZvtBehaviour;
  configByte = LOGGED_OFF_CONFIG;
  registered = false;
  /** The ECR listed 06 D3 at registration: receipts go as text blocks. */
  textBlocks = false;
  last: LastTransaction | undefined;
  /** Receipts the terminal printed on its own printer (the ECR did not take them). */
  readonly printed: string[][] = [];
  private session: PtSession | undefined;
  private readonly ackTimeoutMs: number;

  constructor(options: ZvtSimulatorOptions = {}) {
    this.tables = loadZvtTables();
    this.cards = loadCards(options.cardsFile);
    this.password = options.password ?? DEFAULT_SIM_PASSWORD;
    encodePassword(this.password);
    this.terminalId = options.terminalId ?? DEFAULT_SIM_TERMINAL_ID;
    if (!/^[0-9]{8}$/.test(this.terminalId)) throw new Error('terminalId must be 8 digits');
    this.currencies = new Set(options.currencies ?? ['978', this.cards.currency]);
    this.swVersion = options.swVersion ?? 'posbridge-zvt-sim 1.0';
    this.log = options.logger;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.current = { ...DEFAULT_ZVT_BEHAVIOUR };
    if (options.behaviour) this.setBehaviour(options.behaviour);
  }

  get behaviour(): ZvtBehaviour {
    const b = { ...this.current, disabledCommands: [...this.current.disabledCommands] };
    const link = this.session?.link;
    if (link instanceof SerialZvtLink) {
      b.nakFrames = link.nakNext;
      b.badCrc = link.corruptNext;
    }
    return b;
  }

  get connected(): boolean {
    return this.session !== undefined && !this.session.closed;
  }

  /** Merges a partial behaviour (validated; throws `ZvtBehaviourError`) and returns the whole behaviour. */
  setBehaviour(raw: unknown): ZvtBehaviour {
    const b = parseZvtBehaviour(raw, (id) => this.cards.byId(id) !== undefined);
    this.current = { ...this.current, ...b };
    this.applyCounters();
    return this.behaviour;
  }

  /** One-shot faults clear themselves. */
  consume(key: 'approveThenDropCompletion' | 'disconnectMidTransaction'): boolean {
    if (!this.current[key]) return false;
    this.current = { ...this.current, [key]: false };
    return true;
  }

  private applyCounters(): void {
    const link = this.session?.link;
    if (link instanceof SerialZvtLink) {
      link.nakNext = this.current.nakFrames;
      link.corruptNext = this.current.badCrc;
    }
  }

  reset(): void {
    this.current = { ...DEFAULT_ZVT_BEHAVIOUR };
    this.applyCounters();
    this.ledger.reset();
    this.last = undefined;
    this.printed.length = 0;
    this.registered = false;
    this.configByte = LOGGED_OFF_CONFIG;
    this.textBlocks = false;
  }

  transactions(): ZvtTxn[] {
    return this.ledger.all();
  }

  /**
   * Serves an ECR over `link` (already open); `rawWrite` writes bytes outside the protocol (the
   * banner). Replaces the previous connection.
   */
  attach(link: ZvtLink, rawWrite?: (bytes: Buffer) => Promise<void>): PtSession {
    const old = this.session;
    if (old) void old.close();
    const s = new PtSession(
      link,
      this.tables,
      this.ackTimeoutMs,
      (session, a) => this.onCommand(session, a),
      this.log,
    );
    this.session = s;
    if (link instanceof SerialZvtLink) {
      // Counters set before the link existed apply to it.
      link.nakNext = this.current.nakFrames;
      link.corruptNext = this.current.badCrc;
    }
    const banner = this.current.nonZvtBanner;
    if (banner && rawWrite) void rawWrite(Buffer.from(banner, 'latin1')).catch(() => undefined);
    link.on('close', () => {
      if (this.session === s) this.session = undefined;
    });
    return s;
  }

  /** Closes the current ECR connection (a fault, or `close()`). */
  async dropConnection(): Promise<void> {
    await this.session?.close();
  }

  async close(): Promise<void> {
    await this.dropConnection();
  }

  private async onCommand(s: PtSession, a: Apdu): Promise<void> {
    const code = apduCode(a);
    let m: ZvtMessage;
    try {
      m = decodeMessage(a, { direction: 'ECR->PT', tables: this.tables });
    } catch (e) {
      // Unknown BMPs and malformed data blocks: "function not possible" (spec15 §13).
      this.log?.info({ command: code, err: (e as Error).message }, 'ZVT simulator: undecodable command');
      return s.send(M.nack(0x83));
    }
    this.log?.info({ command: code }, 'ZVT simulator: command');
    if (this.current.disabledCommands.includes(code)) return s.send(M.nack(0x83));
    if (PASSWORD_COMMANDS.has(code)) {
      const pw = field(m, 'password');
      if (!pw || nibbles(pw) !== this.password) return s.send(M.nack(WRONG_PASSWORD_APRC));
    }
    if (this.current.busy && TRANSACTION_COMMANDS.has(code)) return s.send(M.nack(BUSY_APRC));
    switch (code) {
      case '06 00':
        return this.register(s, m);
      case '06 02':
        this.registered = false;
        this.configByte = LOGGED_OFF_CONFIG;
        this.textBlocks = false;
        return s.send(M.ack());
      case '06 B0':
        return s.send(M.ack()); // nothing runs
      case '06 01':
        return flows.cardPayment(this, s, m, 'sale');
      case '06 22':
        return flows.cardPayment(this, s, m, 'preauth');
      case '06 31':
        return flows.cardPayment(this, s, m, 'refund');
      case '06 30':
        return flows.byReceipt(this, s, m, 'void');
      case '06 24':
        return flows.byReceipt(this, s, m, 'capture');
      case '06 25':
        return flows.byReceipt(this, s, m, 'preauth_void');
      case '06 20':
        return flows.repeatReceipt(this, s, m);
      case '06 50':
        return flows.endOfDay(this, s, m);
      case '06 70':
        return flows.diagnosis(this, s);
      case '05 01':
        return flows.statusEnquiry(this, s, m);
      default:
        return s.send(M.nack(0x83));
    }
  }

  private async register(s: PtSession, m: ZvtMessage): Promise<void> {
    const cc = field(m, 'CC');
    if (cc && !this.currencies.has(nibbles(cc).replace(/^0/, ''))) {
      // 84 1E 6F [<CC>]: registration refused because of the currency (spec15 §2.1).
      return s.send({
        cls: 0x84,
        ins: 0x1e,
        fields: [],
        text: Buffer.concat([Buffer.from([0x6f]), cc]),
        bmps: [],
      });
    }
    const config = field(m, 'config-byte')?.[0] ?? LOGGED_OFF_CONFIG;
    let textBlocks = false;
    const container = findBmp(m.bmps, 0x06);
    if (container) {
      try {
        const list = findTlv(decodeTlv(container.value), '26');
        textBlocks = (list?.children ?? []).some(
          (n) => n.tag === '0A' && n.value.equals(Buffer.from([0x06, 0xd3])),
        );
      } catch {
        textBlocks = false;
      }
    }
    await s.send(M.ack());
    this.configByte = config;
    this.registered = true;
    this.textBlocks = textBlocks;
    await s.request(flows.registrationCompletion(this, cc));
  }
}
