import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Sealer } from '../../src/crypto/index.js';
import { exportCsv } from '../../src/daemon/journal-command.js';
import { Journal, JOURNAL_FILE } from '../../src/journal/index.js';

describe('journal export: CSV injection (OWASP) from CRM-supplied text', () => {
  it('orderId / operatorId starting with = + - @ tab or CR are exported as text, never as formulas', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-csv-'));
    const j = Journal.open({ dir, sealer: await Sealer.load(dir) });
    const evil = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1'];
    evil.forEach((orderId, i) =>
      j.insertOperation({
        id: `op-${i}`,
        kind: 'sale',
        idempotencyKey: `k-${i}`,
        paramsHash: 'x',
        operatorId: i === 0 ? '=cmd|"/c calc"!A1' : 'op',
        orderId,
        originalId: null,
        amount: 100 + i,
        currency: '156',
        state: 'created',
        terminalId: 'POSB0001',
        readerId: null,
        batch: '000001',
      }),
    );
    j.close();
    const db = new Database(join(dir, JOURNAL_FILE), { readonly: true });
    const csv = exportCsv(db);
    db.close();
    // Every cell of every row: none starts with a formula trigger once CSV quoting is taken off.
    const cells = csv
      .trim()
      .split('\n')
      .slice(1)
      .flatMap((line) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? [])
      .map((c) =>
        c
          .replace(/,$/, '')
          .replace(/^"(.*)"$/s, '$1')
          .replace(/""/g, '"'),
      );
    for (const c of cells) expect(c, JSON.stringify(c)).not.toMatch(/^[=+\-@\t\r]/);
    expect(csv).toContain(`'=HYPERLINK`);
    expect(csv).toContain(`'@SUM(A1)`);
  });
});
