/** Typed access to test/vectors/emv-field55.json (read its `conventions` block for the meaning of fields). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface VectorTlv {
  offset: number;
  tag: string;
  length: number;
  lengthHex?: string;
  constructed: boolean;
  valueHex: string;
  children?: VectorTlv[] | null;
  childrenError?: { kind: string; elementOffset: number; needByteAt: number; detail: string };
  childrenNote?: string;
}

export interface VectorError {
  kind: string;
  elementOffset: number;
  needByteAt?: number;
  byteOffset?: number;
  detail: string;
}

export interface Field55Vector {
  id: string;
  expect: 'ok' | 'error';
  hex: string;
  byteLength: number;
  tlvs?: VectorTlv[];
  error?: VectorError;
  strictX690?: VectorError & { expect: 'error' };
}

const here = dirname(fileURLToPath(import.meta.url));
const file = JSON.parse(readFileSync(join(here, '..', 'vectors', 'emv-field55.json'), 'utf8')) as {
  vectors: Field55Vector[];
};

export const FIELD55_VECTORS: readonly Field55Vector[] = file.vectors;

export function vector(id: string): Field55Vector {
  const v = FIELD55_VECTORS.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
}

export function vectorBytes(id: string): Buffer {
  return Buffer.from(vector(id).hex, 'hex');
}

/** The vectors name error kinds with dashes; the codec's codes use underscores (length-invalid is bad_length). */
export const KIND_TO_CODE: Readonly<Record<string, string>> = {
  'tag-truncated': 'tag_truncated',
  'length-truncated': 'length_truncated',
  'value-truncated': 'value_truncated',
  'length-invalid': 'bad_length',
  'tag-non-minimal': 'tag_non_minimal',
};

/** A PAN-shaped digit string used only in tests (not a real card; fails Luhn). */
export const TEST_PAN = '6217973910000725090';
