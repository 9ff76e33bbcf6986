/**
 * Summarises a V8 .cpuprofile (e.g. of the Tollgate child: BENCH_TOLLGATE_NODE_OPTIONS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof" node test/bench/overhead.ts): self time by area (package or src/ directory) and by
 * function, and inclusive time of the busiest frames.
 *
 *   node test/bench/profile-summary.ts FILE.cpuprofile [--top 30] [--from MS] [--svg OUT.svg]
 *
 * --svg also writes a flame graph of the same samples (lib/flame-graph.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { flameGraphSvg, type CallFrame, type CpuProfile as SampledProfile, type ProfileNode } from './lib/flame-graph.ts';

interface CpuProfile extends SampledProfile { startTime: number; endTime: number }

const args = process.argv.slice(2);
const svgAt = args.indexOf('--svg');
const svgOut = svgAt === -1 ? null : (args[svgAt + 1] ?? null);
const file = args.find((arg, i) => !arg.startsWith('--') && !/^\d+$/.test(arg) && (svgAt === -1 || i !== svgAt + 1));
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
if (!file) {
  process.stderr.write('usage: node test/bench/profile-summary.ts FILE.cpuprofile [--top N] [--from MS]\n');
  process.exit(2);
}
const top = option('--top', 30);
const fromMs = option('--from', 0);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) byId.set(node.id, node);
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

function area(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const src = /\/(src\/[^/]+)\//.exec(url);
  if (src) return src[1] as string;
  return url.replace(/^file:\/\//, '');
}

const label = (frame: CallFrame) => `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${frame.lineNumber + 1}`;

const selfByArea = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const totalByFunction = new Map<string, number>();
let total = 0;
let clock = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i] ?? 0) / 1000;
  clock += dt;
  if (clock < fromMs) continue;
  const node = byId.get(profile.samples[i] as number);
  if (!node) continue;
  if (node.callFrame.functionName === '(idle)') continue;
  total += dt;
  selfByArea.set(area(node.callFrame), (selfByArea.get(area(node.callFrame)) ?? 0) + dt);
  selfByFunction.set(label(node.callFrame), (selfByFunction.get(label(node.callFrame)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const key = label(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    totalByFunction.set(key, (totalByFunction.get(key) ?? 0) + dt);
  }
}

const wallMs = (profile.endTime - profile.startTime) / 1000;
const out = (text: string) => process.stdout.write(text);
out(`profile ${wallMs.toFixed(0)} ms wall, ${total.toFixed(0)} ms on CPU (not idle)${fromMs ? ` from ${fromMs} ms` : ''}\n`);
const table = (title: string, map: Map<string, number>) => {
  out(`\n${title}\n`);
  for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    out(`${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
  }
};
table('self time by area', selfByArea);
table('self time by function', selfByFunction);
table('inclusive time by function', totalByFunction);

if (svgOut) {
  writeFileSync(svgOut, flameGraphSvg(profile, { fromMs, title: `CPU profile ${file.split('/').pop()}` }));
  out(`\nflame graph: ${svgOut}\n`);
}
