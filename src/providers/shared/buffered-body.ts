/**
 * Collects a response body that Envoy streams in pieces, for translators that need it whole (JSON bodies).
 * `push` returns the whole body on the last piece and null before it.
 */
export class BufferedBody {
  private readonly pieces: Buffer[] = [];

  push(chunk: Buffer, endOfStream: boolean): Buffer | null {
    if (chunk.length > 0) this.pieces.push(chunk);
    return endOfStream ? Buffer.concat(this.pieces) : null;
  }
}
