import { describe, expect, it } from 'vitest';
import { seedFromEnv } from '../support/prng.js';
import { chaosRun, zvtChaosRun, zvtLedgerProblems } from './chaos-run.js';

// Issue 7's acceptance test. `npm run soak` runs the long version (10,000 payments, 300 kills).
describe('chaos: payments under random faults with the engine process killed and restarted', () => {
  it(
    'every operation ends final, the journal and the host ledger agree, no double charge, no PAN at rest or in logs',
    async () => {
      const seed = seedFromEnv('chaos');
      const payments = Number(process.env['CHAOS_PAYMENTS'] ?? 300);
      const kills = Number(process.env['CHAOS_KILLS'] ?? 30);
      const report = await chaosRun({ payments, kills, seed });
      console.log(
        `[chaos] seed ${seed}: ${JSON.stringify({ kills: report.kills, cancels: report.cancels, states: report.states, hostApproved: report.hostApproved, dir: report.dir })}`,
      );
      expect(report.problems).toEqual([]);
      expect(report.kills).toBeGreaterThanOrEqual(kills);
      expect(report.cancels, 'the operator cancelled some payments at random moments').toBeGreaterThan(0);
      const total = Object.values(report.states).reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(payments / 3);
    },
    15 * 60_000,
  );

  // The ZVT lane: an integrated terminal (the ZVT simulator in its own process) takes the payments.
  // `npm run soak` runs the long version (5,000 payments, 300 kills).
  it(
    'ZVT: every operation ends final, the journal and the terminal ledger agree, nothing lost or doubled, no key charged twice',
    async () => {
      const seed = seedFromEnv('chaos zvt');
      const payments = Number(process.env['CHAOS_ZVT_PAYMENTS'] ?? 80);
      const kills = Number(process.env['CHAOS_ZVT_KILLS'] ?? 8);
      const report = await zvtChaosRun({ payments, kills, seed });
      console.log(
        `[chaos zvt] seed ${seed}: ${JSON.stringify({ payments, kills: report.kills, cancels: report.cancels, drops: report.drops, faults: report.faults, states: report.states, reasons: report.reasons, terminalApproved: report.terminalApproved, dir: report.dir })}`,
      );
      expect(report.problems).toEqual([]);
      expect(report.kills).toBeGreaterThanOrEqual(kills);
      expect(report.cancels, 'the operator cancelled some payments at random moments').toBeGreaterThan(0);
      expect(Object.keys(report.faults).length, 'several kinds of terminal fault ran').toBeGreaterThan(3);
      const total = Object.values(report.states).reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(payments / 2);
      expect(report.states['completed'] ?? 0).toBeGreaterThan(0);
    },
    5 * 60_000,
  );

  it("the ZVT lane's ledger check names lost, doubled and unbooked payments (and passes agreement)", () => {
    const op = (id: string, state: string, amount: number, trace?: string) => ({
      id,
      state,
      reason: null,
      amount,
      result: trace ? { terminal: { trace } } : null,
    });
    const sale = (trace: string, amount: number, status: string) => ({
      receiptNo: trace.slice(-4),
      trace,
      type: 'sale',
      status,
      amount,
    });
    const ledger = [
      sale('000001', 100, 'approved'),
      sale('000002', 200, 'reversed'),
      sale('000003', 300, 'approved'),
      sale('000004', 400, 'declined'),
    ];
    expect(
      zvtLedgerProblems(
        [
          op('a', 'completed', 100, '000001'),
          op('b', 'reversed', 200, '000002'),
          op('c', 'completed', 300, '000003'),
          op('d', 'declined', 400),
        ],
        ledger,
      ),
    ).toEqual([]);
    const problems = zvtLedgerProblems(
      [
        op('a', 'completed', 100, '000001'),
        op('a2', 'completed', 100, '000001'),
        op('b', 'completed', 200, '000002'),
        op('c', 'failed', 300),
      ],
      ledger,
    );
    expect(problems.join('\n')).toMatch(/trace 000001 is claimed by a and a2: doubled/);
    expect(problems.join('\n')).toMatch(/completed b \(trace 000002\) is reversed at the terminal/);
    expect(problems.join('\n')).toMatch(/terminal-only charge: trace 000003 .* lost/);
  });
});
