import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The suite-wide leak check of issue 17: each gateway a test starts scans its own artifacts when it stops
 * (test/helpers/leak-scan.ts) and appends what it found to one report; the run fails at its end unless the report
 * is empty. Set TOLLGATE_LEAK_REPORT yourself to keep the report after the run.
 */
export default function setup(): () => void {
  const own = !process.env.TOLLGATE_LEAK_REPORT;
  const dir = own ? mkdtempSync(join(tmpdir(), 'tollgate-leaks-')) : null;
  if (dir) process.env.TOLLGATE_LEAK_REPORT = join(dir, 'leaks.jsonl');
  const report = process.env.TOLLGATE_LEAK_REPORT as string;
  return () => {
    let text = '';
    try {
      text = readFileSync(report, 'utf8');
    } catch {
      // No gateway found anything: no report was written.
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    const leaks = text.split('\n').filter((line) => line.trim());
    if (leaks.length > 0) {
      throw new Error(`secrets or prompts were written by the gateway under test (${leaks.length}):\n${leaks.slice(0, 50).join('\n')}`);
    }
  };
}
