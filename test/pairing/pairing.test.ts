import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/index.js';
import { tokensCommand } from '../../src/daemon/pair-command.js';
import { PAIRED_TOKENS_FILE, Pairing } from '../../src/daemon/pairing.js';

const ORIGIN = 'https://crm.example.com';

function setup(options: { ttlMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pb-pair-'));
  let now = Date.parse('2026-01-05T08:00:00Z');
  const pairing = new Pairing({
    dir,
    now: () => now,
    ...(options.ttlMs ? { codeTtlMs: options.ttlMs } : {}),
  });
  return {
    dir,
    pairing,
    advance(ms: number) {
      now += ms;
    },
  };
}

const code = (p: Pairing): string => p.issueCode().code;
const wrongOf = (c: string): string => String((Number(c) + 1) % 1_000_000).padStart(6, '0');

describe('pairing codes', () => {
  it('6 digits, valid three minutes by default, single use; the token is bound to the Origin', async () => {
    const { pairing } = setup();
    const issued = pairing.issueCode();
    expect(issued.code).toMatch(/^\d{6}$/);
    expect(issued.ttlSeconds).toBe(180);
    const token = await pairing.redeem(issued.code, ORIGIN);
    expect(token).toMatch(/^pbp_[A-Za-z0-9_-]{43}$/);
    expect(pairing.verify(token!)).toMatchObject({
      ok: true,
      origin: ORIGIN,
      tokenId: expect.stringMatching(/^pt_/),
    });
    // Reused: refused.
    expect(await pairing.redeem(issued.code, ORIGIN)).toBeUndefined();
  });

  it('an expired code is refused', async () => {
    const { pairing, advance } = setup({ ttlMs: 60_000 });
    const c = code(pairing);
    advance(60_001);
    expect(await pairing.redeem(c, ORIGIN)).toBeUndefined();
  });

  it('a new code replaces the previous one', async () => {
    const { pairing } = setup();
    const first = code(pairing);
    let second = code(pairing);
    while (second === first) second = code(pairing);
    expect(await pairing.redeem(first, ORIGIN)).toBeUndefined();
    expect(await pairing.redeem(second, ORIGIN)).toBeDefined();
  });

  it('wrong codes, counted across all callers: five within a minute void the code and refuse pairing for a minute', async () => {
    const { pairing, advance } = setup();
    const c = code(pairing);
    for (let i = 0; i < 5; i++) expect(await pairing.redeem(wrongOf(c), ORIGIN)).toBeUndefined();
    const limited = await pairing.redeem(c, ORIGIN).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(ApiError);
    expect((limited as ApiError).code).toBe('pairing_rate_limited');
    advance(61_000);
    // The old code was voided; a new one works once the window has passed.
    expect(await pairing.redeem(c, ORIGIN)).toBeUndefined();
    expect(await pairing.redeem(code(pairing), ORIGIN)).toBeDefined();
  });

  it('a caller without an Origin (a script) cannot pair, and does not use up the code', async () => {
    const { pairing } = setup();
    const c = code(pairing);
    const e = await pairing.redeem(c, undefined).catch((x: unknown) => x);
    expect((e as ApiError).code).toBe('pairing_unavailable');
    expect(await pairing.redeem(c, ORIGIN)).toBeDefined();
  });
});

describe('paired tokens', () => {
  it('kept hashed (SHA-256) in a 0600 file with id, origin, created, last used; never the token', async () => {
    const { dir, pairing, advance } = setup();
    const token = (await pairing.redeem(code(pairing), ORIGIN))!;
    const path = join(dir, PAIRED_TOKENS_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(4, 20));
    const [listed] = pairing.list();
    expect(listed).toEqual({
      id: expect.stringMatching(/^pt_[0-9a-f]{12}$/),
      origin: ORIGIN,
      created: '2026-01-05T08:00:00.000Z',
      lastUsed: null,
    });
    expect(JSON.stringify(pairing.list())).not.toMatch(/sha256|pbp_/);
    advance(5_000);
    pairing.verify(token);
    expect(pairing.list()[0]!.lastUsed).toBe('2026-01-05T08:00:05.000Z');
    // Survives a restart.
    const again = new Pairing({ dir });
    expect(again.verify(token)).toMatchObject({ ok: true, origin: ORIGIN, tokenId: listed!.id });
  });

  it('revoke removes the token (persisted) and tells the listeners', async () => {
    const { dir, pairing } = setup();
    const token = (await pairing.redeem(code(pairing), ORIGIN))!;
    const id = pairing.list()[0]!.id;
    const told: string[] = [];
    pairing.onRevoke((x) => {
      told.push(x);
      return 2;
    });
    expect(pairing.revoke('pt_nope')).toBeUndefined();
    expect(pairing.revoke(id)).toBe(2);
    expect(told).toEqual([id]);
    expect(pairing.verify(token)).toEqual({ ok: false });
    expect(new Pairing({ dir }).list()).toEqual([]);
  });
});

describe('posbridge tokens without a running daemon', () => {
  it('lists and revokes from the state directory (under its lock)', async () => {
    const { dir, pairing } = setup();
    await pairing.redeem(code(pairing), ORIGIN);
    const id = pairing.list()[0]!.id;
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    expect(await tokensCommand(['--home', dir, '--json'], io)).toBe(0);
    expect(JSON.parse(out[0]!)).toEqual([expect.objectContaining({ id, origin: ORIGIN })]);
    expect(await tokensCommand(['revoke', id, '--home', dir], io)).toBe(0);
    expect(out[1]).toBe(`revoked ${id}`);
    expect(new Pairing({ dir }).list()).toEqual([]);
    expect(await tokensCommand(['bogus', '--home', dir], io)).toBe(2);
  });
});
