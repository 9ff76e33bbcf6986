import { createInterface } from 'node:readline';
import { findPii } from '../guardrails/pii/scan.ts';
import { PII_TYPES, type PiiType } from '../guardrails/pii/types.ts';

/**
 * `tollgate pii-scan`: the gateway's PII and secret detector over JSONL on stdin, for security teams to measure it on
 * their own data. One output line per input line, in order: {"spans":[{"type","start","end"}]} with JavaScript string
 * offsets, or {"error": "..."} for a line that is not {"text": string}. The same function the guardrails stage runs.
 */
export async function piiScanCommand(options: { disable?: string }): Promise<void> {
  const types = enabledTypes(options.disable);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    process.stdout.write(`${JSON.stringify(scanLine(line, types))}\n`);
  }
}

function enabledTypes(disable: string | undefined): ReadonlySet<PiiType> {
  const off = new Set((disable ?? '').split(',').map((type) => type.trim()).filter(Boolean));
  for (const type of off) {
    if (!(PII_TYPES as readonly string[]).includes(type)) throw new Error(`unknown type in --disable: ${type} (types: ${PII_TYPES.join(', ')})`);
  }
  return new Set(PII_TYPES.filter((type) => !off.has(type)));
}

function scanLine(line: string, types: ReadonlySet<PiiType>): object {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  const text = (record as { text?: unknown } | null)?.text;
  if (typeof text !== 'string') return { error: 'expected {"text": string}' };
  return { spans: findPii(text).filter((span) => types.has(span.type)).map(({ type, start, end }) => ({ type, start, end })) };
}
