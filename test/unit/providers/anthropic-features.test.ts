/**
 * Golden tests of the OpenAI features that map onto Anthropic mechanisms: structured outputs (a forced output tool),
 * reasoning (extended thinking), prompt caching (cache_control). Requests are checked as built, then sent to the
 * strict fake, whose answers are translated back (JSON and streams cut at many offsets).
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import { STRUCTURED_OUTPUT_TOOL } from '../../../src/providers/anthropic/structured-output.ts';
import { startFakeAnthropic } from '../../fakes/anthropic-provider.ts';
import type { FakeAnthropic } from '../../fakes/anthropic-provider.ts';
import { CONFIG, feed, responseInfo, seededRandom, send, sseData, translate } from './anthropic-fixtures.ts';

const user = (content: unknown) => ({ role: 'user', content });

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer', minimum: 0 },
    tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
    role: { type: 'string', enum: ['admin', 'user'] },
  },
  required: ['name', 'age', 'tags', 'role'],
  additionalProperties: false,
};
const structured = { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } };
const validPerson = new Ajv({ strict: false }).compile(PERSON);

function rejection(body: Record<string, unknown>, config = CONFIG): GatewayError {
  try {
    anthropicAdapter.translateRequest({ endpoint: 'chat', body, stream: false, target: { providerName: 'anthropic', provider: config, basePath: '/v1', upstreamModel: 'claude-haiku-4-5', credential: 'k' } });
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('expected a GatewayError');
}

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: 'sk-ant-test' });
});
afterAll(async () => {
  await fake?.close();
});

/** Translates, sends to the fake, and translates the answer back (JSON, or a stream cut at `cuts`). */
async function roundTrip(body: Record<string, unknown>, cuts: number[] = []): Promise<{ status: number; text: string; usage: unknown }> {
  const stream = body.stream === true;
  const { status, bytes } = await send(fake.url, translate(body));
  const translator = anthropicAdapter.translateResponse(responseInfo({ stream, status, clientWantsUsage: stream }));
  const text = feed(translator, bytes, cuts);
  return { status, text, usage: translator.usage };
}

describe('structured outputs on Anthropic: a forced output tool', () => {
  it('json_schema becomes the forced json_response tool with the schema as input_schema', () => {
    const out = translate({ messages: [user('who?')], response_format: structured }).body;
    expect(out.tools).toEqual([{ name: STRUCTURED_OUTPUT_TOOL, description: expect.stringContaining('person'), input_schema: PERSON }]);
    expect(out.tool_choice).toEqual({ type: 'tool', name: STRUCTURED_OUTPUT_TOOL });
  });

  it('json_object forces a tool that takes any object; text changes nothing', () => {
    const out = translate({ messages: [user('x')], response_format: { type: 'json_object' } }).body;
    expect(out.tools).toEqual([expect.objectContaining({ name: STRUCTURED_OUTPUT_TOOL, input_schema: { type: 'object', additionalProperties: true } })]);
    expect(translate({ messages: [user('x')], response_format: { type: 'text' } }).body).not.toHaveProperty('tools');
  });

  it('beside client tools the model must call one of them or answer (any); a forced client function stays forced', () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const auto = translate({ messages: [user('x')], tools, response_format: structured, parallel_tool_calls: false }).body;
    expect((auto.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['lookup', STRUCTURED_OUTPUT_TOOL]);
    expect(auto.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    const forced = translate({ messages: [user('x')], tools, tool_choice: { type: 'function', function: { name: 'lookup' } }, response_format: structured }).body;
    expect(forced.tool_choice).toEqual({ type: 'tool', name: 'lookup' });
    const none = translate({ messages: [user('x')], tools, tool_choice: 'none', response_format: structured }).body;
    expect(none.tool_choice).toEqual({ type: 'tool', name: STRUCTURED_OUTPUT_TOOL });
  });

  it('refuses a non-object schema, the reserved tool name, and thinking with a schema (400, OpenAI shape)', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'string' } } } }, 'response_format.json_schema.schema'],
      [{ response_format: structured, tools: [{ type: 'function', function: { name: STRUCTURED_OUTPUT_TOOL } }] }, 'tools'],
      [{ response_format: structured, reasoning_effort: 'low' }, 'response_format'],
    ];
    for (const [extra, param] of cases) {
      const err = rejection({ messages: [user('x')], ...extra });
      expect([err.status, err.type, err.param]).toEqual([400, 'invalid_request_error', param]);
    }
  });

  it('the answer is the tool input as JSON content that validates against the schema, finish_reason stop', async () => {
    const { status, text, usage } = await roundTrip({ messages: [user('Ada Lovelace')], response_format: structured });
    expect(status).toBe(200);
    const completion = JSON.parse(text) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> };
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message).not.toHaveProperty('tool_calls');
    const person = JSON.parse(String(choice?.message.content));
    expect(validPerson(person)).toBe(true);
    expect(person.name).toBe('Ada Lovelace');
    expect(usage).toMatchObject({ promptTokens: expect.any(Number), completionTokens: expect.any(Number) });
  });

  it('streamed: the content deltas reassemble into schema-valid JSON at any split, no tool_calls, finish stop', async () => {
    const { bytes } = await send(fake.url, translate({ messages: [user('Grace Hopper')], response_format: structured, stream: true }));
    const random = seededRandom(14);
    for (let round = 0; round < 20; round++) {
      const cuts = Array.from({ length: 6 }, () => Math.floor(random() * bytes.length));
      const translator = anthropicAdapter.translateResponse(responseInfo({ stream: true, clientWantsUsage: true }));
      const events = sseData(feed(translator, bytes, cuts));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.filter((e): e is { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> } => typeof e === 'object');
      const content = chunks.map((c) => String(c.choices[0]?.delta.content ?? '')).join('');
      expect(validPerson(JSON.parse(content))).toBe(true);
      expect(chunks.some((c) => c.choices[0]?.delta.tool_calls)).toBe(false);
      expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop']);
    }
  });
});

describe('reasoning_effort on Anthropic: extended thinking', () => {
  it('maps the effort to a budget; without a client limit the budget comes on top of the default answer length', () => {
    expect(translate({ messages: [user('x')], reasoning_effort: 'low' }).body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 4096 + 1024 });
    expect(translate({ messages: [user('x')], reasoning_effort: 'high' }).body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 24576 }, max_tokens: 4096 + 24576 });
    expect(translate({ messages: [user('x')], reasoning_effort: 'minimal' }).body).not.toHaveProperty('thinking');
  });

  it('a client limit stays the limit; the budget takes at most half of it and never less than 1,024', () => {
    expect(translate({ messages: [user('x')], reasoning_effort: 'medium', max_completion_tokens: 6000 }).body).toMatchObject({ thinking: { budget_tokens: 3000 }, max_tokens: 6000 });
    expect(translate({ messages: [user('x')], reasoning_effort: 'high', max_tokens: 1500 }).body).toMatchObject({ thinking: { budget_tokens: 1024 }, max_tokens: 1500 });
    expect(translate({ messages: [user('x')], reasoning_effort: 'low', max_completion_tokens: 100000 }).body).toMatchObject({ thinking: { budget_tokens: 1024 }, max_tokens: 100000 });
  });

  it('refuses what Anthropic refuses with thinking, naming the field', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ reasoning_effort: 'low', max_completion_tokens: 1024 }, 'max_completion_tokens'],
      [{ reasoning_effort: 'low', temperature: 0.2 }, 'temperature'],
      [{ reasoning_effort: 'low', top_p: 0.5 }, 'top_p'],
      [{ reasoning_effort: 'extreme' }, 'reasoning_effort'],
    ];
    for (const [extra, param] of cases) expect(rejection({ messages: [user('x')], ...extra }).param).toBe(param);
  });

  it('a tool loop continues without thinking (OpenAI messages cannot carry the signed thinking block back); the fake accepts it', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    const loop = {
      reasoning_effort: 'medium', tools,
      messages: [
        user('find it'),
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'found' },
      ],
    };
    expect(translate(loop).body).not.toHaveProperty('thinking');
    expect(translate({ ...loop, messages: loop.messages.slice(0, 1) }).body).toHaveProperty('thinking');
    const { status, text } = await roundTrip(loop);
    expect(status).toBe(200);
    expect((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('Tool result: found');
    // The fake refuses the same loop with thinking on, as Anthropic does.
    const forced = translate({ ...loop, messages: loop.messages.slice(0, 1) }).body;
    const refused = await send(fake.url, { ...translate(loop), body: { ...translate(loop).body, thinking: forced.thinking, max_tokens: forced.max_tokens } });
    expect(refused.status).toBe(400);
    expect(refused.bytes.toString()).toContain('must start with a thinking block');
  });

  it('the fake accepts the translated request; thinking never reaches content and is counted as completion', async () => {
    const plain = await roundTrip({ messages: [user('why is the sky blue')] });
    const thought = await roundTrip({ messages: [user('why is the sky blue')], reasoning_effort: 'medium' });
    expect(thought.status).toBe(200);
    const message = (JSON.parse(thought.text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message;
    expect(message?.content).toBe('Echo: why is the sky blue');
    expect(thought.text).not.toContain('Let me think');
    const completion = (u: unknown) => (u as { completionTokens: number }).completionTokens;
    expect(completion(thought.usage)).toBeGreaterThan(completion(plain.usage));
  });

  it('streamed with thinking: text only, block indexes after the thinking block still line up', async () => {
    const { text } = await roundTrip({ messages: [user('count the stars')], reasoning_effort: 'low', stream: true }, [17, 230, 411]);
    const chunks = sseData(text).filter((e): e is { choices: Array<{ delta: { content?: string } }> } => typeof e === 'object' && Array.isArray((e as { choices?: unknown }).choices));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: count the stars');
    expect(text).not.toContain('think');
  });
});

describe('prompt caching on Anthropic: cache_control', () => {
  const marked = { type: 'ephemeral' };

  it('passes cache_control of content parts, system parts and tools on to the Anthropic blocks', () => {
    const out = translate({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'long rules', cache_control: marked }] },
        user([{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'question' }]),
      ],
      tools: [{ type: 'function', function: { name: 'f' }, cache_control: marked }],
    }).body;
    expect(out.system).toEqual([{ type: 'text', text: 'long rules', cache_control: marked }]);
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'question' }] }]);
    expect((out.tools as Array<Record<string, unknown>>)[0]?.cache_control).toEqual(marked);
  });

  it('refuses a malformed cache_control with the path of the part', () => {
    const err = rejection({ messages: [user([{ type: 'text', text: 'x', cache_control: { type: 'forever' } }])] });
    expect([err.status, err.param]).toEqual([400, 'messages[0].content[0].cache_control']);
  });

  it('cache_prefix_min_tokens marks a long system prompt (tools included) and leaves short prefixes and client marks alone', () => {
    const config = { ...CONFIG, cache_prefix_min_tokens: 100 };
    const target = { providerName: 'anthropic', provider: config, basePath: '/v1', upstreamModel: 'claude-haiku-4-5', credential: 'k' };
    const call = (body: Record<string, unknown>) => anthropicAdapter.translateRequest({ endpoint: 'chat', body, stream: false, target }).body;
    const long = 'rule '.repeat(100);
    expect(call({ messages: [{ role: 'system', content: long }, user('q')] }).system).toEqual([{ type: 'text', text: long, cache_control: marked }]);
    expect(call({ messages: [{ role: 'system', content: 'short' }, user('q')] }).system).toBe('short');
    const toolsOnly = call({ messages: [user('q')], tools: [{ type: 'function', function: { name: 'f', description: long } }] });
    expect((toolsOnly.tools as Array<Record<string, unknown>>)[0]?.cache_control).toEqual(marked);
    const own = call({ messages: [{ role: 'system', content: long }, user([{ type: 'text', text: 'q', cache_control: marked }])] });
    expect(own.system).toBe(long);
    expect(translate({ messages: [{ role: 'system', content: long }, user('q')] }).body.system).toBe(long);
  });

  it('a cached prefix is written once, then read: usage reports both and OpenAI cached_tokens', async () => {
    const system = `You are a careful assistant. ${'Follow the house style. '.repeat(300)}`;
    const body = { messages: [{ role: 'system', content: [{ type: 'text', text: system, cache_control: marked }] }, user('hello')] };
    const first = await roundTrip(body);
    expect(first.usage).toMatchObject({ cacheWriteTokens: expect.any(Number) });
    const write = (first.usage as { cacheWriteTokens: number }).cacheWriteTokens;
    expect(write).toBeGreaterThanOrEqual(1024);
    const second = await roundTrip(body);
    expect(second.usage).toMatchObject({ cachedPromptTokens: write, promptTokens: (first.usage as { promptTokens: number }).promptTokens });
    expect((JSON.parse(second.text) as { usage: Record<string, unknown> }).usage).toMatchObject({ prompt_tokens_details: { cached_tokens: write } });
  });
});
