/**
 * The host simulator's side of terminal management (docs/terminal-management.md): it answers the
 * CAPK and IC parameter queries (0820, 60.3 372 / 382), downloads (0800, 370 / 380) and ends
 * (0800, 371 / 381) from a configurable set, and can ask terminals to download again by the
 * processing-requirement nibble of the response header (4 update_public_keys, 5 download_ic_parameters).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capkCheckValue, encodeTlvList, parseTlvList } from '../../src/host/index.js';
import type { TerminalManagementSpec } from '../../src/iso8583/index.js';

export interface SimCapk {
  rid: string;
  index: string;
  expiry: string;
  hashAlgorithm?: string;
  keyAlgorithm?: string;
  modulus: string;
  exponent: string;
  /** Default: computed. A wrong one is served as given (to test the terminal's check). */
  checkValue?: string;
}

export interface TerminalParamSet {
  capks: SimCapk[];
  /** Each AID's parameters as one TLV (hex) starting with 9F06. */
  aids: { tlv: string }[];
}

export type SimParamKind = 'capk' | 'aid';

/** The header nibble that asks for each kind (cup-pos framing.headerParts processingRequirement). */
const FLAG_NIBBLE: Record<SimParamKind, number> = { capk: 4, aid: 5 };

/** `simulators/host/terminal-params.json`, found by walking up from this module (works from `dist/` too). */
function defaultParamsFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'simulators', 'host', 'terminal-params.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), 'terminal-params.json');
}

export const DEFAULT_TERMINAL_PARAMS_FILE = defaultParamsFile();

export function loadTerminalParams(file = DEFAULT_TERMINAL_PARAMS_FILE): TerminalParamSet {
  return checkParamSet(JSON.parse(readFileSync(file, 'utf8')) as unknown);
}

/** Validates a set given as JSON (file or control API): hex everywhere, sizes per EMV. */
export function checkParamSet(raw: unknown): TerminalParamSet {
  const o = raw as Partial<TerminalParamSet> | null;
  if (!o || !Array.isArray(o.capks) || !Array.isArray(o.aids))
    throw new Error('a terminal parameter set needs "capks" and "aids" arrays');
  const hex = (v: unknown, path: string, min: number, max: number): string => {
    if (typeof v !== 'string' || !/^([0-9A-Fa-f]{2})*$/.test(v) || v.length / 2 < min || v.length / 2 > max)
      throw new Error(`${path}: expected ${min}..${max} bytes of hex`);
    return v.toUpperCase();
  };
  const capks = o.capks.map((c, i) => {
    const p = `capks[${i}]`;
    if (typeof c.expiry !== 'string' || !/^[0-9]{8}$/.test(c.expiry))
      throw new Error(`${p}.expiry: expected YYYYMMDD`);
    return {
      rid: hex(c.rid, `${p}.rid`, 5, 5),
      index: hex(c.index, `${p}.index`, 1, 1),
      expiry: c.expiry,
      hashAlgorithm: hex(c.hashAlgorithm ?? '01', `${p}.hashAlgorithm`, 1, 1),
      keyAlgorithm: hex(c.keyAlgorithm ?? '01', `${p}.keyAlgorithm`, 1, 1),
      modulus: hex(c.modulus, `${p}.modulus`, 64, 248),
      exponent: hex(c.exponent, `${p}.exponent`, 1, 3),
      ...(c.checkValue !== undefined ? { checkValue: hex(c.checkValue, `${p}.checkValue`, 20, 20) } : {}),
    };
  });
  const aids = o.aids.map((a, i) => {
    const tlv = hex(a.tlv, `aids[${i}].tlv`, 7, 1024);
    const items = parseTlvList(Buffer.from(tlv, 'hex'), { field: `aids[${i}].tlv` });
    if (items[0]?.tag !== '9F06') throw new Error(`aids[${i}].tlv: must start with 9F06 (the AID)`);
    return { tlv };
  });
  return { capks, aids };
}

export class TerminalParamServer {
  private set: TerminalParamSet;
  private readonly again = new Set<SimParamKind>();
  /** How many list entries one query answer holds (more follow with status "2"). */
  pageSize: number;
  /** Requests served, by 60.3 (for tests and the control API). */
  readonly served: Record<string, number> = {};

  constructor(set: TerminalParamSet, options: { pageSize?: number } = {}) {
    this.set = set;
    this.pageSize = options.pageSize ?? 20;
  }

  get params(): TerminalParamSet {
    return this.set;
  }

  replace(set: TerminalParamSet): void {
    this.set = checkParamSet(set);
  }

  /** Ask every terminal to download a kind again, on the next responses (until it queries). */
  requestDownload(kind: SimParamKind): void {
    this.again.add(kind);
  }

  get pending(): SimParamKind[] {
    return [...this.again];
  }

  /** The processing-requirement nibble for the next response (0: none). */
  headerNibble(): number {
    for (const k of ['capk', 'aid'] as const) if (this.again.has(k)) return FLAG_NIBBLE[k];
    return 0;
  }

  /**
   * Answers one terminal-management request by its MTI and 60.3, or undefined when it is not one.
   * Returns field 62 (undefined for the end messages) and the response code.
   */
  answer(
    spec: TerminalManagementSpec,
    mti: string,
    code: string,
    field: Buffer | undefined,
  ): { rc: string; field?: Buffer } | undefined {
    for (const kind of ['capk', 'aid'] as const) {
      const k = spec[kind];
      if (mti === k.query.mti && code === k.query.networkCode) {
        this.count(code);
        this.again.delete(kind);
        return this.query(kind, field);
      }
      if (mti === k.download.mti && code === k.download.networkCode) {
        this.count(code);
        return this.download(kind, field);
      }
      if (mti === k.end.mti && code === k.end.networkCode) {
        this.count(code);
        return { rc: '00' };
      }
    }
    return undefined;
  }

  private count(code: string): void {
    this.served[code] = (this.served[code] ?? 0) + 1;
  }

  private query(kind: SimParamKind, field: Buffer | undefined): { rc: string; field?: Buffer } {
    const text = field?.toString('latin1') ?? '';
    if (!/^1[0-9]{2}$/.test(text)) return { rc: '30' };
    const from = Number(text.slice(1));
    const list = kind === 'capk' ? this.set.capks.map(capkListEntry) : this.set.aids.map(aidListEntry);
    if (list.length === 0 || from >= list.length) return { rc: '00', field: Buffer.from('0') };
    const page = list.slice(from, from + this.pageSize);
    const more = from + page.length < list.length;
    return { rc: '00', field: Buffer.concat([Buffer.from(more ? '2' : '1'), ...page]) };
  }

  private download(kind: SimParamKind, field: Buffer | undefined): { rc: string; field?: Buffer } {
    let items;
    try {
      items = parseTlvList(field ?? Buffer.alloc(0), { field: 'field62' });
    } catch {
      return { rc: '30' };
    }
    const v = (tag: string): string | undefined =>
      items
        .find((i) => i.tag === tag)
        ?.value.toString('hex')
        .toUpperCase();
    if (kind === 'capk') {
      const c = this.set.capks.find((k) => k.rid === v('9F06') && k.index === v('9F22'));
      return { rc: '00', field: c ? Buffer.concat([Buffer.from('1'), capkTlv(c)]) : Buffer.from('0') };
    }
    const a = this.set.aids.find((x) => aidOf(x.tlv) === v('9F06'));
    return {
      rc: '00',
      field: a ? Buffer.concat([Buffer.from('1'), Buffer.from(a.tlv, 'hex')]) : Buffer.from('0'),
    };
  }
}

function aidOf(tlv: string): string {
  return parseTlvList(Buffer.from(tlv, 'hex'), { field: 'aid' })[0]!.value.toString('hex').toUpperCase();
}

/** 9F06 RID, 9F22 index, DF05 expiry (8 ASCII digits): the 23-byte list entry of a 372 answer. */
function capkListEntry(c: SimCapk): Buffer {
  return encodeTlvList([
    { tag: '9F06', value: Buffer.from(c.rid, 'hex') },
    { tag: '9F22', value: Buffer.from(c.index, 'hex') },
    { tag: 'DF05', value: Buffer.from(c.expiry, 'latin1') },
  ]);
}

function aidListEntry(a: { tlv: string }): Buffer {
  return encodeTlvList([{ tag: '9F06', value: Buffer.from(aidOf(a.tlv), 'hex') }]);
}

export function capkTlv(c: SimCapk): Buffer {
  const check = c.checkValue ?? capkCheckValue(c);
  return encodeTlvList([
    { tag: '9F06', value: Buffer.from(c.rid, 'hex') },
    { tag: '9F22', value: Buffer.from(c.index, 'hex') },
    { tag: 'DF05', value: Buffer.from(c.expiry, 'latin1') },
    { tag: 'DF06', value: Buffer.from(c.hashAlgorithm ?? '01', 'hex') },
    { tag: 'DF07', value: Buffer.from(c.keyAlgorithm ?? '01', 'hex') },
    { tag: 'DF02', value: Buffer.from(c.modulus, 'hex') },
    { tag: 'DF04', value: Buffer.from(c.exponent, 'hex') },
    { tag: 'DF03', value: Buffer.from(check, 'hex') },
  ]);
}
