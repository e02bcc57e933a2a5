/**
 * What the reader simulator does with the sets it is given (load_capks / load_aids) and the offline
 * data authentication it runs with them, with real RSA: Static Data Authentication (EMV 4.4 Book 2
 * section 5) and Dynamic Data Authentication (section 6). A test certification authority
 * (simulators/shared/oda-keys.json, served by the host simulator as CAPK index C1 under each RID)
 * certifies one issuer key; every chip card carries an Issuer Public Key Certificate (tag 90, with the
 * remainder 92 and exponent 9F32), Signed Static Application Data (93) over its PAN, expiry and AIP,
 * and an ICC Public Key Certificate (9F46, remainder 9F48, exponent 9F47) binding the card's key to its
 * PAN and the same static data. For DDA the card signs its ICC dynamic number with the terminal's
 * unpredictable number (the DDOL's 9F37: INTERNAL AUTHENTICATE → 9F4B).
 *  - SDA: a missing CAPK or one with another modulus fails (TVR byte 1 bit 7, '40'); success sets "SDA
 *    selected" (byte 1 bit 2, '02').
 *  - DDA (the cards' AIP 7C00 supports both, and EMV Book 3 10.3 picks DDA over SDA): a failure at any
 *    step, the CAPK's or the card's own signature, sets "DDA failed" (byte 1 bit 4, '08'). A card that
 *    copies another's static data and certificates but lacks its private key (a clone) passes SDA and
 *    fails DDA.
 * Then terminal action analysis with the loaded AID's TAC-denial (DF13): a TVR bit it names makes the
 * card decline offline. A reader that was never given a CAPK set skips this (the simulators' behaviour
 * before sets existed).
 */
import { createHash, randomBytes } from 'node:crypto';
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
  icc: RsaKey;
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
  cached = {
    ca: { ...k(raw['ca']!), index: raw['ca']!['index']! },
    issuer: k(raw['issuer']!),
    icc: k(raw['icc']!),
  };
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
  /** 9F46, 9F48, 9F47: the ICC public key certified by the issuer (DDA). */
  iccCertificate: Buffer;
  iccRemainder: Buffer;
  iccExponent: Buffer;
}

/** The static data SDA signs: here the PAN (5A), expiry (5F24, YYMMDD) and the AIP (82). */
export function staticData(pan: string, expiryYymm: string, aip: Buffer): Buffer {
  const p = pan.length % 2 ? `${pan}F` : pan;
  return Buffer.concat([Buffer.from(p, 'hex'), Buffer.from(`${expiryYymm}31`, 'hex'), aip]);
}

/** EMV Book 2 5.1 / 6.1: `6A ‖ body ‖ SHA-1(body ‖ hashed…) ‖ BC`, signed with the signer's private key. */
function signRecoverable(body: Buffer, hashed: Buffer[], signer: RsaKey): Buffer {
  const plain = Buffer.concat([Buffer.from([0x6a]), body, sha1(body, ...hashed), Buffer.from([0xbc])]);
  return rsa(plain, signer.privateExponent!, signer.modulus);
}

/**
 * A public key certificate (Book 2 table 6 for an issuer key, format 02; table 14 for an ICC key, format
 * 04): the subject's identifier, expiry December 2049, serial 000001, SHA-1 / RSA, and as much of the
 * subject's modulus as fits in `signer length - fixed`; the rest is the remainder (92 / 9F48).
 */
function publicKeyCertificate(
  format: number,
  subjectId: Buffer,
  subject: RsaKey,
  signer: RsaKey,
  hashedAfter: Buffer[] = [],
): { certificate: Buffer; remainder: Buffer } {
  const n = subject.modulus.length;
  const leftLen = signer.modulus.length - 36 - subjectId.length + 4; // 36 bytes fixed with a 4-byte id
  const left = Buffer.alloc(leftLen, 0xbb);
  subject.modulus.copy(left, 0, 0, Math.min(n, leftLen));
  const remainder = Buffer.from(n > leftLen ? subject.modulus.subarray(leftLen) : Buffer.alloc(0));
  const body = Buffer.concat([
    Buffer.from([format]),
    subjectId,
    Buffer.from('1249', 'hex'), // certificate expiry MMYY: December 2049
    Buffer.from('000001', 'hex'),
    Buffer.from([0x01, 0x01, n, subject.exponent.length]),
    left,
  ]);
  return {
    certificate: signRecoverable(body, [remainder, subject.exponent, ...hashedAfter], signer),
    remainder,
  };
}

/** Issues the card's certificates and signed static data (what an issuer's personalisation would). */
export function personalise(pan: string, expiryYymm: string, aip: Buffer): CardOdaData {
  const { ca, issuer, icc } = odaKeys();
  const ni = issuer.modulus.length;
  const stat = staticData(pan, expiryYymm, aip);
  const issuerCert = publicKeyCertificate(
    0x02,
    Buffer.from(pan.slice(0, 8).padEnd(8, 'F'), 'hex'),
    issuer,
    ca,
  );
  // The ICC key's certificate names the whole PAN (10 bytes) and covers the static data too.
  const iccCert = publicKeyCertificate(0x04, Buffer.from(pan.padEnd(20, 'F'), 'hex'), icc, issuer, [stat]);
  const ssadBody = Buffer.concat([Buffer.from([0x03, 0x01, 0xda, 0xc1]), Buffer.alloc(ni - 26, 0xbb)]);
  return {
    caIndex: ca.index,
    issuerCertificate: issuerCert.certificate,
    issuerRemainder: issuerCert.remainder,
    issuerExponent: issuer.exponent,
    signedStaticData: signRecoverable(ssadBody, [stat], issuer),
    iccCertificate: iccCert.certificate,
    iccRemainder: iccCert.remainder,
    iccExponent: icc.exponent,
  };
}

/**
 * The card's INTERNAL AUTHENTICATE (EMV Book 2 6.5, table 17): Signed Dynamic Application Data (9F4B)
 * over a fresh ICC dynamic number and the terminal's dynamic data (the DDOL: 9F37), with the card's
 * private key; a clone has none and signs with another (`forged`).
 */
export function signDynamicData(terminalData: Buffer, forged = false): Buffer {
  const { icc, issuer } = odaKeys();
  const number = randomBytes(8);
  const dynamic = Buffer.concat([Buffer.from([number.length]), number]);
  const body = Buffer.concat([
    Buffer.from([0x05, 0x01, dynamic.length]),
    dynamic,
    Buffer.alloc(icc.modulus.length - dynamic.length - 25, 0xbb),
  ]);
  // A clone signs with another key (here the issuer's): well formed, but not this card's signature.
  return signRecoverable(body, [terminalData], forged ? issuer : icc);
}

// ------------------------------------------------------------------ the terminal's side (verification)

export type SdaOutcome = { ok: true } | { ok: false; why: string };
export type OdaOutcome = SdaOutcome;

type Recovered = { ok: true; modulus: Buffer } | { ok: false; why: string };

/** MMYY of a recovered certificate is in the past. */
function expired(mmyy: Buffer, today: Date): boolean {
  const mm = Number(mmyy.subarray(0, 1).toString('hex'));
  const yy = Number(mmyy.subarray(1, 2).toString('hex'));
  return new Date(Date.UTC(2000 + yy, mm, 1)) <= today;
}

/**
 * Opens signed data (Book 2 5.3 / 6.3): RSA with the public key, then header 6A, the format byte and
 * trailer BC. Returns the recovered bytes and whether the hash over `6A…hash` excluded, followed by
 * `hashed`, matches; `undefined` when the length or framing is wrong.
 */
function open(
  signed: Buffer,
  key: { exponent: Buffer; modulus: Buffer },
  format: number,
  hashed: (rec: Buffer) => Buffer[],
): { rec: Buffer; hashOk: boolean } | undefined {
  const n = key.modulus.length;
  if (signed.length !== n) return undefined;
  const rec = rsa(signed, key.exponent, key.modulus);
  if (rec[n - 1] !== 0xbc || rec[0] !== 0x6a || rec[1] !== format) return undefined;
  const hashOk = sha1(rec.subarray(1, n - 21), ...hashed(rec)).equals(rec.subarray(n - 21, n - 1));
  return { rec, hashOk };
}

/** EMV Book 2 5.3 / 6.3: the issuer public key from its certificate, with the CAPK. */
function recoverIssuerKey(
  capk: HeldCapk | undefined,
  card: CardOdaData,
  pan: string,
  today: Date,
): Recovered {
  if (!capk) return { ok: false, why: 'CA public key not held' };
  const nca = capk.modulus.length;
  if (card.issuerCertificate.length !== nca)
    return { ok: false, why: 'certificate length is not the CAPK length' };
  const opened = open(card.issuerCertificate, capk, 0x02, () => [card.issuerRemainder, card.issuerExponent]);
  if (!opened) return { ok: false, why: 'certificate does not recover (header, format or trailer)' };
  if (!opened.hashOk) return { ok: false, why: 'certificate hash does not match' };
  const { rec } = opened;
  const issuerId = rec.subarray(2, 6).toString('hex').toUpperCase().replace(/F+$/, '');
  if (!pan.startsWith(issuerId)) return { ok: false, why: 'issuer identifier does not match the PAN' };
  if (expired(rec.subarray(6, 8), today)) return { ok: false, why: 'issuer certificate expired' };
  const ni = rec[13]!;
  const left = rec.subarray(15, 15 + Math.min(ni, nca - 36));
  const modulus = Buffer.concat([left, card.issuerRemainder]);
  if (modulus.length !== ni) return { ok: false, why: 'issuer key length does not add up' };
  return { ok: true, modulus };
}

/** EMV Book 2 5.3 and 5.4: recover the issuer key with the CAPK, then the signed static data with it. */
export function verifySda(
  capk: HeldCapk | undefined,
  card: CardOdaData,
  pan: string,
  expiryYymm: string,
  aip: Buffer,
  today = new Date(),
): SdaOutcome {
  const issuer = recoverIssuerKey(capk, card, pan, today);
  if (!issuer.ok) return issuer;
  const { modulus } = issuer;
  const ni = modulus.length;
  if (card.signedStaticData.length !== ni)
    return { ok: false, why: 'signed data length is not the issuer key length' };
  const key = { exponent: card.issuerExponent, modulus };
  const opened = open(card.signedStaticData, key, 0x03, () => [staticData(pan, expiryYymm, aip)]);
  if (!opened) return { ok: false, why: 'signed static data does not recover' };
  if (!opened.hashOk) return { ok: false, why: 'signed static data hash does not match' };
  return { ok: true };
}

/**
 * EMV Book 2 6.3 to 6.5: the issuer key (CAPK), the ICC key from its certificate (which names this PAN
 * and covers the static data), then the card's signature over its dynamic number and `terminalData`.
 */
export function verifyDda(
  capk: HeldCapk | undefined,
  card: CardOdaData,
  pan: string,
  expiryYymm: string,
  aip: Buffer,
  terminalData: Buffer,
  signature: Buffer,
  today = new Date(),
): OdaOutcome {
  const issuer = recoverIssuerKey(capk, card, pan, today);
  if (!issuer.ok) return issuer;
  const ni = issuer.modulus.length;
  if (card.iccCertificate.length !== ni)
    return { ok: false, why: 'ICC certificate length is not the issuer key length' };
  const issuerKey = { exponent: card.issuerExponent, modulus: issuer.modulus };
  const cert = open(card.iccCertificate, issuerKey, 0x04, () => [
    card.iccRemainder,
    card.iccExponent,
    staticData(pan, expiryYymm, aip),
  ]);
  if (!cert) return { ok: false, why: 'ICC certificate does not recover (header, format or trailer)' };
  if (!cert.hashOk) return { ok: false, why: 'ICC certificate hash does not match' };
  const { rec } = cert;
  const certPan = rec.subarray(2, 12).toString('hex').toUpperCase().replace(/F+$/, '');
  if (certPan !== pan) return { ok: false, why: 'ICC certificate names another PAN' };
  if (expired(rec.subarray(12, 14), today)) return { ok: false, why: 'ICC certificate expired' };
  const nic = rec[19]!;
  const left = rec.subarray(21, 21 + Math.min(nic, ni - 42));
  const modulus = Buffer.concat([left, card.iccRemainder]);
  if (modulus.length !== nic) return { ok: false, why: 'ICC key length does not add up' };
  if (signature.length !== nic)
    return { ok: false, why: 'dynamic signature length is not the ICC key length' };
  const sdad = open(signature, { exponent: card.iccExponent, modulus }, 0x05, () => [terminalData]);
  if (!sdad) return { ok: false, why: 'signed dynamic data does not recover' };
  if (!sdad.hashOk) return { ok: false, why: 'signed dynamic data hash does not match' };
  return { ok: true };
}

/** TVR byte 1 bits (EMV Book 3 annex C1). */
export const TVR_SDA_FAILED = 0x40;
export const TVR_DDA_FAILED = 0x08;
export const TVR_SDA_SELECTED = 0x02;

/** AIP byte 1 (EMV Book 3 annex C1): the card supports SDA / DDA. */
export const AIP_SDA = 0x40;
export const AIP_DDA = 0x20;

/** A TVR bit the TAC-denial also names: the terminal declines offline (EMV Book 3 10.7). */
export function tacDenies(tvr: Buffer, aid: HeldAid | undefined): boolean {
  const d = aid?.tacDenial;
  if (!d) return false;
  for (let i = 0; i < 5; i++) if ((tvr[i]! & d[i]!) !== 0) return true;
  return false;
}
