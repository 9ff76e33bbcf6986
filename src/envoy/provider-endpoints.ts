import { isIP } from 'node:net';
import type { ProviderConfig } from '../config/types.ts';

/**
 * How a provider's endpoints look to Envoy: addresses, the Host header, TLS with certificate and SNI checks, and the
 * metadata that tells Tollgate (and the response headers) which provider and model an attempt went to.
 */
export const ENDPOINT_METADATA_NAMESPACE = 'tollgate';
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface Upstream {
  host: string;
  port: number;
  tls: boolean;
  /** Path prefix of the base URL, e.g. /v1. */
  basePath: string;
}

export function parseBaseUrl(baseUrl: string): Upstream {
  const url = new URL(baseUrl);
  const tls = url.protocol === 'https:';
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : tls ? 443 : 80,
    tls,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

/** The provider's endpoints: base_url (or its override, e.g. the demo provider) and extra_base_urls. */
export function providerUpstreams(provider: ProviderConfig, baseUrlOverride?: string): Upstream[] {
  return [baseUrlOverride ?? provider.base_url, ...(provider.extra_base_urls ?? [])].map(parseBaseUrl);
}

/** Host header for an endpoint: Envoy's auto_host_rewrite uses the endpoint's hostname, port included when unusual. */
function hostHeader(upstream: Upstream): string {
  const defaultPort = upstream.tls ? 443 : 80;
  const host = isIP(upstream.host) === 6 ? `[${upstream.host}]` : upstream.host;
  return upstream.port === defaultPort ? host : `${host}:${upstream.port}`;
}

/** STATIC when every address is an IP, else STRICT_DNS (one host per resolved address, each health-tracked). */
export function clusterDiscoveryType(upstreams: Upstream[]): 'STATIC' | 'STRICT_DNS' {
  return upstreams.every((u) => isIP(u.host)) ? 'STATIC' : 'STRICT_DNS';
}

export interface EndpointLabels {
  provider: string;
  model?: string;
  /** Chain endpoints before the last priority: the chain moves to the next priority after every this many attempts. */
  fallback_every?: number;
  /** Cascade steps before the last: the cascade's model name, whose config says what escalates their answer. */
  cascade?: string;
}

export function lbEndpoint(upstream: Upstream, labels: EndpointLabels) {
  return {
    endpoint: {
      address: { socket_address: { address: upstream.host, port_value: upstream.port } },
      hostname: hostHeader(upstream),
    },
    metadata: {
      filter_metadata: {
        [ENDPOINT_METADATA_NAMESPACE]: labels,
        // Selects the endpoint's transport socket: TLS settings (CA, SNI) differ per provider and host, and a chain
        // mixes providers in one cluster.
        'envoy.transport_socket_match': { tls: tlsMatchKey(labels.provider, upstream) },
      },
    },
  };
}

/** TLS to a provider: its CA bundle, SNI, and the certificate must name the server (not just chain to a CA). */
export function tlsTransportSocket(provider: ProviderConfig, upstream: Upstream) {
  const serverName = provider.tls?.server_name ?? upstream.host;
  const ipName = isIP(serverName) !== 0;
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      ...(ipName ? {} : { sni: serverName }),
      common_tls_context: {
        validation_context: {
          trusted_ca: { filename: provider.tls?.ca_file ?? SYSTEM_CA_BUNDLE },
          match_typed_subject_alt_names: [{ san_type: ipName ? 'IP_ADDRESS' : 'DNS', matcher: { exact: serverName } }],
        },
      },
    },
  };
}

function tlsMatchKey(provider: string, upstream: Upstream): string {
  return upstream.tls ? `${provider}@${upstream.host}` : 'plaintext';
}

/** One transport_socket_matches entry per TLS provider host of a cluster; plaintext endpoints use the default (none). */
export function transportSocketMatches(providers: Array<{ name: string; config: ProviderConfig; upstreams: Upstream[] }>) {
  const matches = new Map<string, object>();
  for (const { name, config, upstreams } of providers) {
    for (const upstream of upstreams.filter((u) => u.tls)) {
      const key = tlsMatchKey(name, upstream);
      matches.set(key, { name: key, match: { tls: key }, transport_socket: tlsTransportSocket(config, upstream) });
    }
  }
  return [...matches.values()];
}
