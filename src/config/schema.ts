/**
 * JSON Schema of config/tollgate.yaml. Ajv compiles it once, fills defaults and reports the path of a bad field.
 * `npx tollgate config-schema` prints it for editors (config/tollgate.schema.json is generated from it).
 */
import { cacheConfigSchema } from '../cache/config.ts';
import { externalGuardrailsSchema } from '../guardrails/external/config.ts';
import { guardrailsConfigSchema } from '../guardrails/output/config.ts';
import { ledgerConfigSchema } from '../ledger/config.ts';
import { anthropicProviderSchema } from '../providers/anthropic/config-schema.ts';
import { azureProviderSchema } from '../providers/azure/config-schema.ts';
import { policyConfigSchema } from '../policy/config.ts';
import { quotasSchema } from '../quota/config.ts';
import { tracingConfigSchema } from '../observability/tracing-config.ts';

const name = { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$' } as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const ms = { type: 'integer', minimum: 1 } as const;
const modelList = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true } as const;
const nameList = { type: 'array', items: name, uniqueItems: true } as const;
/** Where a tenant field of a JWT comes from: a claim (dotted path for nested claims) or a fixed value. */
const claimSource = {
  oneOf: [
    { type: 'string', pattern: '^[A-Za-z0-9_:/-]+(\\.[A-Za-z0-9_:/-]+)*$' },
    { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'string', minLength: 1 } } },
  ],
} as const;
/** Client headers forwarded to providers by default: content negotiation, the client's identity, OpenAI's org headers. */
export const DEFAULT_FORWARD_HEADERS = [
  'accept', 'user-agent', 'openai-organization', 'openai-project',
  'x-stainless-lang', 'x-stainless-package-version', 'x-stainless-runtime', 'x-stainless-runtime-version',
  'x-stainless-os', 'x-stainless-arch', 'x-stainless-retry-count', 'x-stainless-timeout',
] as const;
/** Every non-empty subset of a chain becomes an Envoy cluster (see src/envoy/chains.ts): keep chains short. */
export const MAX_CHAIN_LENGTH = 5;

const commonProviderFields = ['type', 'base_url', 'extra_base_urls', 'api_key_env', 'api_key_file', 'region', 'connect_timeout_ms', 'tls'];
/** The fields each provider type adds to the common ones, with their defaults. */
const providerTypeFields: Record<string, { readonly required?: readonly string[]; readonly properties: Record<string, object> }> = {
  openai: {
    properties: {
      // Whether the server also speaks the Responses API (POST /responses): /v1/responses requests then pass through
      // in that dialect; otherwise they are translated to chat completions. Default: true for api.openai.com only.
      responses_api: { type: 'boolean' },
    },
  },
  azure: azureProviderSchema,
  anthropic: anthropicProviderSchema,
  gemini: { properties: {} },
};
const providerTypeRules = Object.entries(providerTypeFields).map(([type, fields]) => ({
  if: { properties: { type: { const: type } } },
  then: {
    ...(fields.required ? { required: [...fields.required] } : {}),
    properties: fields.properties,
    propertyNames: { enum: [...commonProviderFields, ...Object.keys(fields.properties)] },
  },
}));

/** Same-provider retries: routing.retries (with defaults) and each model's overrides (without). */
function retriesSchema(withDefaults: boolean) {
  const field = (schema: object, value: number) => (withDefaults ? { ...schema, default: value } : schema);
  return {
    type: 'object', additionalProperties: false, ...(withDefaults ? { default: {} } : {}),
    properties: {
      /** Retries per provider after its first attempt; 0 turns them off. */
      max: field({ type: 'integer', minimum: 0, maximum: 5 }, DEFAULT_RETRIES.max),
      /** Exponential back-off with full jitter: retry n waits a random time below (2^n - 1) × base_interval_ms. */
      base_interval_ms: field(ms, DEFAULT_RETRIES.base_interval_ms),
      /** Longest back-off between two attempts. */
      max_interval_ms: field(ms, DEFAULT_RETRIES.max_interval_ms),
      /** A provider's Retry-After up to this long is waited for exactly; a longer one is not waited for. */
      retry_after_max_ms: field(ms, DEFAULT_RETRIES.retry_after_max_ms),
    },
  } as const;
}

const capabilityList = { type: 'array', items: { enum: ['tools', 'vision', 'json_schema', 'reasoning'] }, uniqueItems: true } as const;

export const DEFAULT_RETRIES = { max: 2, base_interval_ms: 50, max_interval_ms: 1000, retry_after_max_ms: 5000 } as const;

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Tollgate configuration',
  type: 'object',
  additionalProperties: false,
  required: ['providers', 'models', 'orgs'],
  properties: {
    listener: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        address: { type: 'string', default: '0.0.0.0' },
        port: { ...port, default: 10000 },
        /**
         * TLS on the listener (absent: plain HTTP). Envoy reads the files through SDS and watches `watch_dir`, so a
         * certificate rotated there (e.g. a Kubernetes Secret volume's atomic `..data` swap) is served to new
         * connections without a restart.
         */
        tls: {
          type: 'object', additionalProperties: false, required: ['cert_file', 'key_file'],
          properties: {
            /** PEM certificate chain, server certificate first. */
            cert_file: { type: 'string', minLength: 1 },
            /** PEM private key of that certificate. */
            key_file: { type: 'string', minLength: 1 },
            /** Directory whose moves make Envoy re-read the files (default: cert_file's directory). */
            watch_dir: { type: 'string', minLength: 1 },
            /** PEM bundle of the CAs that sign client certificates (mTLS); a presented certificate is verified. */
            client_ca_file: { type: 'string', minLength: 1 },
            /** Refuse clients without a certificate signed by client_ca_file. */
            require_client_cert: { type: 'boolean', default: false },
            min_version: { enum: ['TLSv1_2', 'TLSv1_3'], default: 'TLSv1_2' },
          },
        },
        /**
         * Proxies in front of Envoy (load balancers) whose X-Forwarded-For entries are trusted to find the client's
         * address (failed-authentication limits are per client address). 0: the connection's address.
         */
        trusted_proxy_hops: { type: 'integer', minimum: 0, maximum: 10, default: 0 },
      },
    },
    auth: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        /**
         * JWT/OIDC for apps, verified by Envoy's jwt_authn filter: a token from the `Authorization: Bearer` header
         * signed by one of these providers maps to a tenant through its claims. Virtual keys keep working beside it.
         */
        jwt: {
          type: 'object', additionalProperties: false, default: {},
          properties: {
            providers: {
              type: 'object', propertyNames: name, default: {},
              additionalProperties: {
                type: 'object', additionalProperties: false, required: ['issuer', 'claims'],
                oneOf: [{ required: ['jwks_file'] }, { required: ['jwks_uri'] }],
                properties: {
                  /** The `iss` every token must carry. */
                  issuer: { type: 'string', minLength: 1 },
                  /** Accepted `aud` values (empty: any audience). */
                  audiences: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
                  /** A JWKS file (Envoy reads it at start and on config reload). */
                  jwks_file: { type: 'string', minLength: 1 },
                  /** The JWKS URL (e.g. an OIDC provider's jwks_uri); Envoy fetches and caches it. */
                  jwks_uri: { type: 'string', pattern: '^https?://[^/]+' },
                  /** How long Envoy keeps the fetched JWKS. */
                  jwks_cache_seconds: { type: 'integer', minimum: 1, default: 600 },
                  /** CA bundle for an https jwks_uri (default: the system bundle). */
                  jwks_ca_file: { type: 'string', minLength: 1 },
                  /**
                   * Which claims name the tenant (dotted paths reach nested claims). A fixed value instead of a claim:
                   * `{ value: acme }`. `user` is optional (default `sub`).
                   */
                  claims: {
                    type: 'object', additionalProperties: false, required: ['org', 'team', 'app'],
                    properties: {
                      org: claimSource,
                      team: claimSource,
                      app: claimSource,
                      user: claimSource,
                    },
                  },
                  /** Clock skew allowed on exp/nbf. */
                  clock_skew_seconds: { type: 'integer', minimum: 0, maximum: 600, default: 60 },
                },
              },
            },
          },
        },
        /**
         * Failed authentications per client address: after `max_failures` within `window_seconds`, every request
         * from that address gets 429 (with Retry-After) until `block_seconds` have passed.
         */
        failure_limit: {
          type: 'object', additionalProperties: false, default: {},
          properties: {
            enabled: { type: 'boolean', default: true },
            max_failures: { type: 'integer', minimum: 1, default: 20 },
            window_seconds: { type: 'integer', minimum: 1, default: 60 },
            block_seconds: { type: 'integer', minimum: 1, default: 300 },
            /** Addresses tracked at once (oldest dropped first), so a flood of addresses cannot exhaust memory. */
            max_tracked_addresses: { type: 'integer', minimum: 100, default: 100_000 },
          },
        },
      },
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
        /**
         * Request body limits for paths starting with these prefixes, in place of max_request_body_bytes (e.g. a
         * larger one for `/v1/embeddings` batches, a smaller one for chat). The longest matching prefix applies.
         */
        max_request_body_bytes_by_path: {
          type: 'object', default: {},
          propertyNames: { pattern: '^/[A-Za-z0-9/_.-]*$' },
          additionalProperties: { type: 'integer', minimum: 1 },
        },
        max_response_body_bytes: { ...ms, default: 32 * 1024 * 1024 },
        upstream_timeout_ms: { ...ms, default: 120_000 },
        stream_idle_timeout_ms: { ...ms, default: 60_000 },
        connect_timeout_ms: { ...ms, default: 5_000 },
        config_dir: { type: 'string', default: 'envoy' },
        /**
         * A path on the listener that Envoy itself answers (200 while live, 503 while draining or failed), for a load
         * balancer's or Kubernetes' readiness probe without exposing Envoy's admin. Absent: no such path.
         */
        readiness_path: { type: 'string', pattern: '^/[A-Za-z0-9/_.-]*$' },
      },
    },
    extproc: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        address: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 50051 },
        /**
         * h2-lite: Tollgate's own minimal HTTP/2 server for Envoy's gRPC streams (src/extproc/h2-lite.ts), the least
         * CPU per request; http2: the gRPC method served on Node's HTTP/2 server; grpc-js: through @grpc/grpc-js.
         */
        transport: { enum: ['http2', 'grpc-js', 'h2-lite'], default: 'h2-lite' },
        /**
         * Envoy sends the request body right behind its headers (one ext_proc round trip per request less; the body
         * reaches providers chunked). Off by itself while any cache rule has stale_on_error or a default_response:
         * those need a processing-mode override, which Envoy ignores in this mode.
         */
        eager_request_body: { type: 'boolean', default: true },
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
        dashboard: {
          type: 'object', additionalProperties: false, default: {},
          properties: {
            enabled: { type: 'boolean', default: true },
            session_ttl_seconds: { type: 'integer', minimum: 60, maximum: 7 * 24 * 3600, default: 8 * 3600 },
            secure_cookie: { enum: ['auto', 'always'], default: 'auto' },
          },
        },
      },
    },
    requests: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        /** Deepest nesting of arrays/objects in a JSON body (the body itself is 1); deeper bodies get 400 json_too_deep. */
        max_json_depth: { type: 'integer', minimum: 2, maximum: 1000, default: 64 },
        /**
         * Values (objects, arrays, strings, numbers, booleans, nulls) in a JSON body; more get 400 json_too_many_values.
         * The default lets OpenAI's largest embeddings request through: 2,048 token arrays of 300,000 tokens in all.
         */
        max_json_values: { type: 'integer', minimum: 10, maximum: 10_000_000, default: 400_000 },
        /**
         * Client headers that are forwarded to providers besides what Tollgate sets itself (content-type, the
         * provider credential and version headers). Everything else the client sent stays at the gateway.
         */
        forward_headers: {
          type: 'array', uniqueItems: true,
          items: { type: 'string', pattern: '^[a-z0-9!#$%&\'*+.^_`|~-]+$' },
          default: [...DEFAULT_FORWARD_HEADERS],
        },
      },
    },
    /** The Responses API (POST /v1/responses): where `store: true` answers are kept for GET/DELETE and previous_response_id. */
    responses: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        /** Keep responses in the gateway's store (Redis, or memory for a one-machine run); off: store/previous_response_id get a 400. */
        store: { type: 'boolean', default: false },
        /** How long a stored response lives (default 30 days, as OpenAI keeps them). */
        ttl_seconds: { type: 'integer', minimum: 1, maximum: 31_536_000, default: 2_592_000 },
      },
    },
    store: {
      default: { type: 'memory' },
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { const: 'memory' } } },
        {
          type: 'object', additionalProperties: false, required: ['type'],
          properties: {
            type: { const: 'redis' }, url: { type: 'string' }, url_env: { type: 'string' },
            /**
             * How long the end phases of requests (settlement, cache store, final ledger entry: nothing a client
             * waits for) are collected into one pipeline; 0 sends each request's at once.
             */
            end_phase_batch_ms: { type: 'integer', minimum: 0, maximum: 100, default: 5 },
          },
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
        type: 'object', required: ['type', 'base_url'],
        properties: {
          type: { enum: ['openai', 'azure', 'anthropic', 'gemini'] },
          base_url: { type: 'string', pattern: '^https?://[^/]+' },
          /** More endpoints of the same provider (e.g. several vLLM replicas), load-balanced by Envoy. */
          extra_base_urls: { type: 'array', items: { type: 'string', pattern: '^https?://[^/]+' }, default: [] },
          api_key_env: { type: 'string' },
          api_key_file: { type: 'string' },
          region: { type: 'string', minLength: 1 },
          connect_timeout_ms: ms,
          tls: {
            type: 'object', additionalProperties: false,
            properties: {
              /** PEM bundle of the CAs to trust (default: the system bundle). */
              ca_file: { type: 'string', minLength: 1 },
              /** Name sent as SNI and required in the certificate (default: the base URL's host). */
              server_name: { type: 'string', minLength: 1 },
            },
          },
        },
        // Type-specific fields (below) are checked per type; anything else is a typo.
        allOf: providerTypeRules,
      },
    },
    models: {
      type: 'object',
      propertyNames: { type: 'string', minLength: 1, maxLength: 256 },
      additionalProperties: {
        type: 'object', additionalProperties: false,
        oneOf: [{ required: ['provider'] }, { required: ['targets'] }, { required: ['variants'] }, { required: ['route'] }],
        properties: {
          /** A model served by one provider… */
          provider: { type: 'string' },
          upstream_model: { type: 'string', minLength: 1 },
          /** …or an alias served by a fallback chain: tried in order, each provider with its own model name. */
          targets: {
            type: 'array', minItems: 1, maxItems: MAX_CHAIN_LENGTH,
            items: {
              type: 'object', additionalProperties: false, required: ['provider', 'model'],
              properties: {
                provider: { type: 'string' },
                model: { type: 'string', minLength: 1 },
                /** Share of the traffic among targets of the same priority (per endpoint of the provider). */
                weight: { type: 'integer', minimum: 1, maximum: 1000 },
                /** Targets with the same priority share the load; lower first (default: the target's position). */
                priority: { type: 'integer', minimum: 0, maximum: MAX_CHAIN_LENGTH - 1 },
                /** What this target can do (replaces the model's list). */
                capabilities: capabilityList,
                /** Its context window in tokens (replaces the model's). */
                context_window: { type: 'integer', minimum: 1 },
              },
            },
          },
          kind: { enum: ['chat', 'embeddings'], default: 'chat' },
          /** Cap on provider attempts per request, retries and fallbacks together (default: each target 1 + retries times). */
          max_attempts: { type: 'integer', minimum: 1, maximum: 30 },
          /** Same-provider retries of this model (overrides routing.retries field by field). */
          retries: retriesSchema(false),
          /**
           * What the model can do: requests that need tools, images (vision), response_format json_schema or
           * reasoning go only to targets that list it. Absent (here and on the target): not constrained.
           */
          capabilities: capabilityList,
          /** Context window in tokens: prompt + max_tokens must fit, or the target is skipped. */
          context_window: { type: 'integer', minimum: 1 },
          /**
           * An A/B test: the alias resolves to one of these models (each a model of this config), chosen by a hash of
           * the caller, so a user keeps its variant; weights are shares of the callers.
           */
          variants: {
            type: 'array', minItems: 2, maxItems: 10,
            items: {
              type: 'object', additionalProperties: false, required: ['model'],
              properties: {
                name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$' },
                model: { type: 'string', minLength: 1 },
                weight: { type: 'integer', minimum: 0, maximum: 10_000, default: 1 },
              },
            },
          },
          /** What keeps a caller on its variant: user (default; the app when no user is named), app, team or org. */
          variant_key: { enum: ['user', 'app', 'team', 'org'] },
          /**
           * A cascade over the targets' priorities (cheapest first): a step's answer showing one of these signals is
           * dropped and the next step answers. Buffered (non-streamed) answers only.
           */
          cascade: {
            type: 'object', additionalProperties: false, required: ['escalate_on'],
            properties: {
              escalate_on: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['refusal', 'json_schema', 'validator', 'logprob'] } },
              /** validator: POST {"model", "content"} → {"pass": boolean}; an error or a late answer delivers the step's answer. */
              validator: {
                type: 'object', additionalProperties: false, required: ['url'],
                properties: { url: { type: 'string', pattern: '^https?://' }, timeout_ms: { type: 'integer', minimum: 1, maximum: 10_000, default: 500 } },
              },
              /** logprob: an answer whose mean token logprob is below this escalates (answers with logprobs only). */
              min_mean_logprob: { type: 'number', maximum: 0 },
            },
          },
          /** Quality rank (higher is better) that cost routing's min_quality_tier compares with; absent: 0. */
          quality_tier: { type: 'integer', minimum: 0, maximum: 100 },
          /**
           * A virtual model resolved per request among `models`: `cost` picks the cheapest that meets the constraints,
           * `semantic` the one whose example prompts are nearest the request.
           */
          route: {
            type: 'object',
            required: ['strategy'],
            oneOf: [
              {
                additionalProperties: false,
                required: ['strategy', 'models'],
                properties: {
                  strategy: { const: 'cost' },
                  models: { type: 'array', minItems: 1, maxItems: 20, uniqueItems: true, items: { type: 'string', minLength: 1 } },
                  min_quality_tier: { type: 'integer', minimum: 0, maximum: 100 },
                  region: { type: 'string', minLength: 1 },
                  capabilities: capabilityList,
                  min_context_window: { type: 'integer', minimum: 1 },
                  expected_output_tokens: { type: 'integer', minimum: 0, default: 256 },
                },
              },
              {
                additionalProperties: false,
                required: ['strategy', 'routes', 'default'],
                properties: {
                  strategy: { const: 'semantic' },
                  routes: {
                    type: 'array', minItems: 1, maxItems: 20,
                    items: {
                      type: 'object', additionalProperties: false, required: ['model', 'examples'],
                      properties: {
                        model: { type: 'string', minLength: 1 },
                        examples: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 2000 } },
                      },
                    },
                  },
                  default: { type: 'string', minLength: 1 },
                  threshold: { type: 'number', minimum: -1, maximum: 1, default: 0.5 },
                  timeout_ms: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
                },
              },
            ],
          },
          /** How targets of the same priority share the load. */
          load_balancing: {
            type: 'object', additionalProperties: false,
            properties: {
              /** round_robin (weighted), least_request (fewest requests in flight, weighted), random. */
              policy: { enum: ['round_robin', 'least_request', 'random', 'latency'], default: 'round_robin' },
              /** latency: share of requests sent to a random target, so a slow one that recovered is measured again. */
              exploration: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
              /** user: a user's requests go to the same target while it is healthy (replaces the policy by Maglev hashing). */
              sticky: { enum: ['user'] },
            },
          },
        },
      },
    },
    routing: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        /** Statuses that are retried on the same provider, then move a chain to its next provider (besides resets and connect failures). */
        retry_on_status: { type: 'array', items: { type: 'integer', minimum: 400, maximum: 599 }, default: [429, 500, 502, 503, 504] },
        /** Retries on the same provider (transient 5xx, resets, connect failures, the statuses above) before any fallback. */
        retries: retriesSchema(true),
        /** Circuit breaker per provider endpoint (Envoy outlier detection). */
        outlier: {
          type: 'object', additionalProperties: false, default: {},
          properties: {
            consecutive_failures: { type: 'integer', minimum: 1, default: 5 },
            interval_ms: { ...ms, default: 10_000 },
            base_ejection_ms: { ...ms, default: 30_000 },
          },
        },
        /** How often each Tollgate re-reads the kill switches from the store. */
        kill_switch_refresh_ms: { type: 'integer', minimum: 50, maximum: 5000, default: 500 },
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
                /** Providers this team's requests must never reach, fallbacks included. */
                exclude_providers: nameList,
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
    cache: cacheConfigSchema,
    demo: {
      type: 'object', additionalProperties: false, required: ['org', 'team', 'app'],
      properties: {
        org: { type: 'string' }, team: { type: 'string' }, app: { type: 'string' },
        /**
         * `npm start`'s first-run tour: a demo key for each of these apps of the demo org, and a copy-paste request
         * for each that shows one thing the gateway does (a value redacted before the provider, a policy denial, a
         * rate limit).
         */
        tour: {
          type: 'object', additionalProperties: false,
          properties: Object.fromEntries(['redacted', 'denied', 'limited'].map((name) => [name, {
            type: 'object', additionalProperties: false, required: ['team', 'app'],
            properties: { team: { type: 'string' }, app: { type: 'string' }, model: { type: 'string' } },
          }])),
        },
      },
    },
    quotas: quotasSchema,
    ledger: ledgerConfigSchema,
    policy: policyConfigSchema,
    tracing: tracingConfigSchema,
    guardrails: {
      ...guardrailsConfigSchema,
      properties: { ...guardrailsConfigSchema.properties, external: externalGuardrailsSchema },
    },
  },
} as const;
