/**
 * Receipts the terminal prints on the ECR: Print Line 06 D1 (`<attribute> <text>`, spec15 §3.5) and
 * Print Text-Block 06 D3 (TLV 25 with 09 attributes and 07 lines, 1F07 receipt type, §3.6). A receipt
 * ends with a line whose attribute is 1xxx xxxx (not 80). The copy is taken from TLV 1F07 (01
 * merchant, 02 customer, 03 administration) when the terminal sends it; otherwise the first receipt
 * of an exchange is the merchant copy and the next the customer copy (a posbridge convention).
 */
import { findBmp } from './bitmaps.js';
import { decodeText, type ZvtCharset } from './charset.js';
import { field, type ZvtMessage } from './codec.js';
import { decodeTlv, findTlv, type TlvNode } from './tlv.js';

export interface PrintedLine {
  text: string;
  attribute: number;
  /** The last line of a receipt (attribute 1xxx xxxx, not 80). */
  last: boolean;
  /** 01 merchant, 02 customer, 03 administration (TLV 1F07), when sent. */
  receiptType?: number;
}

function isLast(attribute: number): boolean {
  return attribute >= 0x81 && attribute !== 0xff;
}

function lineText(attribute: number, raw: Uint8Array, charset: ZvtCharset): string[] {
  if (attribute === 0xff) return Array.from({ length: raw[0] ?? 1 }, () => '');
  const indent = attribute < 0x80 ? attribute & 0x0f : 0;
  return [' '.repeat(indent) + decodeText(raw, charset).trimEnd()];
}

function receiptTypeOf(nodes: TlvNode[]): number | undefined {
  const t = findTlv(nodes, '1F07');
  return t && t.value.length === 1 ? t.value[0]! : undefined;
}

/** Print Line 06 D1 → printed lines (a line feed attribute gives empty lines). */
export function printLineOf(m: ZvtMessage, charset: ZvtCharset = 'cp437'): PrintedLine[] {
  const attr = field(m, 'attribute')?.[0] ?? 0;
  const container = findBmp(m.bmps, 0x06);
  let type: number | undefined;
  if (container) {
    try {
      type = receiptTypeOf(decodeTlv(container.value));
    } catch {
      // receipt type unknown
    }
  }
  const texts = lineText(attr, m.text ?? Buffer.alloc(0), charset);
  return texts.map((text, i) => ({
    text,
    attribute: attr,
    last: isLast(attr) && i === texts.length - 1,
    ...(type !== undefined ? { receiptType: type } : {}),
  }));
}

/** Print Text-Block 06 D3 → printed lines. */
export function textBlockOf(m: ZvtMessage, charset: ZvtCharset = 'cp437'): PrintedLine[] {
  const container = findBmp(m.bmps, 0x06);
  if (!container) return [];
  let nodes: TlvNode[];
  try {
    nodes = decodeTlv(container.value);
  } catch {
    return [];
  }
  const type = receiptTypeOf(nodes);
  const out: PrintedLine[] = [];
  let attr = 0;
  for (const n of findTlv(nodes, '25')?.children ?? []) {
    if (n.tag === '09' && n.value.length === 1) {
      attr = n.value[0]!;
      if (isLast(attr)) {
        const prev = out.at(-1);
        if (prev) prev.last = true;
      }
    } else if (n.tag === '07') {
      for (const text of lineText(attr < 0x80 ? attr : 0, n.value, charset))
        out.push({
          text,
          attribute: attr,
          last: false,
          ...(type !== undefined ? { receiptType: type } : {}),
        });
    }
  }
  return out;
}

/** Gathers the lines of one exchange into merchant and customer copies. */
export class ReceiptCollector {
  private current: PrintedLine[] = [];
  private readonly merchant: string[] = [];
  private readonly customer: string[] = [];
  private untyped = 0;
  private any = false;

  add(lines: readonly PrintedLine[]): void {
    for (const l of lines) {
      this.any = true;
      this.current.push(l);
      if (l.last) this.flush();
    }
  }

  private flush(): void {
    if (!this.current.length) return;
    const type = this.current.find((l) => l.receiptType !== undefined)?.receiptType;
    const copy =
      type === 2
        ? 'customer'
        : type === 1 || type === 3
          ? 'merchant'
          : this.untyped++ === 0
            ? 'merchant'
            : 'customer';
    const lines = this.current.map((l) => l.text);
    while (lines.length && lines.at(-1) === '') lines.pop();
    (copy === 'merchant' ? this.merchant : this.customer).push(...lines);
    this.current = [];
  }

  /** The copies printed so far, or undefined when nothing was printed. */
  result(): { merchant: string[]; customer: string[] } | undefined {
    this.flush();
    return this.any ? { merchant: [...this.merchant], customer: [...this.customer] } : undefined;
  }
}
