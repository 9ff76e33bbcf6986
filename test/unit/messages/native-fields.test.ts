import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactKey } from '../../../src/cache/cache-key.ts';
import type { ResolvedProvider } from '../../../src/config/catalog.ts';
import type { ProviderConfig } from '../../../src/config/types.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { MESSAGES_FIELDS_MARKER } from '../../../src/messages/native-fields.ts';
import { countTokensToChat, messagesToChat } from '../../../src/messages/request.ts';
import type { CredentialResolver } from '../../../src/providers/credentials.ts';
import { countTokensForProvider, translateForProvider } from '../../../src/providers/translate.ts';
import { validateCountRequest, validateRequest } from '../../fakes/anthropic/validate-request.ts';
import { validateChat } from '../../fakes/openai/validate-chat.ts';

type Json = Record<string, unknown>;

/**
 * The body params the pinned @anthropic-ai/sdk declares for an interface (GA `messages` and `beta/messages`), read
 * from its type declarations so an SDK upgrade that adds a field fails here until the field has a decision.
 */
function sdkBodyParams(file: 'messages' | 'beta/messages', iface: string): string[] {
  const require = createRequire(import.meta.url);
  // The package's main entry sits at its root (its exports map hides package.json).
  const root = dirname(require.resolve('@anthropic-ai/sdk'));
  const text = readFileSync(join(root, 'resources', file, 'messages.d.ts'), 'utf8');
  const start = text.indexOf(`export interface ${iface} {`);
  if (start < 0) throw new Error(`${iface} not found in the SDK's ${file} types`);
  const block = text.slice(start, text.indexOf('\n}\n', start));
  const fields: string[] = [];
  // Each field follows its doc comment; header params (betas, workspace_id…) go as headers, not in the body.
  for (const match of block.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s{4}([a-z_]+)\??:/g)) {
    if (!(match[1] ?? '').includes('Header param')) fields.push(match[2] as string);
  }
  return fields;
}

/** A valid value of every top-level field the SDK declares (a new SDK field fails the test until it is listed here). */
const SAMPLES: Readonly<Json> = {
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hi' }],
  system: 'Be brief.',
  stop_sequences: ['END'],
  stream: false,
  metadata: { user_id: 'u-1' },
  tools: [{ name: 'f', input_schema: { type: 'object' } }],
  tool_choice: { type: 'auto' },
  thinking: { type: 'adaptive' },
  cache_control: { type: 'ephemeral' },
  container: 'container_1',
  diagnostics: { previous_message_id: 'msg_1' },
  inference_geo: 'us',
  output_config: { effort: 'low', format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false } } },
  service_tier: 'auto',
  speed: 'fast',
  billing_policy: { type: 'billing_policy', bill_to: 'self' },
  context_management: { edits: [] },
  fallback_credit_token: 'tok',
  fallbacks: ['default'],
  mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'x' }],
  thread: { type: 'create' },
};
/** Fields Anthropic refuses in combination with others: each is tried on its own on top of the prompt. */
const ALONE: Readonly<Json> = {
  compaction: { type: 'compaction' },
  output_format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } },
};

const prompt = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
const sample = (field: string): unknown => SAMPLES[field] ?? ALONE[field];

function provider(type: 'anthropic' | 'openai' | 'gemini'): ResolvedProvider {
  const configs: Record<string, ProviderConfig> = {
    anthropic: { type: 'anthropic', base_url: 'https://anthropic.test/v1', anthropic_version: '2023-06-01', default_max_tokens: 1024 } as ProviderConfig,
    openai: { type: 'openai', base_url: 'https://openai.test/v1' } as ProviderConfig,
    gemini: { type: 'gemini', base_url: 'https://gemini.test/v1beta' } as ProviderConfig,
  };
  return { name: type, config: configs[type] as ProviderConfig, basePath: type === 'gemini' ? '/v1beta' : '/v1' };
}
const credentials = { get: () => 'key' } as unknown as CredentialResolver;
const send = (type: 'anthropic' | 'openai' | 'gemini', body: Json, model = 'm') =>
  translateForProvider(provider(type), model, { endpoint: 'chat', body, stream: false }, credentials);

function caught(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a 400');
}

describe('the SDK\'s top-level Messages fields', () => {
  const create = [...new Set([...sdkBodyParams('messages', 'MessageCreateParamsBase'), ...sdkBodyParams('beta/messages', 'MessageCreateParamsBase')])];
  const count = [...new Set([...sdkBodyParams('messages', 'MessageCountTokensParams'), ...sdkBodyParams('beta/messages', 'MessageCountTokensParams')])];

  it('reads the SDK\'s params (newer fields included, header params left out)', () => {
    expect(create).toEqual(expect.arrayContaining(['output_config', 'cache_control', 'container', 'inference_geo', 'service_tier', 'speed', 'mcp_servers', 'context_management']));
    expect(create).not.toContain('betas');
    expect(create).not.toContain('workspace_id');
    expect(count).toContain('output_config');
    expect(count).not.toContain('max_tokens');
  });

  it('accepts every field MessageCreateParams declares, and the strict Anthropic fake accepts the same', () => {
    for (const field of create) {
      expect(sample(field), `new SDK field ${field}: decide how Tollgate handles it`).toBeDefined();
      const body = { ...prompt, [field]: sample(field) };
      expect(() => messagesToChat(body), field).not.toThrow();
      expect(() => validateRequest(body, new Set([prompt.model])), field).not.toThrow();
    }
  });

  it('accepts every field MessageCountTokensParams declares, and so does the fake\'s count_tokens', () => {
    for (const field of count) {
      expect(sample(field), `new SDK field ${field}: decide how Tollgate handles it`).toBeDefined();
      const { max_tokens: _, ...countPrompt } = prompt;
      const body = { ...countPrompt, [field]: sample(field) };
      expect(() => countTokensToChat(body), field).not.toThrow();
      expect(() => validateCountRequest(body, new Set([prompt.model])), field).not.toThrow();
    }
  });

  it('still refuses a field the SDK does not declare, as Anthropic and its fake do', () => {
    expect(caught(() => messagesToChat({ ...prompt, frequency_penalty: 1 })).message).toBe('frequency_penalty: Extra inputs are not permitted');
    expect(() => validateRequest({ ...prompt, frequency_penalty: 1 }, new Set([prompt.model]))).toThrow(/frequency_penalty: Extra inputs are not permitted/);
    expect(caught(() => countTokensToChat({ model: 'm', messages: prompt.messages, service_tier: 'auto' })).message).toBe('service_tier: Extra inputs are not permitted');
  });

  it('checks the shapes of the new fields with Anthropic\'s wording', () => {
    expect(caught(() => messagesToChat({ ...prompt, service_tier: 'priority' })).message).toBe("service_tier: Input should be 'auto' or 'standard_only'");
    expect(caught(() => messagesToChat({ ...prompt, output_config: { format: { type: 'json_object' } } })).message).toBe("output_config.format.type: Input should be 'json_schema'");
    expect(caught(() => messagesToChat({ ...prompt, top_k: -1 })).message).toContain('top_k: Input should be a valid integer');
    expect(caught(() => messagesToChat({ ...prompt, mcp_servers: {} })).message).toBe('mcp_servers: Input should be a valid list');
  });
});

describe('Anthropic-only fields in the chat form', () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };

  it('turn output_config.format into the chat response_format and keep the rest under the marker', () => {
    const chat = messagesToChat({ ...prompt, top_k: 5, speed: 'fast', output_config: { effort: 'high', format: { type: 'json_schema', schema } } });
    expect(chat.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    expect(chat[MESSAGES_FIELDS_MARKER]).toEqual({ top_k: 5, speed: 'fast', output_config: { effort: 'high', format: { type: 'json_schema', schema } } });
    // The beta output_format too.
    expect(messagesToChat({ ...prompt, output_format: { type: 'json_schema', schema } }).response_format).toMatchObject({ type: 'json_schema', json_schema: { schema } });
    // metadata.user_id is the chat `user` (the tenant's end user).
    expect(messagesToChat({ ...prompt, metadata: { user_id: 'u-7' } }).user).toBe('u-7');
  });

  it('reach an OpenAI-compatible provider translated or not at all: the strict OpenAI fake accepts the body', () => {
    const out = send('openai', messagesToChat({ ...prompt, top_k: 5, thinking: { type: 'enabled', budget_tokens: 1024 }, cache_control: { type: 'ephemeral' }, service_tier: 'auto', inference_geo: 'us', speed: 'fast', context_management: { edits: [] }, output_config: { effort: 'low', format: { type: 'json_schema', schema } } }), 'gpt-4o-mini');
    expect(out.body).not.toHaveProperty(MESSAGES_FIELDS_MARKER);
    expect(out.body).not.toHaveProperty('top_k');
    expect(out.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    expect(() => validateChat(out.body, new Set(['gpt-4o-mini']))).not.toThrow();
  });

  it('are a 400 on a non-Anthropic provider when only Anthropic can serve them', () => {
    for (const [field, value] of Object.entries({ container: 'c', mcp_servers: SAMPLES.mcp_servers, compaction: ALONE.compaction, thread: SAMPLES.thread, billing_policy: { type: 'billing_policy', bill_to: 'user_profile' } })) {
      for (const type of ['openai', 'gemini'] as const) {
        const error = caught(() => send(type, messagesToChat({ ...prompt, [field]: value })));
        expect(error.status, `${field} → ${type}`).toBe(400);
        expect(error.param).toBe(field);
        expect(error.message).toBe(`${field}: only Anthropic models support this field; this model is served by a ${type} provider`);
      }
      expect(() => send('anthropic', messagesToChat({ ...prompt, [field]: value })), field).not.toThrow();
    }
    // Billing the operator (the default) is what every provider does anyway.
    expect(() => send('openai', messagesToChat({ ...prompt, billing_policy: { type: 'billing_policy', bill_to: 'self' } }))).not.toThrow();
  });

  it('carry more than 4 stop sequences (the chat form\'s limit) to Anthropic only', () => {
    const stops = ['a', 'b', 'c', 'd', 'e'];
    const chat = messagesToChat({ ...prompt, stop_sequences: stops, top_k: 3 });
    expect(chat).not.toHaveProperty('stop');
    expect(chat[MESSAGES_FIELDS_MARKER]).toEqual({ stop_sequences: stops, top_k: 3 });
    expect(send('anthropic', chat).body.stop_sequences).toEqual(stops);
    expect(caught(() => send('openai', chat)).message).toBe('stop_sequences: more than 4 stop sequences are supported only by Anthropic models; this model is served by a openai provider');
    expect(messagesToChat({ ...prompt, stop_sequences: stops.slice(0, 4) }).stop).toEqual(stops.slice(0, 4));
  });

  it('take max_tokens 0 (prompt-cache warming) to Anthropic only; the chat form and quota see 1', () => {
    const chat = messagesToChat({ ...prompt, max_tokens: 0 });
    expect(chat.max_tokens).toBe(1);
    expect(chat[MESSAGES_FIELDS_MARKER]).toEqual({ max_tokens: 0 });
    expect(send('anthropic', chat).body.max_tokens).toBe(0);
    expect(() => validateRequest(send('anthropic', chat).body, new Set(['m']))).not.toThrow();
    expect(caught(() => send('openai', chat)).message).toBe('max_tokens: max_tokens 0 (warming the prompt cache) is supported only by Anthropic models; this model is served by a openai provider');
    expect(messagesToChat(prompt)).not.toHaveProperty(MESSAGES_FIELDS_MARKER);
  });

  it('give Gemini its topK', () => {
    const out = send('gemini', messagesToChat({ ...prompt, top_k: 7, temperature: 0.2 }), 'gemini-2.5-pro');
    expect(out.body.generationConfig).toMatchObject({ topK: 7, temperature: 0.2, maxOutputTokens: 64 });
  });

  it('go back on the translated request to an Anthropic provider, the native format instead of the forced tool', () => {
    const fields = { top_k: 5, service_tier: 'auto', container: 'c-1', cache_control: { type: 'ephemeral' }, output_config: { effort: 'high', format: { type: 'json_schema', schema } } };
    const out = send('anthropic', messagesToChat({ ...prompt, ...fields }), 'claude-sonnet-4-5');
    expect(out.body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 64, ...fields });
    expect(out.body).not.toHaveProperty(MESSAGES_FIELDS_MARKER);
    expect(out.body).not.toHaveProperty('tools');
    expect(out.body).not.toHaveProperty('tool_choice');
    expect(() => validateRequest(out.body, new Set(['claude-sonnet-4-5']))).not.toThrow();
  });

  it('leave thinking off on a translated request that answers tool calls (the signed thinking blocks are gone)', () => {
    const body = messagesToChat({
      ...prompt, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [{ name: 'f', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'tool_use', id: 'tu_1', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'ok' }] },
      ],
    });
    const out = send('anthropic', body, 'claude-sonnet-4-5');
    expect(out.body).not.toHaveProperty('thinking');
    expect(() => validateRequest(out.body, new Set(['claude-sonnet-4-5']))).not.toThrow();
    expect(send('anthropic', messagesToChat({ ...prompt, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 } })).body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it('ride along on a translated count_tokens, only those count_tokens takes', () => {
    const { max_tokens: _, ...countPrompt } = prompt;
    const chat = countTokensToChat({ ...countPrompt, output_config: { format: { type: 'json_schema', schema } }, cache_control: { type: 'ephemeral' }, thinking: { type: 'adaptive' } });
    const out = countTokensForProvider(provider('anthropic'), 'claude-sonnet-4-5', { body: chat, original: null }, credentials);
    expect(out?.body).toEqual({
      model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      output_config: { format: { type: 'json_schema', schema } }, cache_control: { type: 'ephemeral' }, thinking: { type: 'adaptive' },
    });
    expect(() => validateCountRequest(out?.body ?? {}, new Set(['claude-sonnet-4-5']))).not.toThrow();
  });
});

describe('the exact cache key of a /v1/messages request', () => {
  const key = (body: Json) => exactKey({
    scope: ['acme'], alias: 'claude', candidates: [{ provider: 'anthropic', vendor: 'anthropic', region: null, model: 'claude-sonnet-4-5' }], kind: 'json', body: messagesToChat(body),
  });
  const base = key(prompt);

  it('splits on every field that changes the answer', () => {
    const variants: Json[] = [
      { top_k: 5 }, { thinking: { type: 'adaptive' } }, { output_config: { effort: 'low' } },
      { output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } }, { output_format: { type: 'json_schema', schema: { type: 'object' } } },
      { container: 'c' }, { mcp_servers: [] }, { context_management: { edits: [] } }, { compaction: { type: 'compaction' } },
      { thread: { type: 'create' } }, { fallbacks: ['default'] }, { stop_sequences: ['x'] },
    ];
    for (const variant of variants) expect(key({ ...prompt, ...variant }), JSON.stringify(variant)).not.toBe(base);
    expect(key({ ...prompt, top_k: 5 })).not.toBe(key({ ...prompt, top_k: 6 }));
  });

  it('ignores where, how fast and at whose cost it runs', () => {
    const neutral: Json[] = [
      { service_tier: 'standard_only' }, { speed: 'fast' }, { inference_geo: 'eu' }, { cache_control: { type: 'ephemeral' } },
      { diagnostics: { previous_message_id: 'msg_1' } }, { fallback_credit_token: 't' }, { billing_policy: { type: 'billing_policy', bill_to: 'self' } },
      { metadata: { user_id: 'u-2' } },
    ];
    for (const variant of neutral) expect(key({ ...prompt, ...variant }), JSON.stringify(variant)).toBe(base);
    expect(key({ ...prompt, top_k: 5, speed: 'fast' })).toBe(key({ ...prompt, top_k: 5 }));
  });
});
