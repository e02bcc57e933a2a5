import util from 'node:util';
import { describe, expect, it } from 'vitest';
import { CardDataError, SensitiveBytes, Track2 } from '../../src/card/index.js';
import { leaksIn, PAN16, PAN19, TRACK2_CLEAR } from './fixtures.js';

const ENCRYPTED = '8F3A1C9B0D2E4F6A7B8C9D0E1F2A3B4C5D6E7F8091A2B3C4'; // TDK ciphertext as nibbles

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CardDataError);
    return (err as CardDataError).code;
  }
  return undefined;
}

describe('Track2.parse', () => {
  it('nibble form with D separator', () => {
    const t = Track2.parse(TRACK2_CLEAR);
    expect(t.encrypted).toBe(false);
    expect(t.pan.reveal()).toBe(PAN19);
    expect(t.separator).toBe('D');
    expect(t.revealExpiry()).toBe('2512');
    expect(t.expiry.reveal().toString()).toBe('2512');
    expect(t.expiry.kind).toBe('expiry');
    expect(t.serviceCode).toBe('101');
    expect(t.hasChip).toBe(false);
    expect(t.discretionaryData.reveal().toString()).toBe('1234567890');
    expect(t.reveal()).toBe(TRACK2_CLEAR);
    expect(t.length).toBe(TRACK2_CLEAR.length);
  });

  it('magstripe character form: sentinels, = separator, LRC', () => {
    const t = Track2.parse(`;${PAN16}=25082010000012300000?5`);
    expect(t.pan.reveal()).toBe(PAN16);
    expect(t.separator).toBe('=');
    expect(t.revealExpiry()).toBe('2508');
    expect(t.serviceCode).toBe('201');
    expect(t.hasChip).toBe(true);
    expect(t.reveal()).toBe(`${PAN16}=25082010000012300000`);
  });

  it('lower-case d, F padding, empty discretionary data, SensitiveBytes input', () => {
    const t = Track2.parse(`${PAN19}d2512101F`);
    expect(t.separator).toBe('D');
    expect(t.discretionaryData.length).toBe(0);
    expect(t.reveal()).toBe(`${PAN19}D2512101`);
    expect(Track2.parse(SensitiveBytes.fromText(TRACK2_CLEAR)).equals(Track2.parse(TRACK2_CLEAR))).toBe(true);
  });

  it('packed nibbles as in field 35', () => {
    const packed = Buffer.from(`${TRACK2_CLEAR}F`, 'hex'); // 37 nibbles, padded to 19 bytes
    expect(Track2.fromNibbles(packed).reveal()).toBe(TRACK2_CLEAR);
    expect(Track2.fromNibbles(Buffer.from(`${TRACK2_CLEAR}0`, 'hex'), { nibbles: 37 }).reveal()).toBe(
      TRACK2_CLEAR,
    );
    expect(codeOf(() => Track2.fromNibbles(packed, { nibbles: 39 }))).toBe('invalid_track2');
  });

  it('rejects malformed clear tracks with a code and without echoing them', () => {
    const bad = [
      PAN19, // no separator
      `${PAN19}D2513101`, // month 13
      `${PAN19}D2500101`, // month 00
      `${PAN19}D251`, // truncated expiry
      `${PAN19}D251210`, // no service code
      `${PAN19}D2512101123456789012`, // 39 characters: over ISO 7813's 37
      `${PAN19}1D2512101`, // 20-digit PAN
      `D2512101`, // no PAN
      `${PAN19}==2512101`,
      `${PAN19}D2512101X1`,
      ENCRYPTED,
      '',
    ];
    for (const input of bad) {
      expect(
        codeOf(() => Track2.parse(input)),
        input,
      ).toBe('invalid_track2');
      try {
        Track2.parse(input);
      } catch (err) {
        const text = `${String(err)} ${util.inspect(err)}`;
        expect(leaksIn(text, PAN19)).toEqual([]);
        expect(text).not.toContain('2512101');
      }
    }
  });
});

describe('encrypted tracks', () => {
  it('opaque never parses and never throws on A-F nibbles', () => {
    const t = Track2.opaque(ENCRYPTED);
    expect(t.encrypted).toBe(true);
    expect(t.reveal()).toBe(ENCRYPTED);
    expect(t.length).toBe(ENCRYPTED.length);
    expect(String(t)).toBe(`Track2(encrypted, ${ENCRYPTED.length} nibbles, ***)`);
    expect(codeOf(() => t.pan)).toBe('track_encrypted');
    expect(codeOf(() => t.expiry)).toBe('track_encrypted');
    expect(codeOf(() => t.revealExpiry())).toBe('track_encrypted');
    expect(codeOf(() => Track2.opaque(''))).toBe('invalid_track2');
  });

  it('fromNibbles with encrypted: true', () => {
    const t = Track2.fromNibbles(Buffer.from(ENCRYPTED, 'hex'), { encrypted: true });
    expect(t.encrypted).toBe(true);
    expect(t.reveal()).toBe(ENCRYPTED);
  });

  it('parseOrOpaque picks by content', () => {
    expect(Track2.parseOrOpaque(ENCRYPTED).encrypted).toBe(true);
    expect(Track2.parseOrOpaque(SensitiveBytes.fromText(ENCRYPTED)).reveal()).toBe(ENCRYPTED);
    const clear = Track2.parseOrOpaque(`;${TRACK2_CLEAR}?`);
    expect(clear.encrypted).toBe(false);
    expect(clear.pan.reveal()).toBe(PAN19);
  });

  it('an opaque track is masked in every text form', () => {
    const t = Track2.opaque(ENCRYPTED);
    const texts = [
      String(t),
      `${t}`,
      JSON.stringify({ t }),
      util.inspect({ t: [t] }),
      util.format('%s %o %j', t, t, t),
    ];
    for (const text of texts) expect(text).not.toContain(ENCRYPTED.slice(0, 12));
  });
});

describe('Track2 masking', () => {
  const t = Track2.parse(TRACK2_CLEAR);
  const MASKED = 'Track2(622848*********0018 D ****)';

  it('every text form is masked', () => {
    const texts: Record<string, string> = {
      String: String(t),
      template: `${t}`,
      json: JSON.stringify({ card: { t, list: [t] } }),
      inspect: util.inspect(t),
      inspectNested: util.inspect({ a: [t], m: new Map([['t', t]]) }, { depth: 10 }),
      inspectNoCustom: util.inspect(t, { customInspect: false, showHidden: true }),
      format: util.format('%s %o %O %j', t, t, t, t),
      error: new Error(`declined ${t}`).message,
      errorInspect: util.inspect(new Error(`declined ${t}`)),
      expiry: `${t.expiry} ${JSON.stringify(t.expiry)} ${util.inspect(t.expiry)}`,
      discretionary: `${t.discretionaryData} ${util.inspect(t.discretionaryData)}`,
      pan: `${t.pan} ${JSON.stringify(t.pan)} ${util.inspect(t.pan)}`,
    };
    for (const [form, text] of Object.entries(texts)) {
      expect(leaksIn(text, PAN19), `${form}: ${text}`).toEqual([]);
      expect(text, form).not.toContain('2512');
      expect(text, form).not.toContain('1234567890');
    }
    expect(String(t)).toBe(MASKED);
    expect(JSON.stringify(t)).toBe(`"${MASKED}"`);
    expect(util.inspect(t)).toBe(MASKED);
  });
});
