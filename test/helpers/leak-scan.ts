import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * "Secrets never reach logs": every gateway a test starts leaves its artifacts (Tollgate's log, Envoy's output, the
 * audit log, ledger files and exports) in its own directory; before the directory is removed, they are scanned for
 * the values that must never be written: provider keys, admin tokens, virtual keys, and the prompt texts the
 * provider received. Hits go to the run's report file (TOLLGATE_LEAK_REPORT, set by test/global-leak-check.ts),
 * and the run fails at its end when the report is not empty.
 */
export interface Leak {
  file: string;
  kind: 'secret' | 'prompt';
  /** The value, shortened: enough to find it, not enough to leak it again. */
  value: string;
}

/** Config files name environment variables and carry example text; they are inputs, not artifacts. */
const NOT_ARTIFACTS = /\.(?:ya?ml|json)$|(?:^|\/)envoy\//;
/** Prompts shorter than this are words any log may hold ("hi", "hello"). */
const MIN_PROMPT_LENGTH = 24;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** User and system message texts of chat, Responses and Anthropic bodies a fake provider received. */
export function promptTexts(bodies: unknown[]): string[] {
  const texts = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.trim().length >= MIN_PROMPT_LENGTH) texts.add(value.trim());
    else if (Array.isArray(value)) {
      // Content parts ({text}) and Responses input items (messages with their own content).
      for (const part of value as Array<{ text?: unknown; content?: unknown }>) add(part?.text ?? part?.content ?? part);
    }
  };
  for (const body of bodies) {
    if (!body || typeof body !== 'object') continue;
    const b = body as { messages?: Array<{ role?: string; content?: unknown }>; input?: unknown; system?: unknown };
    for (const message of b.messages ?? []) if (message.role === 'user' || message.role === 'system') add(message.content);
    add(b.input);
    add(b.system);
  }
  return [...texts];
}

export async function scanForLeaks(dir: string, values: { secrets: string[]; prompts: string[] }): Promise<Leak[]> {
  const leaks: Leak[] = [];
  const needles = [
    ...values.secrets.filter((s) => s.length >= 8).map((value) => ({ kind: 'secret' as const, value, bytes: Buffer.from(value) })),
    ...values.prompts.map((value) => ({ kind: 'prompt' as const, value, bytes: Buffer.from(value) })),
  ];
  for (const file of await filesUnder(dir)) {
    const name = relative(dir, file);
    if (NOT_ARTIFACTS.test(name)) continue;
    if ((await stat(file)).size > 64 * 1024 * 1024) continue;
    const content = await readFile(file);
    for (const needle of needles) {
      if (content.includes(needle.bytes)) leaks.push({ file: name, kind: needle.kind, value: `${needle.value.slice(0, 12)}…` });
    }
  }
  return leaks;
}

export async function reportLeaks(source: string, leaks: Leak[]): Promise<void> {
  const report = process.env.TOLLGATE_LEAK_REPORT;
  if (!report || leaks.length === 0) return;
  await appendFile(report, leaks.map((leak) => `${JSON.stringify({ source, ...leak })}\n`).join(''));
}
