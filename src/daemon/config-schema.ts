/** JSON Schema of the daemon configuration file (`posbridge start --config <file>`). */
export const CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'posbridge daemon configuration',
  type: 'object',
  additionalProperties: false,
  required: ['terminalId', 'merchantId'],
  // A card reader with the acquirer host (posbridge builds ISO 8583), or an integrated terminal (ZVT).
  anyOf: [{ required: ['host', 'readers'] }, { required: ['zvt'] }],
  properties: {
    $schema: { type: 'string' },
    port: {
      type: 'integer',
      minimum: 0,
      maximum: 65535,
      description: 'Loopback HTTP/WebSocket port (default 7583; 0 = any free port).',
    },
    stateDir: {
      type: 'string',
      description:
        'Journal, keys, lock and token file. POSBRIDGE_HOME (or start --home) overrides it, as for every other command; default ~/.posbridge.',
    },
    terminalId: { type: 'string', pattern: '^[\\x20-\\x7e]{8}$', description: 'Field 41: 8 characters.' },
    merchantId: { type: 'string', pattern: '^[\\x20-\\x7e]{15}$', description: 'Field 42: 15 characters.' },
    merchantName: { type: 'string', maxLength: 80 },
    currency: { type: 'string', pattern: '^[0-9]{3}$' },
    host: {
      type: 'object',
      additionalProperties: false,
      required: ['address', 'port'],
      properties: {
        address: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        dialect: { type: 'string', minLength: 1 },
        tls: {
          type: 'object',
          additionalProperties: false,
          properties: { caFile: { type: 'string' }, servername: { type: 'string' } },
        },
        framing: {
          type: 'object',
          additionalProperties: false,
          properties: {
            lengthHeader: { enum: ['none', '2-byte-binary', '2-byte-bcd', '4-byte-ascii'] },
            tpdu: { type: ['string', 'null'], pattern: '^[0-9A-Fa-f]{10}$' },
            header: { type: ['string', 'null'], pattern: '^([0-9A-Fa-f]{2})*$' },
            swapTpdu: { type: 'boolean' },
          },
        },
        keyLayout: { enum: ['single', 'double', 'double-mak8'] },
        macAlgorithm: { enum: ['cup-ecb', 'x9.19', 'x9.9'] },
        security: {
          enum: ['reader', 'software'],
          description:
            'reader: the card reader holds the keys and computes MACs (default). software: posbridge does, with masterKeyFile.',
        },
        masterKeyFile: { type: 'string' },
      },
    },
    readers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['transport', 'pairedSerials'],
        properties: {
          id: { type: 'string' },
          transport: { enum: ['serial', 'tcp', 'ble'] },
          path: { type: 'string' },
          host: { type: 'string' },
          port: { type: 'integer', minimum: 1, maximum: 65535 },
          namePrefix: { type: 'string' },
          profile: { type: 'string' },
          pairedSerials: { type: 'array', items: { type: 'string' } },
          expectedKcv: {
            type: 'object',
            additionalProperties: { type: 'string', pattern: '^[0-9A-F]{6,8}$' },
          },
        },
      },
    },
    keyStore: {
      type: 'object',
      additionalProperties: false,
      required: ['kind'],
      description:
        'Where the key-encrypting key lives, outside the state directory: os (Keychain, Credential Manager, Secret Service; the default) or file (path outside the state directory). POSBRIDGE_KEY_FILE overrides it with a file.',
      properties: {
        kind: { enum: ['os', 'file'] },
        path: { type: 'string', minLength: 1 },
      },
      if: { properties: { kind: { const: 'file' } } },
      then: { required: ['path'] },
    },
    qr: {
      type: 'object',
      additionalProperties: false,
      description:
        'Scan-to-pay providers (docs/qr.md). Key files sit outside the state directory, mode 0600; the configuration names them, never holds keys.',
      properties: {
        alipay: {
          type: 'object',
          additionalProperties: false,
          required: ['appId', 'appPrivateKeyFile', 'alipayPublicKeyFile'],
          properties: {
            appId: { type: 'string', minLength: 1 },
            gatewayUrl: { type: 'string', pattern: '^https?://' },
            appPrivateKeyFile: { type: 'string', minLength: 1 },
            alipayPublicKeyFile: { type: 'string', minLength: 1 },
            notifyUrl: { type: 'string', pattern: '^https?://' },
          },
        },
        wechat: {
          type: 'object',
          additionalProperties: false,
          required: [
            'mchid',
            'appid',
            'merchantPrivateKeyFile',
            'merchantSerialNo',
            'platformPublicKeys',
            'apiV3KeyFile',
            'notifyUrl',
          ],
          properties: {
            mchid: { type: 'string', minLength: 1 },
            appid: { type: 'string', minLength: 1 },
            baseUrl: { type: 'string', pattern: '^https?://' },
            merchantPrivateKeyFile: { type: 'string', minLength: 1 },
            merchantSerialNo: { type: 'string', minLength: 1 },
            platformPublicKeys: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
            apiV3KeyFile: { type: 'string', minLength: 1 },
            apiV2KeyFile: { type: 'string', minLength: 1 },
            notifyUrl: { type: 'string', pattern: '^https?://' },
          },
        },
        expirySeconds: {
          type: 'integer',
          minimum: 30,
          maximum: 7200,
          description: 'How long a shown QR stays payable (default 300).',
        },
        pollMs: {
          type: 'integer',
          minimum: 100,
          description: 'How often a waiting payment is asked about (default 2000).',
        },
      },
    },
    zvt: {
      type: 'object',
      additionalProperties: false,
      description:
        'An integrated ZVT terminal (it reads the card and authorises with its own acquirer): tcp or serial, its password. docs/zvt.md.',
      required: ['password'],
      properties: {
        tcp: {
          type: 'object',
          additionalProperties: false,
          required: ['host'],
          properties: {
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Default 20007.' },
          },
        },
        serial: {
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: {
            path: { type: 'string', minLength: 1 },
            baudRate: { enum: [9600, 19200, 38400, 57600, 115200] },
          },
        },
        password: { type: 'string', pattern: '^[0-9]{6}$', description: 'The terminal password, 6 digits.' },
        currency: {
          type: 'string',
          pattern: '^[0-9]{3}$',
          description: 'ISO 4217 numeric sent at registration.',
        },
        capabilities: {
          type: 'array',
          items: { enum: ['sale', 'refund', 'void', 'preauth', 'capture', 'preauth_void'] },
          description: 'What this terminal may do (default all); anything else is not_supported_by_terminal.',
        },
        textBlocks: {
          type: 'boolean',
          description: 'Receipts as text blocks (06 D3) rather than print lines.',
        },
        charset: {
          enum: ['cp437', 'latin1'],
          description: 'Receipt text encoding (ZVT default cp437; many terminals send ISO 8859-1).',
        },
      },
      oneOf: [{ required: ['tcp'] }, { required: ['serial'] }],
    },
    allowedOrigins: { type: 'array', items: { type: 'string', pattern: '^https?://[^/]+$' } },
    defaultOperatorId: { type: 'string', minLength: 1, maxLength: 64 },
    webhook: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'secret'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        secret: { type: 'string', minLength: 16 },
      },
    },
    supervisor: {
      type: 'object',
      additionalProperties: false,
      properties: {
        threshold: { type: 'integer', minimum: 0 },
        codes: { type: 'object', additionalProperties: { type: 'string', minLength: 4 } },
      },
    },
    timers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        hostConnectMs: { type: 'integer', minimum: 1 },
        hostResponseMs: { type: 'integer', minimum: 1 },
        hostIdleEchoMs: { type: 'integer', minimum: 0 },
        cardTimeoutSeconds: { type: 'integer', minimum: 1 },
        helloDeadlineMs: { type: 'integer', minimum: 1 },
        safPollMs: { type: 'integer', minimum: 1 },
        reversalBackoffInitialMs: { type: 'integer', minimum: 1 },
        reversalBackoffMaxMs: { type: 'integer', minimum: 1 },
      },
    },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  },
} as const;

/**
 * The schema as docs/config.schema.json holds it (for editors: a configuration with
 * `"$schema": "<path>/config.schema.json"` is checked and completed as it is typed). Regenerate with
 * `npx tsx -e "import('./src/daemon/config-schema.ts').then((m) => process.stdout.write(m.configSchemaJson()))" > docs/config.schema.json`.
 */
export function configSchemaJson(): string {
  return `${JSON.stringify(CONFIG_SCHEMA, null, 2)}\n`;
}
