/**
 * The hub's store: PostgreSQL, either embedded (PGlite: real PostgreSQL compiled to WASM, in this
 * process, no install) or a server (`DATABASE_URL`, through the `postgres` client). Both speak the
 * same SQL; everything the hub writes goes through this interface so the migrations and queries are
 * one text for both. Batches travel as one JSON parameter (`jsonb_to_recordset`), which both drivers
 * pass the same way and which is one round trip for a thousand rows.
 */
import { mkdirSync } from 'node:fs';

export interface HubSql {
  /** One statement with `$1…` parameters; rows as plain objects. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface HubDb extends HubSql {
  readonly kind: 'pglite' | 'postgres';
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
  transaction<T>(fn: (tx: HubSql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenHubDbOptions {
  /** A PostgreSQL server: `postgres://user:pass@host:port/db`. Without it, PGlite. */
  databaseUrl?: string;
  /** PGlite's data directory; without it, in memory (tests, benchmarks). */
  dataDir?: string;
  /** Connections to the server (default 10). */
  maxConnections?: number;
}

export async function openHubDb(opts: OpenHubDbOptions = {}): Promise<HubDb> {
  return opts.databaseUrl ? openServer(opts.databaseUrl, opts.maxConnections ?? 10) : openPglite(opts.dataDir);
}

async function openPglite(dataDir: string | undefined): Promise<HubDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  // PGlite is one connection: a transaction must not interleave with other queries, so queries wait
  // for a running transaction (PGlite's own `transaction` holds its lock the same way).
  const q = async <T>(text: string, params?: unknown[]): Promise<T[]> =>
    (await pg.query<T>(text, params as unknown[] | undefined)).rows;
  return {
    kind: 'pglite',
    query: q,
    exec: async (text) => {
      await pg.exec(text);
    },
    transaction: (fn) =>
      pg.transaction(async (tx) =>
        fn({ query: async <T>(text: string, params?: unknown[]) => (await tx.query<T>(text, params)).rows }),
      ),
    close: () => pg.close(),
  };
}

async function openServer(url: string, max: number): Promise<HubDb> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    // int8 and numeric as strings would make every caller parse; the hub's bigints are counts, fen and
    // seqs, all far below 2^53, and `int()` below checks that.
    types: { bigint: postgres.BigInt },
    connection: { application_name: 'posbridge-hub' },
  });
  await sql`select 1`;
  // Prepared (named, once per connection and text): without it the client sends every query with
  // parameters as Parse + Describe, waits for the parameter types, then Bind + Execute, so each costs
  // two round trips and a parse and plan on the server (ingestion: about a third of its throughput).
  // The hub's SQL texts are constants, so the statements per connection stay few.
  const run = async <T>(s: typeof sql, text: string, params?: unknown[]): Promise<T[]> =>
    (await s.unsafe(text, (params ?? []) as never[], { prepare: true })) as unknown as T[];
  return {
    kind: 'postgres',
    query: (text, params) => run(sql, text, params),
    exec: async (text) => {
      await sql.unsafe(text);
    },
    transaction: async (fn) =>
      (await sql.begin((tx) => fn({ query: (text, params) => run(tx as unknown as typeof sql, text, params) }))) as never,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** A count, seq or amount read from either driver (number, bigint or numeric text) as a safe integer. */
export function int(v: unknown): number {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : (v as number);
  if (v === null || v === undefined) return 0;
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${String(v)}`);
  return n;
}
