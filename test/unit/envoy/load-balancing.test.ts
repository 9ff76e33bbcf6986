import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import type { TollgateConfig } from '../../../src/config/types.ts';
import { chainClusterName, priorityGroups } from '../../../src/envoy/chains.ts';
import { renderClusters } from '../../../src/envoy/clusters.ts';
import { renderRoutes } from '../../../src/envoy/routes.ts';

function config(models: Record<string, unknown>): TollgateConfig {
  return validateConfig({
    providers: {
      a: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1', extra_base_urls: ['http://127.0.0.1:9011/v1'] },
      b: { type: 'openai', base_url: 'http://127.0.0.1:9002/v1' },
      c: { type: 'openai', base_url: 'http://127.0.0.1:9003/v1' },
    },
    models,
    orgs: { acme: { teams: { t: { apps: { x: {} } } } } },
  });
}

const cluster = (c: TollgateConfig, model: string, mask: number) =>
  renderClusters(c, { dir: 'envoy' }).find((cl) => (cl as { name: string }).name === chainClusterName(model, mask)) as any;
const route = (c: TollgateConfig, model: string, mask: number) =>
  (renderRoutes(c).virtual_hosts[0]?.routes as any[]).find((r) => r.name === chainClusterName(model, mask));

describe('load balancing in the rendered clusters', () => {
  it('groups targets by priority, a target without one keeping its position, numbered from 0', () => {
    const groups = priorityGroups<{ n: string; priority?: number }>([{ n: 'a', priority: 0 }, { n: 'b', priority: 0 }, { n: 'c' }]);
    expect(groups.map((g) => g.map((t) => t.n))).toEqual([['a', 'b'], ['c']]);
    expect(priorityGroups<{ n: string; priority?: number }>([{ n: 'a' }, { n: 'b' }]).map((g) => g.map((t) => t.n))).toEqual([['a'], ['b']]);
    expect(priorityGroups<{ n: string; priority?: number }>([{ n: 'a', priority: 3 }, { n: 'b', priority: 1 }]).map((g) => g.map((t) => t.n))).toEqual([['b'], ['a']]);
  });

  it('puts same-priority targets in one priority with their weights (per endpoint), weighted round robin by default', () => {
    const c = config({
      m: { targets: [{ provider: 'a', model: 'x', priority: 0, weight: 3 }, { provider: 'b', model: 'x', priority: 0, weight: 1 }, { provider: 'c', model: 'y' }] },
    });
    const cl = cluster(c, 'm', 0b111);
    expect(cl.lb_policy).toBeUndefined();
    const [first, second] = cl.load_assignment.endpoints;
    expect(first.priority).toBe(0);
    expect(first.lb_endpoints.map((e: any) => [e.metadata.filter_metadata.tollgate.provider, e.load_balancing_weight]))
      .toEqual([['a', 3], ['a', 3], ['b', 1]]);
    expect(second).toMatchObject({ priority: 1 });
    expect(second.lb_endpoints[0].metadata.filter_metadata.tollgate).toEqual({ provider: 'c', model: 'y' });
    // A subset without `c` is one priority, with no fallback marker.
    const ab = cluster(c, 'm', 0b011);
    expect(ab.load_assignment.endpoints).toHaveLength(1);
    expect(ab.load_assignment.endpoints[0].lb_endpoints[0].metadata.filter_metadata.tollgate.fallback_every).toBeUndefined();
    // A subset without `a`: b and c keep their order as priorities 0 and 1.
    expect(cluster(c, 'm', 0b110).load_assignment.endpoints.map((e: any) => e.priority)).toEqual([0, 1]);
  });

  it('uses least request or random when asked, and Maglev with a hash on the affinity header for sticky models', () => {
    const targets = [{ provider: 'a', model: 'x', priority: 0 }, { provider: 'b', model: 'x', priority: 0 }];
    const c = config({
      busy: { targets, load_balancing: { policy: 'least_request' } },
      rnd: { targets, load_balancing: { policy: 'random' } },
      sticky: { targets, load_balancing: { sticky: 'user' } },
    });
    expect(cluster(c, 'busy', 0b11).lb_policy).toBe('LEAST_REQUEST');
    expect(cluster(c, 'rnd', 0b11).lb_policy).toBe('RANDOM');
    expect(cluster(c, 'sticky', 0b11).lb_policy).toBe('MAGLEV');
    expect(route(c, 'sticky', 0b11).route.hash_policy).toEqual([{ header: { header_name: 'x-tollgate-affinity' } }]);
    expect(route(c, 'busy', 0b11).route.hash_policy).toBeUndefined();
  });
});
