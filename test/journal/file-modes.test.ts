import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sealer } from '../../src/crypto/index.js';
import { Journal, JOURNAL_FILE } from '../../src/journal/index.js';

const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);

describe("journal files are the owner's alone (PCI DSS 4.0: card data at rest)", () => {
  it('journal.db, -wal and -shm are created 0600 whatever the umask; the state directory 0700', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pb-modes-')), 'state');
    const old = process.umask(0o022);
    try {
      const j = Journal.open({ dir, sealer: await Sealer.load(mkdtempSync(join(tmpdir(), 'pb-seal-'))) });
      j.audit('op', 'probe', null, {});
      const f = join(dir, JOURNAL_FILE);
      expect([mode(f), mode(`${f}-wal`), mode(`${f}-shm`)]).toEqual(['600', '600', '600']);
      expect(mode(dir)).toBe('700');
      j.close();
    } finally {
      process.umask(old);
    }
  });

  it('files an older version left 0644 are tightened at open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-modes-'));
    const sealer = await Sealer.load(mkdtempSync(join(tmpdir(), 'pb-seal-')));
    Journal.open({ dir, sealer }).close();
    const f = join(dir, JOURNAL_FILE);
    chmodSync(f, 0o644);
    writeFileSync(`${f}-wal`, '');
    chmodSync(`${f}-wal`, 0o644);
    const j = Journal.open({ dir, sealer });
    expect(mode(f)).toBe('600');
    expect(mode(`${f}-wal`)).toBe('600');
    j.close();
  });
});
