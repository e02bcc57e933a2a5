import { describe, expect, it } from 'vitest';
import { luhnValid } from '../../src/card/index.js';
import { CardTableError, loadCards, parseCards } from '../../simulators/shared/cards.js';

const good = (): Record<string, unknown> => ({
  currency: '156',
  cards: [
    {
      id: 'a',
      label: 'A',
      pan: '6212345678000000010',
      psn: '01',
      expiry: '3012',
      scheme: 'unionpay',
      serviceCode: '220',
      balance: 100,
      pin: '1234',
      imk: '00112233445566778899AABBCCDDEEFF',
      entryModes: ['chip'],
    },
  ],
  amountOutcomes: [{ suffix: '51', outcome: 'decline', responseCode: '51', meaning: 'x' }],
});

describe('simulators/cards.json', () => {
  it('loads, with Luhn-valid PANs, large balances, chip keys and a device token', () => {
    const t = loadCards();
    expect(t.cards.length).toBeGreaterThanOrEqual(8);
    for (const c of t.cards) expect(luhnValid(c.pan.reveal())).toBe(true);
    expect(t.cards.some((c) => (c.balance ?? 0) >= 50_000_000)).toBe(true);
    expect(new Set(t.cards.map((c) => c.scheme))).toEqual(new Set(['unionpay', 'visa', 'mastercard']));
    const token = t.cards.find((c) => c.token)!;
    expect(token.account).toBe(token.token!.fundingCardId);
    expect(t.byId(token.token!.fundingCardId)!.pan.lastFour).toBe(token.token!.fundingPanLast4);
    expect(t.outcomeFor('000001000051')).toMatchObject({ responseCode: '51' });
    expect(t.outcomeFor(2_000_077)).toMatchObject({ outcome: 'partial', responseCode: '10' });
    expect(t.outcomeFor(100_000)).toBeUndefined();
    expect(JSON.stringify(t.cards)).not.toContain(t.cards[0]!.pan.reveal());
  });

  it('reports every problem with its JSON path', () => {
    const bad = good();
    const c0 = (bad['cards'] as Record<string, unknown>[])[0]!;
    c0['pan'] = '6212345678000000011'; // Luhn
    c0['expiry'] = '3013';
    c0['imk'] = null; // chip needs one
    c0['color'] = 'red';
    (bad['amountOutcomes'] as unknown[]).push({ suffix: '5', outcome: 'decline', responseCode: '05' });
    try {
      parseCards(bad);
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(CardTableError);
      const paths = (err as CardTableError).problems.map((p) => p.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          '$.cards[0].pan',
          '$.cards[0].expiry',
          '$.cards[0].imk',
          '$.cards[0].color',
          '$.amountOutcomes[1].suffix',
        ]),
      );
    }
    expect(() => parseCards(good())).not.toThrow();
  });

  it('checks cross references (account, funding card)', () => {
    const bad = good();
    (bad['cards'] as unknown[]).push({
      ...(bad['cards'] as Record<string, unknown>[])[0]!,
      id: 'tok',
      pan: '6217880000000000090',
      balance: undefined,
      account: 'missing',
      entryModes: ['contactless'],
      token: {
        wallet: 'w',
        par: 'A'.repeat(29),
        tokenRequestorId: '12345678901',
        fundingCardId: 'a',
        fundingPanLast4: '9999',
      },
    });
    expect(() => parseCards(bad)).toThrow(/\$\.cards\[1\]\.account.*\$\.cards\[1\]\.token\.fundingPanLast4/);
  });
});
