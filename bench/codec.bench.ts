/**
 * ISO 8583 codec: pack, unpack and pack+unpack per second. Side by side with the npm package iso_8583
 * on a message it can handle (the moov 0200 from the iso87 vectors, 2-byte length framing for both),
 * then ours alone on the cup-pos chip sale with field 55 and on the 575-byte ISO87 binary message.
 */
import { createRequire } from 'node:module';
import { dialectFraming, frame, loadDialect, unframe, type Dialect } from '../src/iso8583/index.js';
import { measure, printRates, ratio, type Rate } from './measure.js';
import { readVector } from './vectors.js';

const require = createRequire(import.meta.url);
type IsoPeer = new (data?: Record<string, string>) => {
  getBufferMessage(): Buffer;
  getIsoJSON(buf: Buffer, formats: object): Record<string, string>;
};
const Iso8583Peer = require('iso_8583') as IsoPeer;

interface Vector {
  id: string;
  hex: string;
  fields: Record<string, string>;
}
const vector = (file: string, id: string): Vector => readVector<Vector>(file, id);

function ours(label: string, d: Dialect, body: Buffer): Rate[] {
  const msg = d.unpack(body);
  return [
    measure(`${label} pack`, () => d.pack(msg)),
    measure(`${label} unpack`, () => d.unpack(body)),
    measure(`${label} pack+unpack`, () => d.unpack(d.pack(msg))),
  ];
}

export async function run(): Promise<void> {
  // 1. Side by side on the moov 0200.
  const moov = vector('iso87.json', 'moov-0200-financial-req');
  const iso = loadDialect('iso87-ascii');
  const framing = dialectFraming(iso);
  const data = { ...moov.fields };
  const peerFrame = new Iso8583Peer(data).getBufferMessage();
  const check = new Iso8583Peer().getIsoJSON(peerFrame, {});
  if (check['60'] !== '99') throw new Error('iso_8583 did not round-trip the moov 0200');
  const msg = iso.unpack(Buffer.from(moov.hex, 'hex'));
  const ourFrame = frame(iso.pack(msg), framing);

  const peer = [
    measure('iso_8583  pack', () => new Iso8583Peer(data).getBufferMessage()),
    measure('iso_8583  unpack', () => new Iso8583Peer().getIsoJSON(peerFrame, {})),
    measure('iso_8583  pack+unpack', () =>
      new Iso8583Peer().getIsoJSON(new Iso8583Peer(data).getBufferMessage(), {}),
    ),
  ];
  const mine = [
    measure('posbridge pack', () => frame(iso.pack(msg), framing)),
    measure('posbridge unpack', () => iso.unpack(unframe(ourFrame, framing).body)),
    measure('posbridge pack+unpack', () => iso.unpack(unframe(frame(iso.pack(msg), framing), framing).body)),
  ];
  console.log('moov 0200 (iso87-ascii, 2-byte length header), same run:');
  printRates([...peer, ...mine]);
  console.log(
    `  ratio pack ${ratio(mine[0]!, peer[0]!)}, unpack ${ratio(mine[1]!, peer[1]!)}, pack+unpack ${ratio(mine[2]!, peer[2]!)} (goal >= 10x)`,
  );

  // 2. Ours alone.
  const cup = vector('cup-pos.json', 'cup-scandemo-0200-ic-sale-req');
  const cupDialect = loadDialect('cup-pos');
  const cupBody = unframe(
    Buffer.from(cup.hex, 'hex'),
    dialectFraming(cupDialect, { lengthHeader: 'none', header: '60310031FFF1' }),
  ).body;
  const cupRates = ours('cup-pos chip sale', cupDialect, cupBody);
  const bin = vector('iso87.json', 'jpos-iso87-binary');
  const binRates = ours('iso87-binary 575 B', loadDialect('iso87-binary'), Buffer.from(bin.hex, 'hex'));
  console.log(`cup-pos chip sale with field 55 (${cupBody.length} B body) and the ISO87 binary message:`);
  printRates([...cupRates, ...binRates]);
  const goal = cupRates[2]!.opsPerSec >= 250_000 ? 'met' : 'NOT met';
  console.log(`  cup-pos chip sale pack+unpack goal >= 250,000/s: ${goal}`);
}
