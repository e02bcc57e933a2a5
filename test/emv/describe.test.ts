import { describe, expect, it } from 'vitest';
import { describeTlv, encodeTlv, parseTlv, redactTlv, tlv } from '../../src/emv/index.js';
import { TEST_PAN, vectorBytes } from './vectors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('describeTlv / redactTlv', () => {
  it('renders names, hex and text of the scandemo field 55, with explanations on request', () => {
    const elements = parseTlv(vectorBytes('f55-cup-contact-sale-scandemo')).elements;
    const text = describeTlv(elements, { explain: true });
    const lines = text.split('\n');
    expect(lines[0]).toBe('9F26 Application Cryptogram (8): DEAE676D1C473411');
    expect(lines).toContain('9F1E Interface Device (IFD) Serial Number (8): 3132333435363738 "12345678"');
    expect(lines).toContain('95 Terminal Verification Results (TVR) (5): 008004E000');
    expect(lines).toContain('    byte 2 bit 8: ICC and terminal have different application versions');
    expect(lines).toContain('    cryptogram: ARQC (online authorisation requested)');
    expect(describeTlv(elements)).not.toContain('cryptogram: ARQC');
  });

  it('masks every sensitive tag, nested or not, and never shows its bytes', () => {
    const sensitive = [
      tlv('56', Buffer.from(`B${TEST_PAN}^TEST/CARD^3012201`, 'latin1')),
      tlv('57', hex(`${TEST_PAN}D30122011234`)),
      tlv('5A', hex(`${TEST_PAN}F`)),
      tlv('5F20', Buffer.from('TEST/CARDHOLDER', 'latin1')),
      tlv('5F24', hex('301231')),
      tlv('99', hex('0123456789ABCDEF')),
      tlv('9F0B', Buffer.from('TEST/CARDHOLDER WITH A VERY LONG NAME', 'latin1')),
      tlv('9F1F', Buffer.from('3012201000000', 'latin1')),
      tlv('9F20', hex('2011234F')),
      tlv('9F6B', hex(`${TEST_PAN}D3012201`)),
    ];
    const blob = encodeTlv([
      tlv('70', sensitive.slice(0, 5)),
      ...sensitive.slice(5),
      tlv('9F36', hex('0349')),
    ]);
    const elements = parseTlv(blob).elements;
    const text = describeTlv(elements, { revealUnknown: true, explain: true });
    expect(text.match(/: \*\*\*$/gm)).toHaveLength(10);
    expect(text).toContain('  57 Track 2 Equivalent Data (15): ***');
    expect(text).toContain('9F36 Application Transaction Counter (ATC) (2): 0349');
    for (const digits of [TEST_PAN.slice(0, 10), TEST_PAN.slice(-8)]) {
      expect(text).not.toContain(digits);
      expect(JSON.stringify(redactTlv(elements))).not.toContain(digits);
    }
    expect(text).not.toContain('CARDHOLDER');
    expect(text).not.toContain('301231');
    expect(text.toUpperCase()).not.toContain('0123456789ABCDEF');
  });

  it('shows opaque containers as opaque (N bytes) and unknown proprietary tags only on request', () => {
    const elements = parseTlv(vectorBytes('f55-moov-contactless-proprietary')).elements;
    const text = describeTlv(elements);
    expect(text).toContain('FF8105 (172): opaque (172 bytes)');
    expect(text).toContain('FFEE12 (10): opaque (10 bytes)');
    expect(text).toContain('DFEF4D (40): proprietary (40 bytes)');
    expect(text).toContain('DF8129 Outcome Parameter Set (8): 30F0F00030F0FF00');
    // the opaque FF8105 holds a (masked) track 1 and track 2: none of it may appear
    expect(text).not.toContain('5489');
    expect(text).not.toMatch(/2A353438392A/i);
    const revealed = describeTlv(elements, { revealUnknown: true });
    expect(revealed).toContain('DFEF4D (40): FD4B4F392E1278361252');
    expect(revealed).toContain('FF8105 (172): opaque (172 bytes)'); // opaque stays opaque
  });

  it('redactTlv gives a structured view for pino', () => {
    const r = redactTlv(parseTlv(vectorBytes('f55-issuer-response-91-71-72')).elements);
    expect(r[0]).toEqual({
      tag: '91',
      name: 'Issuer Authentication Data',
      length: 10,
      value: 'CC93F8F8F2F35FA03030',
    });
    expect(r[1]).toMatchObject({
      tag: '71',
      length: 18,
      children: [
        { tag: '9F18', value: '00000001' },
        { tag: '86', value: '841E0000049D642041' },
      ],
    });
  });
});
