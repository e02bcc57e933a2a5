/**
 * Reader profiles: everything model-specific as data (protocols/terminal/*.json): the framing variant
 * and its check bytes, link timers, command / notification / status codes, payload tags, serial line
 * settings and, for Bluetooth LE, the GATT service and characteristics. A profile may `extends`
 * another and give only what differs (objects merge key by key). See docs/reader-protocol.md.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPinKeyScheme, PIN_KEY_SCHEMES, type PinKeyScheme } from '../crypto/index.js';
import { normalizeTag } from '../emv/index.js';
import { CHECK_KINDS, type CheckKind } from './check.js';
import { ProfileError } from './errors.js';

export type FramingVariant = 'stx' | 'lenpfx';

export const COMMAND_NAMES = [
  'echo',
  'device_info',
  'load_keys',
  'start_transaction',
  'card_result',
  'complete_transaction',
  'cancel',
  'last_status',
  'display_text',
  'print_lines',
  'beep',
  'mac',
  'verify_mac',
  'load_capks',
  'load_aids',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Commands every profile must map; the others may be left out (the driver reports `not_supported`). */
export const REQUIRED_COMMANDS: readonly CommandName[] = [
  'device_info',
  'load_keys',
  'start_transaction',
  'card_result',
  'complete_transaction',
  'cancel',
  'last_status',
  'mac',
  'verify_mac',
];

export const NOTIFICATION_NAMES = ['progress', 'transaction_event'] as const;
export type NotificationName = (typeof NOTIFICATION_NAMES)[number];

export const STATUS_NAMES = [
  'ok',
  'busy',
  'no_transaction',
  'bad_request',
  'unknown_command',
  'not_supported',
  'no_keys',
  'key_error',
  'low_battery',
  'card_error',
  'reference_mismatch',
  'card_removed',
  'wrong_state',
  'internal_error',
] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

export const TAG_NAMES = [
  'reference',
  'error_text',
  'serial_number',
  'model',
  'firmware',
  'battery',
  'protocol_version',
  'capabilities',
  'max_frame',
  'kcv_tmk',
  'kcv_pik',
  'kcv_mak',
  'kcv_tdk',
  'field62',
  'key_layout',
  'failed_key',
  'amount',
  'currency',
  'transaction_type',
  'timeout',
  'interfaces',
  'pin_allowed',
  'progress',
  'pin_digits',
  'outcome',
  'pan',
  'track2',
  'track3',
  'pin_block',
  'icc_data',
  'entry_mode',
  'card_sequence_number',
  'expiry',
  'interface',
  'fallback',
  'reason',
  'approved',
  'issuer_data',
  'unable_to_go_online',
  'cryptogram',
  'script_results',
  'cancel_outcome',
  'stage',
  'display_line',
  'print_line',
  'beep_count',
  'mac_algorithm',
  'mac_data',
  'mac',
  'mac_valid',
  'echo_data',
  'ksn',
  'key_scheme',
  'param_part',
  'param_entry',
  'param_digest',
  'capk_digest',
  'aid_digest',
] as const;
export type TagName = (typeof TAG_NAMES)[number];

export interface FramingSpec {
  variant: FramingVariant;
  check: CheckKind;
  /** Link-level ACK/NAK with retransmission (stx variant only). */
  ack: boolean;
  /** Bytes of the length field (1 or 2, big-endian). */
  lengthBytes: 1 | 2;
  /** Largest value of the length field accepted or sent. */
  maxFrame: number;
  /** stx variant: start, end, ACK and NAK bytes. */
  stx: number;
  etx: number;
  ackByte: number;
  nakByte: number;
}

export interface LinkSpec {
  /** How long to wait for an ACK before retransmitting. */
  ackMs: number;
  /** Retransmissions after the first transmission (on NAK or ACK timeout) before the link is declared broken. */
  retransmissions: number;
  /** An incomplete frame after which nothing arrived for this long is dropped (inter-chunk timeout). */
  reassemblyMs: number;
  /** Echo after this long without traffic while connected (0: never). */
  keepAliveMs: number;
  /** Without link ACKs: how many times an idempotent command is re-sent after a timeout. */
  idempotentRetries: number;
}

export interface BleSpec {
  service: string;
  notify: string;
  write: string;
  writeWithoutResponse: boolean;
  /** Payload bytes per write / notification before MTU negotiation (ATT MTU 23 - 3). */
  defaultMtu: number;
  /** Advertised name prefix used for discovery. */
  namePrefix?: string;
}

export interface SerialSpec {
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export interface ReaderProfile {
  name: string;
  title: string;
  protocolVersion: number;
  /** The profile it extends, if any (already merged in). */
  extends?: string;
  /** Name of a code adapter for models whose command set does not map one to one (see adapters.ts). */
  adapter?: string;
  /**
   * How the reader encrypts PINs: 'session' (the PIK from sign-on, default) or per transaction with
   * DUKPT ('dukpt-tdes' X9.24-1, 'dukpt-aes' X9.24-3); a DUKPT reader returns the KSN with the block.
   */
  pinKeyScheme: PinKeyScheme;
  framing: FramingSpec;
  link: LinkSpec;
  /** Per-command response timeouts, `defaultMs` for commands not listed, and `transactionGraceMs`. */
  timeouts: Partial<Record<CommandName, number>> & { defaultMs: number; transactionGraceMs: number };
  commands: Partial<Record<CommandName, number>>;
  notifications: Record<NotificationName, number>;
  status: Record<StatusName, number>;
  tags: Record<TagName, string>;
  serial: SerialSpec;
  ble?: BleSpec;
  /** Reverse lookups. */
  commandByCode: ReadonlyMap<number, CommandName>;
  notificationByCode: ReadonlyMap<number, NotificationName>;
  statusByCode: ReadonlyMap<number, StatusName>;
  tagByValue: ReadonlyMap<string, TagName>;
}

/** The installation's `protocols/terminal` folder (works from src/ and from dist/src/). */
export function readerProfilesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'protocols', 'terminal');
    if (existsSync(join(candidate, 'posbridge.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new ProfileError('posbridge', '', 'protocols/terminal folder not found next to the installation');
}

/** Names of the profiles shipped in protocols/terminal (file names without .json). */
export function listReaderProfiles(dir = readerProfilesDir()): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

const cache = new Map<string, ReaderProfile>();

/**
 * Loads a profile by name (a file in protocols/terminal) or by path (ends in .json), following
 * `extends`. Throws `ProfileError` naming the file and JSON path at fault.
 */
export function loadReaderProfile(nameOrPath: string, dir = readerProfilesDir()): ReaderProfile {
  const key = `${dir}\0${nameOrPath}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const raw = readRaw(nameOrPath, dir, []);
  const profile = compileReaderProfile(raw, nameOrPath);
  cache.set(key, profile);
  return profile;
}

function readRaw(nameOrPath: string, dir: string, chain: string[]): Record<string, unknown> {
  const file = nameOrPath.endsWith('.json')
    ? isAbsolute(nameOrPath)
      ? nameOrPath
      : join(process.cwd(), nameOrPath)
    : join(dir, `${nameOrPath}.json`);
  if (chain.includes(file))
    throw new ProfileError(nameOrPath, 'extends', 'profiles extend each other in a loop');
  if (!/^[A-Za-z0-9._/\\:-]+$/.test(nameOrPath)) throw new ProfileError(nameOrPath, '', 'bad profile name');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProfileError(nameOrPath, '', `cannot read ${file}: ${(e as Error).message}`);
  }
  if (!isRecord(parsed)) throw new ProfileError(nameOrPath, '', 'a profile is a JSON object');
  const parent = parsed['extends'];
  if (parent === undefined) return parsed;
  if (typeof parent !== 'string') throw new ProfileError(nameOrPath, 'extends', 'must be a profile name');
  const base = readRaw(parent, dirname(file), [...chain, file]);
  return mergeProfiles(base, parsed);
}

/** `override` on top of `base`: objects merge key by key, anything else replaces; `null` removes. */
export function mergeProfiles(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (k === '$schema' || k === '$comment') continue;
    if (v === null) delete out[k];
    else if (isRecord(v) && isRecord(out[k])) out[k] = mergeProfiles(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

const FRAMING_DEFAULTS = { stx: 0x02, etx: 0x03, ackByte: 0x06, nakByte: 0x15 };
const LINK_DEFAULTS: LinkSpec = {
  ackMs: 300,
  retransmissions: 3,
  reassemblyMs: 1000,
  keepAliveMs: 15_000,
  idempotentRetries: 0,
};

/** Validates a parsed profile object (after `extends` merging) and builds the lookups. */
export function compileReaderProfile(raw: unknown, source = 'profile'): ReaderProfile {
  const fail = (path: string, message: string): never => {
    throw new ProfileError(source, path, message);
  };
  if (!isRecord(raw)) return fail('', 'a profile is a JSON object');
  const name = raw['name'];
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(name))
    fail('name', 'lower-case name required');
  const title = typeof raw['title'] === 'string' ? raw['title'] : String(name);
  const protocolVersion = raw['protocolVersion'] ?? 1;
  if (!Number.isInteger(protocolVersion)) fail('protocolVersion', 'must be an integer');

  // framing
  const f = raw['framing'];
  if (!isRecord(f)) return fail('framing', 'required object');
  const variant = f['variant'];
  if (variant !== 'stx' && variant !== 'lenpfx') fail('framing.variant', "must be 'stx' or 'lenpfx'");
  const check = f['check'] ?? 'none';
  if (!CHECK_KINDS.includes(check as CheckKind))
    fail('framing.check', `must be one of ${CHECK_KINDS.join(', ')}`);
  const ack = f['ack'] ?? variant === 'stx';
  if (typeof ack !== 'boolean') fail('framing.ack', 'must be true or false');
  if (ack && variant !== 'stx') fail('framing.ack', 'ACK/NAK needs the stx variant (sequence numbers)');
  const lengthBytes = f['lengthBytes'] ?? 2;
  if (lengthBytes !== 1 && lengthBytes !== 2) fail('framing.lengthBytes', 'must be 1 or 2');
  const maxFrame = f['maxFrame'] ?? (lengthBytes === 1 ? 255 : 4096);
  const maxLen = lengthBytes === 1 ? 0xff : 0xffff;
  if (!Number.isInteger(maxFrame) || (maxFrame as number) < 8 || (maxFrame as number) > maxLen)
    fail('framing.maxFrame', `must be an integer from 8 to ${maxLen}`);
  const byteOpt = (key: keyof typeof FRAMING_DEFAULTS): number => {
    const v = f[key];
    if (v === undefined) return FRAMING_DEFAULTS[key];
    if (typeof v !== 'string' || !/^[0-9A-Fa-f]{2}$/.test(v))
      return fail(`framing.${key}`, 'one byte in hex');
    return parseInt(v, 16);
  };
  const framing: FramingSpec = {
    variant: variant as FramingVariant,
    check: check as CheckKind,
    ack: ack as boolean,
    lengthBytes: lengthBytes as 1 | 2,
    maxFrame: maxFrame as number,
    stx: byteOpt('stx'),
    etx: byteOpt('etx'),
    ackByte: byteOpt('ackByte'),
    nakByte: byteOpt('nakByte'),
  };
  if (new Set([framing.stx, framing.ackByte, framing.nakByte]).size !== 3)
    fail('framing', 'stx, ackByte and nakByte must differ');

  // link
  const l = raw['link'] ?? {};
  if (!isRecord(l)) return fail('link', 'must be an object');
  const link: LinkSpec = { ...LINK_DEFAULTS };
  for (const key of Object.keys(LINK_DEFAULTS) as (keyof LinkSpec)[]) {
    const v = l[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || (v as number) < 0) fail(`link.${key}`, 'non-negative integer');
    link[key] = v as number;
  }
  if (link.retransmissions > 10) fail('link.retransmissions', 'at most 10');

  // codes
  const codes = <N extends string>(
    key: string,
    names: readonly N[],
    required: readonly N[],
  ): Partial<Record<N, number>> => {
    const obj = raw[key];
    if (!isRecord(obj)) return fail(key, 'required object');
    const out: Partial<Record<N, number>> = {};
    const seen = new Map<number, string>();
    for (const [k, v] of Object.entries(obj)) {
      if (!(names as readonly string[]).includes(k)) fail(`${key}.${k}`, 'unknown name');
      if (typeof v !== 'string' || !/^[0-9A-Fa-f]{2}$/.test(v)) fail(`${key}.${k}`, 'one byte in hex');
      const code = parseInt(v as string, 16);
      const dup = seen.get(code);
      if (dup) fail(`${key}.${k}`, `same code as ${dup}`);
      seen.set(code, k);
      out[k as N] = code;
    }
    for (const r of required) if (out[r] === undefined) fail(`${key}.${r}`, 'required');
    return out;
  };
  const commands = codes('commands', COMMAND_NAMES, REQUIRED_COMMANDS);
  const notifications = codes('notifications', NOTIFICATION_NAMES, NOTIFICATION_NAMES) as Record<
    NotificationName,
    number
  >;
  const status = codes('status', STATUS_NAMES, STATUS_NAMES) as Record<StatusName, number>;
  for (const [n, code] of Object.entries(notifications)) {
    for (const [c, ccode] of Object.entries(commands)) {
      if (code === ccode) fail(`notifications.${n}`, `same code as command ${c}`);
    }
  }

  // tags
  const t = raw['tags'];
  if (!isRecord(t)) return fail('tags', 'required object');
  const tags = {} as Record<TagName, string>;
  const tagByValue = new Map<string, TagName>();
  for (const n of TAG_NAMES) {
    const v = t[n];
    if (typeof v !== 'string') return fail(`tags.${n}`, 'required tag (hex)');
    let tag: string;
    try {
      tag = normalizeTag(v);
    } catch (e) {
      return fail(`tags.${n}`, (e as Error).message);
    }
    const dup = tagByValue.get(tag);
    if (dup) fail(`tags.${n}`, `same tag as ${dup}`);
    tagByValue.set(tag, n);
    tags[n] = tag;
  }
  for (const k of Object.keys(t))
    if (!(TAG_NAMES as readonly string[]).includes(k)) fail(`tags.${k}`, 'unknown name');

  // timeouts
  const to = raw['timeouts'] ?? {};
  if (!isRecord(to)) return fail('timeouts', 'must be an object');
  const timeouts: ReaderProfile['timeouts'] = { defaultMs: 5000, transactionGraceMs: 5000 };
  for (const [k, v] of Object.entries(to)) {
    if (k !== 'defaultMs' && k !== 'transactionGraceMs' && !(COMMAND_NAMES as readonly string[]).includes(k))
      fail(`timeouts.${k}`, 'unknown command');
    if (!Number.isInteger(v) || (v as number) <= 0) fail(`timeouts.${k}`, 'positive integer (ms)');
    (timeouts as Record<string, number>)[k] = v as number;
  }

  // serial
  const s = raw['serial'] ?? {};
  if (!isRecord(s)) return fail('serial', 'must be an object');
  const serial: SerialSpec = { baudRate: 115200, parity: 'none', dataBits: 8, stopBits: 1 };
  if (s['baudRate'] !== undefined) {
    if (!Number.isInteger(s['baudRate']) || (s['baudRate'] as number) <= 0)
      fail('serial.baudRate', 'positive integer');
    serial.baudRate = s['baudRate'] as number;
  }
  if (s['parity'] !== undefined) {
    if (!['none', 'even', 'odd'].includes(s['parity'] as string))
      fail('serial.parity', "'none', 'even' or 'odd'");
    serial.parity = s['parity'] as SerialSpec['parity'];
  }
  if (s['dataBits'] !== undefined) {
    if (s['dataBits'] !== 7 && s['dataBits'] !== 8) fail('serial.dataBits', '7 or 8');
    serial.dataBits = s['dataBits'] as 7 | 8;
  }
  if (s['stopBits'] !== undefined) {
    if (s['stopBits'] !== 1 && s['stopBits'] !== 2) fail('serial.stopBits', '1 or 2');
    serial.stopBits = s['stopBits'] as 1 | 2;
  }

  // ble
  let ble: BleSpec | undefined;
  const b = raw['ble'];
  if (b !== undefined) {
    if (!isRecord(b)) return fail('ble', 'must be an object');
    const uuid = (k: string): string => {
      const v = b[k];
      if (
        typeof v !== 'string' ||
        !/^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/.test(
          v,
        )
      )
        return fail(`ble.${k}`, 'a 16-bit or 128-bit UUID');
      return v.toUpperCase();
    };
    const mtu = b['defaultMtu'] ?? 20;
    if (!Number.isInteger(mtu) || (mtu as number) < 8 || (mtu as number) > 512)
      fail('ble.defaultMtu', '8 to 512');
    ble = {
      service: uuid('service'),
      notify: uuid('notify'),
      write: uuid('write'),
      writeWithoutResponse: b['writeWithoutResponse'] !== false,
      defaultMtu: mtu as number,
    };
    if (typeof b['namePrefix'] === 'string') ble.namePrefix = b['namePrefix'];
  }

  const pinKeyScheme = raw['pinKeyScheme'] ?? 'session';
  if (!isPinKeyScheme(pinKeyScheme)) fail('pinKeyScheme', PIN_KEY_SCHEMES.join(', '));

  const adapter = raw['adapter'];
  if (adapter !== undefined && typeof adapter !== 'string') fail('adapter', 'adapter name');

  const profile: ReaderProfile = {
    name: name as string,
    title,
    protocolVersion: protocolVersion as number,
    pinKeyScheme: pinKeyScheme as PinKeyScheme,
    framing,
    link,
    timeouts,
    commands,
    notifications,
    status,
    tags,
    serial,
    commandByCode: new Map(Object.entries(commands).map(([k, v]) => [v, k as CommandName])),
    notificationByCode: new Map(Object.entries(notifications).map(([k, v]) => [v, k as NotificationName])),
    statusByCode: new Map(Object.entries(status).map(([k, v]) => [v, k as StatusName])),
    tagByValue,
  };
  if (typeof raw['extends'] === 'string') profile.extends = raw['extends'];
  if (typeof adapter === 'string') profile.adapter = adapter;
  if (ble) profile.ble = ble;
  return profile;
}

/** Response timeout of a command under a profile. */
export function commandTimeout(profile: ReaderProfile, command: CommandName): number {
  return profile.timeouts[command] ?? profile.timeouts.defaultMs;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
