/**
 * Threshold guidance for the topics guardrail (not a quality claim: the probe, test/bench/data/topics-probe.json, is
 * small and written by the guardrail's author). Through the gateway's own client and the model sidecar
 * (all-MiniLM-L6-v2), at several thresholds: a deny list's hits and false alarms, and an allow list's on-topic
 * prompts passed and off-topic prompts caught. Also the cost of one check (one embedding of the prompt).
 *
 *   node_modules/.bin/node test/bench/topics.ts   → test/bench/results/topics.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TopicsGuardrailConfig } from '../../src/guardrails/external/config.ts';
import { topicsClient } from '../../src/guardrails/external/topics.ts';
import { startModelSidecar } from '../../src/guardrails/model-sidecar.ts';
import { summarize } from './lib/percentiles.ts';
import { commandLine, machineInfo } from './lib/run-info.ts';

const root = resolve(import.meta.dirname, '../..');
const probe = JSON.parse(readFileSync(resolve(root, 'test/bench/data/topics-probe.json'), 'utf8')) as {
  deny: Record<string, string[]>; allow: Record<string, string[]>; prompts: Array<[string, string | null]>;
};
const round = (x: number) => Math.round(x * 1000) / 1000;
const sidecar = await startModelSidecar();
try {
  const common = { name: 'topics', type: 'topics', url: `${sidecar.url}/v1`, model: 'all-MiniLM-L6-v2', timeout_ms: 10_000, on_error: 'closed', applies_to: 'input', action: 'block' } as const;
  const denyTopics = new Set(Object.keys(probe.deny));
  const allowTopics = new Set(Object.keys(probe.allow));
  const rows = [];
  const latencies: number[] = [];
  for (const threshold of [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]) {
    const deny = topicsClient({ ...common, threshold, deny: probe.deny } as TopicsGuardrailConfig, null);
    const allow = topicsClient({ ...common, threshold, allow: probe.allow } as TopicsGuardrailConfig, null);
    let denyHit = 0, denyRight = 0, denyFalse = 0, denyTotal = 0, others = 0;
    let onPassed = 0, onTotal = 0, offCaught = 0, offTotal = 0;
    for (const [text, topic] of probe.prompts) {
      const input = { direction: 'input' as const, texts: [text], compare: [text] };
      const started = performance.now();
      const d = await deny.check(input, AbortSignal.timeout(10_000));
      latencies.push(performance.now() - started);
      const a = await allow.check(input, AbortSignal.timeout(10_000));
      const found = Object.keys(d.findings);
      if (topic && denyTopics.has(topic)) {
        denyTotal += 1;
        if (d.flagged) denyHit += 1;
        if (found.includes(topic)) denyRight += 1;
      } else {
        others += 1;
        if (d.flagged) denyFalse += 1;
      }
      if (topic && allowTopics.has(topic)) {
        onTotal += 1;
        if (!a.flagged) onPassed += 1;
      } else {
        offTotal += 1;
        if (a.flagged) offCaught += 1;
      }
    }
    rows.push({
      threshold,
      deny: { recall: round(denyHit / denyTotal), right_topic: round(denyRight / denyTotal), false_alarm_rate: round(denyFalse / others), prompts: denyTotal, other_prompts: others },
      allow: { on_topic_passed: round(onPassed / onTotal), off_topic_caught: round(offCaught / offTotal), on_topic: onTotal, off_topic: offTotal },
    });
  }
  const s = summarize(latencies);
  const result = {
    date: new Date().toISOString(), machine: machineInfo(), command: commandLine(root),
    data: 'test/bench/data/topics-probe.json (author-written, small: guidance only)', model: 'all-MiniLM-L6-v2 (model sidecar)',
    by_threshold: rows,
    check_latency_ms: { calls: latencies.length, p50: round(s.p50), p99: round(s.p99), note: 'one embedding of a short prompt over HTTP, phrases embedded beforehand' },
  };
  writeFileSync(resolve(root, 'test/bench/results/topics.json'), `${JSON.stringify(result, null, 2)}\n`);
  for (const r of rows) console.log(JSON.stringify(r));
  console.log(`check p50 ${round(s.p50)} ms p99 ${round(s.p99)} ms`);
} finally {
  await sidecar.stop();
}
