export { Pan } from './pan.js';
export { SensitiveBytes } from './sensitive-bytes.js';
export { CardDataError } from './errors.js';
export { maskPan, lastFour } from './mask.js';
export { luhnValid, luhnCheckDigit } from './luhn.js';
