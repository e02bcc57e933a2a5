// Profiling driver (not a bench section): node --cpu-prof dist/bench/profile-codec.js
import { dialectFraming, loadDialect, unframe } from '../src/iso8583/index.js';
import { readVector } from './vectors.js';

const v = readVector<{ hex: string }>('cup-pos.json', 'cup-scandemo-0200-ic-sale-req');
const d = loadDialect('cup-pos');
const body = unframe(
  Buffer.from(v.hex, 'hex'),
  dialectFraming(d, { lengthHeader: 'none', header: '60310031FFF1' }),
).body;
const msg = d.unpack(body);
const n = 500_000;
const t = performance.now();
for (let i = 0; i < n; i++) d.unpack(d.pack(msg));
console.log('pack+unpack/s', Math.round(n / ((performance.now() - t) / 1000)));
for (const [label, fn] of [
  ['pack', () => d.pack(msg)],
  ['unpack', () => d.unpack(body)],
] as const) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  console.log(label, Math.round(((performance.now() - t0) / n) * 1e6), 'ns');
}
