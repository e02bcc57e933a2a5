/**
 * The two framing variants as pure encode functions and an incremental parser that resynchronises on
 * garbage. Bytes on the wire (docs/reader-protocol.md section 2):
 *
 *   stx     STX | LEN (lengthBytes, big-endian) | SEQ | CMD | [STATUS] | PAYLOAD | ETX | CHECK
 *           LEN counts SEQ through PAYLOAD; CHECK covers LEN through ETX.
 *           ACK / NAK control frames: ACK|NAK, SEQ, SEQ xor 0xFF.
 *   lenpfx  LEN (lengthBytes, big-endian) | CMD | [STATUS] | PAYLOAD | CHECK
 *           LEN counts CMD through PAYLOAD; CHECK covers LEN through PAYLOAD.
 *
 * STATUS is present in frames from the reader (responses and notifications) and absent in frames
 * from the host. The parser never throws on input: anything that is not a frame is counted as
 * garbage and skipped one byte at a time until a frame start that checks out.
 */
import { checkLength, verifyCheck, writeCheck } from './check.js';
import { ReaderError } from './errors.js';
import type { FramingSpec } from './profile.js';

export interface Frame {
  /** stx: 0-255; lenpfx: -1 (no sequence numbers). */
  seq: number;
  cmd: number;
  /** Present in frames from the reader. */
  status?: number;
  payload: Buffer;
}

export type ParseEvent =
  | { type: 'frame'; frame: Frame }
  | { type: 'ack'; seq: number }
  | { type: 'nak'; seq: number }
  /** A frame whose check failed: NAK it when the link acknowledges (`seq` as read, maybe corrupt). */
  | { type: 'bad'; seq?: number; length: number };

export class FrameCodec {
  readonly spec: FramingSpec;
  readonly checkLen: number;
  /** Bytes a frame adds around its payload (without the status byte). */
  readonly overhead: number;

  constructor(spec: FramingSpec) {
    this.spec = spec;
    this.checkLen = checkLength(spec.check);
    this.overhead =
      spec.variant === 'stx'
        ? 1 + spec.lengthBytes + 2 + 1 + this.checkLen
        : spec.lengthBytes + 1 + this.checkLen;
  }

  /** Largest payload a frame can carry (with a status byte when `withStatus`). */
  maxPayload(withStatus: boolean): number {
    const fixed = (this.spec.variant === 'stx' ? 2 : 1) + (withStatus ? 1 : 0);
    return this.spec.maxFrame - fixed;
  }

  encode(frame: Frame): Buffer {
    const s = this.spec;
    const withStatus = frame.status !== undefined;
    const inner = (s.variant === 'stx' ? 2 : 1) + (withStatus ? 1 : 0) + frame.payload.length;
    if (inner > s.maxFrame) {
      throw new ReaderError(
        'reader_protocol_error',
        `frame of ${inner} bytes exceeds the profile's maxFrame ${s.maxFrame}`,
        {
          reason: 'bad_frame',
        },
      );
    }
    const lb = s.lengthBytes;
    if (s.variant === 'stx') {
      const out = Buffer.allocUnsafe(1 + lb + inner + 1 + this.checkLen);
      let o = 0;
      out[o++] = s.stx;
      o = writeLength(out, o, lb, inner);
      out[o++] = frame.seq & 0xff;
      out[o++] = frame.cmd;
      if (withStatus) out[o++] = frame.status!;
      frame.payload.copy(out, o);
      o += frame.payload.length;
      out[o++] = s.etx;
      writeCheck(s.check, out, 1, o);
      return out;
    }
    const out = Buffer.allocUnsafe(lb + inner + this.checkLen);
    let o = writeLength(out, 0, lb, inner);
    out[o++] = frame.cmd;
    if (withStatus) out[o++] = frame.status!;
    frame.payload.copy(out, o);
    o += frame.payload.length;
    writeCheck(s.check, out, 0, o);
    return out;
  }

  encodeAck(seq: number): Buffer {
    return Buffer.from([this.spec.ackByte, seq & 0xff, ~seq & 0xff]);
  }

  encodeNak(seq: number): Buffer {
    return Buffer.from([this.spec.nakByte, seq & 0xff, ~seq & 0xff]);
  }

  /** A parser for frames arriving from the reader (`fromReader`: with a status byte) or from the host. */
  parser(fromReader: boolean): FrameParser {
    return new FrameParser(this, fromReader);
  }
}

function writeLength(out: Buffer, o: number, lb: number, n: number): number {
  if (lb === 2) {
    out[o] = n >> 8;
    out[o + 1] = n & 0xff;
    return o + 2;
  }
  out[o] = n;
  return o + 1;
}

const EMPTY = Buffer.alloc(0);

type Attempt = 'partial' | 'garbage' | { event: ParseEvent; total: number; skip?: boolean };

export class FrameParser {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Bytes skipped as not belonging to any frame. */
  garbage = 0;
  /** Frames whose check failed. */
  badFrames = 0;

  constructor(
    private readonly codec: FrameCodec,
    private readonly withStatus: boolean,
  ) {}

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buf.length - this.pos;
  }

  push(chunk: Buffer): ParseEvent[] {
    if (chunk.length === 0) return [];
    if (this.pending === 0) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    }
    const events: ParseEvent[] = [];
    this.scan(events, false);
    return events;
  }

  /**
   * Reassembly timeout (nothing arrived for a while, yet a frame is incomplete): whatever complete,
   * valid frames sit inside the pending bytes are still delivered, everything else is dropped.
   */
  expire(): ParseEvent[] {
    const events: ParseEvent[] = [];
    this.scan(events, true);
    return events;
  }

  reset(): void {
    this.buf = EMPTY;
    this.pos = 0;
  }

  private scan(events: ParseEvent[], flush: boolean): void {
    const buf = this.buf;
    while (this.pos < buf.length) {
      const a = this.codec.spec.variant === 'stx' ? this.tryStx(this.pos) : this.tryLenPfx(this.pos);
      if (a === 'partial') {
        if (flush) {
          this.skip(1);
          continue;
        }
        // stx: a complete, valid data frame further on means the head is not a frame start after all
        // (noise with an STX and a long length): resynchronise now rather than at the timeout.
        const next = this.codec.spec.variant === 'stx' ? this.completeFrameAfter(this.pos) : -1;
        if (next < 0) break;
        this.skip(next - this.pos);
      } else if (a === 'garbage') {
        this.skip(this.codec.spec.variant === 'stx' ? this.garbageRun(this.pos) : 1);
      } else {
        if (a.event.type === 'bad') {
          this.badFrames++;
          events.push(a.event);
          // stx: the frame's extent is known (ETX in place), drop it whole; lenpfx: resynchronise byte by byte
          if (a.skip) this.skip(1);
          else this.skip(a.total);
        } else {
          this.pos += a.total;
          events.push(a.event);
        }
      }
    }
    if (this.pos >= buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
  }

  private skip(n: number): void {
    this.pos += n;
    this.garbage += n;
  }

  /** stx: offset of the first complete data frame with a good check after `p`, or -1. */
  private completeFrameAfter(p: number): number {
    const stx = this.codec.spec.stx;
    for (let q = this.buf.indexOf(stx, p + 1); q >= 0; q = this.buf.indexOf(stx, q + 1)) {
      const a = this.tryStx(q);
      if (typeof a === 'object' && a.event.type === 'frame') return q;
    }
    return -1;
  }

  /** stx: bytes from `p` that cannot start a frame or a control frame. */
  private garbageRun(p: number): number {
    const s = this.codec.spec;
    let q = p + 1;
    while (q < this.buf.length) {
      const c = this.buf[q]!;
      if (c === s.stx || (s.ack && (c === s.ackByte || c === s.nakByte))) break;
      q++;
    }
    return q - p;
  }

  private readLength(at: number): number {
    return this.codec.spec.lengthBytes === 2 ? (this.buf[at]! << 8) | this.buf[at + 1]! : this.buf[at]!;
  }

  private tryStx(p: number): Attempt {
    const s = this.codec.spec;
    const buf = this.buf;
    const lb = s.lengthBytes;
    const rem = buf.length - p;
    const b = buf[p]!;
    if (b === s.stx) {
      if (rem < 1 + lb) return 'partial';
      const len = this.readLength(p + 1);
      if (len < 2 + (this.withStatus ? 1 : 0) || len > s.maxFrame) return 'garbage';
      const total = 1 + lb + len + 1 + this.codec.checkLen;
      if (rem < total) return 'partial';
      const etxAt = p + 1 + lb + len;
      if (buf[etxAt] !== s.etx) return 'garbage';
      const seq = buf[p + 1 + lb]!;
      if (!verifyCheck(s.check, buf, p + 1, etxAt + 1))
        return { event: { type: 'bad', seq, length: total }, total };
      let o = p + 2 + lb;
      const cmd = buf[o++]!;
      const frame: Frame = { seq, cmd, payload: EMPTY };
      if (this.withStatus) frame.status = buf[o++]!;
      frame.payload = Buffer.from(buf.subarray(o, etxAt));
      return { event: { type: 'frame', frame }, total };
    }
    if (s.ack && (b === s.ackByte || b === s.nakByte)) {
      if (rem < 3) return 'partial';
      const seq = buf[p + 1]!;
      if ((seq ^ buf[p + 2]!) !== 0xff) return 'garbage';
      return { event: { type: b === s.ackByte ? 'ack' : 'nak', seq }, total: 3 };
    }
    return 'garbage';
  }

  private tryLenPfx(p: number): Attempt {
    const s = this.codec.spec;
    const buf = this.buf;
    const lb = s.lengthBytes;
    if (buf.length - p < lb) return 'partial';
    const len = this.readLength(p);
    if (len < 1 + (this.withStatus ? 1 : 0) || len > s.maxFrame) return 'garbage';
    const total = lb + len + this.codec.checkLen;
    if (buf.length - p < total) return 'partial';
    const end = p + lb + len;
    if (!verifyCheck(s.check, buf, p, end))
      return { event: { type: 'bad', length: total }, total, skip: true };
    let o = p + lb;
    const cmd = buf[o++]!;
    const frame: Frame = { seq: -1, cmd, payload: EMPTY };
    if (this.withStatus) frame.status = buf[o++]!;
    frame.payload = Buffer.from(buf.subarray(o, end));
    return { event: { type: 'frame', frame }, total };
  }
}
