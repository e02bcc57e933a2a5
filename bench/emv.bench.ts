/**
 * EMV TLV: parse + encode of the UnionPay 20-tag field 55 (vector f55-cup-contact-sale-scandemo), ours
 * beside `ber-tlv` and `node-tlv` in the same run. Goal: at least 3x the faster of the two.
 */
import { createRequire } from 'node:module';
import { encodeTlv, parseTlv } from '../src/emv/index.js';
import { measure, printRates, ratio } from './measure.js';
import { readVector } from './vectors.js';

// Both peers are CommonJS without usable ESM types: load them with require and type what we call.
interface BerTlvModule {
  TlvFactory: { parse(data: Buffer): unknown[]; serialize(items: unknown[]): Buffer };
}
interface NodeTlvItem {
  getTLV(): string;
}
interface NodeTlvModule {
  parseList(data: Buffer): NodeTlvItem[];
}

const require = createRequire(import.meta.url);

function scandemo(): Buffer {
  return Buffer.from(
    readVector<{ hex: string }>('emv-field55.json', 'f55-cup-contact-sale-scandemo').hex,
    'hex',
  );
}

export async function run(): Promise<void> {
  const blob = scandemo();
  const { TlvFactory } = require('ber-tlv') as BerTlvModule;
  const nodeTlv = require('node-tlv') as NodeTlvModule;

  const ours = (): Buffer => encodeTlv(parseTlv(blob).elements);
  const berTlv = (): Buffer => TlvFactory.serialize(TlvFactory.parse(blob));
  const nodeTlvRoundTrip = (): Buffer =>
    Buffer.from(
      nodeTlv
        .parseList(blob)
        .map((t) => t.getTLV())
        .join(''),
      'hex',
    );

  // All three must really round-trip the blob, or the comparison is meaningless.
  for (const [name, fn] of [
    ['posbridge emv', ours],
    ['ber-tlv', berTlv],
    ['node-tlv', nodeTlvRoundTrip],
  ] as const) {
    if (!fn().equals(blob)) throw new Error(`${name} does not round-trip the scandemo field 55`);
  }

  console.log(
    `TLV parse+encode, UnionPay field 55 (${parseTlv(blob).elements.length} tags, ${blob.length} bytes)`,
  );
  const rates = [
    measure('posbridge emv', ours),
    measure('ber-tlv', berTlv),
    measure('node-tlv', nodeTlvRoundTrip),
  ];
  printRates(rates);
  const [mine, ber, node] = rates as [(typeof rates)[0], (typeof rates)[0], (typeof rates)[0]];
  const faster = ber.opsPerSec >= node.opsPerSec ? ber : node;
  const times = mine.opsPerSec / faster.opsPerSec;
  console.log(
    `  ours vs ${faster.label} (the faster peer): ${ratio(mine, faster)} (goal >= 3x: ${times >= 3 ? 'met' : 'NOT met'})`,
  );
}
