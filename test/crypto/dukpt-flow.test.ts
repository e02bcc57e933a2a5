/**
 * DUKPT PIN encryption end to end: `DukptPinPad` (what the reader simulator runs) against the published
 * X9.24 sequences, then sales over the daemon's HostLink to the host simulator on cup-pos-dukpt, where
 * the host derives the PIN key from its BDK and the KSN in field 53. The daemon side holds no BDK and
 * no DUKPT key: it forwards the block and the KSN.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { cardLogOptions } from '../../src/card/index.js';
import {
  dukptCounter,
  dukptInitialKey,
  computeDukptMac,
  DukptPinPad,
  SoftwareSecurityModule,
  verifyDukptMac,
  verifyDukptPinBlock,
} from '../../src/crypto/index.js';
import { HostLink, MemoryCounterStore } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import {
  DEFAULT_DUKPT_BDK,
  DEFAULT_MASTER_KEY,
  startHostSimulator,
  type HostSimulator,
} from '../../simulators/host/index.js';
import { hex, readVectors, toHex } from './helpers.js';

interface TdesVectors {
  openemv: {
    bdkHex: string;
    initialKsnHex: string;
    ipekHex: string;
    initialSequence: { ksnHex: string; encryptedPinBlockHex: string }[];
    rolloverSequence: { ksnHex: string; encryptedPinBlockHex: string }[];
  };
  moov: { pin: string; pan: string };
}
interface AesVectors {
  bdkHex: string;
  initialKeyIdHex: string;
  initialKeyHex: string;
  pinFieldHex: string;
  vectors: { ksnHex: string; encryptedPinBlockHex: string }[];
}
const T = readVectors<TdesVectors>('dukpt/tdes-x9.24-1-2009.json');
const A = readVectors<AesVectors>('dukpt/aes128-x9.24-3-2017.json');

describe('DukptPinPad: the originating device against the published sequences', () => {
  it('TDES: from the IPEK, each PIN advances the counter by one and matches X9.24-1 A.4.2', () => {
    expect(toHex(dukptInitialKey(hex(T.openemv.bdkHex), hex(T.openemv.initialKsnHex)))).toBe(
      T.openemv.ipekHex,
    );
    const pad = new DukptPinPad({ initialKey: hex(T.openemv.ipekHex), ksn: hex(T.openemv.initialKsnHex) });
    for (const v of T.openemv.initialSequence.slice(0, 10)) {
      const { ksn, pinBlock } = pad.encryptPin(T.moov.pin, T.moov.pan);
      expect(toHex(ksn)).toBe(v.ksnHex);
      expect(toHex(pinBlock.reveal())).toBe(v.encryptedPinBlockHex);
    }
    expect(String(pad)).not.toContain(T.openemv.ipekHex);
    expect(JSON.stringify(pad)).not.toContain(T.openemv.ipekHex);
  });

  it('TDES rollover (A.4.3): counters with more than 10 one-bits are skipped', () => {
    const seq = T.openemv.rolloverSequence;
    // Start one before the first published KSN: the pad advances before it encrypts.
    const first = hex(seq[0]!.ksnHex);
    const before = Buffer.from(first);
    before.writeUIntBE(before.readUIntBE(7, 3) - 1, 7, 3);
    const pad = new DukptPinPad({ initialKey: hex(T.openemv.ipekHex), ksn: before });
    for (const v of seq) {
      const { ksn, pinBlock } = pad.encryptPin(T.moov.pin, T.moov.pan);
      expect(toHex(ksn)).toBe(v.ksnHex);
      expect(toHex(pinBlock.reveal())).toBe(v.encryptedPinBlockHex);
    }
  });

  it('AES: format-4 blocks under the X9.24-3 PIN keys, counter 1, 2, 3…', () => {
    const initialKsn = Buffer.concat([hex(A.initialKeyIdHex), Buffer.alloc(4)]);
    expect(toHex(dukptInitialKey(hex(A.bdkHex), initialKsn))).toBe(A.initialKeyHex);
    const pad = new DukptPinPad({ initialKey: hex(A.initialKeyHex), ksn: initialKsn });
    const fill = hex(A.pinFieldHex).subarray(8); // the supplement's fixed "random" fill
    for (const v of A.vectors.slice(0, 5)) {
      const { ksn, pinBlock } = pad.encryptPin('1234', '4111111111111111', {
        random: () => Buffer.from(fill),
      });
      expect(toHex(ksn)).toBe(v.ksnHex);
      expect(toHex(pinBlock.reveal())).toBe(v.encryptedPinBlockHex);
      expect(verifyDukptPinBlock(hex(A.bdkHex), ksn, pinBlock, '4111111111111111', '1234')).toBe(true);
    }
  });

  it('bad input is typed: a 16-byte KSN, a short initial key, a PIN block from another KSN', () => {
    expect(() => new DukptPinPad({ initialKey: Buffer.alloc(16), ksn: Buffer.alloc(16) })).toThrow(
      expect.objectContaining({ code: 'bad_data', reason: 'bad_ksn' }),
    );
    expect(() => new DukptPinPad({ initialKey: Buffer.alloc(8), ksn: hex(T.openemv.initialKsnHex) })).toThrow(
      expect.objectContaining({ code: 'bad_key_length' }),
    );
    const pad = new DukptPinPad({ initialKey: hex(T.openemv.ipekHex), ksn: hex(T.openemv.initialKsnHex) });
    const a = pad.encryptPin('1234', T.moov.pan);
    const b = pad.encryptPin('1234', T.moov.pan);
    const bdk = hex(T.openemv.bdkHex);
    expect(verifyDukptPinBlock(bdk, b.ksn, b.pinBlock, T.moov.pan, '1234')).toBe(true);
    // The first block read under the second KSN's key does not decode (or decodes to another PIN).
    let wrongKey: boolean;
    try {
      wrongKey = verifyDukptPinBlock(bdk, b.ksn, a.pinBlock, T.moov.pan, '1234');
    } catch (e) {
      expect(e).toMatchObject({ code: 'bad_pin_block' });
      wrongKey = false;
    }
    expect(wrongKey).toBe(false);
  });
});

// ---------------------------------------------------------------------------------- against the host

const TID = 'DUKT0001';
const MID = '898310048160001';
const CARD = { pan: '6212349999000005', pin: '000000' }; // cup-magstripe in simulators/cards.json

let sim: HostSimulator | undefined;
let link: HostLink | undefined;
afterEach(async () => {
  await link?.close();
  await sim?.close();
  link = sim = undefined;
});

async function connect(pad: DukptPinPad, options: { bdk?: { tdes?: string; aes?: string } } = {}) {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ ...cardLogOptions(), level: 'debug' }, sink);
  sim = await startHostSimulator({
    dialect: 'cup-pos-dukpt',
    controlPort: null,
    logger,
    ...(options.bdk ? { dukptBdk: options.bdk } : {}),
  });
  // The daemon's security module does sign-on and the session MAC; the PIN pad (what a DUKPT reader
  // holds) MACs the messages that carry its KSN. The daemon never holds the BDK.
  const sm = new SoftwareSecurityModule(hex(DEFAULT_MASTER_KEY), { macAlgorithm: 'cup-ecb', dukpt: pad });
  link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect: loadDialect('cup-pos-dukpt'),
    terminalId: TID,
    merchantId: MID,
    securityModule: sm,
    keyLayout: 'double',
    counters: new MemoryCounterStore(),
    timers: { connectMs: 2000, responseMs: 1500, idleEchoMs: 0, backoffInitialMs: 20, backoffMaxMs: 200 },
    logger,
  });
  link.start();
  await link.whenReady(3000);
  return { logs, link, sm };
}

function saleFields(ksn: Buffer | undefined, pinBlock: unknown, amount: number) {
  return {
    mti: '0200',
    fields: {
      2: CARD.pan,
      3: '000000',
      4: String(amount).padStart(12, '0'),
      22: ksn ? '021' : '022',
      25: '00',
      ...(ksn ? { 26: '12', 52: pinBlock as Buffer, 53: ksn } : {}),
      49: '156',
      60: { '1': '22', '2': '000001', '3': '000', '4': '2', '5': '0', '6': '0' },
    },
  } as const;
}

async function sale(l: HostLink, ksn: Buffer, pinBlock: unknown, amount: number) {
  const outcome = await l.request(saleFields(ksn, pinBlock, amount));
  if (outcome.status !== 'answered') throw new Error(`sale ${outcome.status}`);
  return outcome.response.fields[39];
}

describe('DUKPT sale against the host simulator (cup-pos-dukpt)', () => {
  const tdesKsn = hex('FFFF9876543210E00000');
  const tdesIpek = () => dukptInitialKey(hex(DEFAULT_DUKPT_BDK.tdes), tdesKsn);
  const tdesPad = () => new DukptPinPad({ initialKey: tdesIpek(), ksn: tdesKsn });

  it('TDES: the host verifies each PIN from the KSN; the counter advances per sale; wrong PIN → 55', async () => {
    const pad = tdesPad();
    const { logs, link: l } = await connect(pad);
    const seen: number[] = [];
    const blocks: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const { ksn, pinBlock } = pad.encryptPin(CARD.pin, CARD.pan);
      seen.push(dukptCounter(ksn));
      blocks.push(pinBlock.reveal().toString('hex'));
      expect(await sale(l, ksn, pinBlock, 100 * i)).toBe('00');
    }
    expect(seen).toEqual([1, 2, 3]);
    const wrong = pad.encryptPin('999999', CARD.pan);
    expect(await sale(l, wrong.ksn, wrong.pinBlock, 400)).toBe('55');
    // The KSN is not secret (it may be logged); the PIN blocks never are.
    const text = logs.join('').toLowerCase();
    expect(text.length).toBeGreaterThan(0);
    for (const b of blocks) expect(text).not.toContain(b);
  });

  it('AES: a 12-byte KSN and a 16-byte format-4 block are verified with the AES BDK', async () => {
    const ksn0 = Buffer.concat([hex('1234567890123456'), Buffer.alloc(4)]);
    const pad = new DukptPinPad({ initialKey: dukptInitialKey(hex(DEFAULT_DUKPT_BDK.aes), ksn0), ksn: ksn0 });
    const { link: l } = await connect(pad);
    const { ksn, pinBlock } = pad.encryptPin(CARD.pin, CARD.pan);
    expect(pinBlock.length).toBe(16);
    expect(await sale(l, ksn, pinBlock, 500)).toBe('00');
  });

  it('a host configured with another BDK cannot check the MAC: A0, the PIN is never looked at', async () => {
    const pad = tdesPad();
    const { link: l } = await connect(pad, { bdk: { tdes: 'FEDCBA98765432100123456789ABCDEF' } });
    const { ksn, pinBlock } = pad.encryptPin(CARD.pin, CARD.pan);
    expect(await sale(l, ksn, pinBlock, 600)).toBe('A0');
    expect(sim!.ledger.transactions({ tid: TID })).toHaveLength(0);
  });
});

describe('DUKPT MACs in field 64 (dialect mac.dukpt)', () => {
  const schemes = [
    {
      name: 'TDES (X9.19 under the request variant)',
      bdk: DEFAULT_DUKPT_BDK.tdes,
      ksn: 'FFFF9876543210E00000',
    },
    { name: 'AES (AES-CMAC under usage 2000)', bdk: DEFAULT_DUKPT_BDK.aes, ksn: '123456789012345600000000' },
  ];
  it.each(schemes)(
    '$name: a request with a KSN carries its transaction MAC, the answer the response MAC',
    async (c) => {
      const ksn0 = hex(c.ksn);
      const bdk = hex(c.bdk);
      const pad = new DukptPinPad({ initialKey: dukptInitialKey(bdk, ksn0), ksn: ksn0 });
      const { link: l, sm } = await connect(pad);
      const d = loadDialect('cup-pos-dukpt');
      const { ksn, pinBlock } = pad.encryptPin(CARD.pin, CARD.pan);
      let sent: Buffer | undefined;
      const outcome = await l.request(saleFields(ksn, pinBlock, 700), {
        beforeSend: (_a, body) => void (sent = body),
      });
      // 'answered' means the link checked the answer's MAC (a 00 answer must carry one) and it held.
      expect(outcome.status).toBe('answered');
      if (outcome.status !== 'answered') return;
      expect(outcome.response.fields[39]).toBe('00');
      const input = d.macInput(sent!);
      const mac = d.macOf(sent!);
      expect(toHex(mac)).toBe(toHex(computeDukptMac({ bdk }, ksn, input, { macLength: 8 })));
      // Not the session MAC: the session MAK plays no part in a KSN-MACed message.
      expect(toHex(mac)).not.toBe(toHex(await sm.mac(input)));
      expect(verifyDukptMac({ bdk }, ksn, input, mac, { direction: 'response' })).toBe(false);
    },
  );

  it('a message without a KSN keeps the session MAC; the pad refuses a KSN it has moved past', async () => {
    const pad = new DukptPinPad({
      initialKey: dukptInitialKey(hex(DEFAULT_DUKPT_BDK.tdes), hex('FFFF9876543210E00000')),
      ksn: hex('FFFF9876543210E00000'),
    });
    const { link: l, sm } = await connect(pad);
    const d = loadDialect('cup-pos-dukpt');
    let sent: Buffer | undefined;
    const plain = await l.request(saleFields(undefined, undefined, 800), {
      beforeSend: (_a, body) => void (sent = body),
    });
    expect(plain.status === 'answered' && plain.response.fields[39]).toBe('00');
    expect(toHex(d.macOf(sent!))).toBe(toHex(await sm.mac(d.macInput(sent!))));

    const first = pad.encryptPin(CARD.pin, CARD.pan);
    pad.encryptPin(CARD.pin, CARD.pan); // the pad moves on: the first transaction's keys are gone
    const late = await l.request(saleFields(first.ksn, first.pinBlock, 900));
    expect(late).toMatchObject({ status: 'not_sent', reason: 'mac_unavailable' });
    expect(() => pad.mac(first.ksn, Buffer.from('x'), 'request')).toThrow(
      expect.objectContaining({ code: 'bad_data', reason: 'ksn_not_current' }),
    );
  });

  it('the host answers A0 to a KSN-MACed request whose MAC is off by one bit, and moves no money', async () => {
    const pad = new DukptPinPad({
      initialKey: dukptInitialKey(hex(DEFAULT_DUKPT_BDK.tdes), hex('FFFF9876543210E00000')),
      ksn: hex('FFFF9876543210E00000'),
    });
    const { link: l, sm } = await connect(pad);
    const { ksn, pinBlock } = pad.encryptPin(CARD.pin, CARD.pan);
    // Flip one bit of what the module returns: a reader fault, or a message altered after MACing.
    const real = sm.mac.bind(sm);
    sm.mac = async (data, o) => {
      const m = await real(data, o);
      m.writeUInt8(m.readUInt8(0) ^ 0x01, 0);
      return m;
    };
    expect(await sale(l, ksn, pinBlock, 1_000)).toBe('A0');
    expect(sim!.ledger.transactions({ tid: TID })).toHaveLength(0);
  });
});
