import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctor } from '../../src/daemon/doctor.js';
import { Sealer } from '../../src/crypto/index.js';
import { Journal } from '../../src/journal/index.js';

describe('doctor: state files and the key-encrypting key (PCI DSS 4.0)', () => {
  it('fails a state file readable by others, warns about a key file KEK and clear key files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-doctor-keys-'));
    Journal.open({ dir, sealer: await Sealer.load(dir) }).close(); // clear seal-keys.json: an older version
    writeFileSync(join(dir, 'journal.db-wal'), '');
    chmodSync(join(dir, 'journal.db-wal'), 0o644);
    const checks = await doctor({
      stateDir: dir,
      readers: [],
      keyStore: { kind: 'file', path: '/etc/posbridge/kek' },
    });
    const by = (name: string) => checks.find((c) => c.name === name);
    expect(by('state files')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('journal.db-wal (644)') as string,
    });
    expect(by('key-encrypting key')).toMatchObject({ status: 'warn' });
    expect(by('key file seal-keys.json wrapped')).toMatchObject({ status: 'warn' });
    chmodSync(join(dir, 'journal.db-wal'), 0o600);
    const again = await doctor({ stateDir: dir, readers: [], keyStore: { kind: 'os' } });
    expect(again.find((c) => c.name === 'state files')?.status).toBe('pass');
    expect(again.find((c) => c.name === 'key-encrypting key')?.status).toBe('pass');
  });
});
