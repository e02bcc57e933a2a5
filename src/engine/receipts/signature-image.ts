/**
 * The signature image as the acquirer gets it: the e-signature upload carries at most 512 bytes (cup-pos
 * field 62, docs/acquirer-messages.md §3.14), far less than a signature pad's PNG or SVG. So the image is
 * reduced to a small black-and-white bitmap, trimmed to the ink, compressed, and sent as this record:
 *
 * | offset | bytes | content                                                                       |
 * | ------ | ----- | ----------------------------------------------------------------------------- |
 * | 0      | 1     | record version `01`                                                           |
 * | 1      | 1     | encoding: `01` 1 bit per pixel, rows top to bottom, MSB first, raw DEFLATE; `00` no image (only the digest) |
 * | 2      | 2     | width in pixels (big-endian)                                                  |
 * | 4      | 2     | height in pixels (big-endian)                                                 |
 * | 6      | 8     | the first 8 bytes of the SHA-256 of the image kept in the journal             |
 * | 14     | n     | the compressed bitmap (RFC 1951), each row `ceil(width / 8)` bytes            |
 *
 * The bitmap fits the ink's bounding box into 192 × 64 pixels (aspect kept, never enlarged) and shrinks
 * until the record fits. PNG: any colour type, bit depth 1-16, not interlaced (an interlaced PNG is
 * sent as encoding `00`); a pixel is ink when it is mostly opaque and dark. SVG: `path`, `polyline`,
 * `polygon` and `line` elements as strokes (curves sampled, arcs as chords, transforms ignored).
 */
import { deflateRawSync, inflateRawSync, inflateSync } from 'node:zlib';

export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 14;
export const ENCODING_NONE = 0;
export const ENCODING_BILEVEL_DEFLATE = 1;

/** Largest PNG the daemon decodes (pixels); larger images are refused when received. */
export const MAX_PNG_PIXELS = 4_000_000;
export const MAX_PNG_SIDE = 4096;

type Pt = readonly [number, number];

/** Something that can be drawn at any size: an ink grid (PNG) or strokes (SVG). */
interface Drawing {
  /** Strokes in arbitrary units (scaled to fit, up or down) rather than pixels (only scaled down). */
  vector: boolean;
  /** Bounding box of the ink. */
  box: { x0: number; y0: number; x1: number; y1: number };
  draw(target: Bitmap, scale: number): void;
}

export interface Bitmap {
  width: number;
  height: number;
  /** One byte per pixel, 1 = ink. */
  px: Uint8Array;
}

const newBitmap = (width: number, height: number): Bitmap => ({
  width,
  height,
  px: new Uint8Array(width * height),
});

// ------------------------------------------------------------------ PNG

export interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The IHDR of a PNG, or undefined when the bytes are not a PNG. */
export function pngHeader(png: Buffer): PngHeader | undefined {
  if (png.length < 33 || !png.subarray(0, 8).equals(PNG_MAGIC)) return undefined;
  if (png.readUInt32BE(8) !== 13 || png.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  const h = {
    width: png.readUInt32BE(16),
    height: png.readUInt32BE(20),
    depth: png[24]!,
    colorType: png[25]!,
    interlace: png[28]!,
  };
  const depths: Record<number, number[]> = {
    0: [1, 2, 4, 8, 16],
    2: [8, 16],
    3: [1, 2, 4, 8],
    4: [8, 16],
    6: [8, 16],
  };
  if (!depths[h.colorType]?.includes(h.depth) || h.width < 1 || h.height < 1) return undefined;
  return h;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Ink pixels of a PNG (mostly opaque and dark), or undefined when it cannot be read. */
function pngDrawing(png: Buffer): Drawing | undefined {
  const h = pngHeader(png);
  if (!h || h.interlace !== 0 || h.width * h.height > MAX_PNG_PIXELS) return undefined;
  const idat: Buffer[] = [];
  let palette: Buffer | undefined;
  let trns: Buffer | undefined;
  for (let off = 8; off + 12 <= png.length;) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (data.length !== len) return undefined;
    if (type === 'IDAT') idat.push(data);
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[h.colorType]!;
  const bitsPerPixel = channels * h.depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const rowBytes = Math.ceil((h.width * bitsPerPixel) / 8);
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: h.height * (rowBytes + 1) });
  } catch {
    return undefined;
  }
  if (raw.length !== h.height * (rowBytes + 1)) return undefined;
  const ink = new Uint8Array(h.width * h.height);
  let prev = Buffer.alloc(rowBytes);
  const box = { x0: h.width, y0: h.height, x1: -1, y1: -1 };
  const max = (1 << Math.min(h.depth, 8)) - 1;
  for (let y = 0; y < h.height; y++) {
    const filter = raw[y * (rowBytes + 1)]!;
    const row = Buffer.from(raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1)));
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      const add =
        filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? paeth(a, b, c) : 0;
      row[i] = (row[i]! + add) & 0xff;
    }
    prev = row;
    // One sample: the high byte of 16-bit samples, the bits of packed ones.
    const sample = (x: number, ch: number): number => {
      if (h.depth >= 8) return row[(x * channels + ch) * (h.depth >> 3)]!;
      const bit = x * h.depth;
      return (row[bit >> 3]! >> (8 - h.depth - (bit & 7))) & max;
    };
    for (let x = 0; x < h.width; x++) {
      let r: number;
      let g: number;
      let bl: number;
      let alpha = 255;
      if (h.colorType === 3) {
        const idx = sample(x, 0);
        r = palette?.[idx * 3] ?? 0;
        g = palette?.[idx * 3 + 1] ?? 0;
        bl = palette?.[idx * 3 + 2] ?? 0;
        alpha = trns?.[idx] ?? 255;
      } else if (h.colorType === 0 || h.colorType === 4) {
        r = g = bl = Math.floor((sample(x, 0) * 255) / max);
        if (h.colorType === 4) alpha = sample(x, 1);
      } else {
        r = sample(x, 0);
        g = sample(x, 1);
        bl = sample(x, 2);
        if (h.colorType === 6) alpha = sample(x, 3);
      }
      const luminance = Math.floor((299 * r + 587 * g + 114 * bl) / 1000);
      if (alpha >= 128 && luminance < 128) {
        ink[y * h.width + x] = 1;
        if (x < box.x0) box.x0 = x;
        if (x > box.x1) box.x1 = x;
        if (y < box.y0) box.y0 = y;
        if (y > box.y1) box.y1 = y;
      }
    }
  }
  return {
    vector: false,
    box,
    draw(t, scale) {
      for (let y = box.y0; y <= box.y1; y++)
        for (let x = box.x0; x <= box.x1; x++)
          if (ink[y * h.width + x]) {
            const tx = Math.min(t.width - 1, Math.floor((x - box.x0) / scale));
            const ty = Math.min(t.height - 1, Math.floor((y - box.y0) / scale));
            t.px[ty * t.width + tx] = 1;
          }
    },
  };
}

// ------------------------------------------------------------------ SVG

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g;
const MAX_POINTS = 200_000;

/** A path's `d` as polylines (curves sampled in 8 steps, arcs as their chord). */
export function pathPolylines(d: string): Pt[][] {
  const tokens = d.match(/[MmLlHhVvCcSsQqTtAaZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g) ?? [];
  const out: Pt[][] = [];
  let cur: Pt[] = [];
  let x = 0;
  let y = 0;
  let sx = 0;
  let sy = 0;
  let cmd = '';
  let ctrl: Pt | undefined; // last cubic / quadratic control point, for S and T
  let i = 0;
  const isCmd = (t: string | undefined): boolean => t !== undefined && /^[A-Za-z]$/.test(t);
  const take = (n: number): number[] | undefined => {
    const v: number[] = [];
    for (let k = 0; k < n; k++) {
      const t = tokens[i + k];
      if (t === undefined || isCmd(t)) return undefined;
      v.push(Number(t));
    }
    i += n;
    return v;
  };
  const lineTo = (nx: number, ny: number): void => {
    if (cur.length === 0) cur.push([x, y]);
    cur.push([nx, ny]);
    x = nx;
    y = ny;
  };
  const curve = (pts: Pt[]): void => {
    // Bézier of degree pts.length - 1 from the current point.
    const all: Pt[] = [[x, y], ...pts];
    for (let s = 1; s <= 8; s++) {
      const t = s / 8;
      let layer = all;
      while (layer.length > 1)
        layer = layer
          .slice(1)
          .map(
            (p, k) =>
              [layer[k]![0] + (p[0] - layer[k]![0]) * t, layer[k]![1] + (p[1] - layer[k]![1]) * t] as Pt,
          );
      lineTo(layer[0]![0], layer[0]![1]);
    }
  };
  while (i < tokens.length) {
    if (isCmd(tokens[i])) cmd = tokens[i++]!;
    else if (!cmd) {
      i++;
      continue;
    }
    const rel = cmd === cmd.toLowerCase();
    const ox = rel ? x : 0;
    const oy = rel ? y : 0;
    const C = cmd.toUpperCase();
    let v: number[] | undefined;
    if (C === 'Z') {
      if (cur.length) lineTo(sx, sy);
      cmd = '';
      ctrl = undefined;
      continue;
    }
    const arity = { M: 2, L: 2, H: 1, V: 1, C: 6, S: 4, Q: 4, T: 2, A: 7 }[C];
    if (arity === undefined || !(v = take(arity))) break;
    if (v.some((n) => !Number.isFinite(n))) break;
    switch (C) {
      case 'M':
        if (cur.length > 1) out.push(cur);
        cur = [];
        x = sx = v[0]! + ox;
        y = sy = v[1]! + oy;
        cmd = rel ? 'l' : 'L';
        ctrl = undefined;
        break;
      case 'L':
        lineTo(v[0]! + ox, v[1]! + oy);
        ctrl = undefined;
        break;
      case 'H':
        lineTo(v[0]! + ox, y);
        ctrl = undefined;
        break;
      case 'V':
        lineTo(x, v[0]! + oy);
        ctrl = undefined;
        break;
      case 'C':
      case 'S': {
        const c1: Pt =
          C === 'C' ? [v[0]! + ox, v[1]! + oy] : ctrl ? [2 * x - ctrl[0], 2 * y - ctrl[1]] : [x, y];
        const rest = C === 'C' ? v.slice(2) : v;
        const c2: Pt = [rest[0]! + ox, rest[1]! + oy];
        curve([c1, c2, [rest[2]! + ox, rest[3]! + oy]]);
        ctrl = c2;
        break;
      }
      case 'Q':
      case 'T': {
        const c: Pt =
          C === 'Q' ? [v[0]! + ox, v[1]! + oy] : ctrl ? [2 * x - ctrl[0], 2 * y - ctrl[1]] : [x, y];
        const end = C === 'Q' ? v.slice(2) : v;
        curve([c, [end[0]! + ox, end[1]! + oy]]);
        ctrl = c;
        break;
      }
      case 'A':
        lineTo(v[5]! + ox, v[6]! + oy);
        ctrl = undefined;
        break;
    }
    if (cur.length > MAX_POINTS) break;
  }
  if (cur.length > 1) out.push(cur);
  return out;
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
    out[m[1]!] = m[2] ?? m[3] ?? '';
  return out;
}

const points = (s: string): Pt[] => {
  const n = (s.match(NUMBER) ?? []).map(Number);
  const out: Pt[] = [];
  for (let k = 0; k + 1 < n.length; k += 2) out.push([n[k]!, n[k + 1]!]);
  return out;
};

/** Strokes of an SVG: path, polyline, polygon and line elements (transforms ignored). */
export function svgPolylines(svg: string): Pt[][] {
  const out: Pt[][] = [];
  for (const m of svg.matchAll(/<(path|polyline|polygon|line)\b([^>]*)>/gi)) {
    const a = attrs(m[2]!);
    const kind = m[1]!.toLowerCase();
    if (kind === 'path' && a['d']) out.push(...pathPolylines(a['d']));
    else if (kind === 'polyline' || kind === 'polygon') {
      const p = points(a['points'] ?? '');
      if (kind === 'polygon' && p.length > 2) p.push(p[0]!);
      if (p.length) out.push(p);
    } else if (kind === 'line') {
      const [x1, y1, x2, y2] = ['x1', 'y1', 'x2', 'y2'].map((k) => Number(a[k] ?? 0));
      out.push([
        [x1!, y1!],
        [x2!, y2!],
      ]);
    }
  }
  return out
    .map((l) => l.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])))
    .filter((l) => l.length);
}

function svgDrawing(svg: string): Drawing | undefined {
  const lines = svgPolylines(svg);
  if (!lines.length) return undefined;
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const l of lines)
    for (const [px, py] of l) {
      box.x0 = Math.min(box.x0, px);
      box.y0 = Math.min(box.y0, py);
      box.x1 = Math.max(box.x1, px);
      box.y1 = Math.max(box.y1, py);
    }
  return {
    vector: true,
    box,
    draw(t, scale) {
      const at = (p: Pt): [number, number] => [
        Math.min(t.width - 1, Math.max(0, Math.round((p[0] - box.x0) / scale))),
        Math.min(t.height - 1, Math.max(0, Math.round((p[1] - box.y0) / scale))),
      ];
      for (const l of lines) {
        let [ax, ay] = at(l[0]!);
        t.px[ay * t.width + ax] = 1;
        for (const p of l.slice(1)) {
          const [bx, by] = at(p);
          // Bresenham
          const dx = Math.abs(bx - ax);
          const dy = -Math.abs(by - ay);
          const stepX = ax < bx ? 1 : -1;
          const stepY = ay < by ? 1 : -1;
          let err = dx + dy;
          for (;;) {
            t.px[ay * t.width + ax] = 1;
            if (ax === bx && ay === by) break;
            const e2 = 2 * err;
            if (e2 >= dy) {
              err += dy;
              ax += stepX;
            }
            if (e2 <= dx) {
              err += dx;
              ay += stepY;
            }
          }
        }
      }
    },
  };
}

// ------------------------------------------------------------------ the record

/** Bitmap rows packed 1 bit per pixel, MSB first. */
export function packBits(b: Bitmap): Buffer {
  const stride = Math.ceil(b.width / 8);
  const out = Buffer.alloc(stride * b.height);
  for (let y = 0; y < b.height; y++)
    for (let x = 0; x < b.width; x++)
      if (b.px[y * b.width + x]) out[y * stride + (x >> 3)]! |= 0x80 >> (x & 7);
  return out;
}

/** The drawing at most maxW × maxH, aspect kept, never enlarged. */
function render(d: Drawing, maxW: number, maxH: number): Bitmap {
  const bw = d.box.x1 - d.box.x0;
  const bh = d.box.y1 - d.box.y0;
  // A pixel grid spans bw + 1 pixels and is only reduced; strokes span bw units and fill the box.
  const scale = d.vector
    ? Math.max(bw / (maxW - 1), bh / (maxH - 1)) || 1
    : Math.max(1, (bw + 1) / maxW, (bh + 1) / maxH);
  const t = newBitmap(
    Math.max(1, Math.min(maxW, Math.floor(bw / scale) + 1)),
    Math.max(1, Math.min(maxH, Math.floor(bh / scale) + 1)),
  );
  d.draw(t, scale);
  return t;
}

function header(encoding: number, width: number, height: number, sha256Hex: string): Buffer {
  const h = Buffer.alloc(RECORD_HEADER_BYTES);
  h[0] = RECORD_VERSION;
  h[1] = encoding;
  h.writeUInt16BE(width, 2);
  h.writeUInt16BE(height, 4);
  Buffer.from(sha256Hex, 'hex').copy(h, 6, 0, 8);
  return h;
}

/**
 * The upload record of a signature image (see the table above), at most `maxBytes` bytes. `sha256Hex`
 * is the digest of the image as kept in the journal.
 */
export function signatureRecord(
  format: 'svg' | 'png',
  image: Buffer,
  sha256Hex: string,
  maxBytes: number,
): Buffer {
  const drawing = format === 'png' ? pngDrawing(image) : svgDrawing(image.toString('utf8'));
  if (drawing && drawing.box.x1 >= drawing.box.x0 && drawing.box.y1 >= drawing.box.y0) {
    for (let maxW = 192; maxW >= 16; maxW = Math.floor((maxW * 3) / 4)) {
      const bmp = render(drawing, maxW, Math.max(8, Math.round(maxW / 3)));
      const body = deflateRawSync(packBits(bmp), { level: 9 });
      if (RECORD_HEADER_BYTES + body.length <= maxBytes)
        return Buffer.concat([header(ENCODING_BILEVEL_DEFLATE, bmp.width, bmp.height, sha256Hex), body]);
    }
  }
  return header(ENCODING_NONE, 0, 0, sha256Hex);
}

/** Reads a record back (tests, and whoever needs to look at an upload). */
export function readSignatureRecord(record: Buffer): {
  version: number;
  encoding: number;
  width: number;
  height: number;
  digest: string;
  bitmap: Bitmap;
} {
  const width = record.readUInt16BE(2);
  const height = record.readUInt16BE(4);
  const bitmap = newBitmap(width, height);
  if (record[1] === ENCODING_BILEVEL_DEFLATE) {
    const bits = inflateRawSync(record.subarray(RECORD_HEADER_BYTES));
    const stride = Math.ceil(width / 8);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        if (bits[y * stride + (x >> 3)]! & (0x80 >> (x & 7))) bitmap.px[y * width + x] = 1;
  }
  return {
    version: record[0]!,
    encoding: record[1]!,
    width,
    height,
    digest: record.subarray(6, 14).toString('hex'),
    bitmap,
  };
}
