/**
 * What the PT flows (flows.ts) use of the simulated terminal. `ZvtTerminalSimulator` implements it;
 * kept apart so that flows.ts and terminal.ts do not import each other.
 */
import type { Logger } from 'pino';
import type { ZvtMessage } from '../../src/terminal/zvt/index.js';
import type { CardTable } from '../shared/cards.js';
import type { ZvtBehaviour } from './behaviour.js';
import type { ZvtLedger } from './ledger.js';
import type { ReceiptCopy } from './receipts.js';

/** The last transaction's Status-Information and receipt copies (for Repeat Receipt). */
export interface LastTransaction {
  status: ZvtMessage;
  copies: ReceiptCopy[];
}

export interface FlowSim {
  readonly behaviour: ZvtBehaviour;
  readonly ledger: ZvtLedger;
  readonly cards: CardTable;
  readonly terminalId: string;
  readonly currencies: Set<string>;
  readonly swVersion: string;
  readonly log: Logger | undefined;
  readonly printed: string[][];
  configByte: number;
  textBlocks: boolean;
  last: LastTransaction | undefined;
  consume(key: 'approveThenDropCompletion' | 'disconnectMidTransaction'): boolean;
}
