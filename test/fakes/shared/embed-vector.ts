/** Deterministic fake embeddings shared by the fake providers: a unit vector seeded by an FNV-1a hash of the text. */

function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function embedVector(seedText: string, dims: number): Float32Array {
  let a = fnv1a(seedText);
  const v = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    // mulberry32
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 1;
  for (let i = 0; i < dims; i++) v[i] = (v[i] ?? 0) * inv;
  return v;
}
