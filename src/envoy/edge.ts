/**
 * The edge of the listener: TLS (certificates through SDS from watched files, optional client mTLS) and JWT
 * authentication (Envoy's jwt_authn filter, JWKS from a file or a URL). Tollgate never verifies a JWT itself: it
 * reads the payload that jwt_authn verified from the dynamic metadata Envoy forwards to ext_proc.
 */
import { dirname } from 'node:path';
import type { JwtProviderConfig, ListenerTlsConfig, TollgateConfig } from '../config/types.ts';
import { SYSTEM_CA_BUNDLE } from './provider-endpoints.ts';
import type { RenderOptions } from './names.ts';

export const LISTENER_CERT_SECRET = 'tollgate_listener_cert';
export const CLIENT_CA_SECRET = 'tollgate_client_ca';
/** The dynamic-metadata namespace jwt_authn writes verified payloads to (one key per provider: its name). */
export const JWT_METADATA_NAMESPACE = 'envoy.filters.http.jwt_authn';

function pathSource(dir: string, file: string) {
  return {
    resource_api_version: 'V3',
    path_config_source: { path: `${dir}/${file}`, watched_directory: { path: dir } },
  };
}

/**
 * The SDS resources of listener-cert.yaml and client-ca.yaml (Envoy takes one secret per file). Each names its files and a watched directory: a move in that directory (the
 * atomic `..data` symlink swap of a Kubernetes Secret volume, or renaming new files into place) makes Envoy read the
 * pair again and serve it to new connections. Envoy checks that certificate and key did not change between its two
 * reads, so a half-rotated pair is never served.
 */
export function renderSecrets(tls: ListenerTlsConfig | undefined): { cert: object[]; clientCa: object[] } {
  const secrets = { cert: [] as object[], clientCa: [] as object[] };
  if (!tls) return secrets;
  const type = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
  secrets.cert.push({
    '@type': type,
    name: LISTENER_CERT_SECRET,
    tls_certificate: {
      certificate_chain: { filename: tls.cert_file },
      private_key: { filename: tls.key_file },
      watched_directory: { path: tls.watch_dir ?? dirname(tls.cert_file) },
    },
  });
  if (tls.client_ca_file) {
    secrets.clientCa.push({
      '@type': type,
      name: CLIENT_CA_SECRET,
      validation_context: {
        trusted_ca: { filename: tls.client_ca_file },
        watched_directory: { path: tls.watch_dir ?? dirname(tls.client_ca_file) },
      },
    });
  }
  return secrets;
}

/** The listener's downstream TLS transport socket, or nothing for plain HTTP. */
export function listenerTransportSocket(config: TollgateConfig, options: RenderOptions): object {
  const tls = config.listener.tls;
  if (!tls) return {};

  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        require_client_certificate: tls.require_client_cert,
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: tls.min_version },
          alpn_protocols: ['h2', 'http/1.1'],
          tls_certificate_sds_secret_configs: [{ name: LISTENER_CERT_SECRET, sds_config: pathSource(options.dir, 'listener-cert.yaml') }],
          ...(tls.client_ca_file ? { validation_context_sds_secret_config: { name: CLIENT_CA_SECRET, sds_config: pathSource(options.dir, 'client-ca.yaml') } } : {}),
        },
      },
    },
  };
}

export const jwksClusterName = (provider: string) => `jwks_${provider}`;

function jwtProvider(name: string, provider: JwtProviderConfig) {
  const jwks = provider.jwks_file
    ? { local_jwks: { filename: provider.jwks_file } }
    : {
        remote_jwks: {
          http_uri: { uri: provider.jwks_uri, cluster: jwksClusterName(name), timeout: '5s' },
          cache_duration: `${provider.jwks_cache_seconds}s`,
          // Fetched when the listener starts and again before it expires, not on a request's critical path.
          async_fetch: { failed_refetch_duration: '5s' },
          retry_policy: { num_retries: 2 },
        },
      };
  return {
    issuer: provider.issuer,
    ...(provider.audiences.length ? { audiences: provider.audiences } : {}),
    ...jwks,
    from_headers: [{ name: 'authorization', value_prefix: 'Bearer ' }],
    // The verified token stays out of the upstream request (Tollgate's auth stage removes the header anyway).
    forward: false,
    // Tollgate reads the verified payload from here, keyed by the provider's name.
    payload_in_metadata: name,
    clock_skew_seconds: provider.clock_skew_seconds,
  };
}

/**
 * The jwt_authn filter, or null without JWT providers. Every token in `Authorization: Bearer` is checked against
 * the providers; a request whose bearer is no valid JWT (a virtual key, or a failed token) still passes, without a
 * verified payload, and Tollgate's auth stage decides: a virtual key is looked up, anything else gets 401. Only
 * jwt_authn writes the metadata namespace, so a client cannot forge a verified payload with a header.
 */
export function renderJwtFilter(config: TollgateConfig): object | null {
  const providers = Object.entries(config.auth.jwt.providers);
  if (providers.length === 0) return null;
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
      providers: Object.fromEntries(providers.map(([name, p]) => [name, jwtProvider(name, p)])),
      rules: [{
        match: { prefix: '/' },
        requires: {
          requires_any: {
            requirements: [...providers.map(([name]) => ({ provider_name: name })), { allow_missing_or_failed: {} }],
          },
        },
      }],
    },
  };
}

/** One static cluster per remote JWKS URL. */
export function renderJwksClusters(config: TollgateConfig): object[] {
  const clusters: object[] = [];
  for (const [name, provider] of Object.entries(config.auth.jwt.providers)) {
    if (!provider.jwks_uri) continue;
    const url = new URL(provider.jwks_uri);
    const tls = url.protocol === 'https:';
    const port = Number(url.port || (tls ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    clusters.push({
      name: jwksClusterName(name),
      type: 'STRICT_DNS',
      connect_timeout: '5s',
      dns_lookup_family: 'V4_PREFERRED',
      load_assignment: {
        cluster_name: jwksClusterName(name),
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
      },
      ...(tls
        ? {
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
                sni: host,
                common_tls_context: {
                  validation_context: {
                    trusted_ca: { filename: provider.jwks_ca_file ?? SYSTEM_CA_BUNDLE },
                    match_typed_subject_alt_names: [{ san_type: /^[0-9.]+$|:/.test(host) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: host } }],
                  },
                },
              },
            },
          }
        : {}),
    });
  }
  return clusters;
}
