import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
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
    const out = count({ body: chat, original: null, clientThinking: original.thinking, target: target() });
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

  it('other providers have no native count: the gateway estimates theirs', () => {
    expect(openaiAdapter.countTokens).toBeUndefined();
  });
});
