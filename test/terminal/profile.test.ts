import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  compileReaderProfile,
  listReaderProfiles,
  loadReaderProfile,
  ProfileError,
  readerProfilesDir,
} from '../../src/terminal/index.js';

const dir = readerProfilesDir();
const raw = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Record<string, unknown>;

describe('reader profiles', () => {
  it('ships posbridge, posbridge-nus and mpos-lenpfx, each valid against the JSON Schema', () => {
    const names = listReaderProfiles();
    expect(names).toEqual(expect.arrayContaining(['posbridge', 'posbridge-nus', 'mpos-lenpfx']));
    const schema = JSON.parse(readFileSync(join(dir, 'profile.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    for (const n of names) {
      expect(validate(raw(n)), `${n}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(loadReaderProfile(n).name).toBe(n);
    }
  });

  it('default profile: STX framing, CRC-16, ACK, the transparent-UART BLE service', () => {
    const p = loadReaderProfile('posbridge');
    expect(p.framing).toMatchObject({ variant: 'stx', check: 'crc16', ack: true, lengthBytes: 2 });
    expect(p.ble).toEqual({
      service: '49535343-FE7D-4AE5-8FA9-9FAFD205E455',
      notify: '49535343-1E4D-4BD9-BA61-23C647249616',
      write: '49535343-8841-43F4-A8D4-ECBE34729BB3',
      writeWithoutResponse: true,
      defaultMtu: 20,
      namePrefix: 'PBR',
    });
    expect(p.commandByCode.get(0x20)).toBe('start_transaction');
    expect(p.statusByCode.get(0x01)).toBe('busy');
  });

  it('extends: the Nordic UART profile changes only the check and the GATT UUIDs', () => {
    const nus = loadReaderProfile('posbridge-nus');
    const base = loadReaderProfile('posbridge');
    expect(nus.extends).toBe('posbridge');
    expect(nus.framing.check).toBe('lrc');
    expect(nus.ble?.service).toBe('6E400001-B5A3-F393-E0A9-E50E24DCCA9E');
    expect(nus.commands).toEqual(base.commands);
    expect(nus.tags).toEqual(base.tags);
  });

  it('the length-prefixed profile has its own codes and no ACKs', () => {
    const p = loadReaderProfile('mpos-lenpfx');
    expect(p.framing).toMatchObject({ variant: 'lenpfx', ack: false, check: 'lrc' });
    expect(p.commands.device_info).toBe(0xa1);
    expect(p.status.busy).toBe(0xe1);
    expect(p.link.idempotentRetries).toBe(1);
  });

  it('rejects broken profiles naming the path', () => {
    const base = raw('posbridge');
    const bad = (patch: Record<string, unknown>, path: string): void => {
      let err: unknown;
      try {
        compileReaderProfile({ ...base, ...patch }, 'test');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProfileError);
      expect((err as ProfileError).path).toBe(path);
    };
    bad({ framing: { variant: 'nope' } }, 'framing.variant');
    bad({ framing: { variant: 'lenpfx', ack: true } }, 'framing.ack');
    bad({ framing: { variant: 'stx', check: 'md5' } }, 'framing.check');
    bad({ commands: { ...(base['commands'] as object), cancel: '10' } }, 'commands.cancel');
    bad({ commands: { echo: '01' } }, 'commands.device_info');
    bad({ tags: { ...(base['tags'] as object), pan: 'DF' } }, 'tags.pan');
    bad({ tags: { ...(base['tags'] as object), pan: 'DF01' } }, 'tags.pan');
    bad({ notifications: { progress: '10', transaction_event: '81' } }, 'notifications.progress');
    bad({ ble: { service: 'x', notify: 'y', write: 'z' } }, 'ble.service');
    bad({ link: { retransmissions: -1 } }, 'link.retransmissions');
  });
});
