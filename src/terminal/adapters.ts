/**
 * Adapters: small code for reader models whose command set does not map one to one onto the
 * protocol's (docs/reader-protocol.md section 7). A profile names its adapter (`"adapter": "name"`);
 * the driver passes every request through `request` before framing and every answer and notification
 * through `response` after unframing. Most models need none: a profile is enough.
 */
import { encodeTlv, tlv, tryParseTlv } from '../emv/index.js';
import type { CommandName, NotificationName, ReaderProfile } from './profile.js';

export interface AdaptedRequest {
  cmd: number;
  payload: Buffer;
}

export interface AdaptedResponse {
  status: number;
  payload: Buffer;
}

export interface ReaderAdapter {
  readonly name: string;
  /** Rewrites a request (command code and payload) before it is framed. */
  request?(command: CommandName, req: AdaptedRequest, profile: ReaderProfile): AdaptedRequest;
  /** Rewrites a response or notification (status and payload) before it is decoded. */
  response?(
    message: CommandName | NotificationName,
    res: AdaptedResponse,
    profile: ReaderProfile,
  ): AdaptedResponse;
}

const registry = new Map<string, ReaderAdapter>();

export function registerReaderAdapter(adapter: ReaderAdapter): void {
  registry.set(adapter.name, adapter);
}

export function readerAdapter(name: string): ReaderAdapter | undefined {
  return registry.get(name);
}

/**
 * Example and test adapter: readers that report the battery as millivolts (2 bytes in the battery
 * tag) instead of percent. Maps 3.3 V → 0 % ... 4.2 V → 100 % linearly.
 */
export const batteryMillivoltsAdapter: ReaderAdapter = {
  name: 'battery-millivolts',
  response(message, res, profile) {
    if (message !== 'device_info') return res;
    return { status: res.status, payload: rewriteBattery(res.payload, profile) };
  },
};
registerReaderAdapter(batteryMillivoltsAdapter);

function rewriteBattery(payload: Buffer, profile: ReaderProfile): Buffer {
  const parsed = tryParseTlv(payload, { privateTags: 'primitive' });
  if (!parsed.ok) return payload;
  const tag = profile.tags.battery;
  return encodeTlv(
    parsed.elements.map((e) => {
      if (e.tag !== tag || e.value.length !== 2) return e;
      const mv = e.value.readUInt16BE(0);
      return tlv(tag, Buffer.from([Math.max(0, Math.min(100, Math.round(((mv - 3300) / 900) * 100)))]));
    }),
  );
}
