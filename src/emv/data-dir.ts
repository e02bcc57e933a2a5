import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installation's `protocols/emv` folder, found by walking up from this module, so the same code
 * works from `src/` (tsx, vitest) and from `dist/src/` (built bins).
 */
export function emvDataDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'protocols', 'emv');
    if (existsSync(join(candidate, 'tags.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('protocols/emv folder not found next to the posbridge installation');
}
