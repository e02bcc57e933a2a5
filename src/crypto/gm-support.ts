/**
 * Whether this Node's OpenSSL provides the Chinese commercial (GM) algorithms the SM4 / SM3 key schemes
 * use: `sm4-ecb` (GM/T 0002-2012, GB/T 32907-2016) and `sm3` (GM/T 0004-2012, GB/T 32905-2016).
 * Node 20's bundled OpenSSL 3 has both in its default provider; a Node linked against a system OpenSSL
 * built with `no-sm4` / `no-sm3` (some FIPS or distro builds) does not, and then SM4 / SM3 schemes
 * cannot run here. Checked once and cached.
 */
import { createCipheriv, createHash, getCiphers, getHashes } from 'node:crypto';
import { CryptoError } from './errors.js';

export interface GmSupport {
  /** `sm4-ecb` is listed by `crypto.getCiphers()` and a cipher context can be created. */
  sm4: boolean;
  /** `sm3` is listed by `crypto.getHashes()` and a hash can be created. */
  sm3: boolean;
  /** `process.versions.openssl`, e.g. "3.0.19". */
  openssl: string;
}

export type GmAlgorithm = 'sm4' | 'sm3';

let cached: GmSupport | undefined;

/** What this process's OpenSSL offers (listed and actually constructible). */
export function gmSupport(): GmSupport {
  cached ??= {
    sm4:
      getCiphers().includes('sm4-ecb') && constructs(() => createCipheriv('sm4-ecb', Buffer.alloc(16), null)),
    sm3: getHashes().includes('sm3') && constructs(() => createHash('sm3')),
    openssl: process.versions.openssl ?? 'unknown',
  };
  return { ...cached };
}

/**
 * Throws a `bad_algorithm` CryptoError (reason `unsupported`) when `what` is missing, e.g.
 * "this Node's OpenSSL (3.0.19) has no sm4-ecb: SM4 key schemes need an OpenSSL build with SM4".
 * `support` is for tests; callers leave it out.
 */
export function requireGm(what: GmAlgorithm, support: GmSupport = gmSupport()): void {
  if (support[what]) return;
  const name = what === 'sm4' ? 'sm4-ecb' : 'sm3';
  const scheme = what === 'sm4' ? 'SM4 key schemes' : 'SM3 hashing';
  const upper = what.toUpperCase();
  throw new CryptoError(
    'bad_algorithm',
    `this Node's OpenSSL (${support.openssl}) has no ${name}: ${scheme} need an OpenSSL build with ${upper}`,
    { expected: name, actual: 'unavailable', reason: 'unsupported' },
  );
}

function constructs(make: () => unknown): boolean {
  try {
    make();
    return true;
  } catch {
    return false;
  }
}
