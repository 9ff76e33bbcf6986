/** Raw HTTP calls to the gateway, for tests that check statuses, headers or streams the OpenAI SDK would hide. */

export interface PostJsonOptions {
  /** Sent besides `authorization` and `content-type` (e.g. `x-fake-fault`). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** POSTs `body` as JSON with `key` as the bearer token and resolves with the raw response. */
export function postJson(url: string, key: string, body: unknown, options: PostJsonOptions = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(body),
    signal: options.signal,
  });
}
