import { Pan, SensitiveBytes } from '../card/index.js';
import { Composite } from './composite.js';
import type { Dialect } from './dialect.js';
import type { Iso8583Message } from './message.js';
import { toHex } from './encodings/hex.js';

/**
 * Human-readable dump for logs and QA: one line per field with the dialect's names. PANs show first 6 /
 * last 4, other sensitive fields only their length. Binary shows as hex, composite fields with their parts.
 */
export function describeMessage(dialect: Dialect, message: Iso8583Message): string {
  const mtiName = dialect.spec.mtiNames?.[message.mti];
  const lines = [`MTI ${message.mti}${mtiName ? ` ${mtiName}` : ''} (${dialect.name})`];
  const keys = Object.keys(message.fields)
    .map(Number)
    .sort((a, b) => a - b);
  for (const n of keys) {
    const spec = dialect.fieldSpec(message.mti, n);
    const value = message.fields[n];
    const name = spec?.name ?? 'unknown';
    lines.push(`  ${String(n).padStart(3, ' ')} ${name}: ${render(value, spec?.values)}`);
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
