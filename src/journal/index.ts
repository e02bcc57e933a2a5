export { Journal, JOURNAL_FILE, type JournalOptions } from './journal.js';
export { StateDirLock, LOCK_FILE } from './lock.js';
export { JournalError, type JournalErrorCode } from './errors.js';
export * from './types.js';
export { activeParamSet, paramSets, type ParamSetKind, type ParamSetRow } from './terminal-params.js';
