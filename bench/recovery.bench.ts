/**
 * Recovery: time to recover 1,000 operations a crash left in `authorizing` (request journaled, answer
 * lost), against the in-process host simulator answering at once, and reversals per second through the
 * queue. Goal: under 5 s for the 1,000.
 */
import { Pan } from '../src/card/index.js';
import { prepareReversal, cardRequest } from '../src/engine/messages.js';
import type { Journal } from '../src/journal/index.js';
import { startStack } from './stack.js';

export async function run(): Promise<void> {
  const n = 1000;
  const pan = Pan.fromDigits('6212345678000000010');
  // What a crash leaves: n operations in `authorizing` with a pending attempt and a prepared reversal.
  const crash = (journal: Journal): void => {
    journal.transaction(() => {
      for (let i = 0; i < n; i++) {
        const id = `crashed-${i}`;
        const stan = String(i + 1).padStart(6, '0');
        const op = journal.insertOperation({
          id,
          kind: 'sale',
          idempotencyKey: id,
          paramsHash: 'x',
          operatorId: 'bench',
          orderId: null,
          originalId: null,
          amount: 10_000,
          currency: '156',
          state: 'authorizing',
          terminalId: 'RECOV001',
          readerId: null,
          batch: '000001',
        });
        const msg = cardRequest(
          'sale',
          op,
          { pan, entryMode: '051', interface: 'chip', fallback: false },
          undefined,
          {
            terminalId: 'RECOV001',
            merchantId: '898310048160001',
            currency: '156',
            batch: '000001',
            stan,
            now: new Date(),
            partialApproval: false,
          },
        );
        journal.updateOperation(id, { stan, localDate: '1125' });
        journal.sealPan(id, pan);
        journal.insertAttempt({ operationId: id, purpose: 'request', mti: '0200', stan, batch: '000001' });
        journal.insertSaf({
          lane: 'reversal',
          operationId: id,
          kind: 'reversal',
          status: 'prepared',
          reason: null,
          message: { ...prepareReversal(msg, undefined) },
        });
      }
    });
    journal.set('stan', n);
  };
  const { journal, engine, close } = await startStack({
    terminalId: 'RECOV001',
    prepare: crash,
    config: { useStatusInquiry: false },
  });
  const t0 = performance.now();
  const report = await engine.recover();
  const ms = performance.now() - t0;
  const open = journal.openOperations().length;
  const reversed = journal.recentOperations(n).filter((o) => o.state === 'reversed').length;
  console.log(
    `  recovered ${report.examined} crashed operations in ${(ms / 1000).toFixed(2)} s (goal < 5 s): ${reversed} reversed, ${open} still open`,
  );
  console.log(
    `  reversals through the queue: ${Math.round((reversed * 1000) / ms).toLocaleString('en-US')}/s (each journaled before sending, one at a time, in order)`,
  );
  await close();
}
