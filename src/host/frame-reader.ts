import { frameLength, lengthHeaderWidth, type Framing } from '../iso8583/index.js';
import { HostLinkError } from './errors.js';

/**
 * Reassembles length-prefixed frames from a TCP stream, whatever the chunking: one byte at a time or
 * several frames per chunk. Zero-length frames (keep-alives some hosts send) are skipped. A frame above
 * `maxFrame` is an error: the stream cannot be trusted after it, so the caller drops the connection.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly headerWidth: number;

  constructor(
    private readonly framing: Framing,
    private readonly maxFrame: number,
  ) {
    this.headerWidth = lengthHeaderWidth(framing.lengthHeader);
    if (this.headerWidth === 0)
      throw new HostLinkError('bad_config', 'a TCP link needs a length header', 'framing.lengthHeader');
  }

  /** Feeds a chunk; returns the complete frames it finished (length header included). */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Buffer[] = [];
    for (;;) {
      let total: number | undefined;
      try {
        total = frameLength(this.pending, this.framing);
      } catch (e) {
        throw new HostLinkError('bad_frame', `unreadable length header (${(e as Error).message})`);
      }
      if (total === undefined || this.pending.length < total) break;
      const payload = total - this.headerWidth;
      if (payload > this.maxFrame)
        throw new HostLinkError('frame_too_large', `frame of ${payload} bytes exceeds ${this.maxFrame}`);
      const frame = this.pending.subarray(0, total);
      this.pending = this.pending.subarray(total);
      if (payload > 0) frames.push(Buffer.from(frame));
    }
    // A declared length already above the maximum need not be waited for.
    const declared =
      this.pending.length >= this.headerWidth ? frameLength(this.pending, this.framing) : undefined;
    if (declared !== undefined && declared - this.headerWidth > this.maxFrame) {
      throw new HostLinkError(
        'frame_too_large',
        `frame of ${declared - this.headerWidth} bytes exceeds ${this.maxFrame}`,
      );
    }
    if (this.pending.length === 0) this.pending = Buffer.alloc(0);
    return frames;
  }

  /** Bytes received but not yet a whole frame. */
  get buffered(): number {
    return this.pending.length;
  }

  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}
