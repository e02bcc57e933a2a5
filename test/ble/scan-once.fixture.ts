/**
 * Child process for no-adapter.test.ts: one `scanReaders()` with the real default bindings, the result
 * as a JSON line on stdout, logs (noble's lines included) to stderr as pino JSON; then it must exit by
 * itself.
 */
import { pino } from 'pino';
import { scanReaders } from '../../src/terminal/index.js';

const logger = pino({ level: 'info' }, pino.destination(2));
const res = await scanReaders({ timeoutMs: 300, logger });
process.stdout.write(`${JSON.stringify(res)}\n`);
