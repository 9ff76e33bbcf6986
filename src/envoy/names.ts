/** Names and small helpers shared by the renderers of the bootstrap, the clusters and the routes. */
export const ROUTE_HEADER = 'x-tollgate-route';
/**
 * Set by Tollgate for sticky models (the user); the route hashes it to pick the endpoint. It stays on the request
 * until the last upstream filter of each attempt removes it, so a retry's host selection still sees it.
 */
export const AFFINITY_HEADER = 'x-tollgate-affinity';
export const INTERNAL_HEADERS = [ROUTE_HEADER, 'x-tollgate-user', 'x-tollgate-feature'];
export const ROUTE_CONFIG_NAME = 'tollgate_routes';
export const EXTPROC_CLUSTER = 'tollgate_extproc';

export interface RenderOptions {
  /** Directory of routes.yaml/clusters.yaml as Envoy will see it (absolute, or relative to Envoy's cwd). */
  dir: string;
  /** Overrides of provider base URLs (the demo provider of `npm start`). */
  providerBaseUrls?: Record<string, string>;
  /** Where `_env` settings are read (tracing exporter headers); process.env when absent. */
  env?: NodeJS.ProcessEnv;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;

export function clusterName(provider: string): string {
  return `provider_${provider}`;
}

export function providerBaseUrlOverride(name: string, options: RenderOptions): string | undefined {
  return options.providerBaseUrls?.[name];
}
