/**
 * Round trip with the real `openai` SDK as the client: SDK → a minimal stand-in for the gateway's data path
 * (translateRequest, forward, translateResponse chunk by chunk — what Envoy + the route stage do) → the strict
 * fake Anthropic over HTTP. What the SDK gets back is what an OpenAI client of Tollgate gets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import { startFakeAnthropic } from '../../fakes/anthropic-provider.ts';
import type { FakeAnthropic } from '../../fakes/anthropic-provider.ts';
import { responseInfo, target } from './anthropic-fixtures.ts';

let fake: FakeAnthropic;
let gateway: http.Server;
let client: OpenAI;

/** Forwards one OpenAI chat request to the fake through the Anthropic adapter, streaming the answer back. */
function relay(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  const body = JSON.parse(raw) as Record<string, unknown>;
  const stream = body.stream === true;
  let outgoing;
  try {
    outgoing = anthropicAdapter.translateRequest({ endpoint: 'chat', body, stream, target: target() });
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    res.writeHead(e.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: e.message, type: e.type, code: e.code, param: e.param } }));
    return;
  }
  const headers: Record<string, string> = { ...outgoing.headers };
  const fault = req.headers['x-fake-fault'];
  if (typeof fault === 'string') headers['x-fake-fault'] = fault;
  const upstream = http.request(`${fake.url}${outgoing.path}`, { method: 'POST', headers }, (up) => {
    const status = up.statusCode ?? 0;
    const translator = anthropicAdapter.translateResponse(responseInfo({
      stream, status, clientWantsUsage: (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true,
    }));
    res.writeHead(status, { 'content-type': stream && status === 200 ? 'text/event-stream' : 'application/json' });
    let ended = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      res.end(translator.onChunk(Buffer.alloc(0), true));
    };
    up.on('data', (chunk: Buffer) => res.write(translator.onChunk(chunk, false) ?? chunk));
    up.on('end', finish);
    up.on('error', finish);
    up.on('close', finish);
  });
  upstream.on('error', () => res.destroy());
  upstream.end(JSON.stringify(outgoing.body));
}

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: 'sk-ant-test' });
  gateway = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => relay(req, res, raw));
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  client = new OpenAI({ baseURL: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v1`, apiKey: 'tollgate-virtual-key', maxRetries: 0 });
});
afterAll(async () => {
  gateway.closeAllConnections();
  await new Promise((resolve) => gateway.close(resolve));
  await fake.close();
});
beforeEach(() => fake.reset());

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const TOOLS: ChatCompletionTool[] = [
  { type: 'function', function: { name: 'weather', description: 'Weather by city', parameters: { type: 'object', properties: { echo: { type: 'string' } } } } },
];

describe('OpenAI SDK → Anthropic adapter → strict fake Anthropic', () => {
  it('a plain chat completion, with the Tollgate key kept away from Anthropic', async () => {
    const r = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }],
    });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: hello there' });
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });

    const seen = fake.requests[0];
    expect(seen?.path).toBe('/v1/messages');
    expect(seen?.headers['x-api-key']).toBe('sk-ant-test');
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.body).toMatchObject({ system: 'be brief', max_tokens: 4096, model: 'claude-haiku-4-5' });
  });

  it('a stream with usage, reassembled by the SDK', async () => {
    const chunks = await collect(await client.chat.completions.create({
      model: 'claude', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream me please' }],
    }));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: stream me please');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('stop sequences and max_tokens', async () => {
    const stopped = await client.chat.completions.create({ model: 'c', stop: ['three'], messages: [{ role: 'user', content: 'one two three four' }] });
    expect(stopped.choices[0]?.message.content).toBe('Echo: one two ');
    expect(stopped.choices[0]?.finish_reason).toBe('stop');
    const cut = await client.chat.completions.create({ model: 'c', max_completion_tokens: 2, messages: [{ role: 'user', content: 'one two three' }] });
    expect(cut.choices[0]?.message.content).toBe('Echo: one');
    expect(cut.choices[0]?.finish_reason).toBe('length');
  });

  it('a full tool loop: tool call, tool result, answer (the strict fake checks the pairing)', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris' }];
    const first = await client.chat.completions.create({ model: 'c', messages, tools: TOOLS, tool_choice: 'required', parallel_tool_calls: false });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ echo: 'weather in Paris' });
    expect(fake.requests[0]?.body).toMatchObject({ tool_choice: { type: 'any', disable_parallel_tool_use: true } });

    const second = await client.chat.completions.create({
      model: 'c', tools: TOOLS,
      messages: [...messages, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' }],
    });
    expect(second.choices[0]?.message.content).toBe('Tool result: sunny 21C');

    const chunks = await collect(await client.chat.completions.create({ model: 'c', messages, tools: TOOLS, stream: true }));
    const args = chunks.map((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ echo: 'weather in Paris' });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('Anthropic errors reach the SDK as OpenAI errors: 429, 529, and a 400 from the strict fake', async () => {
    const fail = (headers: Record<string, string>, messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'x' }]) =>
      client.chat.completions.create({ model: 'c', messages }, { headers }).then(() => null, (e: unknown) => e);

    const limited = await fail({ 'x-fake-fault': 'status=429;retry-after=1' });
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.APIError>).code).toBe('rate_limit_error');
    expect((limited as Error).message).toContain('per-minute rate limit');

    const overloaded = await fail({ 'x-fake-fault': 'status=529' });
    expect(overloaded).toBeInstanceOf(OpenAI.APIError);
    expect(overloaded).toMatchObject({ status: 529, code: 'overloaded_error', type: 'api_error' });

    const orphan = await fail({}, [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'call_nope', content: 'y' }]);
    expect(orphan).toBeInstanceOf(OpenAI.BadRequestError);
    expect((orphan as Error).message).toContain('unexpected `tool_use_id`');
    expect((orphan as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_request_error');
  });

  it('mid-stream failures make the SDK throw, never end cleanly: event: error and a cut stream', async () => {
    const consume = async (fault: string): Promise<unknown> => {
      const stream = await client.chat.completions.create(
        { model: 'c', stream: true, messages: [{ role: 'user', content: 'a b c d e f g' }] },
        { headers: { 'x-fake-fault': fault } },
      );
      return collect(stream).then(() => null, (e: unknown) => e);
    };
    const overloaded = await consume('error-mid-stream=4');
    expect(overloaded).toBeInstanceOf(OpenAI.APIError);
    expect((overloaded as Error).message).toContain('Overloaded');

    const cut = await consume('cut-stream=5');
    expect(cut).toBeInstanceOf(OpenAI.APIError);
    expect((cut as Error).message).toContain('ended the stream before it was complete');
  });

  it('requests Anthropic cannot serve are refused before any call', async () => {
    const err = await client.chat.completions.create({ model: 'c', n: 2, messages: [{ role: 'user', content: 'x' }] }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('n');
    expect(fake.requestCount).toBe(0);
  });
});
