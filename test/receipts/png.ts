/** A tiny PNG encoder for tests: RGBA, 8 bits, filter 0, not interlaced. */
import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** `ink(x, y)` true → opaque black, else transparent. */
export function png(width: number, height: number, ink: (x: number, y: number) => boolean): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink(x, y)) raw.writeUInt32BE(0x000000ff, y * (1 + width * 4) + 1 + x * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A signature-like scribble: a sine stroke 3 pixels thick across the middle of the image. */
export function scribble(width = 600, height = 200): Buffer {
  return png(width, height, (x, y) => {
    if (x < 40 || x > width - 40) return false;
    const cy = height / 2 + Math.sin(x / 25) * (height / 4);
    return Math.abs(y - cy) < 1.5;
  });
}

export const SVG_SIGNATURE =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100" width="300" height="100">' +
  '<path d="M10 80 C 40 10, 65 10, 95 80 S 150 150, 180 80 Q 200 40 220 60 T 260 50 L 290 20" stroke="black" fill="none" stroke-width="2"/>' +
  '<polyline points="20,90 60,95 100,92" stroke="black" fill="none"/></svg>';
