/**
 * Pairing a CRM page: `posbridge pair` asks the running daemon for a one-time code (6 digits, valid a
 * few minutes, single use); the operator types it into the page, which sends `session.pair {code}` and
 * receives a token bound to its Origin. Tokens are kept hashed (SHA-256) in the state directory
 * (`paired-tokens.json`, mode 0600) with their id, Origin, creation and last use; `posbridge tokens`
 * lists them and `posbridge tokens revoke <id>` revokes one (its open sessions are closed). Pairing
 * never adds an Origin to the allowlist: a page whose Origin is not allowed cannot even connect. Wrong
 * codes are counted across all connections: too many within a minute void the code.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, type TokenCheck, type TokenVerifier } from '../api/index.js';

export const PAIRED_TOKENS_FILE = 'paired-tokens.json';

export interface PairingOptions {
  /** The state directory. */
  dir: string;
  /** How long a code is valid (default 3 minutes). */
  codeTtlMs?: number;
  /** Wrong codes (from any connection) within `failureWindowMs` that void the code (default 5). */
  maxFailures?: number;
  /** Default 60 s: after that many failures, pairing is refused until the window has passed. */
  failureWindowMs?: number;
  now?: () => number;
}

/** A paired token as listed (never the token, never its hash). */
export interface PairedToken {
  id: string;
  origin: string;
  created: string;
  lastUsed: string | null;
}

interface StoredToken extends PairedToken {
  sha256: string;
}

export interface IssuedCode {
  code: string;
  expiresAt: string;
  ttlSeconds: number;
}

const hash = (t: string): string => createHash('sha256').update(t).digest('hex');

/** The daemon's paired tokens and the current pairing code. Also the API's extra token verifier. */
export class Pairing implements TokenVerifier {
  private readonly file: string;
  private readonly ttlMs: number;
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private tokens: StoredToken[];
  private code: { value: string; expiresAt: number } | undefined;
  private failures: number[] = [];
  private readonly revokeListeners: ((id: string) => number | void)[] = [];

  constructor(options: PairingOptions) {
    this.file = join(options.dir, PAIRED_TOKENS_FILE);
    this.ttlMs = options.codeTtlMs ?? 180_000;
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.failureWindowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.tokens = this.load();
  }

  private load(): StoredToken[] {
    if (!existsSync(this.file)) return [];
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { tokens?: StoredToken[] };
      return (parsed.tokens ?? []).filter(
        (t) => /^[0-9a-f]{64}$/.test(t.sha256) && typeof t.origin === 'string',
      );
    } catch (e) {
      throw new Error(
        `${this.file} cannot be read (${(e as Error).message}); move it away to start without paired pages`,
      );
    }
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, tokens: this.tokens }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  /** A new one-time code; any earlier code stops working. */
  issueCode(): IssuedCode {
    const value = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = this.now() + this.ttlMs;
    this.code = { value, expiresAt };
    return {
      code: value,
      expiresAt: new Date(expiresAt).toISOString(),
      ttlSeconds: Math.round(this.ttlMs / 1000),
    };
  }

  /**
   * `session.pair`: the token for a right code (then the code is used up), undefined for a wrong or
   * expired one. Throws `pairing_rate_limited` after too many wrong codes, and refuses a caller without
   * an Origin (scripts read the token file).
   */
  async redeem(code: string, origin: string | undefined): Promise<string | undefined> {
    const now = this.now();
    this.failures = this.failures.filter((t) => now - t < this.windowMs);
    if (this.failures.length >= this.maxFailures)
      throw new ApiError(
        'pairing_rate_limited',
        'too many wrong pairing codes: wait a minute, then run posbridge pair again',
      );
    if (!origin)
      throw new ApiError(
        'pairing_unavailable',
        'pairing is for browser pages (an Origin); scripts read the token file',
      );
    const current = this.code;
    const given = Buffer.from(String(code));
    const right =
      current !== undefined &&
      now < current.expiresAt &&
      given.length === current.value.length &&
      timingSafeEqual(given, Buffer.from(current.value));
    if (!right) {
      this.failures.push(now);
      if (this.failures.length >= this.maxFailures) this.code = undefined;
      return undefined;
    }
    this.code = undefined;
    const token = `pbp_${randomBytes(32).toString('base64url')}`;
    this.tokens.push({
      id: `pt_${randomBytes(6).toString('hex')}`,
      sha256: hash(token),
      origin,
      created: new Date(now).toISOString(),
      lastUsed: null,
    });
    this.save();
    return token;
  }

  /** Token check for `session.hello`: a paired token is bound to its Origin. */
  verify(token: string): TokenCheck {
    const h = Buffer.from(hash(String(token)), 'hex');
    const t = this.tokens.find((x) => timingSafeEqual(Buffer.from(x.sha256, 'hex'), h));
    if (!t) return { ok: false };
    const now = this.now();
    // lastUsed is written at most once a minute per token.
    if (!t.lastUsed || now - Date.parse(t.lastUsed) > 60_000) {
      t.lastUsed = new Date(now).toISOString();
      this.save();
    }
    return { ok: true, origin: t.origin, tokenId: t.id };
  }

  list(): PairedToken[] {
    return this.tokens.map(({ id, origin, created, lastUsed }) => ({ id, origin, created, lastUsed }));
  }

  /**
   * Removes a paired token; listeners (the API server) close the sessions that use it. Returns the
   * number of sessions closed, or undefined when there is no such token.
   */
  revoke(id: string): number | undefined {
    const before = this.tokens.length;
    this.tokens = this.tokens.filter((t) => t.id !== id);
    if (this.tokens.length === before) return undefined;
    this.save();
    let closed = 0;
    for (const l of this.revokeListeners) closed += l(id) ?? 0;
    return closed;
  }

  onRevoke(listener: (id: string) => number | void): void {
    this.revokeListeners.push(listener);
  }
}
