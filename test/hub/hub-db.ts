/**
 * The stores the hub's tests run on: PGlite always, and the PostgreSQL server in DATABASE_URL when one
 * is given (CI starts one). Without it the server lane is skipped, loudly.
 */
import { openHubDb, type HubDb } from '../../src/hub/index.js';

export const SERVER_URL = process.env['POSBRIDGE_TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];

export const STORES: { name: 'pglite' | 'postgres'; skip: boolean }[] = [
  { name: 'pglite', skip: false },
  { name: 'postgres', skip: !SERVER_URL },
];

if (!SERVER_URL)
  console.warn('[hub] SKIPPING the PostgreSQL-server lane: set DATABASE_URL (CI does) to run the hub tests on a real server');

/** A fresh, empty store: PGlite in memory, or a new schema on the server. */
export async function freshDb(kind: 'pglite' | 'postgres'): Promise<HubDb> {
  if (kind === 'pglite') return openHubDb();
  const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await openHubDb({ databaseUrl: SERVER_URL!, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const url = new URL(SERVER_URL!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = await openHubDb({ databaseUrl: url.toString(), maxConnections: 4 });
  const close = db.close.bind(db);
  return {
    ...db,
    kind: db.kind,
    query: db.query.bind(db),
    exec: db.exec.bind(db),
    transaction: db.transaction.bind(db),
    close: async () => {
      await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await close();
    },
  };
}
