import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CodecVector {
  id: string;
  dialect: string;
  expect: 'ok' | 'error';
  framing: { lengthHeader: 'none' | '2-byte-binary'; tpdu: string | null; header: string | null };
  hex: string;
  bitmap?: string;
  fields?: Record<string, string>;
  hexFields?: string[];
  error?: Record<string, unknown>;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');

export function codecVectors(file: 'cup-pos.json' | 'iso87.json'): CodecVector[] {
  return (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors: CodecVector[] }).vectors;
}

/** Our dialect for a vector: acquirer-specific CUP vectors use dialects that extend cup-pos. */
export function dialectFor(v: CodecVector): string {
  if (v.id.startsWith('cup-vfwz-')) return 'cup-pos-vfwz';
  if (v.id.startsWith('cup-moonwa-')) return 'cup-pos-moonwa';
  if (v.dialect === 'pyiso8583-default_ascii') return 'iso87-ascii';
  return v.dialect;
}
