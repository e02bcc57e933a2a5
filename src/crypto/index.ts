export { CryptoError, type CryptoErrorCode, type CryptoErrorDetails, type KeyRole } from './errors.js';
export type { BytesInput } from './bytes.js';
export {
  DesKey,
  DES_BLOCK,
  checkKeyLength,
  withOddParity,
  randomDesKeyBytes,
  type DesKeyLength,
  type KeyInput,
} from './des-key.js';
export { desEcbEncrypt, desEcbDecrypt, desCbcEncrypt, desCbcDecrypt } from './des.js';
export { padIso9797Method1 } from './padding.js';
export {
  cupEcbMac,
  cupEcbMacTrace,
  x99Mac,
  x919Mac,
  tdesCbcMac,
  iso9797Alg1Mac,
  computeMac,
  macKeyLengths,
  isMacAlgorithm,
  MAC_ALGORITHMS,
  type MacAlgorithm,
  type CupEcbMacTrace,
} from './mac.js';
export { keyCheckValue, keyCheckValueHex, kcvForLog, type KcvLength } from './kcv.js';
export {
  buildPinBlockIso0,
  encryptPinBlockIso0,
  decodePinBlockIso0,
  decryptPinBlockIso0,
  verifyPinBlockIso0,
  buildPinBlockIso1,
  encryptPinBlockIso1,
  decodePinBlockIso1,
  decryptPinBlockIso1,
  buildPinBlockIso3,
  encryptPinBlockIso3,
  decodePinBlockIso3,
  decryptPinBlockIso3,
  buildPinFieldIso4,
  decodePinFieldIso4,
  encipherPinBlockIso4,
  decipherPinBlockIso4,
  type PinInput,
  type PanInput,
  type PinBlockFormat,
  type PinBlockOptions,
  type RandomSource,
} from './pin-block.js';
export { encryptTrackData, decryptTrackData } from './track.js';
export {
  unwrapWorkingKeys,
  wrapWorkingKeys,
  generateWorkingKeys,
  wipeWorkingKeys,
  workingKeyLength,
  isWorkingKeyLayout,
  WORKING_KEY_LAYOUTS,
  FIELD62_KCV_LENGTH,
  type WorkingKeyLayout,
  type WorkingKeyName,
  type WorkingKeys,
  type WorkingKeysInput,
  type WorkingKeyCheckValues,
  type UnwrappedWorkingKeys,
} from './working-keys.js';
export type { SecurityModule, KeyCheckValues } from './security-module.js';
export { SoftwareSecurityModule, type SoftwareSecurityModuleOptions } from './software-security-module.js';
export { Sealer, SEAL_VERSION, SEAL_OVERHEAD, type SealerOptions } from './sealer.js';
export { SEAL_KEY_FILE_NAME, type KeyFileProtector } from './seal-key-file.js';
export {
  KeyEncryptionKey,
  KEK_BYTES,
  isWrapped,
  keyringAccount,
  type KekSource,
  type KekLoadOptions,
  type KeyringEntry,
  type KeyringFactory,
} from './kek.js';
export { gmSupport, requireGm, type GmSupport, type GmAlgorithm } from './gm-support.js';
export {
  sm4EcbEncrypt,
  sm4EcbDecrypt,
  sm4KeyCheckValue,
  sm4KeyCheckValueHex,
  sm4CupMac,
  sm4CupMacTrace,
  sm4CbcMac,
  SM4_BLOCK,
  SM4_KEY_LENGTH,
  type Sm4CupMacTrace,
} from './sm4.js';
export { sm3, SM3_DIGEST_LENGTH } from './sm3.js';
export { Sm4Key, type Sm4KeyInput } from './sm4-key.js';
export {
  buildPinBlockSm4,
  encryptPinBlockSm4,
  decodePinBlockSm4,
  decryptPinBlockSm4,
  verifyPinBlockSm4,
  SM4_PIN_BLOCK_LENGTH,
} from './sm4-pin-block.js';
export {
  requireKeyScheme,
  isKeyScheme,
  schemeKey,
  schemeMac,
  encryptSchemePinBlock,
  verifySchemePinBlock,
  KEY_SCHEMES,
  type KeyScheme,
  type SchemeKey,
} from './key-scheme.js';
export {
  deriveDukptIpek,
  deriveDukptTransactionKey,
  deriveDukptKey,
  dukptWorkingKey,
  dukptNonReversibleKeyGen,
  parseKsn,
  ksnWithCounter,
  checkDukptCounter,
  counterOneBits,
  DUKPT_KSN_LENGTH,
  DUKPT_BDK_LENGTH,
  DUKPT_COUNTER_MASK,
  DUKPT_MAX_COUNTER_ONE_BITS,
  DUKPT_KEY_USAGES,
  type DukptKeyUsage,
  type DukptOptions,
  type ParsedKsn,
} from './dukpt.js';
export {
  deriveAesDukptInitialKey,
  deriveAesDukptTransactionKey,
  deriveAesDukptKey,
  aesDukptWorkingKey,
  aesDukptDerivationData,
  parseAesKsn,
  checkAesDukptCounter,
  AES_DUKPT_KSN_LENGTH,
  AES_DUKPT_INITIAL_KEY_ID_LENGTH,
  AES_DUKPT_KEY_LENGTH,
  AES_DUKPT_MAX_COUNTER_ONE_BITS,
  AES_DUKPT_KEY_USAGES,
  type AesDukptKeyUsage,
  type ParsedAesKsn,
} from './dukpt-aes.js';
export {
  DukptPinPad,
  dukptSchemeOfKsn,
  dukptCounter,
  dukptInitialKey,
  deriveDukptPinKey,
  decryptDukptPinBlock,
  verifyDukptPinBlock,
  dukptTdesRequestMac,
  isPinKeyScheme,
  PIN_KEY_SCHEMES,
  type DukptScheme,
  type PinKeyScheme,
  type DukptPinPadOptions,
} from './dukpt-pin.js';
export {
  deriveIccMasterKeyA,
  deriveIccMasterKeyB,
  deriveIccMasterKey,
  optionBDigits,
  deriveCommonSessionKey,
  emvCommonSessionKey,
  pbocSessionKey,
  deriveSessionKey,
  SESSION_KEY_DERIVATIONS,
  ATC_LENGTH,
  type MasterKeyOption,
  type SessionKeyDerivation,
} from './emv-keys.js';
export {
  applicationCryptogram,
  arpcMethod1,
  arpcMethod2,
  issuerAuthenticationData,
  verifyIssuerAuthenticationData,
  ARQC_LENGTH,
  CSU_LENGTH,
  MAX_PROPRIETARY_AUTH_DATA,
  type AcPadding,
  type ArpcMethod,
  type IssuerAuthenticationInput,
} from './emv-arpc.js';
export {
  CVN_SCHEMES,
  cvnOfIad,
  cvnScheme,
  schemeForIad,
  cryptogramIadPart,
  cryptogramSessionKey,
  type CvnScheme,
  type CvnLookup,
} from './emv-cvn.js';
