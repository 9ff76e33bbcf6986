import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** The metrics that answer operators' questions (issue 15), read from /metrics after real traffic through Envoy. */
describe('metrics that answer questions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { ...testConfig(), cache: { defaults: { mode: 'deterministic' } } } });
  }, 90_000);
  afterAll(async () => h?.stop());

  const metricsText = async () => (await fetch(`${h.adminUrl}/metrics`)).text();
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : null;
  };

  it('reports stream pace, cache outcomes and savings, and provider attempts, with bounded labels', async () => {
    const stream = await h.client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true },
      { headers: { 'x-fake-chunk-delay-ms': '30' } },
    );
    let chunks = 0;
    for await (const _ of stream) chunks += 1;
    expect(chunks).toBeGreaterThan(3);
    const ask = () => h.client().chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'cache me if you can' }] }).withResponse();
    expect((await ask()).response.headers.get('x-tollgate-cache')).toBe('miss');
    expect((await ask()).response.headers.get('x-tollgate-cache')).toBe('hit');

    const text = await metricsText();
    const pace = '{provider="openai",model="gpt-4o-mini"}';
    expect(value(text, `tollgate_stream_time_to_first_chunk_seconds_count${pace}`)).toBe(1);
    // The fake waits 30 ms between chunks: the mean gap lands in the 20–50 ms buckets, not below.
    expect(value(text, `tollgate_stream_inter_chunk_seconds_bucket{le="0.02",provider="openai",model="gpt-4o-mini"}`)).toBe(0);
    expect(value(text, `tollgate_stream_inter_chunk_seconds_count${pace}`)).toBe(1);
    expect(value(text, `tollgate_output_tokens_per_second_count${pace}`)).toBe(2);
    expect(value(text, 'tollgate_cache_requests_total{status="hit"}')).toBe(1);
    expect(value(text, 'tollgate_cache_requests_total{status="miss"}')).toBe(1);
    // One per request the provider really received: the cache hit made none.
    expect(h.fake.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(2);
    expect(value(text, 'tollgate_provider_attempts_total{model="gpt-4o-mini",provider="openai",status="200"}')).toBe(2);
    // Cardinality stays bounded: no request ids, keys or users in any label.
    expect(text).not.toMatch(/request_id=|user=|key=/);
    expect(text).not.toContain(h.key);
  });

  it('feeds every panel of the shipped Grafana dashboard: each metric it names exists in Tollgate\'s or Envoy\'s output', async () => {
    const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '../../config/grafana/dashboards/tollgate.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exposed = new Set<string>();
    for (const text of [await metricsText(), await (await fetch(`${h.envoyAdminUrl}/stats/prometheus`)).text()]) {
      for (const match of text.matchAll(/^# TYPE (\S+) (\w+)/gm)) {
        exposed.add(match[1] as string);
        if (match[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${match[1]}${suffix}`);
      }
    }
    const named = new Set(dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => [...target.expr.replace(/\bby \([^)]*\)/g, '').matchAll(/\b((?:tollgate|envoy)_[a-z0-9_]+)/g)].map((m) => m[1] as string))));
    expect(named.size).toBeGreaterThan(15);
    expect([...named].filter((name) => !exposed.has(name))).toEqual([]);
  });
});
