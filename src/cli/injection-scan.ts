import { createInterface } from 'node:readline';
import { injectionCheck, scoreInjection } from '../guardrails/external/prompt-injection.ts';
import { startModelSidecar, type ModelSidecar } from '../guardrails/model-sidecar.ts';

const BATCH = 32;

/**
 * `tollgate injection-scan`: the prompt-injection classifier over JSONL on stdin. One output line per input line, in
 * order: {"score","injection"} — the score the gateway's prompt_injection guardrail sees for that text and its
 * decision (score ≥ threshold: the given one, else the model's own) — or {"error"} for a line that is not
 * {"text": string}. Without --url it starts the model sidecar itself and stops it at the end.
 */
export async function injectionScanCommand(options: { url?: string; threshold?: string; timeoutMs?: number }): Promise<void> {
  let threshold: number | undefined;
  if (options.threshold !== undefined) {
    threshold = Number(options.threshold);
    if (!(threshold > 0 && threshold <= 1)) throw new Error(`--threshold must be in (0, 1]: ${options.threshold}`);
  }
  let sidecar: ModelSidecar | null = null;
  const url = options.url ?? (sidecar = await startModelSidecar()).url;
  try {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    let batch: Array<{ text: string } | { error: string }> = [];
    const flush = async () => {
      const texts = batch.flatMap((entry) => ('text' in entry ? [entry.text] : []));
      const answer = texts.length
        ? await scoreInjection({ url, threshold }, null, texts, AbortSignal.timeout(options.timeoutMs ?? 120_000))
        : { scores: [], threshold: 1 };
      let next = 0;
      for (const entry of batch) {
        if ('error' in entry) {
          process.stdout.write(`${JSON.stringify(entry)}\n`);
          continue;
        }
        const score = answer.scores[next++]!;
        const check = injectionCheck([score], answer.threshold);
        process.stdout.write(`${JSON.stringify({ score, injection: check.flagged })}\n`);
      }
      batch = [];
    };
    for await (const line of lines) {
      if (line.trim() === '') continue;
      batch.push(parseLine(line));
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } finally {
    await sidecar?.stop();
  }
}

function parseLine(line: string): { text: string } | { error: string } {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  const text = (record as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? { text } : { error: 'expected {"text": string}' };
}
