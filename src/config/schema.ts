/**
 * JSON Schema of config/tollgate.yaml. Ajv compiles it once, fills defaults and reports the path of a bad field.
 * `npx tollgate config-schema` prints it for editors (config/tollgate.schema.json is generated from it).
 */
const name = { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$' } as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const ms = { type: 'integer', minimum: 1 } as const;
const modelList = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true } as const;

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Tollgate configuration',
  type: 'object',
  additionalProperties: false,
  required: ['providers', 'models', 'orgs'],
  properties: {
    listener: {
      type: 'object', additionalProperties: false, default: {},
      properties: { address: { type: 'string', default: '0.0.0.0' }, port: { ...port, default: 10000 } },
    },
    envoy: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        admin: {
          type: 'object', additionalProperties: false, default: {},
          properties: { address: { type: 'string', default: '127.0.0.1' }, port: { ...port, default: 9901 } },
        },
        failure_mode_allow: { type: 'boolean', default: false },
        message_timeout_ms: { ...ms, default: 2000 },
        max_request_body_bytes: { ...ms, default: 4 * 1024 * 1024 },
        max_response_body_bytes: { ...ms, default: 32 * 1024 * 1024 },
        upstream_timeout_ms: { ...ms, default: 120_000 },
        stream_idle_timeout_ms: { ...ms, default: 60_000 },
        connect_timeout_ms: { ...ms, default: 5_000 },
        config_dir: { type: 'string', default: 'envoy' },
      },
    },
    extproc: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        address: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 50051 },
        /** A Unix socket instead of address:port, for a Tollgate beside its Envoy (no TCP on the hot path). */
        socket_path: { type: 'string', minLength: 1 },
        /** Where Envoy finds Tollgate processes, when several serve one Envoy (default: address:port). */
        endpoints: {
          type: 'array', minItems: 1,
          items: {
            type: 'object', additionalProperties: false, required: ['address', 'port'],
            properties: { address: { type: 'string' }, port },
          },
        },
      },
    },
    admin: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        address: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 8088 },
        token_env: { type: 'string', default: 'TOLLGATE_ADMIN_TOKEN' },
      },
    },
    store: {
      default: { type: 'memory' },
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { const: 'memory' } } },
        {
          type: 'object', additionalProperties: false, required: ['type'],
          properties: { type: { const: 'redis' }, url: { type: 'string' }, url_env: { type: 'string' } },
        },
      ],
    },
    logging: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info' },
      },
    },
    providers: {
      type: 'object',
      propertyNames: name,
      minProperties: 1,
      additionalProperties: {
        type: 'object', additionalProperties: false, required: ['type', 'base_url'],
        properties: {
          type: { enum: ['openai'] },
          base_url: { type: 'string', pattern: '^https?://[^/]+' },
          api_key_env: { type: 'string' },
          api_key_file: { type: 'string' },
          connect_timeout_ms: ms,
        },
      },
    },
    models: {
      type: 'object',
      propertyNames: { type: 'string', minLength: 1, maxLength: 256 },
      additionalProperties: {
        type: 'object', additionalProperties: false, required: ['provider'],
        properties: {
          provider: { type: 'string' },
          kind: { enum: ['chat', 'embeddings'], default: 'chat' },
          upstream_model: { type: 'string', minLength: 1 },
        },
      },
    },
    orgs: {
      type: 'object',
      propertyNames: name,
      additionalProperties: {
        type: 'object', additionalProperties: false, required: ['teams'],
        properties: {
          teams: {
            type: 'object',
            propertyNames: name,
            additionalProperties: {
              type: 'object', additionalProperties: false, required: ['apps'],
              properties: {
                models: modelList,
                apps: {
                  type: 'object',
                  propertyNames: name,
                  additionalProperties: {
                    type: ['object', 'null'], additionalProperties: false, properties: { models: modelList },
                  },
                },
              },
            },
          },
        },
      },
    },
    keys: {
      type: 'array', default: [],
      items: {
        type: 'object', additionalProperties: false, required: ['org', 'team', 'app'],
        oneOf: [{ required: ['sha256'] }, { required: ['key_env'] }],
        properties: {
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          key_env: { type: 'string' },
          org: { type: 'string' }, team: { type: 'string' }, app: { type: 'string' },
          name: { type: 'string' },
        },
      },
    },
    demo: {
      type: 'object', additionalProperties: false, required: ['org', 'team', 'app'],
      properties: { org: { type: 'string' }, team: { type: 'string' }, app: { type: 'string' } },
    },
  },
} as const;
