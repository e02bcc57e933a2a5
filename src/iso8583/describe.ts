import { Pan, SensitiveBytes } from '../card/index.js';
import { Composite } from './composite.js';
import type { DialectFile, FieldSpec } from './dialect-spec.js';
import type { Iso8583Message } from './message.js';
import { toHex } from './encodings/hex.js';

/**
 * Human-readable dump for logs and QA: one line per field with the dialect's names. PANs show first 6 /
 * last 4, other sensitive fields only their length. Binary shows as hex, composite fields with their parts.
 */
export interface DescribeOptions {
  /**
   * Renderers by field `content` (e.g. "ber-tlv"). Without one, such a field shows only its length: a
   * TLV field can carry tags that must never be logged, and only the EMV layer knows which.
   */
  renderContent?: Record<string, (bytes: Buffer) => string>;
}

/** What describing needs of a dialect (the `Dialect` class fits; no import of it, which imports this). */
export interface DescribableDialect {
  readonly name: string;
  readonly spec: Pick<DialectFile, 'mtiNames'>;
  fieldSpec(mti: string, field: number): FieldSpec | undefined;
}

export function describeMessage(
  dialect: DescribableDialect,
  message: Iso8583Message,
  options: DescribeOptions = {},
): string {
  const mtiName = dialect.spec.mtiNames?.[message.mti];
  const lines = [`MTI ${message.mti}${mtiName ? ` ${mtiName}` : ''} (${dialect.name})`];
  const keys = Object.keys(message.fields)
    .map(Number)
    .sort((a, b) => a - b);
  for (const n of keys) {
    const spec = dialect.fieldSpec(message.mti, n);
    const value = message.fields[n];
    const name = spec?.name ?? 'unknown';
    const content = spec?.content;
    const renderer = content ? options.renderContent?.[content] : undefined;
    const shown =
      content && content !== 'opaque' && Buffer.isBuffer(value)
        ? renderer
          ? renderer(value)
          : `<${value.length} bytes ${content}>`
        : content === 'opaque' && Buffer.isBuffer(value)
          ? `<${value.length} bytes opaque>`
          : render(value, spec?.values);
    lines.push(`  ${String(n).padStart(3, ' ')} ${name}: ${shown}`);
    if (value instanceof Composite && spec?.subfields) {
      for (const sub of spec.subfields) {
        const part = value.parts[sub.id];
        if (part === undefined) continue;
        const meaning = sub.values?.[part];
        lines.push(`      ${n}.${sub.id} ${sub.name}: ${part}${meaning ? ` (${meaning})` : ''}`);
      }
    }
  }
  return lines.join('\n');
}

function render(value: unknown, values: Record<string, string> | undefined): string {
  if (value instanceof Pan) return value.masked;
  if (value instanceof SensitiveBytes) return `*** (${value.length} bytes)`;
  if (value instanceof Composite) return value.wire;
  if (Buffer.isBuffer(value)) return `${toHex(value)} (${value.length} bytes)`;
  if (typeof value === 'string') {
    const meaning = values?.[value];
    return `${JSON.stringify(value)}${meaning ? ` (${meaning})` : ''}`;
  }
  return String(value);
}
