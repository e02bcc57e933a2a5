import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import util from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CardDataError,
  FINGERPRINT_KEY_FILE,
  FingerprintKey,
  loadOrCreateFingerprintKey,
  matchFingerprint,
  Pan,
  panFingerprint,
  parseFingerprint,
} from '../../src/card/index.js';
import { PAN16, PAN19 } from './fixtures.js';

const KEY_A = Buffer.alloc(32, 0xa5);
const KEY_B = Buffer.alloc(32, 0x5a);

describe('panFingerprint', () => {
  const a = FingerprintKey.fromBytes(KEY_A);
  const b = FingerprintKey.fromBytes(KEY_B);

  it('is HMAC-SHA256 over the PAN digits, base64url, prefixed with version and key id', () => {
    const expected = createHmac('sha256', KEY_A).update(PAN19).digest('base64url');
    const fp = panFingerprint(a, Pan.fromDigits(PAN19));
    expect(fp).toBe(`fp1:${a.id}:${expected}`);
    expect(fp).toMatch(/^fp1:[0-9a-f]{8}:[A-Za-z0-9_-]{43}$/);
    expect(parseFingerprint(fp)?.keyId).toBe(a.id);
    expect(parseFingerprint('fp1:zz:abc')).toBeUndefined();
  });

  it('stable for the same key and PAN, different for another key or PAN', () => {
    const fp = panFingerprint(a, PAN19);
    expect(panFingerprint(FingerprintKey.fromBytes(KEY_A), Pan.fromDigits(PAN19))).toBe(fp);
    expect(a.fingerprint(PAN19)).toBe(fp);
    expect(panFingerprint(b, PAN19)).not.toBe(fp);
    expect(panFingerprint(b, PAN19).split(':')[2]).not.toBe(fp.split(':')[2]);
    expect(panFingerprint(a, PAN16)).not.toBe(fp);
    expect(a.id).not.toBe(b.id);
  });

  it('never contains or reveals the PAN', () => {
    const fp = panFingerprint(a, PAN19);
    expect(fp).not.toContain(PAN19.slice(6, -4));
    expect(() => panFingerprint(a, `${PAN19}x`)).toThrow(CardDataError);
  });

  it('matchFingerprint: same, different, incomparable', () => {
    const fp = panFingerprint(a, PAN19);
    expect(matchFingerprint(a, fp, Pan.fromDigits(PAN19))).toBe('same');
    expect(matchFingerprint(a, fp, PAN16)).toBe('different');
    expect(matchFingerprint(b, fp, PAN19)).toBe('incomparable');
    expect(matchFingerprint(a, 'garbage', PAN19)).toBe('incomparable');
  });

  it('the key is masked in text forms', () => {
    const hex = KEY_A.toString('hex');
    for (const text of [
      String(a),
      JSON.stringify({ a }),
      util.inspect(a),
      util.inspect(a, { customInspect: false }),
    ]) {
      expect(text).not.toContain(hex.slice(0, 8));
    }
    expect(a.reveal().equals(KEY_A)).toBe(true);
    expect(() => FingerprintKey.fromBytes(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});

describe('loadOrCreateFingerprintKey', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-fp-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates 32 random bytes with mode 0600, then reuses them', async () => {
    const stateDir = join(dir, 'state'); // created on demand
    const first = await loadOrCreateFingerprintKey(stateDir);
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(stateDir, FINGERPRINT_KEY_FILE));
    const bytes = await readFile(first.path);
    expect(bytes).toHaveLength(32);
    expect(first.key.reveal().equals(bytes)).toBe(true);
    if (process.platform !== 'win32') {
      expect((await stat(first.path)).mode & 0o777).toBe(0o600);
    }
    const second = await loadOrCreateFingerprintKey(stateDir);
    expect(second.created).toBe(false);
    expect(second.key.id).toBe(first.key.id);
    expect(panFingerprint(second.key, PAN19)).toBe(panFingerprint(first.key, PAN19));
  });

  it('mode is 0600 even with a permissive umask', async () => {
    if (process.platform === 'win32') return;
    const old = process.umask(0);
    try {
      const { path } = await loadOrCreateFingerprintKey(dir);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('concurrent first starts agree on one key and leave no temporary files', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateFingerprintKey(dir)));
    expect(new Set(results.map((r) => r.key.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual([FINGERPRINT_KEY_FILE]);
  });

  it('never replaces a damaged key', async () => {
    const path = join(dir, FINGERPRINT_KEY_FILE);
    await writeFile(path, Buffer.alloc(31), { mode: 0o600 });
    await expect(loadOrCreateFingerprintKey(dir)).rejects.toMatchObject({ code: 'invalid_fingerprint_key' });
    expect(await readFile(path)).toHaveLength(31);
  });

  it('refuses a key file readable by others', async () => {
    if (process.platform === 'win32') return;
    const path = join(dir, FINGERPRINT_KEY_FILE);
    await writeFile(path, Buffer.alloc(32, 1));
    await chmod(path, 0o644);
    await expect(loadOrCreateFingerprintKey(dir)).rejects.toMatchObject({ code: 'fingerprint_key_insecure' });
    await chmod(path, 0o600);
    expect((await loadOrCreateFingerprintKey(dir)).key.reveal().equals(Buffer.alloc(32, 1))).toBe(true);
  });
});
