/** Embeddings answers: the `list` body of hashed vectors for a validated request, as float arrays or base64. */
import { embedVector } from '../shared/embed-vector.ts';
import type { EmbeddingsRequest } from './validate-embeddings.ts';

export function embeddingsBody(r: EmbeddingsRequest): string {
  const { items, dims } = r;
  let tokens = 0;
  let data = '';
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (!it) continue;
    tokens += it[1];
    const vec = embedVector(it[0], dims);
    let emb: string;
    if (r.base64) {
      const buf = Buffer.allocUnsafe(dims * 4);
      for (let j = 0; j < dims; j++) buf.writeFloatLE(vec[j] ?? 0, j * 4);
      emb = `"${buf.toString('base64')}"`;
    } else {
      emb = JSON.stringify(Array.from(vec));
    }
    data += `${i === 0 ? '' : ','}{"object":"embedding","index":${i},"embedding":${emb}}`;
  }
  return `{"object":"list","data":[${data}],"model":${JSON.stringify(r.model)},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`;
}
