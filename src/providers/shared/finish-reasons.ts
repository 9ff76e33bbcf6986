/**
 * Why each choice of an answer ended, in OpenAI `finish_reason` terms, for the request span's
 * `gen_ai.response.finish_reasons` (OpenTelemetry GenAI semantic conventions: one string per choice). Translators
 * note a choice's reason as they produce it; the list is ordered by choice index.
 */
export class FinishReasons {
  private readonly byChoice = new Map<number, string>();
  /** The list as last built; the route stage reads it after every chunk, and it rarely changes. */
  private built: string[] = [];
  private stale = false;

  note(index: unknown, reason: unknown): void {
    if (typeof reason !== 'string' || reason === '') return;
    this.byChoice.set(typeof index === 'number' ? index : 0, reason);
    this.stale = true;
  }

  /** Every choice of a `chat.completion` body (a buffered answer). */
  noteCompletion(body: unknown): void {
    const choices = (body as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) return;
    choices.forEach((choice: { index?: unknown; finish_reason?: unknown } | null, position) => this.note(choice?.index ?? position, choice?.finish_reason));
  }

  get list(): string[] {
    if (this.stale) {
      this.built = [...this.byChoice.entries()].sort(([a], [b]) => a - b).map(([, reason]) => reason);
      this.stale = false;
    }
    return this.built;
  }
}

/**
 * Cheap test on one OpenAI chat chunk's JSON text: only a chunk that ends a choice has a non-null finish_reason, so
 * the others (nearly all of a stream) are not parsed again.
 */
export function mayEndChoice(data: string): boolean {
  return /"finish_reason":\s*"/.test(data);
}
