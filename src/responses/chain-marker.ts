/**
 * The body field that tells each attempt of a fallback chain (src/upstream/attempt-handler.ts) that the client
 * called /v1/responses: `{ metadata }`. Envoy replays the request-level filter's body to every attempt, so the
 * marker survives retries without shared state; every attempt is translated, so it never reaches a provider.
 */
export const RESPONSES_DIALECT_FIELD = 'x_tollgate_responses';

export function takeResponsesMarker(body: Record<string, unknown>): { metadata: Record<string, string> } | undefined {
  const marker = body[RESPONSES_DIALECT_FIELD];
  if (marker === undefined) return undefined;
  delete body[RESPONSES_DIALECT_FIELD];
  const metadata = typeof marker === 'object' && marker !== null && 'metadata' in marker ? (marker as { metadata: unknown }).metadata : {};
  return { metadata: typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, string>) : {} };
}
