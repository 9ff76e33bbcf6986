/** The validated shape of config/tollgate.yaml (see schema.ts for the JSON Schema that enforces it). */
export interface ProviderConfig {
  /** Wire API the provider speaks. This issue ships OpenAI-compatible passthrough (OpenAI, vLLM, any base_url). */
  type: 'openai';
  base_url: string;
  /** Name of an env var holding the provider credential. */
  api_key_env?: string;
  /** Path of a file holding the provider credential (e.g. a mounted secret). */
  api_key_file?: string;
  connect_timeout_ms?: number;
}

export interface ModelConfig {
  provider: string;
  kind: 'chat' | 'embeddings';
  /** The model name the provider knows; defaults to the public name. */
  upstream_model?: string;
}

export interface AppConfig {
  models?: string[];
}

export interface TeamConfig {
  models?: string[];
  apps: Record<string, AppConfig>;
}

export interface OrgConfig {
  teams: Record<string, TeamConfig>;
}

export interface StaticKeyConfig {
  /** sha256 hex of the key, or the name of an env var holding the plaintext key. */
  sha256?: string;
  key_env?: string;
  org: string;
  team: string;
  app: string;
  name?: string;
}

export interface TollgateConfig {
  listener: { address: string; port: number };
  envoy: {
    admin: { address: string; port: number };
    /** Fail closed by default: if Tollgate is unreachable, Envoy answers an error instead of passing requests through. */
    failure_mode_allow: boolean;
    message_timeout_ms: number;
    max_request_body_bytes: number;
    max_response_body_bytes: number;
    /** Until the provider's response headers arrive (per attempt). */
    upstream_timeout_ms: number;
    /** Longest silence inside a streamed response. */
    stream_idle_timeout_ms: number;
    connect_timeout_ms: number;
    /** Where the rendered bootstrap and the watched dynamic resources live. */
    config_dir: string;
  };
  extproc: { address: string; port: number; socket_path?: string; endpoints?: Array<{ address: string; port: number }> };
  admin: { address: string; port: number; token_env: string };
  store: { type: 'memory' } | { type: 'redis'; url?: string; url_env?: string };
  logging: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  providers: Record<string, ProviderConfig>;
  models: Record<string, ModelConfig>;
  orgs: Record<string, OrgConfig>;
  keys: StaticKeyConfig[];
  demo?: { org: string; team: string; app: string };
}
