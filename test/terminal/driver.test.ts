/**
 * The driver suite, run over the three transports (TCP, serial over a real pseudo-terminal with the
 * real serialport bindings, and Bluetooth LE through the real Noble class over the simulator's fake
 * bindings) and both framing variants (posbridge STX with CRC-16 and ACK/NAK, and the
 * length-prefixed mpos-lenpfx without ACKs). After every test the logs of both ends are searched for
 * card numbers, keys, PIN blocks and tracks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CryptoError, SoftwareSecurityModule } from '../../src/crypto/index.js';
import { findTlv, parseTlv } from '../../src/emv/index.js';
import { ReaderError, type ReaderProgressEvent, type StartTransaction } from '../../src/terminal/index.js';
import { leakedSecrets, makeRig, SIM_SERIAL, TMK, until, type Rig, type RigTransport } from './rig.js';

const SALE: StartTransaction = {
  amount: 12_345_600n,
  currency: '156',
  type: 'sale',
  timeoutSeconds: 30,
  interfaces: ['chip', 'contactless', 'magstripe'],
  pinAllowed: true,
};

const MATRIX: Array<[RigTransport, string]> = [
  ['tcp', 'posbridge'],
  ['serial', 'posbridge'],
  ['tcp', 'mpos-lenpfx'],
  ['serial', 'mpos-lenpfx'],
  ['ble', 'posbridge'],
  ['ble', 'mpos-lenpfx'],
];

let rig: Rig | undefined;
let ref = 0;
const nextRef = (): string => `pay-${Date.now().toString(36)}-${++ref}`;

afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (!r) return;
  await r.close();
  expect(leakedSecrets(r)).toEqual([]);
});

/** Waits until the driver lost the link and is back in `state`. */
async function reconnected(r: Rig, state: 'idle' | 'busy'): Promise<void> {
  await until(
    () => r.states.includes('disconnected') && r.driver.state === state,
    6000,
    `reconnected and ${state}`,
  );
}

async function sale(
  r: Rig,
  reference = nextRef(),
  request: StartTransaction = SALE,
  onProgress?: (e: ReaderProgressEvent) => void,
) {
  const res = await r.driver.startTransaction(reference, request, onProgress);
  if (res.status === 'card_read') {
    if (res.card.pinBlock) r.secrets.add(res.card.pinBlock.reveal().toString('hex'));
    if (res.card.track2) r.secrets.add(res.card.track2.reveal('latin1'));
  }
  return { reference, res };
}

describe.each(MATRIX)('driver over %s with the %s profile', (kind, profile) => {
  it('connects, pairs, reads device info and loads working keys under the master key', async () => {
    rig = await makeRig(kind, profile);
    const info = await rig.driver.info();
    expect(info.serialNumber).toBe(SIM_SERIAL);
    expect(info.batteryPercent).toBeGreaterThan(50);
    const kcv = await rig.soft.keyCheckValues();
    expect(info.keyCheckValues).toEqual({ tmk: kcv.tmk, pik: kcv.pik, mak: kcv.mak, tdk: kcv.tdk });
    expect(await rig.driver.securityModule.keyCheckValues()).toEqual(kcv);
    expect(rig.driver.state).toBe('idle');
    expect(rig.states.slice(0, 2)).toEqual(['connecting', 'idle']);
  });

  it('computes and verifies MACs in the reader (same as the software module with the same keys)', async () => {
    rig = await makeRig(kind, profile);
    const data = Buffer.from('0200702406C020C09A11196212345678000000010000000000123456', 'ascii');
    const mac = await rig.driver.securityModule.mac(data);
    expect(mac).toEqual(await rig.soft.mac(data));
    expect(await rig.driver.securityModule.verifyMac(data, mac)).toBe(true);
    const bad = Buffer.from(mac);
    bad[0] = bad[0]! ^ 1;
    expect(await rig.driver.securityModule.verifyMac(data, bad)).toBe(false);
  });

  it('reads a chip card with online PIN, then completes with a TC', async () => {
    rig = await makeRig(kind, profile);
    const progress: string[] = [];
    const states: string[] = [];
    rig.driver.on('state', (e) => states.push(e.state));
    const { reference, res } = await sale(rig, undefined, SALE, (e) => progress.push(e.progress));
    expect(res.status).toBe('card_read');
    if (res.status !== 'card_read') return;
    const card = res.card;
    expect(card.pan.masked).toBe('621234*********0010');
    expect(card.entryMode).toBe('051');
    expect(card.interface).toBe('chip');
    expect(card.cardSequenceNumber).toBe('001');
    expect(await rig.soft.verifyPinBlock(card.pinBlock!.reveal(), card.pan, '123456')).toBe(true);
    const track = (await rig.soft.decryptTrack(card.track2!)).reveal('latin1');
    expect(track.startsWith(`${card.pan.reveal()}D3012220`)).toBe(true);
    const icc = parseTlv(card.iccData!).elements;
    expect(icc.map((t) => t.tag).slice(0, 13)).toEqual([
      '9F26',
      '9F27',
      '9F10',
      '9F37',
      '9F36',
      '95',
      '9A',
      '9C',
      '9F02',
      '5F2A',
      '82',
      '9F1A',
      '9F03',
    ]);
    expect(findTlv(icc, '9F02')!.value.toString('hex')).toBe('000012345600');
    expect(progress).toEqual(
      expect.arrayContaining([
        'present_card',
        'card_detected',
        'pin_entry_started',
        'pin_digit_entered',
        'processing',
      ]),
    );
    expect(rig.driver.state).toBe('busy');
    expect(await rig.driver.lastTransactionStatus()).toEqual({ reference, stage: 'card_read' });

    const done = await rig.driver.completeTransaction(reference, {
      approved: true,
      responseCode: '00',
      authCode: '123456',
    });
    expect(done.status).toBe('completed');
    if (done.status !== 'completed') return;
    expect(done.cryptogram).toBe('tc');
    expect(findTlv(parseTlv(done.iccData!).elements, '9F27')!.value.toString('hex')).toBe('40');
    expect(rig.driver.state).toBe('idle');
    expect(states).toEqual(['busy', 'idle']);
    const last = await rig.driver.lastTransactionStatus();
    expect(last).toMatchObject({ reference, stage: 'completed', cryptogram: 'tc' });
  });

  it('answers reader_busy for a second transaction and for display while one is in progress', async () => {
    rig = await makeRig(kind, profile, { behaviour: { cardDelayMs: 5000 } });
    const first = rig.driver.startTransaction(nextRef(), SALE);
    const second = await rig.driver.startTransaction(nextRef(), SALE);
    expect(second).toMatchObject({ status: 'error', code: 'reader_busy' });
    await expect(rig.driver.displayText(['hello'])).rejects.toMatchObject({ code: 'reader_busy' });
    // MAC commands stay allowed inside a transaction
    const data = Buffer.from('0123456789ABCDEF');
    expect(await rig.driver.securityModule.mac(data)).toEqual(await rig.soft.mac(data));
    expect(await rig.driver.cancel()).toEqual({ status: 'cancelled' });
    expect(await first).toEqual({ status: 'cancelled', by: 'operator' });
    expect(rig.driver.state).toBe('idle');
  });

  it('cancel at each stage reports what really happened', async () => {
    rig = await makeRig(kind, profile, { behaviour: { cardDelayMs: 5000 } });
    // no transaction at all
    expect(await rig.driver.cancel()).toEqual({ status: 'no_transaction' });
    // waiting for the card: cancelled, and the start settles as cancelled by the operator
    const presented = new Promise<void>((resolve) => {
      void rig!.driver
        .startTransaction(nextRef(), SALE, (e) => e.progress === 'present_card' && resolve())
        .then((r) => {
          expect(r).toEqual({ status: 'cancelled', by: 'operator' });
        });
    });
    await presented;
    expect(await rig.driver.cancel()).toEqual({ status: 'cancelled' });
    expect(rig.driver.state).toBe('idle');
    // card read: too late, the engine decides (here: decline, the chip gives an AAC)
    rig.behave({ cardDelayMs: 5 });
    const { reference, res } = await sale(rig);
    expect(res.status).toBe('card_read');
    expect(await rig.driver.cancel()).toEqual({ status: 'too_late', stage: 'card_read' });
    expect(rig.driver.state).toBe('busy');
    const declined = await rig.driver.completeTransaction(reference, { approved: false, responseCode: '05' });
    expect(declined).toMatchObject({ status: 'completed', cryptogram: 'aac' });
    // completed: too late as well
    expect(await rig.driver.cancel()).toEqual({ status: 'too_late', stage: 'completed' });
    expect(rig.driver.state).toBe('idle');
  });

  it('reports the customer cancelling, no card presented, a wrong PIN and low battery', async () => {
    rig = await makeRig(kind, profile, { behaviour: { customerCancels: true } });
    expect((await sale(rig)).res).toEqual({ status: 'cancelled', by: 'customer' });
    rig.behave({ customerCancels: false, noCard: true, noCardTimeoutMs: 50 });
    expect((await sale(rig)).res).toEqual({ status: 'timeout' });
    rig.behave({ noCard: false, wrongPin: true });
    const { reference, res } = await sale(rig);
    if (res.status !== 'card_read') throw new Error(`expected a card, got ${res.status}`);
    expect(await rig.soft.verifyPinBlock(res.card.pinBlock!.reveal(), res.card.pan, '123456')).toBe(false);
    await rig.driver.completeTransaction(reference, { approved: false, responseCode: '55' });
    rig.behave({ wrongPin: false, batteryPercent: 4 });
    expect((await sale(rig)).res).toMatchObject({ status: 'error', code: 'reader_low_battery' });
    expect((await rig.driver.info()).batteryPercent).toBe(4);
    expect(rig.driver.state).toBe('idle');
  });

  it('completes with AAC when the chip declines after host approval, and reports a removed card', async () => {
    rig = await makeRig(kind, profile, { behaviour: { chipDeclines: true } });
    let { reference, res } = await sale(rig);
    expect(res.status).toBe('card_read');
    expect(
      await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' }),
    ).toMatchObject({
      status: 'completed',
      cryptogram: 'aac',
    });
    rig.behave({ chipDeclines: false, cardRemovedBeforeCompletion: true });
    ({ reference, res } = await sale(rig));
    expect(res.status).toBe('card_read');
    expect(await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' })).toEqual({
      status: 'card_removed',
    });
    expect(rig.driver.state).toBe('idle');
  });

  it('recovers from a corrupted frame (NAK and retransmission, or a repeated idempotent command)', async () => {
    rig = await makeRig(kind, profile);
    rig.behave({ corruptFrames: 1 });
    const info = await rig.driver.info();
    expect(info.serialNumber).toBe(SIM_SERIAL);
    const stats = rig.driver.linkStats!;
    expect(stats.badFrames).toBeGreaterThanOrEqual(1);
    if (profile === 'posbridge') expect(stats.naksSent).toBeGreaterThanOrEqual(1);
    expect(rig.sim.behaviour().corruptFrames).toBe(0);
  });

  it('works over a slow link with 20-byte chunks', async () => {
    rig = await makeRig(kind, profile, { behaviour: { slowLink: { chunkDelayMs: 1, mtu: 20 } } });
    const { reference, res } = await sale(rig);
    expect(res.status).toBe('card_read');
    expect(
      await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' }),
    ).toMatchObject({ cryptogram: 'tc' });
  });

  it('reconnects after a link drop and reloads working keys a restarted reader lost', async () => {
    rig = await makeRig(kind, profile);
    const r = rig;
    r.sim.simulator.clearKeys();
    r.states.length = 0;
    r.sim.dropLink();
    await until(() => r.states.includes('disconnected'), 3000, 'disconnected');
    await until(() => r.driver.state === 'idle', 4000, 'idle again');
    expect(r.states).toEqual(expect.arrayContaining(['disconnected', 'connecting', 'idle']));
    // the keys came back (still encrypted under the TMK): MACs work again
    const data = Buffer.from('after reconnect');
    expect(await r.driver.securityModule.mac(data)).toEqual(await r.soft.mac(data));
  });

  it('link drop before the card is read: the reader cancels, status says so', async () => {
    rig = await makeRig(kind, profile, { behaviour: { dropLinkAt: 'before_card_read' } });
    const reference = nextRef();
    const res = await rig.driver.startTransaction(reference, SALE);
    expect(res).toMatchObject({ status: 'error', code: 'reader_disconnected' });
    await reconnected(rig, 'idle');
    expect(await rig.driver.lastTransactionStatus()).toMatchObject({ reference, stage: 'cancelled' });
  });

  it('link drop after the card is read: status card_read, the engine declines it', async () => {
    rig = await makeRig(kind, profile, { behaviour: { dropLinkAt: 'after_card_read' } });
    const reference = nextRef();
    const res = await rig.driver.startTransaction(reference, SALE);
    expect(res).toMatchObject({ status: 'error', code: 'reader_disconnected' });
    await reconnected(rig, 'busy');
    expect(await rig.driver.lastTransactionStatus()).toEqual({ reference, stage: 'card_read' });
    expect(await rig.driver.cancel()).toEqual({ status: 'too_late', stage: 'card_read' });
    expect(
      await rig.driver.completeTransaction(reference, {
        approved: false,
        responseCode: 'A0',
        unableToGoOnline: true,
      }),
    ).toMatchObject({
      status: 'completed',
      cryptogram: 'aac',
    });
    expect(rig.driver.state).toBe('idle');
  });

  it('link drop after host approval, before completion: the completion is sent again', async () => {
    rig = await makeRig(kind, profile, { behaviour: { dropLinkAt: 'after_host_approval' } });
    const { reference, res } = await sale(rig);
    expect(res.status).toBe('card_read');
    rig.states.length = 0;
    const first = await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' });
    expect(first).toMatchObject({ status: 'error' });
    if (first.status === 'error') expect(['reader_disconnected', 'reader_timeout']).toContain(first.code);
    await reconnected(rig, 'busy');
    const st = await rig.driver.lastTransactionStatus();
    expect(st).toEqual({ reference, stage: 'card_read' });
    const again = await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' });
    expect(again).toMatchObject({ status: 'completed', cryptogram: 'tc' });
    // a repeat of a completion is answered from the reader's record, not run twice
    const repeat = await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' });
    expect(repeat).toMatchObject({ status: 'completed', cryptogram: 'tc' });
    expect(rig.driver.state).toBe('idle');
  });

  it('displays, prints and beeps; a reader without a printer refuses printing', async () => {
    rig = await makeRig(kind, profile, { printer: false });
    await rig.driver.displayText(['Total CNY 123,456.00', 'Insert card']);
    expect(rig.sim.simulator.display).toEqual(['Total CNY 123,456.00', 'Insert card']);
    await rig.driver.beep();
    expect(rig.sim.simulator.beeps).toBe(1);
    await expect(rig.driver.printLines(['receipt'])).rejects.toMatchObject({
      code: 'reader_refused',
      reason: 'not_supported',
    });
  });

  it('refuses an unknown reader and one whose master key check value differs', async () => {
    rig = await makeRig(kind, profile, { pairedSerials: ['PBR-OTHER-9'], ready: false });
    await expect(rig.driver.whenReady(2000)).rejects.toMatchObject({ code: 'reader_not_paired' });
    expect(await rig.driver.startTransaction(nextRef(), SALE)).toMatchObject({
      status: 'error',
      code: 'reader_not_paired',
    });
    await expect(rig.driver.info()).rejects.toBeInstanceOf(ReaderError);
    await rig.close();
    rig = await makeRig(kind, profile, { expectedKcv: { tmk: '00112233' }, ready: false });
    await expect(rig.driver.whenReady(2000)).rejects.toMatchObject({ code: 'reader_kcv_mismatch' });
    await rig.close();
    const kcv = (await new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' }).keyCheckValues()).tmk;
    rig = await makeRig(kind, profile, { expectedKcv: { tmk: kcv.slice(0, 6) } });
    expect(rig.driver.state).toBe('idle');
  });

  it('rejects keys whose check value fails, keeping the typed crypto error', async () => {
    rig = await makeRig(kind, profile);
    const broken = Buffer.from(rig.field62);
    broken[36] = broken[36]! ^ 0xff; // the MAK's KCV
    const err = await rig.driver.securityModule.loadWorkingKeys(broken, 'double').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CryptoError);
    expect(err).toMatchObject({ code: 'kcv_mismatch', key: 'mak' });
    rig.sim.simulator.clearKeys();
    await expect(rig.driver.securityModule.mac(Buffer.from('x'))).rejects.toMatchObject({
      code: 'no_working_keys',
    });
    expect((await sale(rig)).res).toMatchObject({ status: 'error', code: 'reader_refused' });
  });
});
