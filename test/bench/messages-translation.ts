/**
 * What Anthropic's Messages dialect (POST /v1/messages) costs Tollgate per request, in process (CPU µs), against the
 * chat passthrough of the same answer in the same run: the request's chat form, the message object, and the stream
 * events per chunk: chat chunks → Anthropic events (OpenAI, Gemini, vLLM… answers), and for an Anthropic provider the
 * round trip its answer makes (Anthropic events → chat chunks by the route, → Anthropic events by the dialect stage).
 * The inputs are the strict fakes' real wire format.
 *
 *   node test/bench/messages-translation.ts      (BENCH_ROUNDS=2000 BENCH_CHUNKS=100)
 */
import { messagesToChat } from '../../src/messages/request.ts';
import { chatCompletionToMessage } from '../../src/messages/response.ts';
import { ChatToMessagesStream } from '../../src/messages/to-messages-stream.ts';
import { AnthropicStreamTranslator } from '../../src/providers/anthropic/stream.ts';
import { OpenAIStreamTransformer } from '../../src/providers/openai/stream.ts';
import { answer } from '../fakes/anthropic/answer.ts';
import { messageStreamFrames } from '../fakes/anthropic/stream.ts';
import { validateRequest } from '../fakes/anthropic/validate-request.ts';
import { answerChat, chatBody } from '../fakes/openai/completions.ts';
import { chatStreamFrames } from '../fakes/openai/stream.ts';
import { validateChat } from '../fakes/openai/validate-chat.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100);
const text = Array.from({ length: CHUNKS }, (_, i) => `word${i}`).join(' ');
const request = {
  model: 'claude-sonnet-4-5',
  max_tokens: 4096,
  system: 'You are a helpful assistant. Answer briefly.',
  messages: [{ role: 'user', content: [{ type: 'text', text }] }],
  tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  tool_choice: { type: 'none' },
  stream: true,
};

const chat = messagesToChat(request);
const chatRequest = validateChat(chat, new Set(['claude-sonnet-4-5']));
const ids = { id: 0, call: 0 };
const chatFrames = chatStreamFrames(chatRequest, answerChat(chatRequest), ids).map((f) => Buffer.from(f));
const chatJson = JSON.parse(chatBody({ ...chatRequest, stream: false }, answerChat(chatRequest), ids)) as Record<string, unknown>;
const call = validateRequest(request, new Set(['claude-sonnet-4-5']));
const anthropicFrames = messageStreamFrames(call, answer(call), { id: 0, tool: 0 }).map((f) => Buffer.from(f));
const info = { endpoint: 'chat' as const, stream: true, status: 200, clientWantsUsage: true, requestId: 'r', createdAt: 0, upstreamModel: 'claude-sonnet-4-5' };

function cpuUs(run: () => void): number {
  for (let i = 0; i < Math.min(200, ROUNDS); i++) run();
  const start = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ROUNDS;
}

const feed = (push: (chunk: Buffer, end: boolean) => Buffer | void, frames: Buffer[]): Buffer[] =>
  frames.map((frame, i) => push(frame, i === frames.length - 1) ?? frame);

const results = {
  chunks_per_stream: chatFrames.length,
  request_to_chat_form_us: cpuUs(() => messagesToChat(request)),
  chat_completion_to_message_us: cpuUs(() => chatCompletionToMessage(chatJson, { requestId: 'r', model: 'm', usage: null })),
  chat_stream_passthrough_us: cpuUs(() => feed((c, e) => new OpenAIStreamTransformer(false).onChunk(c, e), chatFrames)),
  chat_stream_to_anthropic_events_us: cpuUs(() => {
    const stream = new ChatToMessagesStream({ requestId: 'r', model: 'm' });
    feed((c, e) => stream.push(c, e), chatFrames);
  }),
  anthropic_events_round_trip_us: cpuUs(() => {
    const route = new AnthropicStreamTranslator(info);
    const dialect = new ChatToMessagesStream({ requestId: 'r', model: 'm' });
    anthropicFrames.forEach((frame, i) => {
      const end = i === anthropicFrames.length - 1;
      dialect.push(route.onChunk(frame, end), end);
    });
  }),
};
const perChunk = (us: number) => Number((us / chatFrames.length).toFixed(2));
console.log(JSON.stringify({
  ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number(v.toFixed(1))])),
  per_chunk_us: {
    passthrough: perChunk(results.chat_stream_passthrough_us),
    to_anthropic_events: perChunk(results.chat_stream_to_anthropic_events_us),
    anthropic_round_trip: perChunk(results.anthropic_events_round_trip_us),
  },
}, null, 2));
