/**
 * The JSON Schemas of the CRM protocol (draft 2020-12), kept in code. One schema per method's params,
 * one per result and one per notification, bundled under `$defs` of a single document. The server
 * validates every inbound message against them (Ajv); `npm run` `src/api/render-docs.ts` publishes the
 * bundle as `docs/protocol.schema.json` and renders the reference part of `docs/protocol.md` (a test
 * fails when either is out of date).
 */
import {
  FINAL_PAYMENT_STATES,
  PAYMENT_KINDS,
  PAYMENT_STATES,
  PROTOCOL_VERSION,
  READER_PROGRESS,
  type ApiErrorCode,
  type MethodName,
} from './client/types.js';

export type JsonSchema = Record<string, unknown>;

export const SCHEMA_ID = 'https://posbridge.invalid/protocol.schema.json';

const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` });

/** Text without control characters. */
const text = (min: number, max: number, description?: string): JsonSchema => ({
  type: 'string',
  minLength: min,
  maxLength: max,
  pattern: '^[^\\u0000-\\u001f\\u007f]*$',
  ...(description ? { description } : {}),
});

const nullable = (s: JsonSchema): JsonSchema => ({ anyOf: [s, { type: 'null' }] });

const describe = (description: string, s: JsonSchema): JsonSchema => ({ ...s, description });

const object = (
  properties: Record<string, JsonSchema>,
  required: string[] = [],
  extra: JsonSchema = {},
): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  ...extra,
});

const MAX_AMOUNT = 999_999_999_999;

/** Shared definitions (also the building blocks of the method schemas). */
export const DEFS: Record<string, JsonSchema> = {
  Amount: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_AMOUNT,
    description:
      'Minor units (fen) as a JSON integer: positive, at most 12 digits. Never a string or a fraction.',
  },
  Currency: {
    type: 'string',
    pattern: '^([A-Z]{3}|[0-9]{3})$',
    description: 'ISO 4217, alphabetic ("CNY") or numeric ("156"). Must be the terminal\'s currency.',
  },
  IdempotencyKey: text(
    1,
    128,
    'Chosen by the CRM, unique per intended operation: the same key never charges twice; the same key with other parameters is idempotency_conflict.',
  ),
  OperatorId: text(
    1,
    64,
    "Who is doing this; defaults to the session's operator (session.hello) or the configured one.",
  ),
  OrderId: text(1, 64, "The CRM's order reference; several payments may share it."),
  PaymentId: text(1, 64, 'The id posbridge gave the payment.'),
  TerminalId: text(1, 64, 'A card reader id from terminal.list; omitted = the default reader.'),
  ApprovalCode: text(
    1,
    32,
    'Supervisor approval code, needed for voids and refunds at or above the configured threshold.',
  ),
  PaymentKind: {
    type: 'string',
    enum: [...PAYMENT_KINDS],
    description: 'What the payment does. payment.void of a pre-auth creates a preauth_void.',
  },
  PaymentState: {
    type: 'string',
    enum: [...PAYMENT_STATES],
    description: `Final states never change: ${FINAL_PAYMENT_STATES.join(', ')}. partially_approved waits for payment.acceptPartial or payment.declinePartial.`,
  },
  ReaderProgress: {
    type: 'string',
    enum: [...READER_PROGRESS],
    description: 'Transient reader prompts, to show the operator what the customer must do.',
  },
  Card: object(
    {
      panDisplay: {
        type: 'string',
        description: 'Masked PAN (first 6 / last 4 at most), or the device account.',
      },
      scheme: { type: 'string', description: 'unionpay, visa, mastercard, ... or unknown.' },
      kind: {
        type: 'string',
        description: 'chip, contactless, magstripe, fallback, keyed, or device_token (a phone or watch).',
      },
      entryMode: { type: 'string', description: 'ISO 8583 field 22, e.g. "051" chip with PIN.' },
      deviceAccountLast4: {
        type: 'string',
        pattern: '^[0-9]{4}$',
        description: "Device tokens: the device account's last four.",
      },
      fundingLast4: {
        type: 'string',
        pattern: '^[0-9]{4}$',
        description: "Device tokens: the funding card's last four, when known.",
      },
    },
    ['panDisplay', 'scheme', 'kind', 'entryMode'],
    { description: 'Card facts: never more than the masked PAN and token facts.' },
  ),
  HostFacts: object(
    {
      batch: nullable({ type: 'string', description: 'Settlement batch number (6 digits).' }),
      stan: nullable({ type: 'string', description: 'System trace audit number (6 digits).' }),
      rrn: nullable({
        type: 'string',
        description: 'Retrieval reference number from the acquirer (12 characters).',
      }),
      authCode: nullable({ type: 'string', description: 'Authorisation code from the issuer.' }),
      responseCode: nullable({
        type: 'string',
        description: 'ISO 8583 field 39: "00" approved, "51" insufficient funds, ...',
      }),
    },
    ['batch', 'stan', 'rrn', 'authCode', 'responseCode'],
  ),
  Payment: object(
    {
      paymentId: { type: 'string' },
      kind: ref('PaymentKind'),
      state: ref('PaymentState'),
      final: {
        type: 'boolean',
        description: `True for ${FINAL_PAYMENT_STATES.join(', ')}: the state never changes again.`,
      },
      reason: nullable({
        type: 'string',
        description:
          'Why it ended as it did, e.g. declined_51, no_card, cancelled_by_customer, reversal_pending.',
      }),
      orderId: nullable({ type: 'string' }),
      originalId: nullable({
        type: 'string',
        description: 'The payment a void, refund or capture refers to.',
      }),
      amount: {
        type: 'integer',
        minimum: 0,
        description: 'Requested, in minor units (0 for a balance inquiry).',
      },
      approvedAmount: nullable({
        type: 'integer',
        minimum: 0,
        description: 'What the host approved (less than amount after a partial approval).',
      }),
      currency: { type: 'string', description: 'ISO 4217 alphabetic (numeric when unknown to posbridge).' },
      operatorId: { type: 'string' },
      card: nullable(ref('Card')),
      host: ref('HostFacts'),
      voided: { type: 'boolean', description: 'A completed void references this payment.' },
      refundedAmount: {
        type: 'integer',
        minimum: 0,
        description: 'Sum of completed refunds of this payment.',
      },
      capturedAmount: {
        type: 'integer',
        minimum: 0,
        description: 'Money this payment took (sale, capture), or captured from it (pre-auth).',
      },
      method: {
        type: 'string',
        enum: ['card', 'alipay', 'wechat'],
        description: 'How it was paid: a card (reader or integrated terminal) or scan-to-pay.',
      },
      qr: nullable(
        object(
          {
            method: { type: 'string', enum: ['alipay', 'wechat'] },
            mode: {
              type: 'string',
              enum: ['qr', 'code'],
              description: "qr: shown by the page; code: the customer's payment code.",
            },
            qrContent: nullable({
              type: 'string',
              description: 'Render this as a QR code while the payment is open (null once final).',
            }),
            expiresAt: nullable({ type: 'string', format: 'date-time' }),
            tradeNo: nullable({ type: 'string', description: "The provider's trade number once paid." }),
            buyer: nullable({
              type: 'string',
              description: 'Masked buyer account as the provider gives it.',
            }),
          },
          ['method', 'mode', 'qrContent', 'expiresAt', 'tradeNo', 'buyer'],
          { description: 'Scan-to-pay payments only.' },
        ),
      ),
      cancelRequested: {
        type: 'boolean',
        description:
          'The operator cancelled while the payment was in flight: it ends cancelled, declined, failed or reversed, never completed.',
      },
      signed: {
        type: 'boolean',
        description:
          "The customer's signature is on file (payment.signature): the merchant receipt shows it; do not ask again.",
      },
      balance: nullable(
        object({ amount: { type: 'integer' }, currency: { type: 'string' } }, ['amount', 'currency'], {
          description: 'Balance inquiries only: the balance the host reported.',
        }),
      ),
      createdAt: { type: 'string', format: 'date-time', description: 'ISO 8601 UTC.' },
      updatedAt: { type: 'string', format: 'date-time', description: 'ISO 8601 UTC.' },
    },
    [
      'paymentId',
      'kind',
      'state',
      'final',
      'reason',
      'orderId',
      'originalId',
      'amount',
      'approvedAmount',
      'currency',
      'operatorId',
      'card',
      'host',
      'voided',
      'refundedAmount',
      'capturedAmount',
      'cancelRequested',
      'signed',
      'createdAt',
      'updatedAt',
    ],
  ),
  Submitted: object(
    {
      paymentId: { type: 'string' },
      state: ref('PaymentState'),
      existing: {
        type: 'boolean',
        description: 'True when this idempotency key already had a payment: nothing new was started.',
      },
    },
    ['paymentId', 'state', 'existing'],
  ),
  QrProvider: object(
    {
      method: { type: 'string', enum: ['alipay', 'wechat'], description: 'The payment.qr method.' },
      name: { type: 'string', description: 'The provider as a cashier knows it ("Alipay", "WeChat Pay").' },
      modes: {
        type: 'array',
        items: { type: 'string', enum: ['qr', 'code'] },
        description: 'qr: the customer scans a QR the page shows; code: the cashier scans the customer\'s payment code.',
      },
    },
    ['method', 'name', 'modes'],
  ),
  Terminal: object(
    {
      terminalId: { type: 'string' },
      state: {
        type: 'string',
        enum: ['disconnected', 'connecting', 'idle', 'busy'],
        description: 'Card payments need idle (or busy: then reader_busy until it is idle).',
      },
      transport: { type: 'string', description: 'ble, serial, tcp, simulator, ...' },
      name: { type: 'string' },
      model: { type: 'string' },
      serialNumber: { type: 'string' },
      firmware: { type: 'string' },
      batteryPercent: { type: 'number', minimum: 0, maximum: 100 },
      lastError: nullable({
        type: 'string',
        description: 'Why the last connection attempt failed, if it did.',
      }),
      kind: {
        type: 'string',
        enum: ['reader', 'zvt'],
        description:
          'reader: posbridge builds the acquirer messages; zvt: an integrated terminal that authorises itself. Payments work the same on both.',
      },
      capabilities: {
        type: 'array',
        items: { type: 'string' },
        description: 'The payment operations this terminal offers; others answer not_supported_by_terminal.',
      },
    },
    ['terminalId', 'state'],
  ),
  PaymentEvent: object(
    {
      paymentId: nullable({ type: 'string', description: 'null only for daemon-level events.' }),
      seq: {
        type: 'integer',
        minimum: 0,
        description: 'Durable: the journal seq (global, gap-free). Transient: the last durable seq.',
      },
      durable: { type: 'boolean', description: 'Journaled and replayed (true), or a live prompt (false).' },
      type: {
        type: 'string',
        description:
          'state (a state change), progress (a reader prompt), late_response (evidence of a host answer after its timeout), or another journal event type (seq only).',
      },
      state: ref('PaymentState'),
      final: { type: 'boolean', description: 'With state: true when the state is final.' },
      reason: nullable({ type: 'string' }),
      kind: ref('PaymentKind'),
      amount: { type: 'integer', minimum: 0, description: 'On the first state event of a payment.' },
      orderId: nullable({ type: 'string', description: 'On the first state event of a payment.' }),
      responseCode: nullable({
        type: 'string',
        description: "The host's field 39, on the state after its answer.",
      }),
      progress: ref('ReaderProgress'),
      digits: {
        type: 'integer',
        minimum: 0,
        description: 'pin_digit_entered: how many digits so far (never the digits).',
      },
      rrn: nullable({ type: 'string' }),
      authCode: nullable({ type: 'string' }),
      receivedAt: { type: 'string', description: 'late_response: when the late answer came (ISO 8601 UTC).' },
      qrContent: { type: 'string', description: 'qr: the content to render as a QR code (scan-to-pay).' },
      expiresAt: { type: 'string', description: 'qr: when the QR stops being payable (ISO 8601 UTC).' },
      batch: { type: 'string', description: 'settlement.state: the batch being closed.' },
      batchState: ref('BatchState'),
      result: {
        type: 'string',
        enum: ['balanced', 'unbalanced'],
        description: "settlement.state: the host's answer to the 0500, once it came.",
      },
    },
    ['paymentId', 'seq', 'durable', 'type'],
    {
      description:
        'Durable events (durable: true) carry their journal seq and are identical live and replayed; transient reader prompts (type "progress") carry the last durable seq and are never replayed.',
    },
  ),
  OrderSummary: object(
    {
      orderId: { type: 'string' },
      currency: { type: 'string' },
      captured: { type: 'integer' },
      refunded: { type: 'integer' },
      net: { type: 'integer' },
      held: { type: 'integer' },
      pending: { type: 'integer' },
      operations: { type: 'array', items: ref('Payment') },
    },
    ['orderId', 'currency', 'captured', 'refunded', 'net', 'held', 'pending', 'operations'],
  ),
  ErrorData: object(
    {
      code: { type: 'string' },
      retryable: { type: 'boolean' },
      path: { type: 'string' },
    },
    ['code', 'retryable'],
  ),
  ReceiptCopy: {
    type: 'string',
    enum: ['merchant', 'customer'],
    description:
      "merchant: the copy the merchant keeps (商户存根, with the signature); customer: the cardholder's (持卡人存根).",
  },
  Receipt: object(
    {
      copy: ref('ReceiptCopy'),
      reprint: { type: 'boolean', description: 'This copy has been printed before: marked 重打印 REPRINT.' },
      merchant: object({ name: nullable({ type: 'string' }), id: { type: 'string' } }, ['name', 'id'], {
        description: '{name, id}: the merchant name (null when not configured) and number (field 42).',
      }),
      terminalId: { type: 'string' },
      operatorId: { type: 'string' },
      transaction: object(
        {
          kind: ref('PaymentKind'),
          name: {
            type: 'string',
            description: 'As UnionPay slips print it, e.g. "消费 SALE", "退货 REFUND".',
          },
        },
        ['kind', 'name'],
        { description: '{kind, name}: the payment kind and its name as printed.' },
      ),
      card: describe(
        '{scheme, panDisplay, entry, entryMode, deviceToken, deviceAccountLast4, fundingLast4}: a device token shows its last fours, not a card number. Null without a card.',
        nullable(
          object(
            {
              scheme: { type: 'string' },
              panDisplay: nullable({
                type: 'string',
                description:
                  'Masked PAN of a physical card (first 6 / last 4 at most); null for a device token.',
              }),
              entry: { type: 'string', description: 'chip, contactless, magstripe, fallback or keyed.' },
              entryMode: { type: 'string', description: 'ISO 8583 field 22.' },
              deviceToken: { type: 'boolean' },
              deviceAccountLast4: nullable({ type: 'string', pattern: '^[0-9]{4}$' }),
              fundingLast4: nullable({ type: 'string', pattern: '^[0-9]{4}$' }),
            },
            [
              'scheme',
              'panDisplay',
              'entry',
              'entryMode',
              'deviceToken',
              'deviceAccountLast4',
              'fundingLast4',
            ],
          ),
        ),
      ),
      batch: nullable({ type: 'string' }),
      stan: nullable({ type: 'string', description: 'Voucher number (凭证号): the STAN.' }),
      rrn: nullable({ type: 'string' }),
      authCode: nullable({ type: 'string' }),
      date: { type: 'string', description: 'Local date of the transaction, YYYY-MM-DD.' },
      time: { type: 'string', description: 'Local time of the transaction, HH:mm:ss.' },
      timeZone: { type: 'string', description: 'IANA time zone of date and time.' },
      amount: object(
        {
          minor: { type: 'integer', minimum: 0, description: 'Minor units (the approved amount).' },
          currency: { type: 'string' },
          text: { type: 'string', description: 'As printed: "123,456.00".' },
        },
        ['minor', 'currency', 'text'],
        { description: '{minor, currency, text}: the approved amount in minor units, and as printed.' },
      ),
      original: describe(
        '{batch, stan, rrn, date}: the original of a void, refund or capture; else null.',
        nullable(
          object(
            {
              batch: nullable({ type: 'string' }),
              stan: nullable({ type: 'string' }),
              rrn: nullable({ type: 'string' }),
              date: nullable({ type: 'string', description: 'MMDD.' }),
            },
            ['batch', 'stan', 'rrn', 'date'],
          ),
        ),
      ),
      chip: describe(
        '{aid, tc}: chip and contactless reads: the application (4F / 84) and the final TC (9F26), where known.',
        nullable(
          object(
            {
              aid: nullable({ type: 'string', description: 'Application identifier (4F or 84).' }),
              tc: nullable({
                type: 'string',
                description: 'The transaction certificate (9F26 of the final cryptogram).',
              }),
            },
            ['aid', 'tc'],
          ),
        ),
      ),
      signature: describe(
        '{onFile, format, sha256}: merchant copy only (null on the customer copy).',
        nullable(
          object(
            {
              onFile: { type: 'boolean' },
              format: nullable({ type: 'string', enum: ['svg', 'png'] }),
              sha256: nullable({ type: 'string' }),
            },
            ['onFile', 'format', 'sha256'],
          ),
        ),
      ),
      terminalLines: describe(
        'An integrated terminal (ZVT) printed its own slip for this copy: its lines as printed (card number masked by the terminal). null for reader payments.',
        nullable({ type: 'array', items: { type: 'string' } }),
      ),
    },
    [
      'copy',
      'reprint',
      'merchant',
      'terminalId',
      'operatorId',
      'transaction',
      'card',
      'batch',
      'stan',
      'rrn',
      'authCode',
      'date',
      'time',
      'timeZone',
      'amount',
      'original',
      'chip',
      'signature',
    ],
    {
      description:
        "What a receipt says, as JSON for the CRM. Card data: the masked PAN, or a device token's last fours; never more.",
    },
  ),
  BatchState: {
    type: 'string',
    enum: ['open', 'closing', 'uploading', 'settled'],
    description:
      'Where a batch close stands (docs/reconciliation.md); every step is journaled and resumable.',
  },
  BatchRecord: object(
    {
      terminalId: { type: 'string' },
      batch: { type: 'string' },
      state: ref('BatchState'),
      totals: nullable({
        type: 'object',
        description:
          'Field 48 of the 0500: {domestic, foreign}, each {debitAmount, debitCount, creditAmount, creditCount}.',
      }),
      result: nullable({ type: 'string', enum: ['balanced', 'unbalanced'] }),
      hostResult: nullable({ type: 'object', description: 'The 0510 result digit of each side.' }),
      responseCode: nullable({ type: 'string' }),
      hostDate: nullable({ type: 'string', description: 'Field 15 of the 0510 (MMDD).' }),
      uploadCount: nullable({ type: 'integer' }),
      tcUploadCount: nullable({ type: 'integer' }),
      resettleResult: nullable({ type: 'object' }),
      pendingReversals: { type: 'integer', minimum: 0 },
      pansErased: nullable({ type: 'integer' }),
      nextBatch: nullable({ type: 'string' }),
      operatorId: nullable({ type: 'string' }),
      startedAt: { type: 'string' },
      closedAt: nullable({ type: 'string' }),
      settledAt: nullable({ type: 'string' }),
    },
    [
      'terminalId',
      'batch',
      'state',
      'totals',
      'result',
      'hostResult',
      'responseCode',
      'hostDate',
      'uploadCount',
      'tcUploadCount',
      'resettleResult',
      'pendingReversals',
      'pansErased',
      'nextBatch',
      'operatorId',
      'startedAt',
      'closedAt',
      'settledAt',
    ],
    { description: "A batch's settlement record (docs/reconciliation.md)." },
  ),
};

export interface MethodSpec {
  summary: string;
  /** Allowed before `session.hello`. */
  beforeHello: boolean;
  params: JsonSchema;
  result: JsonSchema;
  /** Application error codes this method may return (besides unauthorized, invalid_params, internal_error). */
  errors: ApiErrorCode[];
}

const selector = object({ terminalId: ref('TerminalId') });
const paymentRef = object({ paymentId: ref('PaymentId'), operatorId: ref('OperatorId') }, ['paymentId']);
const saleLike = object(
  {
    idempotencyKey: ref('IdempotencyKey'),
    orderId: ref('OrderId'),
    amount: ref('Amount'),
    currency: ref('Currency'),
    operatorId: ref('OperatorId'),
    terminalId: ref('TerminalId'),
    description: text(
      0,
      200,
      "Free text for the CRM's own use; accepted, not sent to the acquirer and not stored (yet).",
    ),
  },
  ['idempotencyKey', 'orderId', 'amount', 'currency'],
);
const submitErrors: ApiErrorCode[] = [
  'idempotency_conflict',
  'reader_busy',
  'reader_not_connected',
  'unknown_terminal',
  'reversal_pending',
];

export const METHODS: Record<MethodName, MethodSpec> = {
  'session.hello': {
    summary:
      'Authorise the session with a token (the token file, or one from session.pair). Must be the first call; the socket closes when it does not come within the hello deadline. A wrong token closes the socket (4401).',
    beforeHello: true,
    params: object(
      {
        token: text(1, 256, "The token file's content, or a token from session.pair."),
        operatorId: ref('OperatorId'),
        client: text(0, 100, 'Free text for the logs, e.g. "crm-web 3.2".'),
      },
      ['token'],
    ),
    result: object(
      {
        sessionId: { type: 'string' },
        protocolVersion: { type: 'integer', const: PROTOCOL_VERSION },
        serverVersion: { type: 'string' },
        lastSeq: {
          type: 'integer',
          minimum: 0,
          description: 'The last durable event seq when the session was authorised.',
        },
        operatorId: { type: 'string' },
        currency: { type: 'string' },
      },
      ['sessionId', 'protocolVersion', 'serverVersion', 'lastSeq', 'operatorId', 'currency'],
    ),
    errors: ['unauthorized'],
  },
  'session.pair': {
    summary:
      "Exchange a one-time pairing code (shown by `posbridge pair` or the reader: 6 digits, valid 3 minutes, single use) for a token bound to this page's Origin. Allowed before hello; call session.hello with the token afterwards. Five wrong codes within a minute, from any connection, void the code (pairing_rate_limited).",
    beforeHello: true,
    params: object({ code: text(1, 32, 'The one-time code the operator typed.') }, ['code']),
    result: object({ token: { type: 'string' } }, ['token']),
    errors: ['pairing_unavailable', 'pairing_code_invalid', 'pairing_rate_limited'],
  },
  'terminal.list': {
    summary:
      'The card readers and integrated terminals the daemon knows, and the scan-to-pay providers it is configured for (qrProviders: payment.qr works with these methods; they need no connect).',
    beforeHello: false,
    params: object({}),
    result: object(
      {
        terminals: { type: 'array', items: ref('Terminal') },
        qrProviders: { type: 'array', items: ref('QrProvider') },
      },
      ['terminals'],
    ),
    errors: ['terminal_error'],
  },
  'terminal.connect': {
    summary: 'Connect a reader (the default one when terminalId is omitted).',
    beforeHello: false,
    params: selector,
    result: ref('Terminal'),
    errors: ['unknown_terminal', 'terminal_error'],
  },
  'terminal.disconnect': {
    summary: 'Disconnect a reader.',
    beforeHello: false,
    params: selector,
    result: ref('Terminal'),
    errors: ['unknown_terminal', 'terminal_error', 'reader_busy'],
  },
  'terminal.status': {
    summary: "One reader's state.",
    beforeHello: false,
    params: selector,
    result: ref('Terminal'),
    errors: ['unknown_terminal', 'terminal_error'],
  },
  'payment.sale': {
    summary:
      'Take a card payment. Returns at once with the payment id; progress follows as payment.event notifications.',
    beforeHello: false,
    params: saleLike,
    result: ref('Submitted'),
    errors: submitErrors,
  },
  'payment.qr': {
    summary:
      "Scan-to-pay (Alipay, WeChat Pay) on an order: without authCode a QR is created for the page to show (a qr event and payment.get carry its content and expiry); with authCode the customer's payment code is charged. Returns at once; the payment ends completed when paid, cancelled when the QR expires or the operator cancels. Refund it with payment.refund like a card payment. docs/qr.md.",
    beforeHello: false,
    params: object(
      {
        idempotencyKey: ref('IdempotencyKey'),
        orderId: ref('OrderId'),
        amount: ref('Amount'),
        currency: ref('Currency'),
        operatorId: ref('OperatorId'),
        method: { type: 'string', enum: ['alipay', 'wechat'], description: 'The scan-to-pay provider.' },
        authCode: {
          type: 'string',
          pattern: '^[0-9]{16,24}$',
          description:
            "The customer's payment code (typed, or from a barcode scanner); omit it to show a QR. Never stored or logged.",
        },
      },
      ['idempotencyKey', 'orderId', 'amount', 'currency', 'method'],
    ),
    result: ref('Submitted'),
    errors: [
      ...submitErrors.filter((c) => c !== 'reader_busy' && c !== 'reader_not_connected'),
      'not_supported_by_terminal',
    ],
  },
  'payment.preauth': {
    summary:
      'Place a hold (pre-authorisation); capture it later with payment.capture or release it with payment.void.',
    beforeHello: false,
    params: saleLike,
    result: ref('Submitted'),
    errors: submitErrors,
  },
  'payment.balance': {
    summary:
      'Balance inquiry (reads the card; moves no money). The balance is in payment.get once completed.',
    beforeHello: false,
    params: object(
      {
        idempotencyKey: ref('IdempotencyKey'),
        orderId: ref('OrderId'),
        operatorId: ref('OperatorId'),
        terminalId: ref('TerminalId'),
      },
      ['idempotencyKey'],
    ),
    result: ref('Submitted'),
    errors: submitErrors,
  },
  'payment.capture': {
    summary:
      'Capture a completed pre-auth (at most the configured percentage of the hold, 115 % by default).',
    beforeHello: false,
    params: object(
      {
        paymentId: ref('PaymentId'),
        amount: ref('Amount'),
        idempotencyKey: ref('IdempotencyKey'),
        operatorId: ref('OperatorId'),
      },
      ['paymentId', 'amount', 'idempotencyKey'],
    ),
    result: ref('Submitted'),
    errors: [
      'unknown_payment',
      'wrong_state',
      'amount_exceeds_original',
      'idempotency_conflict',
      'reversal_pending',
    ],
  },
  'payment.void': {
    summary:
      'Void a completed sale or capture in the current batch (a pre-auth: release the hold). Creates a new payment that references the original.',
    beforeHello: false,
    params: object(
      {
        paymentId: ref('PaymentId'),
        idempotencyKey: ref('IdempotencyKey'),
        operatorId: ref('OperatorId'),
        approvalCode: ref('ApprovalCode'),
        cardPresent: { type: 'boolean', description: 'Read the card and check it is the original card.' },
        terminalId: ref('TerminalId'),
      },
      ['paymentId', 'idempotencyKey'],
    ),
    result: ref('Submitted'),
    errors: [
      'unknown_payment',
      'wrong_state',
      'void_not_same_batch',
      'supervisor_approval_required',
      'supervisor_approval_invalid',
      'idempotency_conflict',
      'reader_busy',
      'reader_not_connected',
      'reversal_pending',
    ],
  },
  'payment.refund': {
    summary:
      'Refund part or all of a completed sale or capture. Creates a new payment that references the original; refunds never exceed what was captured.',
    beforeHello: false,
    params: object(
      {
        paymentId: ref('PaymentId'),
        amount: ref('Amount'),
        idempotencyKey: ref('IdempotencyKey'),
        operatorId: ref('OperatorId'),
        approvalCode: ref('ApprovalCode'),
        cardPresent: {
          type: 'boolean',
          description:
            "Read the card (needed once the original's card number is no longer kept: card_required).",
        },
        terminalId: ref('TerminalId'),
      },
      ['paymentId', 'amount', 'idempotencyKey'],
    ),
    result: ref('Submitted'),
    errors: [
      'unknown_payment',
      'wrong_state',
      'amount_exceeds_refundable',
      'card_required',
      'supervisor_approval_required',
      'supervisor_approval_invalid',
      'idempotency_conflict',
      'reader_busy',
      'reader_not_connected',
      'reversal_pending',
    ],
  },
  'payment.get': {
    summary: 'A payment by its id or by the idempotency key it was created with.',
    beforeHello: false,
    params: object({ paymentId: ref('PaymentId'), idempotencyKey: ref('IdempotencyKey') }, [], {
      minProperties: 1,
      maxProperties: 1,
      description: 'Exactly one of paymentId, idempotencyKey.',
    }),
    result: ref('Payment'),
    errors: ['unknown_payment'],
  },
  'payment.list': {
    summary: 'Recent payments, newest first.',
    beforeHello: false,
    params: object({ limit: { type: 'integer', minimum: 1, maximum: 200 } }),
    result: object({ payments: { type: 'array', items: ref('Payment') } }, ['payments']),
    errors: [],
  },
  'payment.cancel': {
    summary:
      'Cancel a payment; it wins or loses as a whole. Before the card is read: cancelled, nothing sent. Card read, at the host or approved: the cancel is recorded (cancelRequested) and honoured at the next step: nothing is sent if nothing was yet, an approval is reversed, a decline stays declined; it never ends completed. A partial approval: declined and reversed. Reversing, declined, failed, cancelled, reversed: returned unchanged. Completed: already_completed (void or refund it).',
    beforeHello: false,
    params: paymentRef,
    result: ref('Payment'),
    errors: ['unknown_payment', 'already_completed', 'wrong_state'],
  },
  'payment.acceptPartial': {
    summary:
      'Accept a partial approval (state partially_approved): the card completes for the approved amount.',
    beforeHello: false,
    params: paymentRef,
    result: ref('Payment'),
    errors: ['unknown_payment', 'wrong_state'],
  },
  'payment.declinePartial': {
    summary: 'Decline a partial approval: the approved part is reversed.',
    beforeHello: false,
    params: paymentRef,
    result: ref('Payment'),
    errors: ['unknown_payment', 'wrong_state'],
  },
  'order.get': {
    summary:
      "An order's payments and totals: captured, refunded, net, open holds. An unknown order is empty.",
    beforeHello: false,
    params: object({ orderId: ref('OrderId') }, ['orderId']),
    result: ref('OrderSummary'),
    errors: [],
  },
  'events.replay': {
    summary:
      'Durable events after sinceSeq, from the journal, in seq order (at most `limit`; ask again while `more`). Call it after a reconnect with the last seq you saw.',
    beforeHello: false,
    params: object(
      {
        sinceSeq: { type: 'integer', minimum: 0 },
        limit: { type: 'integer', minimum: 1, maximum: 1000 },
      },
      ['sinceSeq'],
    ),
    result: object(
      {
        events: { type: 'array', items: ref('PaymentEvent') },
        lastSeq: { type: 'integer', minimum: 0 },
        more: { type: 'boolean' },
      },
      ['events', 'lastSeq', 'more'],
    ),
    errors: [],
  },
  'receipt.get': {
    summary:
      "A completed payment's receipt, merchant or customer copy: text (32 or 48 columns, a CJK character counts two), an HTML fragment (escaped; the merchant copy embeds the signature), or JSON. Marked reprint once that copy has been printed.",
    beforeHello: false,
    params: object(
      {
        paymentId: ref('PaymentId'),
        copy: ref('ReceiptCopy'),
        format: { type: 'string', enum: ['text', 'html', 'json'] },
        width: { type: 'integer', enum: [32, 48], description: 'Text only; default the printer width (32).' },
      },
      ['paymentId', 'copy', 'format'],
    ),
    result: object(
      {
        paymentId: { type: 'string' },
        copy: ref('ReceiptCopy'),
        format: { type: 'string', enum: ['text', 'html', 'json'] },
        reprint: { type: 'boolean' },
        printCount: {
          type: 'integer',
          minimum: 0,
          description: 'Times this copy was printed on the reader.',
        },
        text: { type: 'string', description: 'format text: the lines, joined by \\n.' },
        html: { type: 'string', description: 'format html: a <section class="posbridge-receipt"> fragment.' },
        receipt: ref('Receipt'),
      },
      ['paymentId', 'copy', 'format', 'reprint', 'printCount'],
    ),
    errors: ['unknown_payment', 'wrong_state'],
  },
  'receipt.print': {
    summary:
      "Print a receipt on the card reader's printer and journal it; later prints of the same copy carry the reprint mark. Without paymentId: reprint the last receipt printed.",
    beforeHello: false,
    params: object({
      paymentId: ref('PaymentId'),
      copy: ref('ReceiptCopy'),
      operatorId: ref('OperatorId'),
    }),
    result: object(
      {
        paymentId: { type: 'string' },
        copy: ref('ReceiptCopy'),
        reprint: { type: 'boolean' },
        printCount: { type: 'integer', minimum: 1, description: 'Prints of this copy, this one included.' },
        lines: { type: 'integer', minimum: 1 },
      },
      ['paymentId', 'copy', 'reprint', 'printCount', 'lines'],
    ),
    errors: ['unknown_payment', 'wrong_state', 'reader_busy', 'reader_not_connected', 'print_failed'],
  },
  'payment.signature': {
    summary:
      "Keep the cardholder's signature with a completed payment (shown on the merchant copy) and, where the acquirer takes electronic signatures, queue its upload (store and forward). At most 128 KiB as sent. The same image again changes nothing.",
    beforeHello: false,
    params: object(
      {
        paymentId: ref('PaymentId'),
        svg: { type: 'string', description: 'The signature as an SVG document (drawing elements only).' },
        png: {
          type: 'string',
          description: 'The signature as a PNG, base64 (a data:image/png;base64, URI is accepted).',
        },
        operatorId: ref('OperatorId'),
      },
      ['paymentId'],
      { description: 'paymentId and exactly one of svg, png.' },
    ),
    result: object(
      {
        paymentId: { type: 'string' },
        format: { type: 'string', enum: ['svg', 'png'] },
        bytes: { type: 'integer', minimum: 1, description: 'The image as kept (decoded).' },
        sha256: { type: 'string' },
        existing: { type: 'boolean', description: 'This signature was already on file.' },
        upload: {
          type: 'string',
          enum: ['queued', 'sent', 'failed', 'none'],
          description: 'The upload to the acquirer; none: the acquirer takes no electronic signatures.',
        },
      },
      ['paymentId', 'format', 'bytes', 'sha256', 'existing', 'upload'],
    ),
    errors: [
      'unknown_payment',
      'wrong_state',
      'signature_too_large',
      'signature_invalid',
      'signature_exists',
    ],
  },
  'settlement.run': {
    summary:
      'Close the current batch (0500/0510, batch upload when unbalanced), or resume an interrupted close. Answers at once; progress follows as payment.event notifications of type settlement.state (paymentId null). With wait: true, answers when the close ends.',
    beforeHello: false,
    params: object({
      operatorId: ref('OperatorId'),
      wait: { type: 'boolean', description: 'Answer when the close ends (default false).' },
    }),
    result: object(
      {
        terminalId: { type: 'string' },
        batch: { type: 'string' },
        state: ref('BatchState'),
        resumed: { type: 'boolean', description: 'An interrupted close was resumed (or one is running).' },
        outcome: {
          type: 'string',
          enum: ['settled', 'incomplete'],
          description: 'With wait: incomplete means call again to resume (stoppedReason says why).',
        },
        stoppedReason: { type: 'string' },
        settlement: ref('BatchRecord'),
      },
      ['terminalId', 'batch', 'state', 'resumed'],
    ),
    errors: ['batch_busy', 'settlement_unavailable'],
  },
  'settlement.report': {
    summary:
      "A batch's settlement (default the last settled), the latest reconciliation run (or runId), and the open items (pending reversals that met a batch boundary). format csv adds the reconciliation items as CSV.",
    beforeHello: false,
    params: object({
      batch: { type: 'string', pattern: '^[0-9]{1,6}$' },
      runId: { type: 'integer', minimum: 1 },
      format: { type: 'string', enum: ['json', 'csv'] },
    }),
    result: object(
      {
        terminalId: { type: 'string' },
        currentBatch: { type: 'string' },
        settlement: nullable(ref('BatchRecord')),
        reconciliation: nullable({
          type: 'object',
          description: 'The reconciliation report (docs/reconciliation.md, "Sample report").',
        }),
        openItems: { type: 'array', items: { type: 'object' } },
        csv: { type: 'string' },
      },
      ['terminalId', 'currentBatch', 'settlement', 'reconciliation', 'openItems'],
    ),
    errors: ['unknown_batch', 'settlement_unavailable'],
  },
};

export const NOTIFICATIONS: Record<string, { summary: string; params: JsonSchema }> = {
  'payment.event': {
    summary:
      "A payment's progress: every durable state transition (with its journal seq) and the reader's transient prompts. Sent to every authorised session.",
    params: ref('PaymentEvent'),
  },
  'terminal.event': {
    summary: "A card reader's state changed.",
    params: ref('Terminal'),
  },
};

/** The error codes: JSON-RPC code, whether retrying the same call can succeed, meaning. */
export const ERROR_CODES: Record<ApiErrorCode, { rpc: number; retryable: boolean; meaning: string }> = {
  parse_error: { rpc: -32700, retryable: false, meaning: 'The frame is not JSON.' },
  invalid_request: {
    rpc: -32600,
    retryable: false,
    meaning:
      'Not a JSON-RPC 2.0 request: a batch array, no `id` (notifications are not accepted), a binary frame, ...',
  },
  method_not_found: { rpc: -32601, retryable: false, meaning: 'No such method.' },
  invalid_params: {
    rpc: -32602,
    retryable: false,
    meaning:
      "The params break the method's schema (or the terminal's rules, e.g. its currency); `path` names the field.",
  },
  unauthorized: {
    rpc: -32000,
    retryable: false,
    meaning: 'No session.hello yet, a wrong or revoked token, or a token bound to another Origin.',
  },
  pairing_unavailable: { rpc: -32000, retryable: false, meaning: 'This daemon does not pair pages.' },
  pairing_code_invalid: {
    rpc: -32000,
    retryable: false,
    meaning: 'Wrong, expired or already used pairing code.',
  },
  too_many_requests: { rpc: -32000, retryable: true, meaning: 'Too many calls in flight on this socket.' },
  internal_error: {
    rpc: -32000,
    retryable: false,
    meaning: 'A bug; the daemon logged it. Check the payment with payment.get.',
  },
  unknown_payment: {
    rpc: -32000,
    retryable: false,
    meaning: 'No payment with this id (or idempotency key).',
  },
  unknown_terminal: { rpc: -32000, retryable: false, meaning: 'No reader with this terminalId.' },
  reader_not_connected: { rpc: -32000, retryable: true, meaning: 'The card reader is not connected.' },
  reader_busy: { rpc: -32000, retryable: true, meaning: 'The card reader is busy with another payment.' },
  terminal_error: { rpc: -32000, retryable: true, meaning: 'The reader could not be connected or queried.' },
  idempotency_conflict: {
    rpc: -32000,
    retryable: false,
    meaning: 'This idempotency key was used with different parameters.',
  },
  wrong_state: {
    rpc: -32000,
    retryable: false,
    meaning:
      'The payment is not in a state that allows this (e.g. refund of a declined sale, acceptPartial of a completed one).',
  },
  not_supported_by_terminal: {
    rpc: -32000,
    retryable: false,
    meaning: 'The connected terminal does not offer this operation (its capabilities are in terminal.list).',
  },
  already_completed: {
    rpc: -32000,
    retryable: false,
    meaning: 'The payment completed before the cancel came: void it (same batch) or refund it instead.',
  },
  amount_exceeds_refundable: { rpc: -32000, retryable: false, meaning: 'More than what is left to refund.' },
  amount_exceeds_original: {
    rpc: -32000,
    retryable: false,
    meaning: 'A capture above the allowed share of its pre-auth, or a void that is not for the full amount.',
  },
  void_not_same_batch: {
    rpc: -32000,
    retryable: false,
    meaning: 'The original is in a closed batch: refund instead.',
  },
  card_mismatch: { rpc: -32000, retryable: false, meaning: 'The card presented is not the original card.' },
  card_required: {
    rpc: -32000,
    retryable: false,
    meaning: 'The original card number is no longer kept: repeat with cardPresent: true.',
  },
  supervisor_approval_required: {
    rpc: -32000,
    retryable: false,
    meaning: 'This amount needs a supervisor approval code (approvalCode).',
  },
  supervisor_approval_invalid: {
    rpc: -32000,
    retryable: false,
    meaning: 'The approval code is not recognised.',
  },
  reversal_pending: {
    rpc: -32000,
    retryable: true,
    meaning: 'An earlier reversal has not reached the host yet; no new payment goes out before it does.',
  },
  pairing_rate_limited: {
    rpc: -32000,
    retryable: false,
    meaning:
      'Too many wrong pairing codes (from any connection): the code is void; run `posbridge pair` again after a minute.',
  },
  print_failed: {
    rpc: -32000,
    retryable: true,
    meaning: 'The reader did not print (no paper, no printer, an error).',
  },
  signature_too_large: {
    rpc: -32000,
    retryable: false,
    meaning: 'The signature is larger than 128 KiB as sent (SVG text, or PNG base64).',
  },
  signature_invalid: {
    rpc: -32000,
    retryable: false,
    meaning:
      'Not a PNG or an SVG of drawing elements (no scripts, handlers or links), or larger than 4096 x 4096.',
  },
  signature_exists: {
    rpc: -32000,
    retryable: false,
    meaning: 'A different signature is already on file for this payment.',
  },
  batch_busy: {
    rpc: -32000,
    retryable: true,
    meaning: 'Payments of the batch are still in flight: the batch cannot close yet (nothing was sent).',
  },
  unknown_batch: {
    rpc: -32000,
    retryable: false,
    meaning: 'No settlement for this batch, or no such reconciliation run.',
  },
  settlement_unavailable: { rpc: -32000, retryable: false, meaning: 'This daemon does not settle batches.' },
};

/** The whole protocol as one JSON Schema document (published as docs/protocol.schema.json). */
export function protocolSchema(): JsonSchema {
  const defs: Record<string, JsonSchema> = { ...DEFS };
  for (const [name, m] of Object.entries(METHODS)) {
    defs[`${name}.params`] = { description: m.summary, ...m.params };
    defs[`${name}.result`] = m.result;
  }
  for (const [name, n] of Object.entries(NOTIFICATIONS)) defs[`${name}.params`] = n.params;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'posbridge CRM protocol',
    description: `JSON-RPC 2.0 over ws://127.0.0.1:<port>/ws, protocol version ${PROTOCOL_VERSION}. $defs holds every method's <method>.params and <method>.result and every notification's <notification>.params.`,
    $defs: defs,
  };
}
