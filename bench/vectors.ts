import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/vectors, found from bench/ under tsx or from dist/bench/ when compiled. */
export function vectorsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'test', 'vectors'))) return join(dir, 'test', 'vectors');
    dir = dirname(dir);
  }
  throw new Error('test/vectors not found');
}

/** One vector by file and id. */
export function readVector<T = Record<string, unknown>>(file: string, id: string): T {
  const all = JSON.parse(readFileSync(join(vectorsDir(), file), 'utf8')) as {
    vectors: ({ id: string } & T)[];
  };
  const v = all.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`vector ${id} not in ${file}`);
  return v;
}
