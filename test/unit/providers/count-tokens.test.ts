import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import { geminiAdapter } from '../../../src/providers/gemini/adapter.ts';
import { openaiAdapter } from '../../../src/providers/openai/adapter.ts';
import { countTokensToChat } from '../../../src/messages/request.ts';
import { MODEL, target } from './anthropic-fixtures.ts';

const count = anthropicAdapter.countTokens;
if (!count) throw new Error('the Anthropic adapter must count tokens');

describe('count_tokens for an Anthropic provider', () => {
  const weather = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

  it('sends the client\'s own body to /messages/count_tokens with the provider\'s key and version, only the model replaced', () => {
    const original = { model: 'claude', system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }], thinking: { type: 'enabled', budget_tokens: 2048 } };
    const out = count({ body: countTokensToChat(original), original, target: target() });
    expect(out.path).toBe('/v1/messages/count_tokens');
    expect(out.headers).toEqual({ 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' });
    expect(out.removeHeaders).toContain('authorization');
    expect(out.body).toEqual({ ...original, model: MODEL });
  });

  it('translates a changed (redacted) prompt from its chat form, keeping only the fields count_tokens takes', () => {
    const original = {
      model: 'claude', system: 'Be brief.', tools: [weather], tool_choice: { type: 'auto' }, thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'Mail [REDACTED_EMAIL] please' }],
    };
    const chat = countTokensToChat(original);
    const out = count({ body: chat, original: null, messagesFields: { thinking: original.thinking }, target: target() });
    expect(out.path).toBe('/v1/messages/count_tokens');
    expect(out.body).toEqual({
      model: MODEL,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Mail [REDACTED_EMAIL] please' }] }],
      tools: [weather],
      tool_choice: { type: 'auto' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    // Generation fields a message needs would be a 400 at count_tokens.
    expect(out.body).not.toHaveProperty('max_tokens');
    expect(out.body).not.toHaveProperty('stream');
  });

  it('OpenAI-compatible providers have no counting API: the gateway estimates theirs', () => {
    expect(openaiAdapter.countTokens).toBeUndefined();
  });
});

describe('count_tokens for a Gemini provider', () => {
  const gemini = {
    providerName: 'gemini', provider: { type: 'gemini' as const, base_url: 'https://generativelanguage.googleapis.com/v1beta' },
    basePath: '/v1beta', upstreamModel: 'models/gemini-2.5-pro', credential: 'AIza-test',
  };
  const countGemini = geminiAdapter.countTokens;
  const readGemini = geminiAdapter.countTokensResponse;
  if (!countGemini || !readGemini) throw new Error('the Gemini adapter must count tokens');

  it('asks :countTokens with the whole generation request (system and tools count too), the key in its header', () => {
    const chat = countTokensToChat({ model: 'gemini-pro', system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
    const out = countGemini({ body: chat, original: null, target: gemini });
    expect(out.path).toBe('/v1beta/models/gemini-2.5-pro:countTokens');
    expect(out.headers).toEqual({ 'x-goog-api-key': 'AIza-test' });
    expect(out.body).toMatchObject({
      generateContentRequest: { model: 'models/gemini-2.5-pro', systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] },
    });
  });

  it('reads totalTokens as input_tokens, and a Google error into the OpenAI shape the Messages dialect renders', () => {
    const info = { endpoint: 'chat' as const, stream: false, status: 200, clientWantsUsage: false, requestId: 'r', createdAt: 0, upstreamModel: 'gemini-2.5-pro' };
    const ok = readGemini(info).onChunk(Buffer.from('{"totalTokens": 42, "promptTokensDetails": []}'), true);
    expect(JSON.parse(String(ok))).toEqual({ input_tokens: 42 });
    const failed = readGemini({ ...info, status: 429 }).onChunk(Buffer.from('{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}'), true);
    expect(JSON.parse(String(failed))).toMatchObject({ error: { message: expect.stringContaining('Resource has been exhausted'), type: expect.any(String) } });
  });
});
