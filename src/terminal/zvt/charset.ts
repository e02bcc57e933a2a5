/**
 * Text in ZVT messages: the default is the 8-bit ZVT set, code page 437 above 7F (spec15 §2.26, TLV
 * tag 14, which also allows ISO 8859-x and UTF-8 (FE)). Real terminals also send ISO 8859-1 (Ä as C4)
 * without negotiating it, so the charset is a setting of the client (how it reads text; it is not
 * negotiated). Control characters are dropped from decoded text.
 */
export type ZvtCharset = 'cp437' | 'latin1' | 'utf8';

const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

export function decodeText(bytes: Uint8Array, charset: ZvtCharset = 'cp437'): string {
  if (charset === 'utf8')
    return [...Buffer.from(bytes).toString('utf8')].filter((ch) => ch >= ' ' && ch !== '\u007f').join('');
  let s = '';
  for (const b of bytes) {
    if (b < 0x20 || b === 0x7f) continue;
    s +=
      b < 0x80
        ? String.fromCharCode(b)
        : charset === 'latin1'
          ? String.fromCharCode(b)
          : CP437_HIGH[b - 0x80];
  }
  return s;
}

/** Encodes text for the terminal; characters the charset lacks become `?`. */
export function encodeText(text: string, charset: ZvtCharset = 'cp437'): Buffer {
  if (charset === 'utf8') return Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (charset === 'latin1') out.push(c <= 0xff ? c : 0x3f);
    else {
      const i = CP437_HIGH.indexOf(ch);
      out.push(i >= 0 ? 0x80 + i : 0x3f);
    }
  }
  return Buffer.from(out);
}
