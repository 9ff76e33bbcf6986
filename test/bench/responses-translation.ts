/**
 * What the Responses API's dialect costs Tollgate per request, in process (CPU µs), against the chat passthrough of
 * the same answer in the same run: the request's chat form, the Response object, and the stream events per chunk,
 * both ways (chat chunks → Responses events for every provider; Responses events → chat chunks for OpenAI's own).
 * The inputs are the strict fakes' real wire format.
 *
 *   node test/bench/responses-translation.ts      (BENCH_ROUNDS=2000 BENCH_CHUNKS=100)
 */
import { ResponsesToChatStream } from '../../src/providers/openai/responses-api.ts';
import { OpenAIStreamTransformer } from '../../src/providers/openai/stream.ts';
import { responsesToChat } from '../../src/responses/request.ts';
import { chatCompletionToResponse } from '../../src/responses/response.ts';
import { ChatToResponsesStream } from '../../src/responses/to-responses-stream.ts';
import { answerChat, chatBody } from '../fakes/openai/completions.ts';
import { answerResponses, responsesStreamFrames, validateResponses } from '../fakes/openai/responses.ts';
import { chatStreamFrames } from '../fakes/openai/stream.ts';
import { validateChat } from '../fakes/openai/validate-chat.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100);
const MODELS = new Set(['gpt-4o-mini']);
const text = Array.from({ length: CHUNKS }, (_, i) => `word${i}`).join(' ');
const request = {
  model: 'gpt-4o-mini',
  instructions: 'You are a helpful assistant. Answer briefly.',
  input: [{ role: 'user', content: [{ type: 'input_text', text }] }],
  tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
  tool_choice: 'none',
  max_output_tokens: 4096,
  stream: true,
};

const { chat, echo } = responsesToChat(request);
const chatRequest = validateChat(chat, MODELS);
const ids = { id: 0, call: 0 };
const chatFrames = chatStreamFrames(chatRequest, answerChat(chatRequest), ids).map((f) => Buffer.from(f));
const chatJson = JSON.parse(chatBody({ ...chatRequest, stream: false }, answerChat(chatRequest), ids)) as Record<string, unknown>;
const native = validateResponses({ ...request, store: false }, MODELS);
const responseFrames = responsesStreamFrames(native, answerResponses(native), ids).map((f) => Buffer.from(f));
const info = { endpoint: 'chat' as const, stream: true, status: 200, clientWantsUsage: true, requestId: 'r', createdAt: 0, upstreamModel: 'gpt-4o-mini', responsesDialect: true };

function cpuUs(run: () => void): number {
  for (let i = 0; i < Math.min(200, ROUNDS); i++) run();
  const start = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ROUNDS;
}

const feed = (push: (chunk: Buffer, end: boolean) => unknown, frames: Buffer[]) => {
  frames.forEach((frame, i) => push(frame, i === frames.length - 1));
};

const results = {
  chunks_per_stream: chatFrames.length,
  request_to_chat_form_us: cpuUs(() => responsesToChat(request)),
  chat_completion_to_response_us: cpuUs(() => chatCompletionToResponse(chatJson, { requestId: 'r', createdAt: 0, echo })),
  chat_stream_passthrough_us: cpuUs(() => feed((c, e) => new OpenAIStreamTransformer(false).onChunk(c, e), chatFrames)),
  chat_stream_to_responses_events_us: cpuUs(() => {
    const stream = new ChatToResponsesStream({ requestId: 'r', createdAt: 0, echo, model: 'gpt-4o-mini' });
    feed((c, e) => stream.push(c, e), chatFrames);
  }),
  native_events_to_chat_chunks_us: cpuUs(() => {
    const stream = new ResponsesToChatStream(info);
    feed((c, e) => stream.onChunk(c, e), responseFrames);
  }),
};
const perChunk = (us: number) => Number((us / chatFrames.length).toFixed(2));
console.log(JSON.stringify({
  ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number(v.toFixed(1))])),
  per_chunk_us: {
    passthrough: perChunk(results.chat_stream_passthrough_us),
    to_responses_events: perChunk(results.chat_stream_to_responses_events_us),
    native_to_chat: perChunk(results.native_events_to_chat_chunks_us),
  },
}, null, 2));
