/** Streaming chat answers: the `chat.completion.chunk` SSE frames of a `ChatAnswer`, ending with `data: [DONE]`. */
import { FINGERPRINT, usageJson } from './completions.ts';
import type { ChatAnswer, IdCounters } from './completions.ts';
import type { ChatRequest } from './validate-chat.ts';

/** Response headers of a stream; `x-request-id` is added per response. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'openai-version': '2020-10-01',
} as const;

export function chatStreamFrames(r: ChatRequest, a: ChatAnswer, ids: IdCounters): string[] {
  const id = `chatcmpl-fake${++ids.id}`;
  const created = Math.floor(Date.now() / 1000);
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(r.model)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[`;
  const tail = r.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const choice = (index: number, delta: string, finish: string | null): string =>
    `${head}{"index":${index},"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}${tail}`;
  const frames: string[] = [];
  if (a.kind === 'tool') {
    for (let c = 0; c < r.n; c++) {
      const callId = `call_${++ids.call}`;
      frames.push(choice(c, `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"${callId}","type":"function","function":{"name":${JSON.stringify(a.toolName)},"arguments":""}}],"refusal":null}`, null));
    }
    for (const p of a.pieces) {
      const frag = JSON.stringify(p);
      for (let c = 0; c < r.n; c++) frames.push(choice(c, `{"tool_calls":[{"index":0,"function":{"arguments":${frag}}}]}`, null));
    }
  } else {
    for (let c = 0; c < r.n; c++) frames.push(choice(c, '{"role":"assistant","content":"","refusal":null}', null));
    for (const p of a.pieces) {
      const delta = `{"content":${JSON.stringify(p)}}`;
      for (let c = 0; c < r.n; c++) frames.push(choice(c, delta, null));
    }
  }
  for (let c = 0; c < r.n; c++) frames.push(choice(c, '{}', a.finish));
  if (r.includeUsage) {
    frames.push(`${head}],"usage":${usageJson(a.promptTokens, a.completionTokensPerChoice * r.n, a.cachedTokens)}}\n\n`);
  }
  frames.push('data: [DONE]\n\n');
  return frames;
}
