/**
 * What went wrong during a load run, as every load generator reports it: non-2xx answers by status, transport
 * errors by message, and the first few failed answers to tell what failed.
 */
export class FailureTally {
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly samples: string[] = [];

  /** A non-2xx answer; `detail` (called for the first few only) describes it after the status. */
  status(code: number, detail: () => string): void {
    const key = String(code);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    if (this.samples.length < 5) this.samples.push(`${key} ${detail()}`);
  }

  /** A transport error (connect, reset, timeout), or a named failure such as a stream without content. */
  error(error: unknown): void {
    const key = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }

  get count(): number {
    return Object.values(this.statuses).reduce((a, b) => a + b, 0) + Object.values(this.errors).reduce((a, b) => a + b, 0);
  }
}
