/**
 * A small ZIP reader (stored and deflate members, CRC checked, size bounded) for Alipay's bill archives,
 * whose member names are GBK unless the UTF-8 flag is set. node:zlib only.
 */
import { inflateRawSync } from 'node:zlib';

export class ZipError extends Error {}

let table: Uint32Array | undefined;
export function crc32(buf: Buffer): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of buf) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Buffer;
}

export function readZip(zip: Buffer, opts: { maxTotalBytes?: number } = {}): ZipEntry[] {
  const max = opts.maxTotalBytes ?? 64 * 1024 * 1024;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a ZIP archive');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  let total = 0;
  const gbk = new TextDecoder('gbk');
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50)
      throw new ZipError('bad central directory');
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const csize = zip.readUInt32LE(p + 20);
    const usize = zip.readUInt32LE(p + 24);
    const nlen = zip.readUInt16LE(p + 28);
    const xlen = zip.readUInt16LE(p + 30);
    const clen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const nameBytes = zip.subarray(p + 46, p + 46 + nlen);
    const name = flags & 0x800 ? nameBytes.toString('utf8') : gbk.decode(nameBytes);
    p += 46 + nlen + xlen + clen;
    if (name.endsWith('/')) continue;
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50)
      throw new ZipError('bad local header');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + csize);
    if (raw.length !== csize) throw new ZipError('truncated member');
    total += usize;
    if (total > max) throw new ZipError('archive too large');
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: usize + 1 });
      } catch (e) {
        throw new ZipError(`member ${name} does not inflate: ${(e as Error).message}`);
      }
    } else throw new ZipError(`unsupported compression ${method}`);
    if (data.length !== usize || crc32(data) !== crc) throw new ZipError(`member ${name} fails its CRC`);
    out.push({ name, data });
  }
  return out;
}
