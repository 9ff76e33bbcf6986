import { describe, expect, it } from 'vitest';
import { ResponsesJsonTranslator, ResponsesToChatStream } from '../../../src/providers/openai/responses-api.ts';
import type { ResponseInfo } from '../../../src/providers/provider-adapter.ts';
import { responsesToChat } from '../../../src/responses/request.ts';
import { chatCompletionToResponse } from '../../../src/responses/response.ts';
import { ChatToResponsesStream } from '../../../src/responses/to-responses-stream.ts';
import { answerChat, chatBody } from '../../fakes/openai/completions.ts';
import { answerResponses, responsesBody, responsesStreamFrames, validateResponses } from '../../fakes/openai/responses.ts';
import { chatStreamFrames } from '../../fakes/openai/stream.ts';
import { validateChat } from '../../fakes/openai/validate-chat.ts';

const MODELS = new Set(['gpt-4o-mini']);
const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { echo: { type: 'string' } } } }];

/** A Responses request, its chat form, and the fake OpenAI's real-format chat and Responses answers to it. */
function exchange(request: Record<string, unknown>) {
  const { chat, echo } = responsesToChat({ model: 'gpt-4o-mini', ...request });
  const chatRequest = validateChat(chat, MODELS);
  const ids = { id: 0, call: 0 };
  const responsesRequest = validateResponses({ model: 'gpt-4o-mini', store: false, ...request }, MODELS);
  return {
    echo,
    chatStream: chatStreamFrames(chatRequest, answerChat(chatRequest), ids).join(''),
    chatJson: chatBody(chatRequest, answerChat(chatRequest), ids),
    responsesStream: (failAfter?: number) => responsesStreamFrames(responsesRequest, answerResponses(responsesRequest), ids, failAfter).join(''),
    responsesJson: responsesBody(responsesRequest, answerResponses(responsesRequest), ids),
  };
}

/** Feeds `text` to `push` cut at the given byte offsets (as Envoy's network reads would) and joins the output. */
function feed(push: (chunk: Buffer, end: boolean) => Buffer | void, text: string, cuts: number[]): string {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) {
    const piece = bytes.subarray(edges[i], edges[i + 1]);
    out += (push(piece, i === edges.length - 2) ?? piece).toString();
  }
  return out;
}

function events(sse: string): Array<Record<string, unknown>> {
  return sse.split('\n\n').filter(Boolean).map((event) => {
    const lines = event.split('\n');
    const data = JSON.parse((lines.find((l) => l.startsWith('data: ')) ?? '').slice(6)) as Record<string, unknown>;
    const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
    expect(name).toBe(data.type);
    return data;
  });
}

const toResponses = (echo: ReturnType<typeof responsesToChat>['echo']) =>
  new ChatToResponsesStream({ requestId: 'req-1', createdAt: 1700000000, echo, model: 'gpt-4o-mini' });

const info = (stream: boolean, status = 200): ResponseInfo => ({
  endpoint: 'chat', stream, status, clientWantsUsage: true, requestId: 'req-1', createdAt: 1700000000, upstreamModel: 'gpt-4o-mini', responsesDialect: true,
});

describe('chat stream → Responses events', () => {
  it('emits the typed text events in order, with usage on response.completed (golden)', () => {
    const { echo, chatStream } = exchange({ input: 'hello there', stream: true });
    const out = events(feed((c, e) => toResponses(echo).push(c, e), chatStream, []));
    expect(out.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(out.map((e) => e.sequence_number)).toEqual(out.map((_, i) => i));
    expect(out.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe('Echo: hello there');
    expect(out[7]).toMatchObject({ item_id: 'msg_req1_0', output_index: 0, content_index: 0, text: 'Echo: hello there' });
    expect(out.at(-1)).toMatchObject({
      response: {
        id: 'resp_req1', object: 'response', status: 'completed', created_at: 1700000000, model: 'gpt-4o-mini', store: false,
        output: [{ id: 'msg_req1_0', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Echo: hello there', annotations: [] }] }],
        usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
      },
    });
  });

  it('gives the same events whatever byte the stream is split at', () => {
    for (const request of [{ input: 'héllo wörld ✓', stream: true }, { input: 'weather', tools, stream: true }]) {
      const { echo, chatStream } = exchange(request);
      const whole = feed((c, e) => toResponses(echo).push(c, e), chatStream, []);
      const length = Buffer.byteLength(chatStream);
      for (let cut = 1; cut < length; cut++) {
        const converter = toResponses(echo);
        expect(feed((c, e) => converter.push(c, e), chatStream, [cut])).toBe(whole);
      }
      const converter = toResponses(echo);
      expect(feed((c, e) => converter.push(c, e), chatStream, Array.from({ length }, (_, i) => i))).toBe(whole);
    }
  });

  it('streams a function call as output_item.added, arguments deltas, arguments.done (golden)', () => {
    const { echo, chatStream } = exchange({ input: 'Paris', tools, stream: true });
    const out = events(feed((c, e) => toResponses(echo).push(c, e), chatStream, []));
    expect(out.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added',
      ...Array(2).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(out[2]).toMatchObject({ item: { type: 'function_call', id: 'fc_req1_0', call_id: 'call_1', name: 'get_weather', arguments: '', status: 'in_progress' } });
    expect(out.at(-2)).toMatchObject({ item: { type: 'function_call', arguments: '{"echo":"Paris"}', status: 'completed' } });
  });

  it('streams a refusal as its own content part with refusal events', () => {
    const { echo } = exchange({ input: 'x', stream: true });
    const chunk = (delta: string, finish: string | null = null) =>
      `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":${delta},"finish_reason":${finish ? `"${finish}"` : 'null'}}]}\n\n`;
    const stream = chunk('{"role":"assistant","refusal":"I can"}') + chunk('{"refusal":"not help."}') + chunk('{}', 'stop') + 'data: [DONE]\n\n';
    const converter = toResponses(echo);
    const out = events(feed((c, e) => converter.push(c, e), stream, [30]));
    expect(out.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.refusal.delta', 'response.refusal.delta', 'response.refusal.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    expect(out[3]).toMatchObject({ part: { type: 'refusal', refusal: '' } });
    expect(out.at(-1)).toMatchObject({ response: { output: [{ type: 'message', content: [{ type: 'refusal', refusal: 'I cannot help.' }] }] } });
  });

  it('turns an error event or a cut stream into error + response.failed, never a completion', () => {
    const { echo, chatStream } = exchange({ input: 'hello there', stream: true });
    const firstTwo = chatStream.split('\n\n').slice(0, 2).join('\n\n') + '\n\n';
    const blocked = `${firstTwo}data: {"error":{"message":"blocked","type":"invalid_request_error","code":"output_blocked","param":null}}\n\n`;
    const converter = toResponses(echo);
    const out = events(feed((c, e) => converter.push(c, e), blocked, [17]));
    expect(out.slice(-2)).toMatchObject([
      { type: 'error', code: 'output_blocked', message: 'blocked' },
      { type: 'response.failed', response: { status: 'failed', error: { code: 'output_blocked' } } },
    ]);
    const cut = events(feed((c, e) => toResponses(echo).push(c, e), firstTwo, []));
    expect(cut.at(-2)).toMatchObject({ type: 'error', code: 'stream_truncated' });
    expect(cut.some((e) => e.type === 'response.completed')).toBe(false);
  });
});

describe('chat.completion → Response object', () => {
  it('renders text, tool calls, max_output_tokens exhaustion and usage (golden)', () => {
    const text = exchange({ input: 'hello there', metadata: { a: 'b' } });
    expect(chatCompletionToResponse(JSON.parse(text.chatJson), { requestId: 'req-1', createdAt: 1, echo: text.echo })).toMatchObject({
      id: 'resp_req1', object: 'response', status: 'completed', metadata: { a: 'b' }, incomplete_details: null,
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'Echo: hello there' }] }],
      usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8 },
    });
    const tool = exchange({ input: 'Paris', tools });
    expect(chatCompletionToResponse(JSON.parse(tool.chatJson), { requestId: 'req-1', createdAt: 1, echo: tool.echo }).output).toEqual([
      { id: 'fc_req1_0', type: 'function_call', status: 'completed', arguments: '{"echo":"Paris"}', call_id: expect.stringMatching(/^call_/), name: 'get_weather' },
    ]);
    const capped = exchange({ input: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen', max_output_tokens: 16 });
    expect(chatCompletionToResponse(JSON.parse(capped.chatJson), { requestId: 'req-1', createdAt: 1, echo: capped.echo })).toMatchObject({
      status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' },
    });
  });
});

describe('native Responses answers → chat form (OpenAI passthrough)', () => {
  it('reads a Response object with its usage and keeps its id (golden)', () => {
    const { responsesJson } = exchange({ input: 'hello there' });
    const translator = new ResponsesJsonTranslator(info(false));
    const out = JSON.parse(feed((c, e) => translator.onChunk(c, e), responsesJson, [10, 20]));
    expect(out).toMatchObject({
      id: expect.stringMatching(/^resp_fake/), object: 'chat.completion', model: 'gpt-4o-mini-2025-04-14',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
    expect(translator.usage).toEqual({ promptTokens: 5, completionTokens: 3, totalTokens: 8 });
  });

  it('keeps a provider error in the OpenAI error shape', () => {
    const translator = new ResponsesJsonTranslator(info(false, 400));
    const out = feed((c, e) => translator.onChunk(c, e), '{"error":{"message":"Unknown parameter: \'x\'.","type":"invalid_request_error","param":"x","code":"unknown_parameter"}}', []);
    expect(JSON.parse(out)).toEqual({ error: { message: "Unknown parameter: 'x'.", type: 'invalid_request_error', code: 'unknown_parameter', param: 'x' } });
  });

  it('turns the typed events into chat chunks at every split, and back into the same Responses text', () => {
    for (const request of [{ input: 'héllo wörld ✓', stream: true }, { input: 'Paris', tools, stream: true }]) {
      const { echo, responsesStream } = exchange(request);
      const stream = responsesStream();
      const whole = feed((c, e) => new ResponsesToChatStream(info(true)).onChunk(c, e), stream, []);
      expect(whole.endsWith('data: [DONE]\n\n')).toBe(true);
      for (let cut = 1; cut < Buffer.byteLength(stream); cut += 7) {
        const translator = new ResponsesToChatStream(info(true));
        expect(feed((c, e) => translator.onChunk(c, e), stream, [cut, cut + 3])).toBe(whole);
        expect(translator.usage).toMatchObject({ totalTokens: expect.any(Number) });
      }
      // Round trip: what the client finally sees has the provider's content.
      const back = events(feed((c, e) => toResponses(echo).push(c, e), whole, []));
      const final = back.at(-1) as { type: string; response: { id: string; output: unknown[] } };
      expect(final.type).toBe('response.completed');
      expect(final.response.id).toBe('resp_req1');
      const expected = JSON.parse((responsesStream().split('\n\n').filter(Boolean).at(-1) ?? '').split('\n')[1]?.slice(6) ?? '{}');
      expect(JSON.stringify(final.response.output)).toContain(JSON.stringify((expected.response.output[0].content?.[0]?.text ?? expected.response.output[0].arguments)));
    }
  });

  it('maps response.failed and a cut stream to an OpenAI error event, never [DONE]', () => {
    const { responsesStream } = exchange({ input: 'hello there', stream: true });
    const failed = new ResponsesToChatStream(info(true));
    const out = feed((c, e) => failed.onChunk(c, e), responsesStream(5), []);
    expect(out).not.toContain('[DONE]');
    expect(out.trim().split('\n\n').at(-1)).toContain('"code":"server_error"');
    expect(failed.truncated).toBe(true);
    const cut = new ResponsesToChatStream(info(true));
    const partial = responsesStream().split('\n\n').slice(0, 5).join('\n\n');
    expect(feed((c, e) => cut.onChunk(c, e), partial, [])).toContain('stream_truncated');
    expect(cut.truncated).toBe(true);
  });
});
