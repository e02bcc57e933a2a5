// The client as a CRM team gets it: `npm pack` of packages/client, installed from the tarball into an
// empty folder (with `ws`, packed from this repo's node_modules, so no network), then the README's Node
// snippet run there against a daemon API this test starts; CommonJS, the browser bundle and the types
// checked from that folder too. The package is built in a copy, so the working tree's dist/ is untouched.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBench, TOKEN, type Bench } from '../api/helpers.js';

const run = promisify(execFile);
const root = process.cwd();
const pkgDir = join(root, 'packages', 'client');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

/** The environment without npm's own variables (an `npm test` parent would point npm at this repo). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** The README's Node snippet: the ```js block after the `<!-- snippet: node` marker. */
function readmeSnippet(): string {
  const md = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const m = /<!-- snippet: node[^>]*-->\s*```js\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error('packages/client/README.md has no `<!-- snippet: node -->` block');
  return m[1]!;
}

/** Every package.json under node_modules (scoped ones too). */
function installedPackages(
  nodeModules: string,
): { name: string; dir: string; json: Record<string, unknown> }[] {
  const out: { name: string; dir: string; json: Record<string, unknown> }[] = [];
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@')
      ? readdirSync(join(nodeModules, entry)).map((n) => join(nodeModules, entry, n))
      : [join(nodeModules, entry)];
    for (const dir of dirs) {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      out.push({ name: String(json['name']), dir, json });
      if (existsSync(join(dir, 'node_modules'))) out.push(...installedPackages(join(dir, 'node_modules')));
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

let tmp: string;
let app: string;
let packed: { filename: string; files: { path: string }[] };
let installMs: number;
let bench: Bench;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pb-client-pack-'));
  // A copy of the package (its build tools from this repo's node_modules): prepack builds it there.
  const copy = join(tmp, 'pkg');
  mkdirSync(copy);
  for (const f of [
    'src',
    'scripts',
    'package.json',
    'tsconfig.json',
    'tsconfig.cjs.json',
    'tsconfig.element.json',
    'README.md',
    'LICENSE',
  ])
    cpSync(join(pkgDir, f), join(copy, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const out = join(tmp, 'out');
  mkdirSync(out);
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: copy,
    env: cleanEnv(),
  });
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;
  // ws from this repo's node_modules, so the install needs no registry.
  const ws = await run('npm', ['pack', join(root, 'node_modules', 'ws'), '--pack-destination', out], {
    cwd: out,
    env: cleanEnv(),
  });
  const wsTarball = ws.stdout.trim().split('\n').pop()!;

  // An empty folder, as a CRM developer's.
  app = join(tmp, 'app');
  mkdirSync(app);
  const t0 = Date.now();
  await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', join(out, packed.filename), join(out, wsTarball)],
    { cwd: app, env: cleanEnv() },
  );
  installMs = Date.now() - t0;
  bench = await startBench();
}, 120_000);

afterAll(async () => {
  await bench?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack of @posbridge/client', () => {
  it('packs the builds, the types, the browser bundle, README and LICENSE, and nothing of the daemon', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'dist/browser/posbridge-client.js',
      'dist/browser/posbridge-pay.js',
      'dist/esm/element/index.d.ts',
    ])
      expect(files).toContain(f);
    // The element's implementation types import lit, which users do not install: not shipped.
    expect(files.filter((f) => /^dist\/.*element\/(posbridge-pay|styles)\.d\.ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => !/^(dist|src)\/|^(package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg['license']).toBe('MIT');
    expect(pkg['dependencies']).toBeUndefined();
    // lit builds the element and is bundled into it: a devDependency, never installed by users.
    expect(Object.keys((pkg['devDependencies'] ?? {}) as object)).toContain('lit');
    const installedPkg = JSON.parse(
      readFileSync(join(app, 'node_modules', '@posbridge', 'client', 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(installedPkg['dependencies']).toBeUndefined();
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('installs in seconds into an empty folder: two packages, no install scripts, nothing native', () => {
    expect(installMs).toBeLessThan(20_000);
    const nodeModules = join(app, 'node_modules');
    const installed = installedPackages(nodeModules);
    expect(installed.map((p) => p.name).sort()).toEqual(['@posbridge/client', 'ws']);
    for (const p of installed) {
      const scripts = (p.json['scripts'] ?? {}) as Record<string, string>;
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
        expect(scripts[hook], `${p.name} ${hook}`).toBeUndefined();
      expect(p.json['gypfile'], p.name).toBeFalsy();
      const native = filesUnder(p.dir).filter((f) => /\.node$|binding\.gyp$/.test(f));
      expect(native, p.name).toEqual([]);
    }
  });

  it("runs the README's Node snippet from that folder against a daemon", async () => {
    writeFileSync(join(app, 'pay.mjs'), readmeSnippet());
    const { stdout } = await run(process.execPath, ['pay.mjs'], {
      cwd: app,
      env: cleanEnv({ POSBRIDGE_URL: bench.url, POSBRIDGE_TOKEN: TOKEN }),
      timeout: 30_000,
    });
    expect(stdout).toContain('R1 (reader, idle)');
    expect(stdout).toMatch(/… present_card|… awaiting_card|… created/);
    expect(stdout).toMatch(/^completed \S+ paid: 123\.00 CNY$/m);
    const pb = await bench.connected();
    expect(await pb.order.get('ORD-1001')).toMatchObject({ captured: 12_300 });
  });

  it('works from CommonJS too (require), with the same API', async () => {
    const script = `
      const { PosbridgeClient, UnknownEventError, PROTOCOL_VERSION } = require('@posbridge/client');
      const { WebSocket } = require('ws');
      const pb = new PosbridgeClient({ url: process.env.POSBRIDGE_URL, token: process.env.POSBRIDGE_TOKEN, WebSocket });
      try { pb.on('nonsense', () => {}); } catch (e) { console.log(e instanceof UnknownEventError, e.code); }
      pb.connect().then(() => pb.discoverTerminals()).then((t) => {
        console.log('protocol', PROTOCOL_VERSION, 'terminals', t.length, require('@posbridge/client/package.json').license);
        pb.close();
      }, (e) => { console.error(e); process.exit(1); });
    `;
    writeFileSync(join(app, 'check.cjs'), script);
    const { stdout } = await run(process.execPath, ['check.cjs'], {
      cwd: app,
      env: cleanEnv({ POSBRIDGE_URL: bench.url, POSBRIDGE_TOKEN: TOKEN }),
      timeout: 30_000,
    });
    expect(stdout).toContain('true unknown_event');
    expect(stdout).toContain('protocol 1 terminals 1 MIT');
  });

  it('ships a browser bundle: one ES module without imports', async () => {
    const file = join(app, 'node_modules', '@posbridge', 'client', 'dist', 'browser', 'posbridge-client.js');
    const text = readFileSync(file, 'utf8');
    expect(ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName)).toEqual([]);
    expect(/\brequire\s*\(/.test(text)).toBe(false);
    expect(text.length).toBeLessThan(80_000); // with the wording tables (zh, en)
    const mod = (await import(file)) as Record<string, unknown>;
    expect(typeof mod['PosbridgeClient']).toBe('function');
    expect(typeof mod['newIdempotencyKey']).toBe('function');
  });

  it('ships <posbridge-pay>: one self-registering ES module with lit inlined, and its types', async () => {
    const dir = join(app, 'node_modules', '@posbridge', 'client');
    const text = readFileSync(join(dir, 'dist', 'browser', 'posbridge-pay.js'), 'utf8');
    // Its imports as a parser sees them (the bundle's messages mention `import ... from "ws"` in strings).
    const esbuild = createRequire(join(root, 'package.json'))('esbuild') as typeof import('esbuild');
    const scan = await esbuild.build({
      stdin: { contents: text, loader: 'js' },
      bundle: true,
      write: false,
      metafile: true,
      external: ['*'],
      format: 'esm',
      logLevel: 'silent',
    });
    expect(scan.metafile.inputs['<stdin>']!.imports).toEqual([]);
    expect(/\brequire\s*\(/.test(text)).toBe(false);
    expect(text).toContain('customElements.define');
    expect(text).toContain('posbridge-pay');
    expect(text.length).toBeLessThan(160_000);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
      sideEffects: unknown;
    };
    expect(pkg.exports['./element']).toEqual({
      types: './dist/esm/element/index.d.ts',
      default: './dist/browser/posbridge-pay.js',
    });
    expect(pkg.sideEffects).toEqual(['./dist/browser/posbridge-pay.js']);

    // A CRM page's TypeScript (DOM library, no lit installed) sees the element's type.
    writeFileSync(
      join(app, 'probe-element.mts'),
      [
        "import type { PosbridgePayElement } from '@posbridge/client/element';",
        "const el = document.createElement('posbridge-pay');",
        'const typed: PosbridgePayElement = el;',
        "typed.amount = 1280000; typed.order = 'CAR-1';",
        "el.addEventListener('click', () => void typed.pay());",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.element.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['probe-element.mts'],
      }),
    );
    const r = await run(process.execPath, [tsc, '-p', 'tsconfig.element.json'], {
      cwd: app,
      env: cleanEnv(),
    }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    expect(r).toBe('');
  });

  it('type-checks for ESM and CommonJS consumers (NodeNext), without DOM or Node types', async () => {
    writeFileSync(
      join(app, 'probe.mts'),
      [
        "import { PosbridgeClient, type CollectedPayment, type Payment } from '@posbridge/client';",
        "const pb = new PosbridgeClient({ url: 'ws://127.0.0.1:7583/ws', token: 't' });",
        "const p: Promise<CollectedPayment> = pb.collectPayment({ orderId: 'O', amount: 1 });",
        'p.then((r) => { const x: Payment = r; return x.state; });',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'probe.cts'),
      [
        "import client = require('@posbridge/client');",
        "const pb = new client.PosbridgeClient({ url: 'ws://127.0.0.1:7583/ws' });",
        "pb.on('payment', (e) => e.seq);",
        'export = pb;',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['probe.mts', 'probe.cts'],
      }),
    );
    const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, env: cleanEnv() }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    expect(r).toBe('');
  });
});
