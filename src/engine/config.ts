/** Engine settings; timers are configuration so tests run them short. */
export interface EngineConfig {
  terminalId: string;
  merchantId: string;
  /** The merchant's name as receipts print it (a Chinese name counts two columns per character). */
  merchantName?: string;
  /** Receipt width printed on the reader: 32 columns (58 mm paper) or 48 (80 mm). */
  receiptWidth: 32 | 48;
  /** IANA time zone of the local date and time on receipts; default the system's. */
  timeZone?: string;
  /** ISO 4217 numeric currency of this terminal (CNY 156). */
  currency: string;
  /** Field-55 profile for online requests and for reversals. */
  field55Profile: string;
  reversalField55Profile: string;
  /** Seconds the reader waits for a card. */
  cardTimeoutSeconds: number;
  /** Tell the host we accept partial approvals (cup-pos 60.6 = 1). */
  partialApproval: boolean;
  /** Voids and refunds at or above this amount (fen) need a supervisor approval code; undefined = never. */
  supervisorThreshold?: number;
  /** Supervisor approval codes by supervisor id. */
  supervisorCodes?: Record<string, string>;
  /** Largest capture as a percentage of its pre-auth. */
  captureLimitPercent: number;
  saf: SafConfig;
  /** How long to wait for a dropped reader to come back before treating the card side as unknown. */
  readerRecoveryMs: number;
  /** How long a new financial request waits for pending reversals to go out before it gives up. */
  reversalWaitMs: number;
  /** How long a new operation waits for the host link to be ready before it fails as host_unavailable. */
  hostWaitMs: number;
  /** How long an inquiry waits for a dropped host link to come back. */
  inquiryWaitMs: number;
  /** Inquiries lost to a dropped connection before an `unknown` is reversed without an answer. */
  inquiryAttempts: number;
  /** Ask the host about an `unknown` request before reversing (only if the dialect declares the inquiry). */
  useStatusInquiry: boolean;
}

export interface SafConfig {
  /** Response codes that end a reversal (the host holds nothing any more). */
  reversalDoneCodes: string[];
  /** Response codes after which a reversal cannot succeed (e.g. batch closed): needs_attention. */
  reversalFatalCodes: string[];
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How often the workers look for due items. */
  pollMs: number;
  /** Send TC uploads and advices right after each completion (default); else only on the poll. */
  adviceAfterCompletion: boolean;
}

export const DEFAULT_ENGINE_CONFIG: Omit<EngineConfig, 'terminalId' | 'merchantId'> = {
  currency: '156',
  receiptWidth: 32,
  field55Profile: 'cup-online-request',
  reversalField55Profile: 'cup-reversal',
  cardTimeoutSeconds: 60,
  partialApproval: true,
  captureLimitPercent: 115,
  useStatusInquiry: true,
  readerRecoveryMs: 30_000,
  inquiryWaitMs: 10_000,
  inquiryAttempts: 3,
  hostWaitMs: 10_000,
  reversalWaitMs: 5_000,
  saf: {
    reversalDoneCodes: ['00', '25'],
    reversalFatalCodes: ['12'],
    maxAttempts: 20,
    backoffInitialMs: 2_000,
    backoffMaxMs: 5 * 60_000,
    pollMs: 1_000,
    adviceAfterCompletion: true,
  },
};
