/**
 * vLLM's answers are OpenAI's with different incidental fields: no `service_tier` / `system_fingerprint`, a
 * `stop_reason` and `reasoning_content` per choice, no `"usage":null` on stream chunks, usage without token
 * details. The fake reshapes the OpenAI fake's answers, so both share one answer generator.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';

function reshapeCommon(o: Json): Json {
  const { service_tier: _tier, system_fingerprint: _fingerprint, ...rest } = o;
  if (isObj(rest.usage)) {
    const { prompt_tokens, completion_tokens, total_tokens } = rest.usage;
    rest.usage = { prompt_tokens, total_tokens, completion_tokens, prompt_tokens_details: null };
  } else if (rest.usage === null) {
    delete rest.usage;
  }
  return rest;
}

export function vllmChatBody(openAIBody: string): string {
  const body = reshapeCommon(JSON.parse(openAIBody) as Json);
  if (Array.isArray(body.choices)) {
    body.choices = body.choices.map((c: unknown) => {
      if (!isObj(c) || !isObj(c.message)) return c;
      const { role, content, tool_calls } = c.message;
      return { ...c, message: { role, reasoning_content: null, content, tool_calls: tool_calls ?? [] }, stop_reason: null };
    });
  }
  return JSON.stringify({ ...body, prompt_logprobs: null, kv_transfer_params: null });
}

export function vllmStreamFrames(openAIFrames: readonly string[]): string[] {
  return openAIFrames.map((frame) => {
    const data = frame.slice('data: '.length).trimEnd();
    if (data === '[DONE]') return frame;
    const chunk = reshapeCommon(JSON.parse(data) as Json);
    if (Array.isArray(chunk.choices)) {
      for (const c of chunk.choices) if (isObj(c) && isObj(c.delta)) delete c.delta.refusal;
    }
    return `data: ${JSON.stringify(chunk)}\n\n`;
  });
}
