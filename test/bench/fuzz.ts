/**
 * `npm run bench:fuzz`: hostile input through real Envoy + Tollgate to the strict fake provider (test/helpers'
 * harness). FUZZ_COUNT requests (default 10,000) generated from FUZZ_SEED (default 17): wrong types in every field,
 * deep nesting, huge numbers and strings, invalid UTF-8 and lone surrogates, duplicate keys, wrong content types,
 * compressed bodies, odd methods and paths, header floods, and valid requests in between.
 *
 * Passes when every answer is a 4xx in OpenAI shape or a 2xx the provider accepted, with 0 5xx, 0 dropped
 * connections, nothing invalid reaching the provider, and valid requests served normally afterwards.
 * Writes test/bench/results/fuzz.json; exits 1 on any violation.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CATEGORIES, fuzzCases, runFuzz, send } from './lib/fuzz-cases.ts';
import { machineInfo, versions } from './lib/run-info.ts';
import { startHarness, testConfig } from '../helpers/gateway-harness.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const seed = Number(process.env.FUZZ_SEED ?? 17);
const count = Number(process.env.FUZZ_COUNT ?? 10_000);

const h = await startHarness({ config: testConfig(), fake: { recordBodies: false } });
const origin = new URL(h.baseUrl).origin;
const started = Date.now();
let tally;
let after: number[] = [];
try {
  tally = await runFuzz(origin, h.key, fuzzCases(seed, count), h.fake, (done) => process.stderr.write(`  ${done}/${count}\n`));
  // The gateway still serves: 50 valid requests after the storm.
  after = await Promise.all(Array.from({ length: 50 }, async (_, i) => (await send(origin, h.key, {
    category: 'valid', label: 'after', method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `after ${i}` }] })),
  })).status));
} finally {
  await h.stop();
}
const servesAfter = after.every((status) => status === 200);
const fiveHundreds = Object.entries(tally.statusHistogram).filter(([s]) => Number(s) >= 500).reduce((sum, [, n]) => sum + n, 0);
const result = {
  benchmark: 'fuzz',
  date: new Date().toISOString(),
  machine: machineInfo(),
  versions: versions(projectRoot),
  seed,
  requests: tally.total,
  duration_s: Math.round((Date.now() - started) / 100) / 10,
  categories: CATEGORIES,
  by_category: tally.byCategory,
  status_histogram: tally.statusHistogram,
  server_errors: fiveHundreds,
  dropped_connections: tally.violations.filter((v) => v.status === 0).length,
  provider_calls: tally.providerCalls,
  invalid_reaching_provider: tally.providerRejected,
  serves_normally_afterwards: servesAfter,
  violations: tally.violations.slice(0, 200),
  violation_count: tally.violations.length,
  known_issues: tally.violations.filter((v) => v.problem.startsWith('KNOWN:')).length,
  passed: tally.violations.every((v) => v.problem.startsWith('KNOWN:')) && servesAfter,
};
await mkdir(join(projectRoot, 'test/bench/results'), { recursive: true });
await writeFile(join(projectRoot, 'test/bench/results/fuzz.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify({ requests: result.requests, status_histogram: result.status_histogram, server_errors: fiveHundreds, violations: result.violation_count, serves_normally_afterwards: servesAfter }, null, 2));
process.exit(result.passed ? 0 : 1);
