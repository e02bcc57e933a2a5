/** The running host simulator as its control API and tests see it (apart from index.ts, which starts it). */
import type { Dialect } from '../../src/iso8583/index.js';
import type { CardTable } from '../shared/cards.js';
import type { DukptDeviceState } from './authorizer.js';
import type { FaultRules } from './faults.js';
import type { Ledger } from './ledger.js';
import type { TerminalParamServer } from './terminal-params.js';
export interface HostSimulator {
  readonly isoPort: number;
  readonly controlPort: number | undefined;
  readonly ledger: Ledger;
  readonly faults: FaultRules;
  readonly cards: CardTable;
  readonly dialect: Dialect;
  /** Terminal management: the CAPK / AID set served, and the "download again" flag. */
  readonly params: TerminalParamServer;
  /** DUKPT devices (initial key IDs) seen, with the highest KSN counter used (the KSN replay rule). */
  dukptDevices(): DukptDeviceState[];
  /** Open terminal connections. */
  readonly connections: number;
  /**
   * Back to opening balances, no transactions, no faults, no DUKPT counters (terminal keys are kept).
   */
  reset(): void;
  /** Writes the settlement file for a filter now; returns its path and content. */
  writeSettlementFile(filter?: { tid?: string; batch?: string }): Promise<{ path: string; csv: string }>;
  /** Stops listening, closes every connection, flushes the ledger. */
  close(): Promise<void>;
}
