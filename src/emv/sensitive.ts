/**
 * Tags that never go into field 55, logs or storage: track data and its parts, the PAN, cardholder
 * names, expiry, PIN data. The dictionary (protocols/emv/tags.json) must mark each of them sensitive
 * (its loader refuses a dictionary that does not), and may mark more. The codec uses this fixed set as a
 * safety net in `Tlv#toJSON` and `util.inspect`, which have no dictionary at hand.
 */
export const ALWAYS_SENSITIVE_TAGS: ReadonlySet<string> = new Set([
  '56', // Track 1 Data
  '57', // Track 2 Equivalent Data
  '5A', // Application PAN
  '5F20', // Cardholder Name
  '5F24', // Application Expiration Date
  '99', // Transaction PIN Data
  '9F0B', // Cardholder Name Extended
  '9F1F', // Track 1 Discretionary Data
  '9F20', // Track 2 Discretionary Data
  '9F6B', // Track 2 Data (contactless)
]);
