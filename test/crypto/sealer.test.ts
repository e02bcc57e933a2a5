import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEAL_OVERHEAD, Sealer } from '../../src/crypto/index.js';
import { caught } from '../support/crypto-error.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'posbridge-seal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const posix = process.platform !== 'win32';
const PAN = Buffer.from('6217973910000725090', 'latin1');

describe('Sealer (AES-256-GCM)', () => {
  it('creates the key file with mode 0600 in a new state directory and round-trips', async () => {
    const state = join(dir, 'state');
    const sealer = await Sealer.load(state);
    const st = await stat(join(state, 'seal-keys.json'));
    if (posix) expect(st.mode & 0o777).toBe(0o600);
    expect(sealer.currentKeyId).toBe(1);
    const doc = JSON.parse(await readFile(join(state, 'seal-keys.json'), 'utf8')) as {
      current: number;
      keys: Record<string, string>;
    };
    expect(doc.current).toBe(1);
    expect(Buffer.from(doc.keys['1'] as string, 'base64')).toHaveLength(32);

    const blob = sealer.seal(PAN);
    expect(blob).toHaveLength(PAN.length + SEAL_OVERHEAD);
    expect(blob.includes(PAN)).toBe(false);
    expect(sealer.open(blob)).toEqual(PAN);
    // Reloading reads the same key.
    expect((await Sealer.load(state)).open(blob)).toEqual(PAN);
    // Fresh nonce each time.
    expect(sealer.seal(PAN)).not.toEqual(sealer.seal(PAN));
    expect(sealer.open(sealer.seal(Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
  });

  it('writes the documented blob layout', async () => {
    const sealer = await Sealer.load(dir);
    const blob = sealer.seal(PAN);
    expect(blob[0]).toBe(1);
    expect(blob.readUInt32BE(1)).toBe(1);
    expect(Sealer.keyIdOf(blob)).toBe(1);
    expect(blob.length - 5 - 12 - 16).toBe(PAN.length);
  });

  it('detects tampering of any byte, truncation and extension', async () => {
    const sealer = await Sealer.load(dir);
    const blob = sealer.seal(PAN, Buffer.from('payment-1'));
    for (let i = 0; i < blob.length; i++) {
      const bad = Buffer.from(blob);
      bad[i] = (bad[i] as number) ^ 0x01;
      const err = caught(() => sealer.open(bad, Buffer.from('payment-1')));
      expect(err.code).toBe('seal_invalid');
      expect(err.message).not.toContain('6217973910000725090');
    }
    expect(caught(() => sealer.open(blob.subarray(0, blob.length - 1), Buffer.from('payment-1'))).code).toBe(
      'seal_invalid',
    );
    expect(
      caught(() => sealer.open(Buffer.concat([blob, Buffer.alloc(1)]), Buffer.from('payment-1'))).code,
    ).toBe('seal_invalid');
    expect(caught(() => sealer.open(blob.subarray(0, 20))).reason).toBe('too_short');
    const v2 = Buffer.from(blob);
    v2[0] = 2;
    expect(caught(() => sealer.open(v2)).reason).toBe('version');
    const unknown = Buffer.from(blob);
    unknown.writeUInt32BE(99, 1);
    expect(caught(() => sealer.open(unknown)).reason).toBe('unknown_key');
  });

  it('binds the aad: a different or missing aad fails', async () => {
    const sealer = await Sealer.load(dir);
    const blob = sealer.seal(PAN, Buffer.from('payment-1'));
    expect(sealer.open(blob, Buffer.from('payment-1'))).toEqual(PAN);
    expect(caught(() => sealer.open(blob, Buffer.from('payment-2')))).toMatchObject({
      code: 'seal_invalid',
      reason: 'auth_failed',
    });
    expect(caught(() => sealer.open(blob)).code).toBe('seal_invalid');
    const noAad = sealer.seal(PAN);
    expect(caught(() => sealer.open(noAad, Buffer.from('payment-1'))).code).toBe('seal_invalid');
  });

  it('rotates: new blobs use the new key, old blobs still open, also after a reload', async () => {
    const sealer = await Sealer.load(dir);
    const old = sealer.seal(PAN);
    const id = await sealer.rotate();
    expect(id).toBe(2);
    expect(sealer.currentKeyId).toBe(2);
    expect(sealer.keyIds).toEqual([1, 2]);
    const fresh = sealer.seal(PAN);
    expect(Sealer.keyIdOf(fresh)).toBe(2);
    expect(sealer.open(old)).toEqual(PAN);
    expect(sealer.open(fresh)).toEqual(PAN);

    const reloaded = await Sealer.load(dir);
    expect(reloaded.currentKeyId).toBe(2);
    expect(reloaded.open(old)).toEqual(PAN);
    expect(reloaded.open(fresh)).toEqual(PAN);
    const resealed = reloaded.reseal(old);
    expect(Sealer.keyIdOf(resealed)).toBe(2);
    expect(reloaded.open(resealed)).toEqual(PAN);
    if (posix) expect((await stat(join(dir, 'seal-keys.json'))).mode & 0o777).toBe(0o600);

    // A different key file cannot open them.
    const other = await Sealer.load(join(dir, 'other'));
    expect(caught(() => other.open(old)).code).toBe('seal_invalid');
    expect(caught(() => other.open(fresh)).code).toBe('seal_invalid');
  });

  it.skipIf(!posix)('refuses a key file readable by group or others', async () => {
    await Sealer.load(dir);
    await chmod(join(dir, 'seal-keys.json'), 0o644);
    await expect(Sealer.load(dir)).rejects.toMatchObject({ code: 'key_file_insecure' });
  });

  it('rejects a malformed key file without printing its contents', async () => {
    const path = join(dir, 'seal-keys.json');
    const secret = randomBytes(16).toString('base64');
    for (const content of [
      'not json',
      JSON.stringify({ format: 'posbridge-seal-keys', version: 1, current: 1, keys: { '1': secret } }),
      JSON.stringify({
        format: 'posbridge-seal-keys',
        version: 1,
        current: 2,
        keys: { '1': randomBytes(32).toString('base64') },
      }),
      JSON.stringify({ format: 'other', version: 1, current: 1, keys: {} }),
    ]) {
      await writeFile(path, content, { mode: 0o600 });
      await chmod(path, 0o600);
      const err = await Sealer.load(dir).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'key_file_invalid' });
      expect((err as Error).message).not.toContain(secret);
    }
  });

  it('in-memory sealers, and text forms without key bytes', async () => {
    const k1 = randomBytes(32);
    const sealer = Sealer.fromKeys([[7, k1]], 7);
    const blob = sealer.seal(PAN);
    expect(Sealer.keyIdOf(blob)).toBe(7);
    expect(Sealer.fromKeys([[7, k1]], 7).open(blob)).toEqual(PAN);
    expect(() => Sealer.fromKeys([[1, randomBytes(16)]], 1)).toThrowError(
      expect.objectContaining({ code: 'bad_key_length' }),
    );
    for (const t of [
      String(sealer),
      JSON.stringify(sealer),
      inspect(sealer, { showHidden: true, depth: 10 }),
    ]) {
      expect(t).not.toContain(k1.toString('hex'));
      expect(t).not.toContain(k1.toString('base64'));
    }
  });
});
