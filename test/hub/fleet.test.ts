/**
 * The fleet's acceptance run (issue 21): real daemons in their own processes feed a hub on PGlite; one is
 * SIGKILLed mid-stream and restarted, another has its link to the hub cut and restored. Afterwards the hub
 * holds every journal event of every laptop exactly once, every payment in its journal state, and no
 * card number anywhere.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { int } from '../../src/hub/index.js';
import { startFleet, type Fleet } from '../../simulators/fleet/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, ms: number, explain?: () => Promise<string>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${explain ? `\n${await explain()}` : ''}`);
    await sleep(200);
  }
}

function journalOf(home: string): { lastSeq: number; ops: Map<string, string>; journalId: string } {
  const db = new Database(join(home, 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    const lastSeq = (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events').get() as { s: number }).s;
    const ops = new Map((db.prepare('SELECT id, state FROM operations').all() as { id: string; state: string }[]).map((r) => [r.id, r.state]));
    const journalId = (db.prepare("SELECT value FROM journal_meta WHERE name = 'journal_id'").get() as { value: string }).value;
    return { lastSeq, ops, journalId };
  } finally {
    db.close();
  }
}

describe('the fleet: daemons killed, cut off and replayed against the hub', () => {
  let fleet: Fleet | undefined;
  afterAll(async () => {
    await fleet?.stop();
  });

  it('loses nothing, doubles nothing, and no card number reaches the hub', async () => {
    const home = mkdtempSync(join(tmpdir(), 'posbridge-fleet-'));
    fleet = await startFleet({ laptops: 3, home, hubPort: 0, rate: 240, seed: 21, log: () => {} });
    const [a, b, c] = fleet.laptops;
    const db = fleet.hub.db;
    const events = async (tid: string): Promise<number> => {
      const [r] = await db.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM hub_events e JOIN hub_daemons d ON d.id = e.daemon_id WHERE $1 = ANY(d.terminal_ids)`,
        [tid],
      );
      return int(r!.n);
    };
    await until('every laptop streaming', async () => (await events(a!.tid)) > 5 && (await events(b!.tid)) > 5 && (await events(c!.tid)) > 5, 60_000);

    // A: killed mid-stream (SIGKILL: no clean stop, payments may be in flight). B: its link is cut.
    const killedPid = a!.proc!.child.pid;
    await fleet.kill(a!.tid);
    fleet.setCut(b!.tid, true);
    const cutAt = await events(b!.tid);
    await sleep(3_000);
    expect(await events(b!.tid), 'nothing arrives through a cut link').toBe(cutAt);
    // A restarts (recovery resolves what it had in flight) and B's link comes back.
    await fleet.start(a!.tid);
    // A SIGKILLed laptop is gone: start runs a new process (it once took the dead one for running).
    expect(a!.proc!.child.pid, 'A restarted').not.toBe(killedPid);
    fleet.setCut(b!.tid, false);
    await sleep(2_000);

    // Quiesce: stop every laptop cleanly, start each again without sales, and let it catch up.
    for (const l of fleet.laptops) {
      l.proc!.child.kill('SIGTERM');
      await l.proc!.exited;
      await fleet.start(l.tid, { rate: 0 });
    }
    for (const l of fleet.laptops) {
      const j = journalOf(l.home);
      const acked = async (): Promise<number> => {
        const [r] = await db.query<{ s: unknown }>('SELECT acked_seq AS s FROM hub_cursors WHERE journal_id = $1', [j.journalId]);
        return r ? int(r.s) : -1;
      };
      // Generous: on a loaded 2-core CI machine the hub (PGlite, in this process) shares the CPU with other files.
      await until(
        `${l.tid} caught up`,
        async () => (await acked()) >= journalOf(l.home).lastSeq,
        90_000,
        async () =>
          `hub acked ${await acked()}, journal at ${journalOf(l.home).lastSeq}; the laptop said:\n` +
          l.proc!.lines.slice(-20).map((x) => `  ${x.stream}: ${x.line}`).join('\n'),
      );
    }
    for (const l of fleet.laptops) l.proc!.child.kill('SIGTERM');
    await Promise.all(fleet.laptops.map((l) => l.proc!.exited));

    let total = 0;
    for (const l of fleet.laptops) {
      const j = journalOf(l.home);
      const rows = await db.query<{ n: unknown; lo: unknown; hi: unknown; d: unknown }>(
        'SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM hub_events WHERE journal_id = $1',
        [j.journalId],
      );
      const r = rows[0]!;
      // Every seq 1..last exactly once: nothing lost, nothing doubled.
      expect({ tid: l.tid, n: int(r.n), distinct: int(r.d), lo: int(r.lo), hi: int(r.hi) }).toEqual({
        tid: l.tid,
        n: j.lastSeq,
        distinct: j.lastSeq,
        lo: 1,
        hi: j.lastSeq,
      });
      // Every payment in the hub in its journal state.
      const pays = await db.query<{ payment_id: string; state: string }>(
        `SELECT p.payment_id, p.state FROM hub_payments p JOIN hub_daemons d ON d.id = p.daemon_id WHERE $1 = ANY(d.terminal_ids)`,
        [l.tid],
      );
      expect(new Map(pays.map((p) => [p.payment_id, p.state])), l.tid).toEqual(j.ops);
      total += j.ops.size;
    }
    expect(total).toBeGreaterThan(10);

    // No card number at the hub: the test cards' PANs in no table, in any digits form.
    const cards = (JSON.parse(readFileSync(join(__dirname, '../../simulators/cards.json'), 'utf8')) as { cards: { pan: string }[] }).cards;
    const dump = await db.query<{ t: string }>(
      `SELECT string_agg(x::text, ' ') AS t FROM (
         SELECT row_to_json(e)::text AS x FROM hub_events e UNION ALL
         SELECT row_to_json(p)::text FROM hub_payments p UNION ALL
         SELECT row_to_json(d)::text FROM hub_daemons d) s`,
    );
    const text = dump[0]!.t;
    expect(text.length).toBeGreaterThan(1000);
    for (const { pan } of cards) {
      expect(text.includes(pan), 'a PAN in the hub database').toBe(false);
      expect(text.toLowerCase().includes(Buffer.from(pan).toString('hex')), 'a PAN as hex').toBe(false);
    }
    expect(text).toMatch(/\d{6}\*+\d{4}/); // the masked PANs are there
  }, 420_000);
});
