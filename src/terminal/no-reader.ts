import { EventEmitter } from 'node:events';
import { CryptoError, type KeyCheckValues, type SecurityModule } from '../crypto/index.js';
import { ReaderError } from './errors.js';
import type {
  CancelResult,
  CardReader,
  CompleteResult,
  LastTransactionStatus,
  ReaderInfo,
  StartResult,
} from './reader.js';

const absent = (): ReaderError =>
  new ReaderError(
    'reader_disconnected',
    'no card reader is configured (this desk pays on its integrated terminal)',
    {
      reason: 'bad_config',
    },
  );

/**
 * The card reader of a desk that has none (a ZVT-only desk: the integrated terminal reads the card).
 * Always disconnected; every command answers as a missing reader would, never pretends to work.
 */
export class NoReader extends EventEmitter implements CardReader {
  readonly state = 'disconnected' as const;
  readonly securityModule: SecurityModule = {
    macAlgorithm: 'cup-ecb',
    mac: () => Promise.reject(new CryptoError('no_working_keys', 'no card reader: no working keys')),
    verifyMac: () => Promise.resolve(false),
    loadWorkingKeys: () => Promise.reject(absent()),
    keyCheckValues: (): Promise<KeyCheckValues> => Promise.resolve({ tmk: '' }),
  } as SecurityModule;
  async info(): Promise<ReaderInfo> {
    throw absent();
  }
  async startTransaction(): Promise<StartResult> {
    return { status: 'error', code: 'reader_disconnected', message: absent().message };
  }
  async completeTransaction(): Promise<CompleteResult> {
    return { status: 'error', code: 'reader_disconnected', message: absent().message };
  }
  async cancel(): Promise<CancelResult> {
    return { status: 'no_transaction' };
  }
  async lastTransactionStatus(): Promise<LastTransactionStatus> {
    return { stage: 'none' };
  }
  async displayText(): Promise<void> {
    throw absent();
  }
  async printLines(): Promise<void> {
    throw absent();
  }
  async beep(): Promise<void> {}
  async close(): Promise<void> {}
}
