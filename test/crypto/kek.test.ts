import { createHmac } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FingerprintKey, loadOrCreateFingerprintKey, Pan } from '../../src/card/index.js';
import { KeyEncryptionKey, Sealer, type KeyringEntry } from '../../src/crypto/index.js';
import { Journal, JOURNAL_FILE } from '../../src/journal/index.js';

const fresh = (p: string): string => mkdtempSync(join(tmpdir(), p));
const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);

/** The PCI DSS 4.0 3.6.1.2 / 3.5.1.1 defects of issue R2 3/7: keys beside the data. */
describe('the key-encrypting key lives outside the state directory', () => {
  it('file KEK: created 0600, refused inside the state directory, wraps and unwraps; another KEK cannot open', async () => {
    const state = fresh('pb-state-');
    const path = join(fresh('pb-kek-'), 'kek');
    const kek = await KeyEncryptionKey.load({ kind: 'file', path }, { stateDir: state });
    expect(mode(path)).toBe('600');
    await expect(
      KeyEncryptionKey.load({ kind: 'file', path: join(state, 'kek') }, { stateDir: state }),
    ).rejects.toMatchObject({ code: 'kek_inside_state_dir' });
    const wrapped = kek.wrap(Buffer.from('secret key bytes'), 'x.key');
    expect(kek.unwrap(wrapped, 'x.key').toString()).toBe('secret key bytes');
    expect(() => kek.unwrap(wrapped, 'y.key')).toThrow(
      expect.objectContaining({ code: 'kek_mismatch' }) as Error,
    );
    const other = await KeyEncryptionKey.load(
      { kind: 'file', path: join(fresh('pb-kek-'), 'kek') },
      { stateDir: state },
    );
    expect(() => other.unwrap(wrapped, 'x.key')).toThrow(/another key-encrypting key/);
    expect(String(kek)).not.toContain(readFileSync(path, 'utf8').trim());
  });

  it('OS credential store: one entry per state directory, read back after writing; unavailable → typed error, no fallback', async () => {
    const store = new Map<string, string>();
    const keyring = (service: string, account: string): KeyringEntry => ({
      getPassword: () => store.get(`${service}/${account}`),
      setPassword: (v: string) => void store.set(`${service}/${account}`, v),
    });
    const state = fresh('pb-state-');
    const a = await KeyEncryptionKey.load({ kind: 'os' }, { stateDir: state, keyring });
    const b = await KeyEncryptionKey.load({ kind: 'os' }, { stateDir: state, keyring });
    expect(a.id).toBe(b.id);
    expect(store.size).toBe(1);
    const broken = (): KeyringEntry => ({
      getPassword: () => {
        throw new Error("Couldn't access platform storage: AccessDenied");
      },
      setPassword: () => undefined,
    });
    await expect(
      KeyEncryptionKey.load({ kind: 'os' }, { stateDir: state, keyring: broken }),
    ).rejects.toMatchObject({
      code: 'kek_unavailable',
      message: expect.stringMatching(/keyStore.*file/) as string,
    });
    // Never silently a file in the state directory instead.
    expect(readdirSync(state)).toEqual([]);
    // A store that accepts a key and forgets it is refused too.
    const forgetful = (): KeyringEntry => ({ getPassword: () => null, setPassword: () => undefined });
    await expect(
      KeyEncryptionKey.load({ kind: 'os' }, { stateDir: state, keyring: forgetful }),
    ).rejects.toMatchObject({
      code: 'kek_unavailable',
    });
  });

  it('sealing keys and the fingerprint key are stored wrapped; older clear files are wrapped at the next start', async () => {
    const state = fresh('pb-state-');
    // An older version's state: clear key files.
    await Sealer.load(state);
    await loadOrCreateFingerprintKey(state);
    const clearSeal = readFileSync(join(state, 'seal-keys.json'), 'utf8');
    const clearFp = readFileSync(join(state, 'fingerprint.key'));
    expect(clearSeal).toContain('"keys"');
    const kek = await KeyEncryptionKey.load(
      { kind: 'file', path: join(fresh('pb-kek-'), 'kek') },
      { stateDir: state },
    );
    const sealer = await Sealer.load(state, { kek });
    const { key } = await loadOrCreateFingerprintKey(state, { protector: kek });
    expect(key.reveal().equals(clearFp)).toBe(true); // the same key, so old fingerprints still compare
    const seal = readFileSync(join(state, 'seal-keys.json'), 'utf8');
    expect(seal).toContain('posbridge-kek-envelope');
    for (const b64 of Object.values((JSON.parse(clearSeal) as { keys: Record<string, string> }).keys))
      expect(seal).not.toContain(b64);
    expect(readFileSync(join(state, 'fingerprint.key')).includes(clearFp)).toBe(false);
    expect(mode(join(state, 'seal-keys.json'))).toBe('600');
    expect(mode(join(state, 'fingerprint.key'))).toBe('600');
    // Without the KEK the wrapped files open nothing.
    await expect(Sealer.load(state)).rejects.toMatchObject({ code: 'kek_required' });
    await expect(loadOrCreateFingerprintKey(state)).rejects.toThrow(/wrapped under a key-encrypting key/);
    expect(sealer).toBeDefined();
  });
});

describe('a copy of the whole state directory yields no PAN', () => {
  const PAN = '6212345678901234'; // 16 digits: 6 + 4 are stored masked, 6 unknown
  async function stateWithSealedPan(protect: boolean) {
    const state = fresh('pb-state-');
    const kek = protect
      ? await KeyEncryptionKey.load(
          { kind: 'file', path: join(fresh('pb-kek-'), 'kek') },
          { stateDir: state },
        )
      : undefined;
    const sealer = await Sealer.load(state, kek ? { kek } : {});
    const { key } = await loadOrCreateFingerprintKey(state, kek ? { protector: kek } : {});
    const journal = Journal.open({ dir: state, sealer });
    journal.insertOperation({
      id: 'op-1',
      kind: 'sale',
      idempotencyKey: 'k',
      paramsHash: 'x',
      operatorId: 'op',
      orderId: null,
      originalId: null,
      amount: 100,
      currency: '156',
      state: 'authorizing',
      terminalId: 'POSB0001',
      readerId: null,
      batch: '000001',
    });
    const pan = Pan.fromDigits(PAN);
    journal.updateOperation('op-1', {
      card: {
        maskedPan: pan.masked,
        fingerprint: key.fingerprint(pan),
        scheme: 'unionpay',
        kind: 'chip',
        entryMode: '051',
        panDisplay: pan.masked,
      },
    });
    journal.sealPan('op-1', pan);
    journal.close();
    const copy = fresh('pb-stolen-');
    cpSync(state, copy, { recursive: true });
    return { copy, kek };
  }

  /**
   * The attacker's best move with the directory alone: find the fingerprint key among the files (every
   * 32-byte window of every file, raw or base64-decoded), then try the 10^6 middle-digit candidates of
   * the stored masked PAN against the stored fingerprint. Returns the PAN found, if any.
   */
  function bruteForce(dir: string): string | undefined {
    const db = readFileSync(join(dir, JOURNAL_FILE)).toString('latin1');
    const fp = /fp1:[0-9a-f]{8}:([A-Za-z0-9_-]{43})/.exec(db)?.[1];
    const masked = /(\d{6})\*{6}(\d{4})/.exec(db);
    if (!fp || !masked) throw new Error('no fingerprint or masked PAN in the journal');
    const blobs: Buffer[] = [];
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      blobs.push(bytes);
      for (const m of bytes.toString('latin1').match(/[A-Za-z0-9+/=]{40,}/g) ?? [])
        blobs.push(Buffer.from(m, 'base64'));
    }
    const probe = `${masked[1]}000000${masked[2]}`;
    const candidateKeys: Buffer[] = [];
    for (const b of blobs)
      for (let i = 0; i + 32 <= b.length && candidateKeys.length < 400_000; i++)
        candidateKeys.push(b.subarray(i, i + 32));
    // A key is right when some candidate PAN matches: test each key on the real structure cheaply by
    // checking the key id, which the fingerprint carries (as an attacker would).
    const keyId = /fp1:([0-9a-f]{8}):/.exec(db)![1]!;
    const key = candidateKeys.find(
      (k) =>
        createHmac('sha256', k).update('posbridge fingerprint key id').digest('hex').slice(0, 8) === keyId,
    );
    if (!key) return undefined;
    const fk = FingerprintKey.fromBytes(key);
    for (let mid = 0; mid < 1_000_000; mid++) {
      const pan = `${masked[1]}${String(mid).padStart(6, '0')}${masked[2]}`;
      if (fk.fingerprint(pan).endsWith(fp)) return pan;
    }
    return probe === PAN ? PAN : undefined;
  }

  it('with the keys beside the data (the old layout) the masked PAN falls in seconds: the attack works', async () => {
    const { copy } = await stateWithSealedPan(false);
    const t0 = Date.now();
    expect(bruteForce(copy)).toBe(PAN);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);

  it('with the KEK outside: no key in the directory, so the search is over 2^256 keys (> 2^40), and the sealed PAN does not open', async () => {
    const { copy, kek } = await stateWithSealedPan(true);
    expect(bruteForce(copy)).toBeUndefined();
    // What is left to the attacker: the fingerprint key (HMAC-SHA256, 256-bit) or the KEK (AES-256).
    const work = 2 ** 256;
    expect(work).toBeGreaterThan(2 ** 40);
    // The copy opens neither without the KEK nor with another one.
    await expect(Sealer.load(copy)).rejects.toMatchObject({ code: 'kek_required' });
    const other = await KeyEncryptionKey.load(
      { kind: 'file', path: join(fresh('pb-kek-'), 'kek') },
      { stateDir: copy },
    );
    await expect(Sealer.load(copy, { kek: other })).rejects.toMatchObject({ code: 'kek_mismatch' });
    // With the right KEK (the owner's machine) it still opens: nothing was lost.
    const journal = Journal.open({ dir: copy, sealer: await Sealer.load(copy, { kek: kek! }), lock: false });
    expect(journal.openPan('op-1')?.masked).toBe(Pan.fromDigits(PAN).masked);
    journal.close();
    expect(existsSync(join(copy, 'fingerprint.key'))).toBe(true);
  });
});

describe('posbridge keys: rotation of the key-encrypting key', () => {
  it('rewrap moves both key files to a new KEK; sealed PANs and fingerprints stay valid; the old KEK no longer opens them', async () => {
    const { keysCommand } = await import('../../src/daemon/keys-command.js');
    const state = fresh('pb-state-');
    const oldPath = join(fresh('pb-kek-'), 'kek');
    const newPath = join(fresh('pb-kek-'), 'kek');
    const oldKek = await KeyEncryptionKey.load({ kind: 'file', path: oldPath }, { stateDir: state });
    const sealer = await Sealer.load(state, { kek: oldKek });
    const blob = sealer.seal(Buffer.from('6212345678901234'));
    const { key } = await loadOrCreateFingerprintKey(state, { protector: oldKek });
    const before = process.env['POSBRIDGE_KEY_FILE'];
    process.env['POSBRIDGE_KEY_FILE'] = oldPath;
    try {
      expect(await keysCommand(['rewrap', '--to', `file:${newPath}`], () => state)).toBe(0);
    } finally {
      if (before === undefined) delete process.env['POSBRIDGE_KEY_FILE'];
      else process.env['POSBRIDGE_KEY_FILE'] = before;
    }
    const newKek = await KeyEncryptionKey.load(
      { kind: 'file', path: newPath },
      { stateDir: state, create: false },
    );
    expect((await Sealer.load(state, { kek: newKek })).open(blob).toString()).toBe('6212345678901234');
    expect((await loadOrCreateFingerprintKey(state, { protector: newKek })).key.id).toBe(key.id);
    await expect(Sealer.load(state, { kek: oldKek })).rejects.toMatchObject({ code: 'kek_mismatch' });
    expect(await keysCommand(['rewrap', '--to', 'nowhere'], () => state)).toBe(2);
  });
});
