/** A card value was malformed. The message never contains the value itself. */
export class CardDataError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CardDataError';
    this.code = code;
  }
}
