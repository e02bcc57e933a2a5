import { describe, expect, it } from 'vitest';
import { seedFromEnv } from '../support/prng.js';
import { chaosRun, zvtChaosRun, zvtLedgerProblems } from './chaos-run.js';
import { qrChaosRun, qrLedgerProblems, type QrOpView } from './qr-chaos-run.js';

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

  // The key-scheme lanes (issue 23): the same run, short, with an SM4 acquirer (cup-pos-sm4: SM4 working
  // keys from sign-on in the reader, SM4 PIN blocks and UnionPay SM4 MACs) and with a TDES DUKPT reader
  // (posbridge-dukpt-tdes with cup-pos-dukpt: every PIN under its own KSN, field 53, the host deriving
  // the key from its BDK and refusing a replayed KSN). Sized to add about 25 s to `npm test` on 2 cores
  // (CHAOS_SCHEME_PAYMENTS / CHAOS_SCHEME_KILLS override; `npm run soak -- sm4` / `-- dukpt` run long).
  for (const lane of [
    { name: 'SM4', dialect: 'cup-pos-sm4', readerProfile: 'posbridge' },
    { name: 'DUKPT', dialect: 'cup-pos-dukpt', readerProfile: 'posbridge-dukpt-tdes' },
  ]) {
    it(
      `${lane.name} (${lane.dialect}, reader ${lane.readerProfile}): every operation ends final, the journal and the host ledger agree, nothing lost or doubled`,
      async () => {
        const seed = seedFromEnv(`chaos ${lane.name.toLowerCase()}`);
        const payments = Number(process.env['CHAOS_SCHEME_PAYMENTS'] ?? 20);
        const kills = Number(process.env['CHAOS_SCHEME_KILLS'] ?? 2);
        const t0 = Date.now();
        // More cancels than the long lane, so a run this short still has some.
        const report = await chaosRun({
          dialect: lane.dialect,
          readerProfile: lane.readerProfile,
          payments,
          kills,
          seed,
          cancelShare: 0.35,
        });
        console.log(
          `[chaos ${lane.name.toLowerCase()}] seed ${seed}: ${JSON.stringify({ payments, seconds: Math.round((Date.now() - t0) / 1000), dialect: report.dialect, readerProfile: report.readerProfile, kills: report.kills, cancels: report.cancels, states: report.states, hostApproved: report.hostApproved, dukpt: report.dukpt, dir: report.dir })}`,
        );
        expect(report.problems).toEqual([]);
        expect(report).toMatchObject({ dialect: lane.dialect, readerProfile: lane.readerProfile });
        expect(report.kills).toBeGreaterThanOrEqual(kills);
        expect(report.cancels, 'the operator cancelled some payments at random moments').toBeGreaterThan(0);
        const total = Object.values(report.states).reduce((a, b) => a + b, 0);
        expect(total).toBeGreaterThan(payments / 3);
        expect(report.states['completed'] ?? 0, 'payments completed under the scheme').toBeGreaterThan(0);
        if (lane.readerProfile !== 'posbridge') {
          expect(report.dukpt?.used ?? 0, 'PIN blocks the host verified under a KSN').toBeGreaterThan(0);
          expect(report.dukpt?.replays).toBe(0);
          expect(report.dukpt?.macs ?? 0, 'requests MACed with DUKPT keys (field 64)').toBeGreaterThan(0);
        }
      },
      5 * 60_000,
    );
  }

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

  // The scan-to-pay lane (issue 20): the Alipay + WeChat Pay simulator in its own process, notifications
  // forwarded to the daemon, the engine runner killed and restarted. `npm run soak -- qr` runs the long one.
  it(
    "QR: every operation ends final and agrees with the providers' ledgers: nothing lost, nothing doubled, no cancelled payment completed",
    async () => {
      const seed = seedFromEnv('chaos qr');
      const payments = Number(process.env['CHAOS_QR_PAYMENTS'] ?? 40);
      const kills = Number(process.env['CHAOS_QR_KILLS'] ?? 6);
      const report = await qrChaosRun({ payments, kills, seed });
      console.log(
        `[chaos qr] seed ${seed}: ${JSON.stringify({ payments, seconds: report.seconds, kills: report.kills, cancels: report.cancels, refunds: report.refunds, faults: report.faults, states: report.states, reasons: report.reasons, providerPaid: report.providerPaid, notifications: report.notifications, dir: report.dir })}`,
      );
      expect(report.problems).toEqual([]);
      expect(report.kills).toBeGreaterThanOrEqual(kills);
      expect(Object.values(report.states).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(payments);
      expect(report.states['completed'] ?? 0, 'some payments completed').toBeGreaterThan(0);
      expect(
        report.notifications.forwarded['resolving'] ?? 0,
        'notifications reached the daemon',
      ).toBeGreaterThan(0);
    },
    5 * 60_000,
  );

  it("the QR lane's ledger check names lost, doubled and phantom trades and refunds (and passes agreement)", () => {
    const sale = (
      id: string,
      state: string,
      no: string,
      amount = 100,
      extra: Partial<QrOpView> = {},
    ): QrOpView => ({
      id,
      kind: 'sale',
      state,
      reason: null,
      amount,
      approvedAmount: state === 'completed' ? amount : null,
      originalId: null,
      orderId: `O-${id}`,
      result: { qr: { method: 'alipay', outTradeNo: no } },
      ...extra,
    });
    const refund = (id: string, state: string, no: string, rq: string, amount: number): QrOpView => ({
      id,
      kind: 'refund',
      state,
      reason: null,
      amount,
      approvedAmount: state === 'completed' ? amount : null,
      originalId: 'x',
      orderId: null,
      result: { qr: { method: 'alipay', outTradeNo: no, outRequestNo: rq } },
    });
    const trade = (no: string, status: string, amount = 100) => ({
      provider: 'alipay' as const,
      outTradeNo: no,
      amount,
      status,
      refunded: 0,
    });
    const rf = (no: string, rq: string, status: string, amount: number) => ({
      provider: 'alipay' as const,
      outTradeNo: no,
      outRequestNo: rq,
      amount,
      status,
    });
    const agreeing = [
      sale('a', 'completed', 'N1'),
      sale('b', 'cancelled', 'N2'),
      sale('c', 'reversed', 'N3'),
      sale('d', 'declined', 'N4'),
      refund('ra', 'completed', 'N1', 'R1', 30),
      refund('rb', 'declined', 'N1', 'R2', 20),
    ];
    const trades = [trade('N1', 'paid'), trade('N2', 'closed'), trade('N3', 'reversed')];
    const refunds = [rf('N1', 'R1', 'SUCCESS', 30), rf('N1', 'R2', 'FAILED', 20)];
    expect(qrLedgerProblems(agreeing, trades, refunds, new Set(['N1', 'N2', 'N3', 'N4']))).toEqual([]);

    const problems = qrLedgerProblems(
      [
        sale('a', 'completed', 'N1'),
        sale('a2', 'completed', 'N1', 100, { orderId: 'O-a' }),
        sale('b', 'cancelled', 'N2'),
        sale('c', 'completed', 'N3'),
        sale('e', 'completed', 'N5', 100, { cancelRequested: true }),
        refund('ra', 'failed', 'N1', 'R1', 30),
        refund('rb', 'completed', 'N1', 'R2', 20),
      ],
      [
        trade('N1', 'paid'),
        trade('N2', 'paid'),
        trade('N3', 'closed'),
        trade('N5', 'paid'),
        trade('N9', 'paid'),
      ],
      [rf('N1', 'R1', 'SUCCESS', 30), rf('N1', 'R2', 'FAILED', 20), rf('N5', 'R9', 'SUCCESS', 10)],
      new Set(['N1', 'N2', 'N3', 'N5']),
    ).join('\n');
    expect(problems).toMatch(/trade alipay:N1 is claimed by a and a2: doubled/);
    expect(problems).toMatch(/order O-a was paid twice: a, a2/);
    expect(problems).toMatch(
      /lost: the provider holds alipay:N2 paid \(100\) but the journal says cancelled/,
    );
    expect(problems).toMatch(/completed sale c \(alipay:N3\) is closed at the provider/);
    expect(problems).toMatch(/sale e was cancelled by the operator but ended completed/);
    expect(problems).toMatch(/provider trade alipay:N9 \(paid\) is named by no idempotency key: doubled/);
    expect(problems).toMatch(
      /lost refund: the provider refunded alipay:N1:R1 \(30\) but the journal says failed/,
    );
    expect(problems).toMatch(/completed refund rb \(alipay:N1:R2\) is FAILED at the provider/);
    expect(problems).toMatch(
      /lost refund: the provider refunded alipay:N5:R9 \(10\) and no operation knows it/,
    );
  });
});
