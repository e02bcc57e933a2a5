/**
 * Who may use the hub's dashboard and its admin routes. People log in with a name and password (scrypt
 * hashes in hub_users) and get a session cookie signed with a secret kept in hub_settings, so any hub
 * instance can check it (stateless). Scripts use the admin token (`authorization: Bearer pba_…`, its
 * SHA-256 in hub_settings). Daemons never use these: they have their own credentials (credentials.ts).
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import type { HubSql } from './db.js';
import { HubError } from './errors.js';

const scryptAsync = promisify(scrypt) as (p: string, s: Buffer, len: number) => Promise<Buffer>;
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const SESSION_COOKIE = 'posbridge_hub';
const SESSION_SECONDS = 12 * 3600;

async function setting(db: HubSql, name: string, make: () => string): Promise<string> {
  await db.query('INSERT INTO hub_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, make()]);
  const [row] = await db.query<{ value: string }>('SELECT value FROM hub_settings WHERE name = $1', [name]);
  return row!.value;
}

const sessionSecret = (db: HubSql): Promise<string> => setting(db, 'session_secret', () => randomBytes(32).toString('hex'));

export async function setUserPassword(db: HubSql, name: string, password: string): Promise<void> {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new HubError('bad_request', 'name: 1 to 64 letters, digits, _ . @ -', 'name');
  if (password.length < 8) throw new HubError('bad_request', 'password: at least 8 characters', 'password');
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  await db.query(
    `INSERT INTO hub_users (name, password_hash) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash`,
    [name, `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`],
  );
}

export async function checkPassword(db: HubSql, name: string, password: string): Promise<boolean> {
  const [row] = await db.query<{ password_hash: string }>('SELECT password_hash FROM hub_users WHERE name = $1', [name]);
  const [, salt, hex] = (row?.password_hash ?? 'scrypt$00$00').split('$');
  const got = await scryptAsync(password, Buffer.from(salt!, 'hex'), 32);
  const want = Buffer.from(hex!, 'hex');
  return !!row && want.length === got.length && timingSafeEqual(want, got);
}

/** A signed session cookie value for a logged-in user. */
export async function sessionCookie(db: HubSql, name: string, now = Date.now()): Promise<string> {
  const payload = `${name}.${Math.floor(now / 1000) + SESSION_SECONDS}`;
  const mac = createHmac('sha256', await sessionSecret(db)).update(payload).digest('base64url');
  return `${SESSION_COOKIE}=${encodeURIComponent(`${payload}.${mac}`)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}`;
}

export const LOGOUT_COOKIE = `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;

/** Makes (or replaces) the admin token; returns it once. */
export async function newAdminToken(db: HubSql): Promise<string> {
  const token = `pba_${randomBytes(32).toString('base64url')}`;
  await db.query(
    `INSERT INTO hub_settings (name, value) VALUES ('admin_token_sha256', $1)
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
    [sha256(token)],
  );
  return token;
}

/** The logged-in user (cookie) or `admin-token` (bearer), else undefined. */
export async function whoIs(db: HubSql, req: IncomingMessage, now = Date.now()): Promise<string | undefined> {
  const bearer = /^Bearer (pba_[A-Za-z0-9_-]{20,100})$/.exec(req.headers.authorization ?? '');
  if (bearer) {
    const [row] = await db.query<{ value: string }>("SELECT value FROM hub_settings WHERE name = 'admin_token_sha256'");
    const a = Buffer.from(row?.value ?? '');
    const b = Buffer.from(sha256(bearer[1]!));
    return a.length === b.length && timingSafeEqual(a, b) ? 'admin-token' : undefined;
  }
  const cookie = (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie) return undefined;
  const value = decodeURIComponent(cookie.slice(SESSION_COOKIE.length + 1));
  const m = /^([A-Za-z0-9_.@-]{1,64})\.(\d+)\.([A-Za-z0-9_-]+)$/.exec(value);
  if (!m || Number(m[2]) * 1000 < now) return undefined;
  const want = createHmac('sha256', await sessionSecret(db)).update(`${m[1]}.${m[2]}`).digest();
  const got = Buffer.from(m[3]!, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const [user] = await db.query('SELECT 1 FROM hub_users WHERE name = $1', [m[1]]);
  return user ? m[1] : undefined;
}

/** For routes that need a person or the admin token: 401 otherwise. */
export async function requireUser(db: HubSql, req: IncomingMessage): Promise<string> {
  const who = await whoIs(db, req);
  if (!who) throw new HubError('unauthorized', 'log in to the dashboard (or send the admin token)', 'authorization');
  return who;
}
