import { expect } from 'vitest';
import { CryptoError } from '../../src/crypto/index.js';

/** Runs `fn`, which must throw a `CryptoError`, and returns it (for assertions on code, path, key). */
export function caught(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    return err as CryptoError;
  }
  throw new Error('expected a CryptoError');
}
