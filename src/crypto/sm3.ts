/** SM3 hash (GM/T 0004-2012, GB/T 32905-2016): 32-byte digest, via node:crypto's OpenSSL `sm3`. */
import { createHash } from 'node:crypto';
import { requireGm } from './gm-support.js';

export const SM3_DIGEST_LENGTH = 32;

export function sm3(data: Uint8Array): Buffer {
  requireGm('sm3');
  return createHash('sm3').update(data).digest();
}
