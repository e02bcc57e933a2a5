/**
 * The flat XML of WeChat Pay API v2: `<xml><name><![CDATA[value]]></name>…</xml>`. Only that shape is
 * read: a DOCTYPE or entity declaration is refused (XXE), nested elements are refused.
 */
export class WechatXmlError extends Error {}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new WechatXmlError(`unknown entity ${m}`);
    return v;
  });
}

export function parseWechatXml(text: string): Record<string, string> {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new WechatXmlError('DOCTYPE and ENTITY are not accepted');
  const body = text.replace(/^\uFEFF?\s*(<\?xml[^?]*\?>)?\s*/, '').trimEnd();
  const m = /^<xml>([\s\S]*)<\/xml>$/.exec(body);
  if (!m) throw new WechatXmlError('not a WeChat Pay XML document');
  const inner = m[1]!;
  const out: Record<string, string> = {};
  const re = /\s*<([A-Za-z_][A-Za-z0-9_]*)>((?:<!\[CDATA\[[\s\S]*?\]\]>|[^<])*)<\/\1>\s*/y;
  let i = 0;
  while (i < inner.length) {
    re.lastIndex = i;
    const e = re.exec(inner);
    if (!e) {
      if (inner.slice(i).trim() === '') break;
      throw new WechatXmlError('unexpected XML content');
    }
    out[e[1]!] = (e[2] ?? '')
      .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
      .map((part) => (part.startsWith('<![CDATA[') ? part.slice(9, -3) : decodeText(part)))
      .join('');
    i = re.lastIndex;
  }
  return out;
}

export function buildWechatXml(params: Record<string, string>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new WechatXmlError(`bad element name ${k}`);
      const safe = /^[A-Za-z0-9._\-:+/= ]*$/.test(v)
        ? v
        : `<![CDATA[${v.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
      return `<${k}>${safe}</${k}>`;
    });
  return `<xml>${parts.join('')}</xml>`;
}
