/**
 * ZVT serial framing (spec16 §3): `DLE STX <APDU, each 10 doubled> DLE ETX CRC-lo CRC-hi`. The
 * receiver answers each frame with ACK (06) or NAK (15); an acknowledgement is a bare byte, never
 * framed and never itself acknowledged. The doubled DLE counts neither in LEN nor in the CRC.
 */
import { frameCrc } from './crc.js';
import { ZvtError } from './errors.js';

export const DLE = 0x10;
export const STX = 0x02;
export const ETX = 0x03;
export const ACK = 0x06;
export const NAK = 0x15;

/** Largest APDU a frame may carry: 5 header bytes + 65535 data bytes. */
const MAX_FRAME_APDU = 5 + 0xffff;

export interface EncodeFrameOptions {
  /** Send a wrong CRC (fault injection). */
  corruptCrc?: boolean;
}

export function encodeFrame(apdu: Buffer, options: EncodeFrameOptions = {}): Buffer {
  const out: number[] = [DLE, STX];
  for (const b of apdu) {
    out.push(b);
    if (b === DLE) out.push(DLE);
  }
  out.push(DLE, ETX);
  const crc = frameCrc(apdu);
  if (options.corruptCrc) {
    crc[0] = crc[0]! ^ 0xff;
    crc[1] = crc[1]! ^ 0xff;
  }
  return Buffer.concat([Buffer.from(out), crc]);
}

/** Decodes exactly one frame (no leading or trailing bytes); throws on a bad frame or CRC. */
export function decodeFrame(frame: Buffer): Buffer {
  const r = new FrameReader();
  const events = r.push(frame);
  const f = events.find((e) => e.type !== 'noise');
  if (events.length !== 1 || !f || r.midFrame) {
    throw new ZvtError('bad_frame', 'not exactly one DLE STX ... DLE ETX CRC frame', { offset: 0 });
  }
  if (f.type === 'bad') throw new ZvtError(f.crc ? 'bad_crc' : 'bad_frame', f.reason, { offset: f.offset });
  if (f.type !== 'frame') throw new ZvtError('bad_frame', `a bare ${f.type.toUpperCase()}, not a frame`);
  return f.apdu;
}

export type FrameEvent =
  | { type: 'frame'; apdu: Buffer }
  | { type: 'ack' }
  | { type: 'nak' }
  /** A frame that must be NAKed: bad CRC, a DLE followed by something else, too long. */
  | { type: 'bad'; reason: string; crc: boolean; offset: number }
  /** Bytes outside any frame that are neither ACK nor NAK (line noise, a banner). */
  | { type: 'noise'; bytes: number };

type State = 'idle' | 'dle' | 'data' | 'data-dle' | 'crc1' | 'crc2';

/** Streaming frame parser: feed it chunks as they arrive; it never throws. */
export class FrameReader {
  private state: State = 'idle';
  private data: number[] = [];
  private crcLow = 0;
  private noise = 0;
  private consumed = 0;

  /** True while a frame has started and not ended (the T1 inter-byte timer runs). */
  get midFrame(): boolean {
    return this.state !== 'idle' && this.state !== 'dle';
  }

  reset(): void {
    this.state = 'idle';
    this.data = [];
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const out: FrameEvent[] = [];
    const flushNoise = (): void => {
      if (this.noise) out.push({ type: 'noise', bytes: this.noise });
      this.noise = 0;
    };
    for (const b of chunk) {
      this.consumed++;
      switch (this.state) {
        case 'idle':
          if (b === ACK || b === NAK) {
            flushNoise();
            out.push({ type: b === ACK ? 'ack' : 'nak' });
          } else if (b === DLE) this.state = 'dle';
          else this.noise++;
          break;
        case 'dle':
          if (b === STX) {
            flushNoise();
            this.state = 'data';
            this.data = [];
          } else if (b !== DLE) {
            this.noise += 2;
            this.state = 'idle';
          } else this.noise++;
          break;
        case 'data':
          if (b === DLE) this.state = 'data-dle';
          else if (this.data.length >= MAX_FRAME_APDU) {
            out.push({
              type: 'bad',
              reason: 'frame longer than the largest APDU',
              crc: false,
              offset: this.consumed,
            });
            this.reset();
          } else this.data.push(b);
          break;
        case 'data-dle':
          if (b === DLE) {
            this.data.push(DLE);
            this.state = 'data';
          } else if (b === ETX) this.state = 'crc1';
          else if (b === STX) {
            // A new frame started inside this one: the sender gave up on the old one.
            out.push({ type: 'bad', reason: 'DLE STX inside a frame', crc: false, offset: this.consumed });
            this.data = [];
            this.state = 'data';
          } else {
            out.push({
              type: 'bad',
              reason: `DLE followed by ${b.toString(16).padStart(2, '0')} inside a frame`,
              crc: false,
              offset: this.consumed,
            });
            this.reset();
          }
          break;
        case 'crc1':
          this.crcLow = b;
          this.state = 'crc2';
          break;
        case 'crc2': {
          const apdu = Buffer.from(this.data);
          const crc = frameCrc(apdu);
          this.reset();
          if (crc[0] !== this.crcLow || crc[1] !== b)
            out.push({ type: 'bad', reason: 'CRC does not match', crc: true, offset: this.consumed });
          else if (apdu.length < 3)
            out.push({
              type: 'bad',
              reason: 'frame shorter than an APDU header',
              crc: false,
              offset: this.consumed,
            });
          else out.push({ type: 'frame', apdu });
          break;
        }
      }
    }
    if (this.state === 'idle') flushNoise();
    return out;
  }
}
