/**
 * What the reader simulator does with the sets it is given (load_capks / load_aids) and the offline
 * data authentication it runs with them: Static Data Authentication as EMV 4.4 Book 2 section 5 defines
 * it, with real RSA. A test certification authority (simulators/shared/oda-keys.json, served by the
 * host simulator as CAPK index C1 under each RID) certifies one issuer key; every chip card carries an
 * Issuer Public Key Certificate (tag 90, with the remainder 92 and exponent 9F32) and Signed Static
 * Application Data (93) over its PAN, expiry and AIP. At card read the reader recovers both with the
 * CAPK it holds for the card's RID and index (8F): a missing CAPK or one with another modulus fails
 * SDA (TVR byte 1 bit 7, '40'), success sets "SDA selected" (byte 1 bit 2, '02'). Then terminal action
 * analysis with the loaded AID's TAC-denial (DF13): a TVR bit it names makes the card decline offline.
 * A reader that was never given a CAPK set skips this (the simulators' behaviour before sets existed).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTlv } from '../../src/emv/index.js';

export interface RsaKey {
  modulus: Buffer;
  exponent: Buffer;
  privateExponent?: Buffer;
}

export interface HeldCapk {
  rid: string;
  index: string;
  modulus: Buffer;
  exponent: Buffer;
}

export interface HeldAid {
  aid: string;
  tacDenial?: Buffer;
  tacOnline?: Buffer;
  tacDefault?: Buffer;
}

/** A set as the reader keeps it, with the digest device_info reports. */
export interface HeldSet<T> {
  digest: Buffer;
  entries: T[];
}

export class ParamEntryError extends Error {
  constructor(
    message: string,
    readonly entry: number,
    readonly checkValue = false,
  ) {
    super(message);
  }
}

function primitives(tlv: Buffer, entry: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  try {
    for (const e of parseTlv(tlv, { privateTags: 'primitive' }).elements) out.set(e.tag, e.value);
  } catch (e) {
    throw new ParamEntryError(`entry ${entry} is not BER-TLV (${(e as Error).message})`, entry);
  }
  return out;
}

/** A CAPK entry as downloaded (9F06 RID, 9F22 index, DF02 modulus, DF04 exponent, DF03 SHA-1 check value). */
export function parseCapkEntry(tlv: Buffer, entry: number): HeldCapk {
  const m = primitives(tlv, entry);
  const need = (tag: string): Buffer => {
    const v = m.get(tag);
    if (!v?.length) throw new ParamEntryError(`entry ${entry} has no ${tag}`, entry);
    return v;
  };
  const rid = need('9F06');
  const index = need('9F22');
  const modulus = need('DF02');
  const exponent = need('DF04');
  const check = need('DF03');
  const want = createHash('sha1')
    .update(Buffer.concat([rid, index, modulus, exponent]))
    .digest();
  const name = `${rid.toString('hex').toUpperCase()}/${index.toString('hex').toUpperCase()}`;
  if (!want.equals(check))
    throw new ParamEntryError(`CAPK ${name}: check value (DF03) does not match`, entry, true);
  return {
    rid: rid.toString('hex').toUpperCase(),
    index: index.toString('hex').toUpperCase(),
    modulus,
    exponent,
  };
}

export function parseAidEntry(tlv: Buffer, entry: number): HeldAid {
  const m = primitives(tlv, entry);
  const aid = m.get('9F06');
  if (!aid?.length) throw new ParamEntryError(`entry ${entry} has no 9F06`, entry);
  const out: HeldAid = { aid: aid.toString('hex').toUpperCase() };
  const five = (tag: string): Buffer | undefined => (m.get(tag)?.length === 5 ? m.get(tag) : undefined);
  const d = five('DF13');
  const o = five('DF12');
  const f = five('DF11');
  if (d) out.tacDenial = d;
  if (o) out.tacOnline = o;
  if (f) out.tacDefault = f;
  return out;
}

// ------------------------------------------------------------------ RSA (raw, as EMV uses it)

function big(b: Buffer): bigint {
  return b.length ? BigInt(`0x${b.toString('hex')}`) : 0n;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

function rsa(data: Buffer, exponent: Buffer, modulus: Buffer): Buffer {
  const hex = modPow(big(data), big(exponent), big(modulus))
    .toString(16)
    .padStart(modulus.length * 2, '0');
  return Buffer.from(hex, 'hex');
}

const sha1 = (...parts: Buffer[]): Buffer => createHash('sha1').update(Buffer.concat(parts)).digest();

// ------------------------------------------------------------------ the simulators' keys

interface OdaKeys {
  ca: RsaKey & { index: string };
  issuer: RsaKey;
}

function keysFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'simulators', 'shared', 'oda-keys.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'shared', 'oda-keys.json');
}

let cached: OdaKeys | undefined;
export function odaKeys(): OdaKeys {
  if (cached) return cached;
  const raw = JSON.parse(readFileSync(keysFile(), 'utf8')) as Record<string, Record<string, string>>;
  const k = (o: Record<string, string>): RsaKey => ({
    modulus: Buffer.from(o['modulus']!, 'hex'),
    exponent: Buffer.from(o['exponent']!, 'hex'),
    ...(o['privateExponent'] ? { privateExponent: Buffer.from(o['privateExponent'], 'hex') } : {}),
  });
  cached = { ca: { ...k(raw['ca']!), index: raw['ca']!['index']! }, issuer: k(raw['issuer']!) };
  return cached;
}

// ------------------------------------------------------------------ the card's side (personalisation)

export interface CardOdaData {
  /** 8F: the CA key index the certificate is signed under. */
  caIndex: string;
  /** 90, 92, 9F32, 93. */
  issuerCertificate: Buffer;
  issuerRemainder: Buffer;
  issuerExponent: Buffer;
  signedStaticData: Buffer;
}

/** The static data SDA signs: here the PAN (5A), expiry (5F24, YYMMDD) and the AIP (82). */
export function staticData(pan: string, expiryYymm: string, aip: Buffer): Buffer {
  const p = pan.length % 2 ? `${pan}F` : pan;
  return Buffer.concat([Buffer.from(p, 'hex'), Buffer.from(`${expiryYymm}31`, 'hex'), aip]);
}

/** Issues the card's certificate and signed static data (what an issuer's personalisation would). */
export function personalise(pan: string, expiryYymm: string, aip: Buffer): CardOdaData {
  const { ca, issuer } = odaKeys();
  const nca = ca.modulus.length;
  const ni = issuer.modulus.length;
  const leftLen = nca - 36;
  const issuerId = Buffer.from(pan.slice(0, 8).padEnd(8, 'F'), 'hex');
  const left = Buffer.alloc(leftLen, 0xbb);
  issuer.modulus.copy(left, 0, 0, Math.min(ni, leftLen));
  const remainder = ni > leftLen ? issuer.modulus.subarray(leftLen) : Buffer.alloc(0);
  const body = Buffer.concat([
    Buffer.from([0x02]),
    issuerId,
    Buffer.from('1249', 'hex'), // certificate expiry MMYY: December 2049
    Buffer.from('000001', 'hex'),
    Buffer.from([0x01, 0x01, ni, issuer.exponent.length]),
    left,
  ]);
  const certPlain = Buffer.concat([
    Buffer.from([0x6a]),
    body,
    sha1(body, remainder, issuer.exponent),
    Buffer.from([0xbc]),
  ]);
  const ssadBody = Buffer.concat([Buffer.from([0x03, 0x01, 0xda, 0xc1]), Buffer.alloc(ni - 26, 0xbb)]);
  const ssadPlain = Buffer.concat([
    Buffer.from([0x6a]),
    ssadBody,
    sha1(ssadBody, staticData(pan, expiryYymm, aip)),
    Buffer.from([0xbc]),
  ]);
  return {
    caIndex: ca.index,
    issuerCertificate: rsa(certPlain, ca.privateExponent!, ca.modulus),
    issuerRemainder: Buffer.from(remainder),
    issuerExponent: issuer.exponent,
    signedStaticData: rsa(ssadPlain, issuer.privateExponent!, issuer.modulus),
  };
}

// ------------------------------------------------------------------ the terminal's side (verification)

export type SdaOutcome = { ok: true } | { ok: false; why: string };

/** EMV Book 2 5.3 and 5.4: recover the issuer key with the CAPK, then the signed static data with it. */
export function verifySda(
  capk: HeldCapk | undefined,
  card: CardOdaData,
  pan: string,
  expiryYymm: string,
  aip: Buffer,
  today = new Date(),
): SdaOutcome {
  if (!capk) return { ok: false, why: 'CA public key not held' };
  const nca = capk.modulus.length;
  if (card.issuerCertificate.length !== nca)
    return { ok: false, why: 'certificate length is not the CAPK length' };
  const rec = rsa(card.issuerCertificate, capk.exponent, capk.modulus);
  if (rec[nca - 1] !== 0xbc || rec[0] !== 0x6a || rec[1] !== 0x02)
    return { ok: false, why: 'certificate does not recover (header, format or trailer)' };
  const body = rec.subarray(1, nca - 21);
  if (!sha1(body, card.issuerRemainder, card.issuerExponent).equals(rec.subarray(nca - 21, nca - 1)))
    return { ok: false, why: 'certificate hash does not match' };
  const issuerId = rec.subarray(2, 6).toString('hex').toUpperCase().replace(/F+$/, '');
  if (!pan.startsWith(issuerId)) return { ok: false, why: 'issuer identifier does not match the PAN' };
  const mm = Number(rec.subarray(6, 7).toString('hex'));
  const yy = Number(rec.subarray(7, 8).toString('hex'));
  if (new Date(Date.UTC(2000 + yy, mm, 1)) <= today) return { ok: false, why: 'issuer certificate expired' };
  const ni = rec[13]!;
  const left = rec.subarray(15, 15 + Math.min(ni, nca - 36));
  const modulus = Buffer.concat([left, card.issuerRemainder]);
  if (modulus.length !== ni) return { ok: false, why: 'issuer key length does not add up' };
  if (card.signedStaticData.length !== ni)
    return { ok: false, why: 'signed data length is not the issuer key length' };
  const s = rsa(card.signedStaticData, card.issuerExponent, modulus);
  if (s[ni - 1] !== 0xbc || s[0] !== 0x6a || s[1] !== 0x03)
    return { ok: false, why: 'signed static data does not recover' };
  if (!sha1(s.subarray(1, ni - 21), staticData(pan, expiryYymm, aip)).equals(s.subarray(ni - 21, ni - 1)))
    return { ok: false, why: 'signed static data hash does not match' };
  return { ok: true };
}

/** TVR byte 1 bits (EMV Book 3 annex C1). */
export const TVR_SDA_FAILED = 0x40;
export const TVR_SDA_SELECTED = 0x02;

/** A TVR bit the TAC-denial also names: the terminal declines offline (EMV Book 3 10.7). */
export function tacDenies(tvr: Buffer, aid: HeldAid | undefined): boolean {
  const d = aid?.tacDenial;
  if (!d) return false;
  for (let i = 0; i < 5; i++) if ((tvr[i]! & d[i]!) !== 0) return true;
  return false;
}
