/** Streaming answers with the real framing: `event: <type>\ndata: <json>\n\n`, message_start … message_stop. */
import type { Json } from '../shared/json.ts';
import { thinkingSignature, usageJson } from './answer.ts';
import type { Answer, IdCounters } from './answer.ts';
import type { MessagesCall } from './validate-request.ts';

/** Response headers of a stream; `request-id` is added per response. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
} as const;

function event(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The `event: error` the real API sends when it fails after the stream began. */
export function errorEvent(type: string, message: string): string {
  return event('error', { error: { type, message } });
}

export function messageStreamFrames(call: MessagesCall, a: Answer, ids: IdCounters): string[] {
  const frames: string[] = [
    event('message_start', {
      message: {
        id: `msg_fake${++ids.id}`, type: 'message', role: 'assistant', model: call.model, content: [],
        stop_reason: null, stop_sequence: null, usage: usageJson(a, 1),
      },
    }),
  ];
  // The real API sends a ping early in every stream; clients must skip it.
  let pinged = false;
  const ping = () => {
    if (!pinged) frames.push(event('ping', {}));
    pinged = true;
  };
  let index = 0;
  if (a.thinking !== null) {
    frames.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    ping();
    frames.push(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: a.thinking } }));
    frames.push(event('content_block_delta', { index, delta: { type: 'signature_delta', signature: thinkingSignature(a.thinking) } }));
    frames.push(event('content_block_stop', { index }));
    index++;
  }
  const hasBlock = a.kind === 'tool' || a.pieces.length > 0;
  if (hasBlock) {
    const block = a.kind === 'tool'
      ? { type: 'tool_use', id: `toolu_fake${++ids.tool}`, name: a.toolName, input: {} }
      : { type: 'text', text: '' };
    frames.push(event('content_block_start', { index, content_block: block }));
  }
  ping();
  if (a.kind === 'tool') {
    // Like the real API, the input JSON opens with an empty fragment.
    for (const p of ['', ...a.pieces]) frames.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } }));
  } else {
    for (const p of a.pieces) frames.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
  }
  if (hasBlock) frames.push(event('content_block_stop', { index }));
  frames.push(event('message_delta', { delta: { stop_reason: a.stopReason, stop_sequence: a.stopSequence }, usage: { output_tokens: a.outputTokens } }));
  frames.push(event('message_stop', {}));
  return frames;
}
