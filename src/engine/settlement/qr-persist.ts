/**
 * Scan-to-pay runs in the journal (`recon_runs`, `recon_items`, as card runs): one run per terminal,
 * provider and China date (`source` = `qr:<provider>:<date>`). A re-run that finds the same (same bill,
 * same journal state) leaves the stored run as it is and answers with its `runId` and item ids; one that
 * finds something else (a bill corrected, an operation recovered since) replaces the run's items and
 * figures under the same `runId`. One transaction either way.
 */
import { createHash } from 'node:crypto';
import type { SettlementStore } from './store.js';
import type { ReconciliationReport } from './types.js';

/** What a re-run must reproduce to count as the same run (never the time it ran). */
function resultDigest(report: ReconciliationReport): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        source: report.source,
        tolerance: report.tolerance,
        summary: report.summary,
        totals: report.totals,
        items: report.items.map(({ itemId: _id, ...rest }) => rest),
      }),
    )
    .digest('hex');
}

export function persistQrRun(store: SettlementStore, report: ReconciliationReport, now: () => Date): void {
  const db = store.journal.db;
  const source = report.source.file!;
  const digest = resultDigest(report);
  const scope = {
    ...report.scope,
    tolerance: report.tolerance,
    hasBatchNumbers: false,
    ...(report.qr ? { qr: report.qr } : {}),
    resultSha256: digest,
  };
  store.journal.transaction(() => {
    const prev = db
      .prepare(
        'SELECT id, scope FROM recon_runs WHERE terminal_id = ? AND source = ? ORDER BY id DESC LIMIT 1',
      )
      .get(report.terminalId, source) as { id: number | bigint; scope: string } | undefined;
    let runId: number;
    if (prev) {
      runId = Number(prev.id);
      const prevDigest = (JSON.parse(prev.scope) as { resultSha256?: string }).resultSha256;
      if (prevDigest === digest) {
        const ids = db.prepare('SELECT id FROM recon_items WHERE run_id = ? ORDER BY id').all(runId) as {
          id: number | bigint;
        }[];
        if (ids.length === report.items.length) {
          report.runId = runId;
          report.items.forEach((item, i) => (item.itemId = Number(ids[i]!.id)));
          return;
        }
      }
      db.prepare(
        'UPDATE recon_runs SET at = ?, file_sha256 = ?, scope = ?, summary = ?, totals = ? WHERE id = ?',
      ).run(
        now().toISOString(),
        report.source.sha256,
        JSON.stringify(scope),
        JSON.stringify(report.summary),
        JSON.stringify(report.totals),
        runId,
      );
      db.prepare('DELETE FROM recon_items WHERE run_id = ?').run(runId);
    } else {
      runId = store.insertRun({
        terminalId: report.terminalId,
        source,
        fileSha256: report.source.sha256,
        scope,
        summary: report.summary,
        totals: report.totals,
      });
    }
    report.runId = runId;
    for (const item of report.items) {
      item.itemId = store.insertItem({
        runId,
        terminalId: item.terminalId,
        batch: item.batch,
        stan: item.stan,
        operationId: item.local?.operationId ?? null,
        category: item.category,
        status: item.status,
        local: item.local,
        host: item.host,
        action: item.action.code,
        detail: item.detail,
      });
    }
  });
}
