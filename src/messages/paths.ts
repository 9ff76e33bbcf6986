/** Anthropic's Messages API paths, which Tollgate serves beside OpenAI's. */
export const MESSAGES_PATH = '/v1/messages';
export const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

/** The dialect a path speaks, known before any stage runs (a failed authentication already answers in it). */
export function dialectOfPath(path: string): 'chat' | 'messages' {
  const trimmed = path.endsWith('/') ? path.replace(/\/+$/, '') : path;
  return trimmed === MESSAGES_PATH || trimmed === COUNT_TOKENS_PATH ? 'messages' : 'chat';
}
