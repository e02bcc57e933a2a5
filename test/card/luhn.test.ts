import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnCheckDigit, luhnValid } from '../../src/card/index.js';
import { seedFromEnv } from '../support/prng.js';

describe('Luhn', () => {
  it('known numbers', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('5105105105105100')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398710')).toBe(false);
  });

  it('rejects what is not a digit string', () => {
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('0')).toBe(false);
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
    expect(luhnValid('411111111111111a')).toBe(false);
  });

  it('check digit', () => {
    expect(luhnCheckDigit('7992739871')).toBe('3');
    expect(luhnCheckDigit('411111111111111')).toBe('1');
  });

  it('property: appending the check digit validates; changing any one digit breaks it', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{1,18}$/),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (partial, pos, delta) => {
          const full = partial + luhnCheckDigit(partial);
          expect(luhnValid(full)).toBe(true);
          const i = pos % full.length;
          const changed = full.slice(0, i) + String((Number(full[i]) + delta) % 10) + full.slice(i + 1);
          expect(luhnValid(changed)).toBe(false);
        },
      ),
      { seed: seedFromEnv('card luhn'), numRuns: 1000 },
    );
  });
});
