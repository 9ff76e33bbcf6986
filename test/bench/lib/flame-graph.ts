/**
 * A flame graph (SVG) from a V8 .cpuprofile, so "where the time goes" can be committed and looked at without a
 * profiler UI: each box is a stack frame, its width the CPU time spent in it and its callees, callers below callees.
 * Frames of the same function under the same caller merge; idle time is left out.
 */
export interface CallFrame { functionName: string; url: string; lineNumber: number }
export interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

interface Frame { name: string; area: string; ms: number; children: Map<string, Frame> }

const WIDTH = 1400;
const ROW = 17;
const MIN_WIDTH_PX = 0.3;
/** Deeper frames are left out (their time stays in their callers): keeps the picture readable. */
const MAX_DEPTH = 45;

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Colours by where the code lives: Tollgate's own, its packages, Node's internals, V8. */
function colour(area: string, name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  const shade = hash % 40;
  if (area.startsWith('src/')) return `rgb(${215 + (shade % 40)},${110 + shade},40)`;
  if (area.startsWith('node:')) return `rgb(${90 + shade},${140 + shade},${215})`;
  if (area.startsWith('(')) return `rgb(${150 + shade},${150 + shade},${150 + shade})`;
  return `rgb(${200 + (shade % 50)},${170 + shade},70)`;
}

function frameName(frame: CallFrame): { name: string; area: string } {
  const url = frame.url;
  const fn = frame.functionName || '(anonymous)';
  if (!url) return { name: fn, area: fn.startsWith('(') ? fn : '(native)' };
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  const src = /\/(src\/.+|test\/.+)$/.exec(url);
  const area = pkg ? (pkg[1] as string) : url.startsWith('node:') ? url : src ? (src[1] as string) : url;
  return { name: `${fn} (${area.replace(/^node:internal\//, 'node:')}:${frame.lineNumber + 1})`, area };
}

/** Builds the merged call tree from the samples taken at or after `fromMs` into the profile. */
function callTree(profile: CpuProfile, fromMs: number): Frame {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const root: Frame = { name: 'all', area: '(root)', ms: 0, children: new Map() };
  let clock = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    clock += dt;
    if (clock < fromMs) continue;
    const leaf = byId.get(profile.samples[i] as number);
    if (!leaf || leaf.callFrame.functionName === '(idle)') continue;
    const stack: CallFrame[] = [];
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = (byId.get(id) as ProfileNode).callFrame;
      if (frame.functionName !== '(root)') stack.push(frame);
    }
    root.ms += dt;
    let at = root;
    for (const frame of stack.reverse()) {
      const { name, area } = frameName(frame);
      let next = at.children.get(name);
      if (!next) at.children.set(name, (next = { name, area, ms: 0, children: new Map() }));
      next.ms += dt;
      at = next;
    }
  }
  return root;
}

function depthOf(frame: Frame): number {
  let deepest = 0;
  for (const child of frame.children.values()) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

export function flameGraphSvg(profile: CpuProfile, options: { fromMs?: number; title: string }): string {
  const root = callTree(profile, options.fromMs ?? 0);
  const depth = Math.min(depthOf(root), MAX_DEPTH);
  const height = (depth + 2) * ROW;
  const scale = root.ms > 0 ? WIDTH / root.ms : 0;
  const boxes: string[] = [];
  const draw = (frame: Frame, x: number, level: number) => {
    const width = frame.ms * scale;
    if (width < MIN_WIDTH_PX || level >= MAX_DEPTH) return;
    const y = height - (level + 1) * ROW;
    const share = root.ms > 0 ? ((frame.ms / root.ms) * 100).toFixed(2) : '0';
    const label = width > 40 ? `<text x="${(x + 3).toFixed(1)}" y="${(y + 12).toFixed(1)}">${escapeXml(frame.name.slice(0, Math.floor(width / 6.5)))}</text>` : '';
    boxes.push(`<g><title>${escapeXml(`${frame.name}: ${frame.ms.toFixed(1)} ms, ${share} %`)}</title><rect x="${x.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${ROW - 1}" fill="${colour(frame.area, frame.name)}"/>${label}</g>`);
    let childX = x;
    for (const child of [...frame.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      draw(child, childX, level + 1);
      childX += child.ms * scale;
    }
  };
  draw(root, 0, 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height + ROW}" font-family="monospace" font-size="11">`,
    `<text x="4" y="13" font-size="13">${escapeXml(`${options.title} — ${root.ms.toFixed(0)} ms of CPU; width = inclusive time (hover for figures)`)}</text>`,
    `<g transform="translate(0,${ROW})">`,
    ...boxes,
    '</g></svg>',
    '',
  ].join('\n');
}
