// Builds @posbridge/client: dist/esm (ESM + .d.ts), dist/cjs (CommonJS + .d.ts),
// dist/browser/posbridge-client.js (one minified ESM file for a <script type="module"> or a CDN) and
// dist/browser/posbridge-pay.js (the <posbridge-pay> element, self-registering, lit and the client
// inlined; its types in dist/esm/element/). lit is a devDependency: bundled, never installed by users.
// `npm run build` here, the root's `npm run build`, and `npm pack` (prepack) run it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(dir, 'package.json'));
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const dist = join(dir, 'dist');

rmSync(dist, { recursive: true, force: true });

const tsc = require.resolve('typescript/bin/tsc');
// tsconfig.element.json: the element's .d.ts (it needs the DOM library the other builds keep out).
for (const project of ['tsconfig.json', 'tsconfig.cjs.json', 'tsconfig.element.json'])
  execFileSync(process.execPath, [tsc, '-p', join(dir, project)], { cwd: dir, stdio: 'inherit' });
writeFileSync(join(dist, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
// The element's public types are its index.d.ts (PosbridgePayElement, no lit types); the implementation's
// declarations would import lit, which users do not install: not shipped.
for (const f of ['posbridge-pay', 'styles'])
  for (const ext of ['.d.ts', '.d.ts.map']) rmSync(join(dist, 'esm', 'element', f + ext), { force: true });

// Browser bundles: one file per entry, no imports left.
const bundles = [
  { entry: 'src/index.ts', out: 'posbridge-client.js' },
  { entry: 'src/element/index.ts', out: 'posbridge-pay.js' },
];
const esbuild = require('esbuild');
mkdirSync(join(dist, 'browser'), { recursive: true });
for (const b of bundles) {
  await esbuild.build({
    entryPoints: [join(dir, b.entry)],
    outfile: join(dist, 'browser', b.out),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    banner: { js: `/*! ${pkg.name} ${pkg.version} | ${pkg.license} license */` },
    logLevel: 'warning',
  });
}
