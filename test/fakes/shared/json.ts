/** Plain-JSON helpers shared by the fake providers: the object type of a parsed body and its type guard. */

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
