/** Collects a response's bytes for the cache, giving up (and freeing them) once it grows past the entry limit. */
export class ResponseRecorder {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): void {
    if (this.overflowed || chunk.length === 0) return;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.overflowed = true;
      this.chunks.length = 0;
      return;
    }
    // Envoy's buffers are reused once we answer: keep a copy.
    this.chunks.push(Buffer.from(chunk));
  }

  /** The whole response, or null when it was too large to cache. */
  text(): string | null {
    return this.overflowed ? null : Buffer.concat(this.chunks).toString('utf8');
  }
}
