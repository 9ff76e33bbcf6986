// The usage dashboard's page script: reads the filter form from the URL, asks /dashboard/api/summary (the session
// cookie authenticates it) and renders tables and one uPlot chart. No framework, no build step.
'use strict';

const DAY = 86_400_000;
const PRESETS = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY, '90d': 90 * DAY };
const FILTERS = ['team', 'model', 'app', 'feature', 'user'];
const PALETTE = ['#0b57d0', '#c5221f', '#137333', '#a142f4', '#b06000', '#007b83', '#5f6368', '#d01884', '#3c4043'];

const $ = (id) => document.getElementById(id);
const usd = (text) => `$${Number(text).toFixed(4)}`;
const int = (n) => Number(n).toLocaleString('en-US');
const ms = (n) => (n === null || n === undefined ? '—' : `${Number(n).toFixed(1)} ms`);
const pct = (n) => (n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)} %`);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** Fills a table (keeping its caption): columns are [heading, value(row), numeric?]. */
function table(id, columns, rows, empty) {
  const t = $(id);
  const caption = t.querySelector('caption');
  t.replaceChildren(caption);
  t.append(el('thead', {}, el('tr', {}, ...columns.map(([h, , num]) => el('th', { scope: 'col', class: num ? 'num' : '' }, h)))));
  const body = el('tbody');
  if (!rows.length) body.append(el('tr', {}, el('td', { colspan: String(columns.length), class: 'empty' }, empty)));
  for (const r of rows) body.append(el('tr', {}, ...columns.map(([, value, num]) => {
    const v = value(r);
    return el('td', { class: num ? 'num' : '' }, v);
  })));
  t.append(body);
}

function cards(id, items) {
  $(id).replaceChildren(...items.map(([label, value, key]) => el('div', {}, el('dt', {}, label), el('dd', { 'data-key': key }, value))));
}

/** The form's state from the URL, and the API query it stands for. */
function readForm() {
  const params = new URLSearchParams(location.search);
  const range = params.get('range') || '7d';
  for (const name of ['range', 'group_by', 'from', 'to', ...FILTERS]) {
    const input = $(name);
    if (params.get(name) !== null && input) {
      if (input.tagName === 'SELECT' && ![...input.options].some((o) => o.value === params.get(name))) input.append(el('option', { value: params.get(name) }, params.get(name)));
      input.value = params.get(name);
    }
  }
  const api = new URLSearchParams();
  if (range === 'custom' && params.get('from') && params.get('to')) {
    api.set('from', `${params.get('from')}T00:00:00Z`);
    api.set('to', new Date(Date.parse(`${params.get('to')}T00:00:00Z`) + DAY).toISOString());
  } else {
    const now = Date.now();
    api.set('from', new Date(now - (PRESETS[range] || PRESETS['7d'])).toISOString());
    api.set('to', new Date(now).toISOString());
  }
  api.set('group_by', params.get('group_by') || 'team');
  for (const name of FILTERS) if (params.get(name)) api.set(name, params.get(name));
  return api;
}

function fillOptions(id, values, allLabel) {
  const select = $(id);
  const current = select.value;
  select.replaceChildren(el('option', { value: '' }, allLabel), ...values.map((v) => el('option', { value: v }, v)));
  if (current && !values.includes(current)) select.append(el('option', { value: current }, current));
  select.value = current;
}

let plot = null;
function chart(series) {
  const target = $('chart');
  if (plot) plot.destroy();
  target.replaceChildren();
  if (!window.uPlot || !series.groups.length) {
    target.append(el('p', { class: 'empty' }, 'No spend in this range.'));
    return;
  }
  const data = [series.buckets.map((t) => t / 1000), ...series.groups.map((g) => g.cost_usd)];
  plot = new window.uPlot({
    width: Math.max(320, target.clientWidth || 900), height: 300,
    series: [{}, ...series.groups.map((g, i) => ({ label: g.label, stroke: PALETTE[i % PALETTE.length], width: 2, value: (u, v) => (v === null ? '—' : `$${v.toFixed(4)}`) }))],
    axes: [{}, { values: (u, ticks) => ticks.map((v) => `$${v}`), size: 70 }],
    scales: { x: { time: true } },
  }, data, target);
}

function render(s) {
  const t = s.totals;
  cards('totals', [
    ['Spend', usd(t.cost_usd), 'spend'], ['Requests', int(t.requests), 'requests'], ['Errors', int(t.errors), 'errors'],
    ['Prompt tokens', int(t.prompt_tokens), 'prompt_tokens'], ['Completion tokens', int(t.completion_tokens), 'completion_tokens'],
    ['Mean latency', ms(t.mean_latency_ms), 'latency'],
  ]);
  chart(s.series);
  const usage = [
    ['Requests', (r) => int(r.requests), true], ['Errors', (r) => int(r.errors), true],
    ['Tokens', (r) => int(r.prompt_tokens + r.completion_tokens), true], ['Spend', (r) => usd(r.cost_usd), true],
  ];
  table('breakdown', [[s.group_by, (r) => r.label], ...usage], s.breakdown, 'No requests in this range.');
  table('budgets', [
    ['Scope', (r) => r.scope], ['Name', (r) => r.id], ['Period', (r) => `${r.period} ${r.period_label}`],
    ['Spent', (r) => usd(r.spent_usd), true], ['Limit', (r) => usd(r.limit_usd), true],
    ['Used', (r) => el('span', {}, el('progress', { max: '100', value: String(Math.min(100, r.percent)), 'aria-label': `${r.percent} % of the budget used` }), ` ${r.percent.toFixed(1)} %`), true],
    ['Projected', (r) => el('span', { class: r.projected_percent > 100 ? 'over' : '' }, `${usd(r.projected_usd)} (${r.projected_percent.toFixed(0)} %)`), true],
  ], s.budgets, 'No budgets configured (quotas.budgets).');
  table('top-users', [['User', (r) => r.label], ...usage.slice(0, 1), usage[3]], s.top_users, 'No requests with a user.');
  table('top-features', [['Feature', (r) => r.label], ...usage.slice(0, 1), usage[3]], s.top_features, 'No requests with a feature.');
  cards('cache', [
    ['Hits', int(s.cache.hits), 'cache_hits'], ['Hit rate', pct(s.cache.hit_rate), 'cache_hit_rate'],
    ['Saved', usd(s.cache.saved_usd), 'cache_saved'],
  ]);
  table('kill-switches', [['Scope', (r) => r.scope], ['Name', (r) => r.name], ['Reason', (r) => r.reason ?? '—'], ['Since', (r) => r.since]], s.kill_switches, 'None on.');
  const denials = s.denials;
  table('denials', [['Reason', (r) => r.reason], ['Count', (r) => int(r.count), true]], denials ? denials.reasons : [], denials ? 'No denials in this range.' : 'No policy configured.');
  table('errors', [['Code', (r) => r.code], ['Requests', (r) => int(r.requests), true]], s.errors, 'No errors in this range.');
  table('providers', [
    ['Provider', (r) => r.provider], ['Requests', (r) => int(r.requests), true], ['Error rate', (r) => pct(r.error_rate), true],
    ['Mean latency', (r) => ms(r.mean_latency_ms), true], ['p95 latency', (r) => ms(r.latency?.p95_ms), true],
    ['TTFT p50', (r) => ms(r.ttft?.p50_ms), true], ['TTFT p95', (r) => ms(r.ttft?.p95_ms), true],
  ], s.providers, 'No requests in this range.');
  fillOptions('team', s.options.team, 'All teams');
  fillOptions('model', s.options.model, 'All models');
  const shown = Object.entries(s.filters).map(([k, v]) => `${k} = ${v}`).join(', ');
  $('status').textContent = `${s.from.slice(0, 16).replace('T', ' ')} to ${s.to.slice(0, 16).replace('T', ' ')} UTC${shown ? `, ${shown}` : ''}.`;
  document.body.dataset.loaded = 'true';
}

async function load() {
  const api = readForm();
  $('range').addEventListener('change', () => {
    const custom = $('range').value === 'custom';
    $('from').disabled = !custom;
    $('to').disabled = !custom;
  });
  $('range').dispatchEvent(new Event('change'));
  const reply = await fetch(`/dashboard/api/summary?${api}`, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (reply.status === 401) { location.href = '/dashboard'; return; }
  const body = await reply.json();
  if (!reply.ok) { $('status').textContent = `Error: ${body.error?.message ?? reply.status}`; return; }
  render(body);
}

document.addEventListener('DOMContentLoaded', () => {
  load().catch((error) => { $('status').textContent = `Error: ${error.message}`; });
});
