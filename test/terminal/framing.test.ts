/**
 * Wire vectors (computed independently in Python from docs/reader-protocol.md, not with this code),
 * check bytes, and the parser's reassembly and resynchronisation.
 */
import { describe, expect, it } from 'vitest';
import {
  crc16,
  FrameCodec,
  loadReaderProfile,
  lrc,
  buildPayload,
  type ParseEvent,
} from '../../src/terminal/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const posbridge = loadReaderProfile('posbridge');
const nus = loadReaderProfile('posbridge-nus');
const lenpfx = loadReaderProfile('mpos-lenpfx');

const SN_PAYLOAD = hex('DF100C 5042522D53494D2D30303031'); // DF10 "PBR-SIM-0001"

describe('check bytes', () => {
  it('CRC-16/CCITT-FALSE and LRC', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x29b1);
    expect(lrc(hex('0001A1'))).toBe(0xa0);
  });
});

describe('wire vectors', () => {
  it('stx + CRC-16: DEVICE_INFO request and response, ACK', () => {
    const c = new FrameCodec(posbridge.framing);
    expect(c.encode({ seq: 5, cmd: 0x10, payload: Buffer.alloc(0) })).toEqual(hex('02 0002 05 10 03 2484'));
    expect(c.encode({ seq: 1, cmd: 0x10, status: 0, payload: SN_PAYLOAD })).toEqual(
      hex('02 0012 01 10 00 DF100C5042522D53494D2D30303031 03 2BD0'),
    );
    expect(c.encodeAck(1)).toEqual(hex('06 01 FE'));
    expect(c.encodeNak(7)).toEqual(hex('15 07 F8'));
  });

  it('stx + CRC-16: START_TRANSACTION payload', () => {
    const c = new FrameCodec(posbridge.framing);
    const payload = buildPayload(posbridge, [
      ['reference', 'pay-1'],
      ['amount', hex('000012345600')],
      ['currency', hex('0156')],
      ['transaction_type', 0],
      ['timeout', hex('001E')],
      ['interfaces', 0x07],
      ['pin_allowed', true],
    ]);
    expect(c.encode({ seq: 1, cmd: 0x20, payload })).toEqual(
      hex('0200290120DF01057061792D319F02060000123456005F2A020156DF300100DF3202001EDF330107DF34010103E830'),
    );
  });

  it('stx + LRC (posbridge-nus)', () => {
    expect(new FrameCodec(nus.framing).encode({ seq: 0, cmd: 0x10, payload: Buffer.alloc(0) })).toEqual(
      hex('02 0002 00 10 03 11'),
    );
  });

  it('length-prefixed: [len][cmd][data] and [len][cmd][status][data], XOR check', () => {
    const c = new FrameCodec(lenpfx.framing);
    expect(c.encode({ seq: -1, cmd: 0xa1, payload: Buffer.alloc(0) })).toEqual(hex('0001 A1 A0'));
    expect(c.encode({ seq: -1, cmd: 0xa1, status: 0, payload: SN_PAYLOAD })).toEqual(
      hex('0011 A1 00 DF100C5042522D53494D2D30303031 65'),
    );
  });

  it('refuses a frame above maxFrame', () => {
    const c = new FrameCodec(lenpfx.framing);
    expect(() => c.encode({ seq: -1, cmd: 1, payload: Buffer.alloc(5000) })).toThrow(/maxFrame/);
  });
});

function frames(events: ParseEvent[]): Array<{ cmd: number; seq: number; status?: number; payload: string }> {
  return events.flatMap((e) =>
    e.type === 'frame'
      ? [
          {
            cmd: e.frame.cmd,
            seq: e.frame.seq,
            ...(e.frame.status !== undefined ? { status: e.frame.status } : {}),
            payload: e.frame.payload.toString('hex'),
          },
        ]
      : [],
  );
}

describe.each([
  ['posbridge', posbridge],
  ['posbridge-nus', nus],
  ['mpos-lenpfx', lenpfx],
])('parser (%s)', (_name, profile) => {
  const codec = new FrameCodec(profile.framing);
  const seq = profile.framing.variant === 'stx' ? 5 : -1;
  const wire = codec.encode({ seq, cmd: 0x10, status: 0, payload: SN_PAYLOAD });
  const expected = { cmd: 0x10, seq, status: 0, payload: SN_PAYLOAD.toString('hex') };

  it('reassembles a frame fed one byte at a time', () => {
    const p = codec.parser(true);
    const events: ParseEvent[] = [];
    for (const b of wire) events.push(...p.push(Buffer.from([b])));
    expect(frames(events)).toEqual([expected]);
    expect(p.pending).toBe(0);
  });

  it('splits several frames out of one chunk', () => {
    const p = codec.parser(true);
    expect(frames(p.push(Buffer.concat([wire, wire, wire])))).toEqual([expected, expected, expected]);
  });

  it('resynchronises after garbage in front', () => {
    const p = codec.parser(true);
    const junk = hex('FF FF 13 37 42');
    const events = [...p.push(Buffer.concat([junk, wire])), ...p.expire()];
    expect(frames(events)).toEqual([expected]);
    expect(p.garbage).toBeGreaterThan(0);
  });

  it('reports a frame whose check fails and still finds the next one', () => {
    const p = codec.parser(true);
    const bad = Buffer.from(wire);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x5a;
    const events = [...p.push(Buffer.concat([bad, wire])), ...p.expire()];
    expect(events.filter((e) => e.type === 'bad')).toHaveLength(1);
    expect(frames(events)).toEqual([expected]);
  });

  it('drops an incomplete frame on expiry but keeps complete ones behind it', () => {
    const p = codec.parser(true);
    expect(frames(p.push(wire.subarray(0, 7)))).toEqual([]);
    expect(p.pending).toBe(7);
    const events = p.expire();
    expect(frames(events)).toEqual([]);
    expect(p.pending).toBe(0);
    expect(frames(p.push(wire))).toEqual([expected]);
  });
});

describe('control frames', () => {
  it('parses ACK / NAK and ignores a byte that only looks like one', () => {
    const c = new FrameCodec(posbridge.framing);
    const p = c.parser(false);
    const events = p.push(Buffer.concat([hex('06 03 FC'), hex('15 09 F6'), hex('06 03 00')]));
    expect(events.filter((e) => e.type !== 'bad')).toEqual([
      { type: 'ack', seq: 3 },
      { type: 'nak', seq: 9 },
    ]);
  });
});
