import type { Journal } from '../journal/index.js';

/** Prometheus text exposition of what operations needs to see, computed from the journal at scrape time. */
export function metricsText(
  journal: Journal,
  extra: { hostState: string; readerState: string; readerReconnects: number; uptimeSeconds: number },
): string {
  const db = journal.db;
  const lines: string[] = [];
  const metric = (
    name: string,
    type: string,
    help: string,
    samples: [Record<string, string>, number][],
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
        .join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  const byState = db
    .prepare('SELECT kind, state, COUNT(*) AS n FROM operations GROUP BY kind, state')
    .all() as { kind: string; state: string; n: number }[];
  metric(
    'posbridge_operations',
    'gauge',
    'Operations in the journal by kind and state.',
    byState.map((r) => [{ kind: r.kind, state: r.state }, r.n]),
  );
  const saf = journal.safDepth();
  metric(
    'posbridge_saf_depth',
    'gauge',
    'Store-and-forward items pending, by lane.',
    ['reversal', 'advice'].map((lane) => [{ lane }, saf.find((s) => s.lane === lane)?.count ?? 0]),
  );
  const oldest = saf.map((s) => Date.parse(s.oldest)).filter(Number.isFinite);
  metric('posbridge_saf_oldest_age_seconds', 'gauge', 'Age of the oldest pending store-and-forward item.', [
    [{}, oldest.length ? Math.round((Date.now() - Math.min(...oldest)) / 1000) : 0],
  ]);
  const reversals = db
    .prepare(
      "SELECT mti, COALESCE(response_code, outcome) AS result, COUNT(*) AS n FROM host_attempts WHERE purpose = 'reversal' GROUP BY 1, 2",
    )
    .all() as { mti: string; result: string; n: number }[];
  metric(
    'posbridge_reversals_sent_total',
    'counter',
    'Reversal attempts sent, by MTI and result.',
    reversals.map((r) => [{ mti: r.mti, result: r.result }, r.n]),
  );
  // Host latency from the journal's own timestamps (sent → settled) over the last 1,000 answered requests.
  const lat = (
    db
      .prepare(
        "SELECT (julianday(settled_at) - julianday(sent_at)) * 86400000.0 AS ms FROM host_attempts WHERE outcome = 'answered' AND sent_at IS NOT NULL ORDER BY id DESC LIMIT 1000",
      )
      .all() as { ms: number }[]
  ).map((r) => r.ms);
  const buckets = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
  lines.push(
    '# HELP posbridge_host_latency_ms Host answer latency (last 1,000 answered requests).',
    '# TYPE posbridge_host_latency_ms histogram',
  );
  for (const b of buckets)
    lines.push(`posbridge_host_latency_ms_bucket{le="${b}"} ${lat.filter((x) => x <= b).length}`);
  lines.push(
    `posbridge_host_latency_ms_bucket{le="+Inf"} ${lat.length}`,
    `posbridge_host_latency_ms_sum ${Math.round(lat.reduce((a, b) => a + b, 0))}`,
    `posbridge_host_latency_ms_count ${lat.length}`,
  );
  metric('posbridge_host_link_up', 'gauge', '1 when the acquirer link is ready.', [
    [{}, extra.hostState === 'ready' ? 1 : 0],
  ]);
  metric('posbridge_reader_connected', 'gauge', '1 when the card reader is connected.', [
    [{}, extra.readerState === 'idle' || extra.readerState === 'busy' ? 1 : 0],
  ]);
  metric('posbridge_reader_reconnects_total', 'counter', 'Times the reader link came back after a loss.', [
    [{}, extra.readerReconnects],
  ]);
  metric('posbridge_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [
    [{}, extra.uptimeSeconds],
  ]);
  return `${lines.join('\n')}\n`;
}
