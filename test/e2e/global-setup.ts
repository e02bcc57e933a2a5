/**
 * The page loads the typed client the demo serves from dist/src/api/client/ (compiled JavaScript, as
 * a CRM page would get it). Compile that folder before the suite, so the page never runs a stale
 * client. The client imports nothing outside its folder, so this takes a second or two and does
 * not depend on the rest of the build.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const dir = join(root, 'src', 'api', 'client');
  execFileSync(
    process.execPath,
    [
      tsc,
      ...['index.ts', 'errors.ts', 'types.ts'].map((f) => join(dir, f)),
      '--outDir',
      join(root, 'dist', 'src', 'api', 'client'),
      '--rootDir',
      dir,
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--lib',
      'ES2022',
      '--types',
      'node',
      '--strict',
      '--declaration',
      '--sourceMap',
      '--skipLibCheck',
    ],
    { cwd: root, stdio: 'inherit' },
  );
}
