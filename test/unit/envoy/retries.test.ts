import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../../src/config/load-config.ts';
import type { TollgateConfig } from '../../../src/config/types.ts';
import { chainClusterName } from '../../../src/envoy/chains.ts';
import { renderClusters } from '../../../src/envoy/clusters.ts';
import { singleProviderRouteKey } from '../../../src/envoy/retries.ts';
import { renderRoutes } from '../../../src/envoy/routes.ts';

function config(extra: Record<string, unknown> = {}): TollgateConfig {
  return validateConfig({
    providers: {
      a: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1' },
      b: { type: 'openai', base_url: 'http://127.0.0.1:9002/v1' },
    },
    models: {
      plain: { provider: 'a' },
      patient: { provider: 'a', retries: { max: 4, base_interval_ms: 200, max_interval_ms: 2000 } },
      capped: { targets: [{ provider: 'a', model: 'm' }], max_attempts: 2 },
      chain: { targets: [{ provider: 'a', model: 'm1' }, { provider: 'b', model: 'm2' }] },
    },
    orgs: { acme: { teams: { t: { apps: { x: {} } } } } },
    ...extra,
  });
}

type Route = { name: string; match: { headers: Array<{ string_match: { exact: string } }> }; route: { cluster: string; retry_policy: Record<string, any> } };
const routes = (c: TollgateConfig) => (renderRoutes(c).virtual_hosts[0]?.routes ?? []) as unknown as Route[];
const routeFor = (c: TollgateConfig, key: string) => routes(c).find((r) => r.match.headers?.[0]?.string_match.exact === key);

describe('same-provider retries in the rendered routes', () => {
  it('retries a single provider twice by default: transient statuses, resets, connect failures; jittered back-off; Retry-After up to the cap', () => {
    const c = config();
    const key = singleProviderRouteKey(c, 'plain', 'a');
    expect(key).toBe('a');
    const policy = routeFor(c, key)?.route.retry_policy;
    expect(policy).toMatchObject({
      retry_on: 'reset,connect-failure,refused-stream,retriable-status-codes',
      retriable_status_codes: [429, 500, 502, 503, 504],
      num_retries: 2,
      retry_back_off: { base_interval: '0.050s', max_interval: '1.000s' },
      rate_limited_retry_back_off: { reset_headers: [{ name: 'retry-after', format: 'SECONDS' }], max_interval: '5.000s' },
    });
  });

  it('gives a model with its own retry settings its own route to the same cluster', () => {
    const c = config();
    const key = singleProviderRouteKey(c, 'patient', 'a');
    expect(key).toBe('a@r4,200,2000,5000');
    const route = routeFor(c, key);
    expect(route?.route.cluster).toBe('provider_a');
    expect(route?.route.retry_policy).toMatchObject({ num_retries: 4, retry_back_off: { base_interval: '0.200s', max_interval: '2.000s' } });
  });

  it('caps a one-target model by max_attempts: max_attempts 2 is one retry', () => {
    const c = config();
    expect(routeFor(c, singleProviderRouteKey(c, 'capped', 'a'))?.route.retry_policy.num_retries).toBe(1);
  });

  it('turns retries off with max 0 (only a connect failure moves to another endpoint)', () => {
    const c = config({ routing: { retries: { max: 0 } } });
    expect(routeFor(c, singleProviderRouteKey(c, 'plain', 'a'))?.route.retry_policy).toMatchObject({ retry_on: 'connect-failure,refused-stream', num_retries: 1 });
  });

  it('keeps a chain on each provider for 1 + max attempts before the next priority', () => {
    const c = config();
    const name = chainClusterName('chain', 0b11);
    const policy = routes(c).find((r) => r.name === name)?.route.retry_policy;
    expect(policy?.num_retries).toBe(5);
    expect(policy?.retry_priority.typed_config.update_frequency).toBe(3);
    const cluster = renderClusters(c, { dir: 'envoy' }).find((cl) => (cl as { name: string }).name === name) as any;
    const [first, last] = cluster.load_assignment.endpoints;
    // Only providers with a later one to fall back to carry fallback_every (their last Retry-After is dropped).
    expect(first.lb_endpoints[0].metadata.filter_metadata.tollgate).toEqual({ provider: 'a', model: 'm1', fallback_every: 3 });
    expect(last.lb_endpoints[0].metadata.filter_metadata.tollgate).toEqual({ provider: 'b', model: 'm2' });
  });

  it('rejects a back-off whose max is below its base, with the path of the field', () => {
    expect(() => config({ routing: { retries: { base_interval_ms: 500, max_interval_ms: 100 } } })).toThrow(ConfigError);
    try {
      config({ models: { plain: { provider: 'a', retries: { base_interval_ms: 2000 } } } });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toContain('models.plain.retries.max_interval_ms: must be at least base_interval_ms (2000)');
    }
  });
});
