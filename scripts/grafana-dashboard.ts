/**
 * Writes config/grafana/dashboards/tollgate.json: the questions a platform team asks of its gateway, one panel each,
 * from Tollgate's and Envoy's own metrics (a test checks every metric a panel names exists).
 *   node scripts/grafana-dashboard.ts
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface Panel { title: string; unit: string; exprs: Array<[legend: string, expr: string]>; description: string }

const rate = (metric: string, by: string) => `sum by (${by}) (rate(${metric}[5m]))`;
const quantile = (q: number, metric: string, by: string) => `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket[5m])))`;

export const PANELS: Panel[] = [
  { title: 'Requests per second by status', unit: 'reqps', description: 'Every request Tollgate handled.', exprs: [['{{status}}', rate('tollgate_requests_total', 'status')]] },
  { title: 'Latency p50 / p99', unit: 's', description: 'From request headers to the end of the response, as Tollgate saw it.', exprs: [
    ['p50', quantile(0.5, 'tollgate_request_duration_seconds', 'team')], ['p99', quantile(0.99, 'tollgate_request_duration_seconds', 'team')]] },
  { title: 'Where the money goes: USD per minute by team and model', unit: 'currencyUSD', description: 'Priced from config/pricing.yaml.', exprs: [
    ['{{team}} / {{model}}', `60 * ${rate('tollgate_cost_usd_total', 'team, model')}`]] },
  { title: 'Tokens per second by kind', unit: 'short', description: 'As providers reported them.', exprs: [['{{kind}}', rate('tollgate_tokens_total', 'kind')]] },
  { title: 'Time to first token p50 / p99 by provider', unit: 's', description: 'Streams only.', exprs: [
    ['p50 {{provider}}', quantile(0.5, 'tollgate_stream_time_to_first_chunk_seconds', 'provider')],
    ['p99 {{provider}}', quantile(0.99, 'tollgate_stream_time_to_first_chunk_seconds', 'provider')]] },
  { title: 'Inter-token gap p50 by provider and model', unit: 's', description: 'Mean gap between chunks of a stream.', exprs: [
    ['{{provider}} / {{model}}', quantile(0.5, 'tollgate_stream_inter_chunk_seconds', 'provider, model')]] },
  { title: 'Output tokens per second p50 by model', unit: 'short', description: 'Generation speed.', exprs: [
    ['{{model}}', quantile(0.5, 'tollgate_output_tokens_per_second', 'model')]] },
  { title: 'Cache: hits, misses, bypasses', unit: 'reqps', description: 'Exact and semantic cache per chat request.', exprs: [['{{status}}', rate('tollgate_cache_requests_total', 'status')]] },
  { title: 'Cache savings, USD per hour by team', unit: 'currencyUSD', description: 'What hits would have cost at the provider.', exprs: [
    ['{{team}}', `3600 * ${rate('tollgate_cache_saved_usd_total', 'team')}`]] },
  { title: 'Policy decisions', unit: 'reqps', description: 'Allow or deny; the audit log holds each decision with its reasons.', exprs: [
    ['{{outcome}}', rate('tollgate_policy_decisions_total', 'outcome')]] },
  { title: 'Who is hitting limits', unit: 'reqps', description: 'Quota rejections by scope and limit.', exprs: [
    ['{{scope}} {{limit}}', rate('tollgate_quota_rejections_total', 'scope, limit')]] },
  { title: 'Budget alerts fired', unit: 'short', description: 'Thresholds crossed, per scope and period.', exprs: [
    ['{{scope}} {{period}} {{threshold}}%', 'sum by (scope, period, threshold) (increase(tollgate_budget_alerts_total[1h]))']] },
  { title: 'Provider attempts by status', unit: 'reqps', description: 'Retries and fallbacks included.', exprs: [
    ['{{provider}} {{status}}', rate('tollgate_provider_attempts_total', 'provider, status')]] },
  { title: 'A/B variants', unit: 'reqps', description: 'Requests per assigned variant (results: GET /admin/v1/usage?group_by=variant).', exprs: [
    ['{{model}} {{variant}} {{status}}', rate('tollgate_variant_requests_total', 'model, variant, status')]] },
  { title: 'Fallbacks by model', unit: 'reqps', description: 'Requests answered by another provider than the first tried.', exprs: [
    ['{{model}}', rate('tollgate_fallbacks_total', 'model')]] },
  { title: 'Guardrails: verdicts and findings', unit: 'reqps', description: 'External guardrails and output filters.', exprs: [
    ['{{guardrail}} {{verdict}}', rate('tollgate_guardrail_verdicts_total', 'guardrail, verdict')],
    ['output {{type}} {{action}}', rate('tollgate_output_guardrail_findings_total', 'type, action')]] },
  { title: 'Cost per minute by team and app', unit: 'currencyUSD', description: 'USD per minute, every model of the app.', exprs: [
    ['{{team}} / {{app}}', `60 * ${rate('tollgate_cost_usd_total', 'team, app')}`]] },
  { title: 'Budget remaining (USD)', unit: 'currencyUSD', description: 'Team and app budgets this period, from the usage ledger (refreshed once a minute).', exprs: [
    ['{{id}} {{period}}', 'min by (scope, id, period) (tollgate_budget_remaining_usd)']] },
  { title: 'Budget burn rate (USD per hour)', unit: 'currencyUSD', description: 'Spend this period over the hours elapsed in it; compare with budget / period length.', exprs: [
    ['{{id}} {{period}}', 'max by (scope, id, period) (tollgate_budget_burn_usd_per_hour)']] },
  { title: 'Tollgate time per ext_proc phase, p99', unit: 's', description: 'How long Tollgate takes to answer Envoy, per filter and phase.', exprs: [
    ['{{filter}} {{phase}}', quantile(0.99, 'tollgate_extproc_phase_duration_seconds', 'filter, phase')]] },
  { title: 'Envoy: ext_proc errors and upstream requests', unit: 'reqps', description: 'Scraped from Envoy\'s admin beside Tollgate.', exprs: [
    ['ext_proc stream failures', 'sum(rate(envoy_http_ext_proc_tollgate_streams_failed[5m]))'],
    ['ext_proc message timeouts', 'sum(rate(envoy_http_ext_proc_tollgate_message_timeouts[5m]))'],
    ['upstream {{envoy_response_code_class}}xx', 'sum by (envoy_response_code_class) (rate(envoy_cluster_upstream_rq_xx[5m]))']] },
];

function dashboard() {
  return {
    uid: 'tollgate', title: 'Tollgate', tags: ['tollgate', 'ai-gateway'], schemaVersion: 39, version: 1, refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    panels: PANELS.map((panel, index) => ({
      id: index + 1, type: 'timeseries', title: panel.title, description: panel.description,
      datasource: { type: 'prometheus', uid: 'prometheus' },
      gridPos: { h: 8, w: 12, x: (index % 2) * 12, y: Math.floor(index / 2) * 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      targets: panel.exprs.map(([legend, expr], i) => ({ refId: String.fromCharCode(65 + i), expr, legendFormat: legend })),
    })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = resolve(import.meta.dirname, '../config/grafana/dashboards/tollgate.json');
  writeFileSync(out, `${JSON.stringify(dashboard(), null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}

export { dashboard };
