/**
 * The 16-byte PIN block the UnionPay SM4 key scheme encrypts under an SM4 PIK: ISO 9564 format 0
 * (ANSI X9.8 "with PAN") widened to the 16-byte SM4 block.
 *   PIN field = 0 | PIN length | PIN digits | F fill            (32 nibbles)
 *   PAN field = 16 zero nibbles | 0000 | 12 rightmost PAN digits excluding the check digit
 *   block     = PIN field XOR PAN field, then SM4-ECB under the PIK (one block).
 * So the first 8 bytes are the format-0 PIN field in clear form and the PAN is XORed into the last 8.
 * Source: the worked example in https://blog.csdn.net/M_Kerry/article/details/104625499 ("银行卡密码键盘
 * SM4 ECB模式+ANSI X9.8 格式标准(带主账号信息)PIN 加解密示例": PIN 123654, PAN 6230606601007726888 ->
 * 06123654FFFFFFFFFFFF99FEFF88D977), which also warns that banks differ (8 or 16 bytes): the width is
 * the acquirer's to confirm. No normative public UnionPay text was found.
 */
import { Pan, SensitiveBytes } from '../card/index.js';
import { clearCopy, constantTimeEqual, type BytesInput } from './bytes.js';
import { CryptoError } from './errors.js';
import { buildPinBlockIso0, decodePinBlockIso0, type PanInput, type PinInput } from './pin-block.js';
import { Sm4Key, type Sm4KeyInput } from './sm4-key.js';

export const SM4_PIN_BLOCK_LENGTH = 16;

/** The clear 16-byte block (see the module comment). */
export function buildPinBlockSm4(pin: PinInput, pan: PanInput): SensitiveBytes {
  // A one-digit "PAN" gives the zero PAN field: the format-0 builder then returns the bare PIN field.
  const pinField = buildPinBlockIso0(pin, '0');
  const out = Buffer.alloc(SM4_PIN_BLOCK_LENGTH, 0xff);
  const first = pinField.reveal();
  try {
    first.copy(out, 0);
    xorPanField(out, pan);
    return SensitiveBytes.from(out, 'pin-block');
  } finally {
    first.fill(0);
    out.fill(0);
    pinField.wipe();
  }
}

/** The block encrypted under the SM4 PIK: what field 52 carries in the SM4 scheme. */
export function encryptPinBlockSm4(pin: PinInput, pan: PanInput, pik: Sm4KeyInput): SensitiveBytes {
  const clear = buildPinBlockSm4(pin, pan);
  const bytes = clear.reveal();
  try {
    return SensitiveBytes.adopt(Sm4Key.from(pik, 'pik').encryptEcb(bytes), 'pin-block');
  } finally {
    bytes.fill(0);
    clear.wipe();
  }
}

/** Decodes a clear 16-byte block; returns the PIN's ASCII digits. Throws `bad_pin_block`. */
export function decodePinBlockSm4(block: BytesInput, pan: PanInput): SensitiveBytes {
  const b = clearCopy(block);
  try {
    if (b.length !== SM4_PIN_BLOCK_LENGTH)
      throw new CryptoError('bad_pin_block', 'an SM4 PIN block is 16 bytes', {
        expected: SM4_PIN_BLOCK_LENGTH,
        actual: b.length,
        reason: 'size',
      });
    xorPanField(b, pan);
    for (let i = 8; i < SM4_PIN_BLOCK_LENGTH; i++) {
      if (b[i] !== 0xff)
        throw new CryptoError('bad_pin_block', 'the second half is not F fill after the PAN field', {
          reason: 'filler',
        });
    }
    return decodePinBlockIso0(b.subarray(0, 8), '0');
  } finally {
    b.fill(0);
  }
}

/** Decrypts under the SM4 PIK and decodes (host simulator). */
export function decryptPinBlockSm4(encrypted: BytesInput, pan: PanInput, pik: Sm4KeyInput): SensitiveBytes {
  const enc = clearCopy(encrypted);
  try {
    if (enc.length !== SM4_PIN_BLOCK_LENGTH)
      throw new CryptoError('bad_pin_block', 'an SM4 PIN block is 16 bytes', {
        expected: SM4_PIN_BLOCK_LENGTH,
        actual: enc.length,
        reason: 'size',
      });
    const clear = Sm4Key.from(pik, 'pik').decryptEcb(enc);
    try {
      return decodePinBlockSm4(clear, pan);
    } finally {
      clear.fill(0);
    }
  } finally {
    enc.fill(0);
  }
}

/** True when the encrypted block holds `expectedPin`; `bad_pin_block` when it does not decode. */
export function verifyPinBlockSm4(
  encrypted: BytesInput,
  pan: PanInput,
  pik: Sm4KeyInput,
  expectedPin: PinInput,
): boolean {
  const got = decryptPinBlockSm4(encrypted, pan, pik);
  const a = got.reveal();
  const b = typeof expectedPin === 'string' ? Buffer.from(expectedPin, 'latin1') : expectedPin.reveal();
  try {
    return constantTimeEqual(a, b);
  } finally {
    a.fill(0);
    b.fill(0);
    got.wipe();
  }
}

/** XORs the 12 rightmost PAN digits (check digit excluded) into bytes 10..15 of the 16-byte block. */
function xorPanField(block: Buffer, pan: PanInput): void {
  const digits = Pan.isPan(pan) ? pan.reveal() : pan;
  if (typeof digits !== 'string' || !/^[0-9]{1,19}$/.test(digits))
    throw new CryptoError('bad_pan', 'PAN must be a Pan or 1 to 19 decimal digits');
  const body = digits.slice(0, -1).slice(-12).padStart(12, '0');
  for (let i = 0; i < 6; i++) {
    const v = ((body.charCodeAt(2 * i) - 0x30) << 4) | (body.charCodeAt(2 * i + 1) - 0x30);
    block[10 + i] = (block[10 + i] as number) ^ v;
  }
}
