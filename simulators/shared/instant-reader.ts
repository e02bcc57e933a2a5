import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SensitiveBytes } from '../../src/card/index.js';
import { SoftwareSecurityModule } from '../../src/crypto/index.js';
import { encodeTlv, findTlv, parseTlv, tlv } from '../../src/emv/index.js';
import type {
  CancelResult,
  CardReader,
  CardResult,
  CompleteResult,
  CompleteTransaction,
  LastTransactionStatus,
  ReaderInfo,
  ReaderProgressEvent,
  ReaderState,
  StartResult,
  StartTransaction,
} from '../../src/terminal/reader.js';
import { loadCards, type TestCard } from './cards.js';
import { chipRequestData } from './cryptogram.js';

export const READER_TMK = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');

export type FakeBehaviour = 'normal' | 'cancel' | 'no_card' | 'aac' | 'removed' | 'error';

/**
 * An in-process card reader that answers at once: for engine tests and benchmarks, where the reader
 * protocol is not what is measured (the reader simulator and the driver have their own suites). Reads
 * the chosen test card with a real ARQC and a real PIN block under the PIK it holds.
 */
export class InstantReader extends EventEmitter implements CardReader {
  readonly securityModule = new SoftwareSecurityModule(READER_TMK, { macAlgorithm: 'cup-ecb' });
  state: ReaderState = 'idle';
  behaviour: FakeBehaviour = 'normal';
  entry: 'chip' | 'contactless' | 'magstripe' = 'chip';
  card: TestCard;
  atc = 1;
  starts = 0;
  completions: CompleteTransaction[] = [];
  private last: LastTransactionStatus = { stage: 'none' };
  private readonly cards = loadCards();

  constructor(cardId = 'cup-debit-chip') {
    super();
    this.card = this.pick(cardId);
  }

  pick(id: string): TestCard {
    const c = this.cards.cards.find((x) => x.id === id);
    if (!c) throw new Error(`no test card ${id}`);
    this.card = c;
    return c;
  }

  async info(): Promise<ReaderInfo> {
    return {
      serialNumber: 'FAKE0001',
      model: 'fake',
      firmware: '1.0',
      keyCheckValues: await this.securityModule.keyCheckValues(),
    };
  }

  async startTransaction(
    reference: string,
    request: StartTransaction,
    onProgress?: (e: ReaderProgressEvent) => void,
  ): Promise<StartResult> {
    this.starts++;
    this.state = 'busy';
    this.last = { reference, stage: 'waiting_card' };
    onProgress?.({ progress: 'present_card', at: new Date() });
    await new Promise((r) => setTimeout(r, 2));
    if (this.behaviour === 'cancel') return this.end({ status: 'cancelled', by: 'customer' }, 'cancelled');
    if (this.behaviour === 'no_card') return this.end({ status: 'timeout' }, 'cancelled');
    if (this.behaviour === 'error')
      return this.end({ status: 'error', code: 'card_error', message: 'card unreadable' }, 'cancelled');
    onProgress?.({ progress: 'card_detected', at: new Date() });
    const c = this.card;
    const chip = this.entry !== 'magstripe' && c.imk !== null;
    const pin = this.entry === 'chip' && c.pin !== null;
    const extra = c.token
      ? [
          tlv('9F6E', Buffer.from('20700000', 'hex')),
          tlv('9F19', Buffer.from(c.token.tokenRequestorId.padStart(12, '0'), 'hex')),
          tlv('9F24', Buffer.from(c.token.par)),
          tlv('9F25', Buffer.from(c.token.fundingPanLast4, 'hex')),
        ]
      : [];
    const icc = chip
      ? Buffer.concat([
          chipRequestData(
            { pan: c.pan, psn: c.psn, imk: c.imk!, cvn: c.cvn },
            {
              amount: Number(request.amount),
              atc: this.atc++,
              transactionType: request.type === 'balance' ? '30' : request.type === 'preauth' ? '03' : '00',
              extra,
            },
          ),
          // Sensitive tags a real reader sends too: the engine must drop them from field 55.
          encodeTlv([
            tlv('5A', Buffer.from(`${c.pan.reveal()}${c.pan.length % 2 ? 'F' : ''}`, 'hex')),
            tlv('5F24', Buffer.from(`${c.expiry}31`, 'hex')),
          ]),
        ])
      : undefined;
    if (pin) onProgress?.({ progress: 'pin_entry_started', at: new Date() });
    const card: CardResult = {
      pan: c.pan,
      entryMode: this.entry === 'chip' ? (pin ? '051' : '052') : this.entry === 'contactless' ? '072' : '022',
      interface: this.entry,
      fallback: false,
      expiry: SensitiveBytes.fromText(c.expiry),
      ...(c.psn ? { cardSequenceNumber: `0${c.psn}` } : {}),
      ...(icc ? { iccData: icc } : {}),
      ...(pin ? { pinBlock: await this.securityModule.encryptPinBlock!(c.pin!, c.pan) } : {}),
    };
    this.last = { reference, stage: 'card_read' };
    onProgress?.({ progress: 'processing', at: new Date() });
    return { status: 'card_read', card };
  }

  async completeTransaction(reference: string, answer: CompleteTransaction): Promise<CompleteResult> {
    this.completions.push(answer);
    this.state = 'idle';
    if (!answer.approved) {
      this.last = { reference, stage: 'completed', cryptogram: 'aac' };
      return { status: 'completed', cryptogram: 'aac' };
    }
    if (this.behaviour === 'removed') {
      this.last = { reference, stage: 'card_read' };
      return { status: 'card_removed' };
    }
    if (this.behaviour === 'aac' || this.entry === 'magstripe' || !this.card.imk) {
      const cryptogram = this.behaviour === 'aac' ? 'aac' : 'none';
      this.last = { reference, stage: 'completed', cryptogram };
      return { status: 'completed', cryptogram };
    }
    const tc = randomBytes(8); // the host does not check a TC; the upload just carries it
    const iccData = encodeTlv([tlv('9F26', tc), tlv('9F27', Buffer.from('40', 'hex'))]);
    const scripts =
      answer.issuerData && findTlv(parseTlv(answer.issuerData).elements, '72')
        ? Buffer.from('2000000001', 'hex')
        : undefined;
    this.last = { reference, stage: 'completed', cryptogram: 'tc', iccData };
    return {
      status: 'completed',
      cryptogram: 'tc',
      iccData,
      ...(scripts ? { scriptResults: encodeTlv([tlv('DF31', scripts)]) } : {}),
    };
  }

  async cancel(): Promise<CancelResult> {
    return this.last.stage === 'waiting_card'
      ? { status: 'cancelled' }
      : this.last.stage === 'none'
        ? { status: 'no_transaction' }
        : { status: 'too_late', stage: 'card_read' };
  }

  async lastTransactionStatus(): Promise<LastTransactionStatus> {
    return this.last;
  }

  async displayText(): Promise<void> {}
  async printLines(): Promise<void> {}
  async beep(): Promise<void> {}
  async close(): Promise<void> {}

  private end(r: StartResult, stage: LastTransactionStatus['stage']): StartResult {
    this.state = 'idle';
    this.last = { ...this.last, stage };
    return r;
  }
}
