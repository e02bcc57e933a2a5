// Builds @posbridge/client: dist/esm (ESM + .d.ts), dist/cjs (CommonJS + .d.ts) and
// dist/browser/posbridge-client.js (one minified ESM file for a <script type="module"> or a CDN).
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
for (const project of ['tsconfig.json', 'tsconfig.cjs.json'])
  execFileSync(process.execPath, [tsc, '-p', join(dir, project)], { cwd: dir, stdio: 'inherit' });
writeFileSync(join(dist, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');

// Browser bundles: one file per entry, no imports left (the web component can add an entry here).
const bundles = [{ entry: 'src/index.ts', out: 'posbridge-client.js' }];
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
