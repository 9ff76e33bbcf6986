import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import { renderClusters } from '../../../src/envoy/clusters.ts';

type Filter = { name: string; typed_config: { default_source_code?: { inline_string: string } } };
type Cluster = { name: string; typed_extension_protocol_options: Record<string, { http_filters: Filter[] }> };

const config = validateConfig({
  providers: {
    openai: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1' },
    azure: { type: 'azure', base_url: 'http://127.0.0.1:9002', api_version: '2024-10-21' },
    anthropic: { type: 'anthropic', base_url: 'http://127.0.0.1:9003/v1' },
    gemini: { type: 'gemini', base_url: 'http://127.0.0.1:9004/v1beta' },
  },
  models: {
    gpt: { provider: 'openai' },
    'claude-then-gpt': { targets: [{ provider: 'anthropic', model: 'c' }, { provider: 'openai', model: 'g' }] },
    'claude-then-gemini': { targets: [{ provider: 'anthropic', model: 'c' }, { provider: 'gemini', model: 'g' }] },
  },
  orgs: { acme: { teams: { t: { apps: { x: {} } } } } },
});

const filters = (cluster: Cluster) => Object.values(cluster.typed_extension_protocol_options)[0]?.http_filters ?? [];
const clusters = renderClusters(config, { dir: 'envoy' }) as Cluster[];
const hasMsHint = (cluster: Cluster) => filters(cluster).some((f) => f.name === 'envoy.filters.http.lua');

describe('Retry-After from retry-after-ms on provider clusters', () => {
  it('goes on the clusters of providers that may send only retry-after-ms (OpenAI, Azure) and chains with one, nowhere else', () => {
    const byName = Object.fromEntries(clusters.map((c) => [c.name, hasMsHint(c)]));
    expect(Object.entries(byName).filter(([name]) => name.startsWith('provider_'))).toEqual([
      ['provider_openai', true], ['provider_azure', true], ['provider_anthropic', false], ['provider_gemini', false],
    ]);
    const chains = clusters.filter((c) => !c.name.startsWith('provider_'));
    expect(chains.length).toBeGreaterThanOrEqual(2);
    for (const chain of chains) expect(hasMsHint(chain), chain.name).toBe(chain.name.includes('claude-then-gpt'));
  });

  it('sits right before the codec (first to see the response: Envoy\'s back-off and the chain filter see its header), on 429/503 only', () => {
    for (const cluster of clusters.filter(hasMsHint)) {
      const names = filters(cluster).map((f) => f.name);
      expect(names.slice(-2), cluster.name).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.upstream_codec']);
    }
    const script = filters(clusters.find((c) => c.name === 'provider_openai') as Cluster).find((f) => f.name === 'envoy.filters.http.lua')?.typed_config.default_source_code?.inline_string ?? '';
    expect(script).toContain('function envoy_on_response(handle)');
    expect(script).toContain('"429"');
    expect(script).toContain('"503"');
    expect(script).toContain('headers:get("retry-after") ~= nil then return end');
    expect(script).toContain('math.ceil(ms / 1000)');
    expect(script).not.toContain('envoy_on_request');
  });
});
