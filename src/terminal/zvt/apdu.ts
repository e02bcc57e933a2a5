/**
 * The ZVT APDU (spec16 §5.2): `CLASS INSTR LEN data`. LEN < FF gives 0–254 data bytes; LEN = FF means
 * the next two bytes are the length, LOW byte first (0–65535). Responses use the same layout with
 * `CCRC APRC` (80 00 positive, 84 xx negative) as the control field.
 */
import { ZvtError, commandCode } from './errors.js';

export interface Apdu {
  cls: number;
  ins: number;
  data: Buffer;
  /**
   * The extended length form `FF lo hi` although the data is short (some terminals send it; kept so a
   * decoded APDU re-encodes byte for byte). Data of 255 bytes or more always uses it.
   */
  extended?: boolean;
}

export const MAX_APDU_DATA = 0xffff;

export function apduCode(a: Pick<Apdu, 'cls' | 'ins'>): string {
  return commandCode(a.cls, a.ins);
}

export function encodeApdu(a: Apdu): Buffer {
  const n = a.data.length;
  if (n > MAX_APDU_DATA)
    throw new ZvtError('bad_length', `data block of ${n} bytes is above ${MAX_APDU_DATA}`, {
      command: apduCode(a),
    });
  if (!isByte(a.cls) || !isByte(a.ins))
    throw new ZvtError('bad_apdu', 'class and instruction must be bytes', { command: apduCode(a) });
  const head =
    a.extended || n > 254
      ? Buffer.from([a.cls, a.ins, 0xff, n & 0xff, n >>> 8])
      : Buffer.from([a.cls, a.ins, n]);
  return Buffer.concat([head, a.data]);
}

/** Header length and data length of the APDU at the start of `buf`, or undefined while incomplete. */
export function apduHeader(buf: Buffer): { header: number; length: number; extended: boolean } | undefined {
  if (buf.length < 3) return undefined;
  if (buf[2] !== 0xff) return { header: 3, length: buf[2]!, extended: false };
  if (buf.length < 5) return undefined;
  return { header: 5, length: buf[3]! | (buf[4]! << 8), extended: true };
}

/** Decodes exactly one APDU; the length field must match the bytes given. */
export function decodeApdu(buf: Buffer): Apdu {
  const h = apduHeader(buf);
  if (!h)
    throw new ZvtError('bad_apdu', `APDU of ${buf.length} bytes is shorter than its header`, { offset: 0 });
  const command = commandCode(buf[0]!, buf[1]!);
  const have = buf.length - h.header;
  if (have !== h.length)
    throw new ZvtError('bad_length', `length field ${h.length} but ${have} data bytes`, {
      command,
      offset: 2,
    });
  const a: Apdu = { cls: buf[0]!, ins: buf[1]!, data: Buffer.from(buf.subarray(h.header)) };
  if (h.extended && h.length < 255) a.extended = true;
  return a;
}

/**
 * Splits a byte stream (ZVT over TCP: bare APDUs, arbitrarily segmented) into APDUs. Bytes that cannot
 * start an APDU of the expected classes (e.g. a banner some device prints on connect) are dropped and
 * counted, so the reader finds the next APDU boundary.
 */
export class ApduReassembler {
  private buf = Buffer.alloc(0);
  /** Bytes dropped because they could not start an APDU. */
  noise = 0;

  constructor(private readonly validClasses: ReadonlySet<number>) {}

  push(chunk: Buffer): Apdu[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out: Apdu[] = [];
    for (;;) {
      let skip = 0;
      while (skip < this.buf.length && !this.validClasses.has(this.buf[skip]!)) skip++;
      if (skip) {
        this.noise += skip;
        this.buf = this.buf.subarray(skip);
      }
      const h = apduHeader(this.buf);
      if (!h || this.buf.length < h.header + h.length) break;
      const end = h.header + h.length;
      const a: Apdu = {
        cls: this.buf[0]!,
        ins: this.buf[1]!,
        data: Buffer.from(this.buf.subarray(h.header, end)),
      };
      if (h.extended && h.length < 255) a.extended = true;
      out.push(a);
      this.buf = this.buf.subarray(end);
    }
    return out;
  }

  /** Bytes of an APDU still incomplete. */
  get pending(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}

/** Classes a PT sends to an ECR (04 status, 06 commands, 80/84 answers). */
export const PT_CLASSES: ReadonlySet<number> = new Set([0x04, 0x06, 0x80, 0x84]);
/** Classes an ECR sends to a PT (05 status enquiry, 06 and 08 commands, 0F, 80/84 answers). */
export const ECR_CLASSES: ReadonlySet<number> = new Set([0x05, 0x06, 0x08, 0x0f, 0x80, 0x84]);

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 255;
}
