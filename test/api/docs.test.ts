import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { METHODS, NOTIFICATIONS, ERROR_CODES } from '../../src/api/index.js';
import { renderProtocolMd, renderSchemaJson, repoRoot } from '../../src/api/render-docs.js';

const root = repoRoot();

describe('published schemas and docs', () => {
  it('docs/protocol.schema.json and the reference in docs/protocol.md are up to date (npx tsx src/api/render-docs.ts)', () => {
    const md = readFileSync(join(root, 'docs/protocol.md'), 'utf8');
    expect(readFileSync(join(root, 'docs/protocol.schema.json'), 'utf8')).toBe(renderSchemaJson());
    expect(md).toBe(renderProtocolMd(md));
  });

  it('names every method, notification and error code of the issue', () => {
    expect(Object.keys(METHODS)).toEqual(
      expect.arrayContaining([
        'session.hello',
        'session.pair',
        'terminal.list',
        'terminal.connect',
        'terminal.disconnect',
        'terminal.status',
        'payment.sale',
        'payment.preauth',
        'payment.balance',
        'payment.capture',
        'payment.void',
        'payment.refund',
        'payment.get',
        'payment.cancel',
        'payment.acceptPartial',
        'order.get',
        'events.replay',
      ]),
    );
    expect(Object.keys(NOTIFICATIONS)).toEqual(['payment.event', 'terminal.event']);
    expect(Object.keys(ERROR_CODES)).toEqual(
      expect.arrayContaining([
        'unauthorized',
        'reader_busy',
        'reader_not_connected',
        'amount_exceeds_refundable',
        'unknown_payment',
        'idempotency_conflict',
      ]),
    );
  });
});

describe('the client runs in browsers', () => {
  // The client package (@posbridge/client): its core files, the top level of packages/client/src.
  const dir = join(root, 'packages/client/src');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it('the daemon re-exports the package: src/api/client is no second copy', () => {
    for (const f of readdirSync(join(root, 'src/api/client')).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(root, 'src/api/client', f), 'utf8');
      const specs = ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName);
      expect(specs, f).toEqual(['@posbridge/client']);
    }
  });

  it('imports nothing but its own folder (no node: modules, no other posbridge code)', () => {
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      const specs = ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName);
      for (const s of specs) expect(s, `${f} imports ${s}`).toMatch(/^\.\/[\w-]+\.js$/);
      expect(text, f).not.toMatch(/\b(?:Buffer|process|require)\b\s*[.(]/);
    }
  });

  it('type-checks with the DOM library and no Node types', () => {
    // A page's code: the browser's own WebSocket fits the constructor option.
    const probe = join(mkdtempSync(join(tmpdir(), 'pb-client-')), 'page.ts');
    writeFileSync(
      probe,
      `import { PosbridgeClient } from ${JSON.stringify(join(dir, 'index.js'))};\n` +
        'const pb = new PosbridgeClient({ WebSocket, url: "ws://127.0.0.1:7583/ws", token: "t" });\n' +
        'pb.on("payment", (e) => console.log(e.seq, e.state));\n',
    );
    const program = ts.createProgram([join(dir, 'index.ts'), probe], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });
});
