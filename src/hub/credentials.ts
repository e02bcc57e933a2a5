/**
 * Enrolment and daemon credentials. An operator makes a one-time code for a store (valid for a day by
 * default); a daemon trades it once for its own credential, which the hub keeps only as a SHA-256 and
 * which can be revoked. Codes and credentials are random (128 and 256 bits), so a plain hash is enough.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EnrolRequest, EnrolResult } from '../api/hub-protocol.js';
import type { HubDb, HubSql } from './db.js';
import { HubError } from './errors.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A code people can type: 16 base32 characters in groups of four. */
function newCode(): string {
  const alphabet = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789'; // no I, L, O, U: read aloud without confusion
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) out += alphabet[bytes[i]! % 32];
  return out.match(/.{4}/g)!.join('-');
}

const normaliseCode = (code: string): string => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

export async function createEnrolCode(
  db: HubSql,
  opts: { store: string; name?: string; ttlSeconds?: number },
): Promise<{ code: string; expiresAt: string }> {
  if (!opts.store || opts.store.length > 100) throw new HubError('bad_request', 'store: 1 to 100 characters', 'store');
  const code = newCode();
  const [row] = await db.query<{ expires_at: Date }>(
    `INSERT INTO hub_enrol_codes (code_hash, store, name, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
    [sha256(normaliseCode(code)), opts.store, opts.name ?? null, opts.ttlSeconds ?? 86_400],
  );
  return { code, expiresAt: new Date(row!.expires_at).toISOString() };
}

export async function enrol(db: HubDb, req: EnrolRequest): Promise<EnrolResult> {
  if (typeof req?.code !== 'string') throw new HubError('bad_request', 'code: a string is required', 'code');
  if (!Array.isArray(req.terminalIds) || req.terminalIds.some((t) => typeof t !== 'string' || t.length > 40))
    throw new HubError('bad_request', 'terminalIds: an array of terminal ids', 'terminalIds');
  return db.transaction(async (tx) => {
    const [code] = await tx.query<{ store: string; name: string | null; live: boolean; used: boolean }>(
      `SELECT store, name, expires_at > now() AS live, used_at IS NOT NULL AS used
       FROM hub_enrol_codes WHERE code_hash = $1 FOR UPDATE`,
      [sha256(normaliseCode(req.code))],
    );
    if (!code || !code.live || code.used)
      throw new HubError('bad_code', 'the enrolment code is unknown, expired or already used', 'code');
    const daemonId = `d_${randomBytes(8).toString('hex')}`;
    const credential = `pbh_${randomBytes(32).toString('base64url')}`;
    await tx.query(
      `INSERT INTO hub_daemons (id, name, store, credential_hash, terminal_ids, version)
       VALUES ($1, $2, $3, $4, $5::text[], $6)`,
      [
        daemonId,
        (req.name ?? code.name ?? req.terminalIds[0] ?? daemonId).slice(0, 100),
        code.store,
        sha256(credential),
        req.terminalIds,
        String(req.version ?? '').slice(0, 40),
      ],
    );
    await tx.query('UPDATE hub_enrol_codes SET used_at = now(), daemon_id = $2 WHERE code_hash = $1', [
      sha256(normaliseCode(req.code)),
      daemonId,
    ]);
    return { daemonId, credential, store: code.store };
  });
}

export interface AuthedDaemon {
  id: string;
  store: string;
}

/** The daemon a bearer credential belongs to; revoked or unknown credentials are refused. */
export async function authenticateDaemon(db: HubSql, authorization: string | undefined): Promise<AuthedDaemon> {
  const m = /^Bearer (pbh_[A-Za-z0-9_-]{20,100})$/.exec(authorization ?? '');
  if (!m) throw new HubError('unauthorized', 'authorization: Bearer <daemon credential> is required', 'authorization');
  const [row] = await db.query<{ id: string; store: string; revoked: boolean }>(
    'SELECT id, store, revoked_at IS NOT NULL AS revoked FROM hub_daemons WHERE credential_hash = $1',
    [sha256(m[1]!)],
  );
  if (!row) throw new HubError('unauthorized', 'unknown daemon credential', 'authorization');
  if (row.revoked) throw new HubError('revoked', 'this daemon was revoked: enrol it again', 'authorization');
  return { id: row.id, store: row.store };
}

export async function revokeDaemon(db: HubSql, daemonId: string): Promise<boolean> {
  const rows = await db.query('UPDATE hub_daemons SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [
    daemonId,
  ]);
  return rows.length > 0;
}
