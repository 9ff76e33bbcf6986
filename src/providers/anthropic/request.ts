import type { AnthropicProviderConfig } from '../../config/types.ts';
import { errors } from '../../errors/errors.ts';
import { translateMessages } from './messages.ts';
import { markSharedPrefix } from './prompt-cache.ts';
import { applyResponseFormat } from './structured-output.ts';
import { applyReasoningEffort } from './thinking.ts';
import { translateToolChoice, translateTools } from './tools.ts';
import type { MessagesRequest } from './wire.ts';

type Body = Readonly<Record<string, unknown>>;

/**
 * What happens to each OpenAI chat field on its way to Anthropic. `set` writes the translation into the Anthropic
 * body; `drop` records why a field has no effect; `reject` fails the request (400) when the client asked for
 * something Anthropic cannot do and silently ignoring it would hand the client a different answer than it expects.
 * Null values are treated as absent, as OpenAI does. Fields not listed are ignored (the validate stage has already
 * refused what OpenAI itself would refuse).
 */
type FieldRule =
  | { set: (value: unknown, out: MessagesRequest, body: Body) => void }
  | { drop: string }
  | { reject: (value: unknown) => string | null };

const unsupported = (message: string) => () => message;

const FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  // Built from several fields at once in translateChatRequest.
  model: { drop: 'replaced by the upstream model' },
  messages: { drop: 'translated as a whole' },
  max_tokens: { drop: 'translated as a whole' },
  max_completion_tokens: { drop: 'translated as a whole' },
  stream: { drop: 'the gateway decides, from the validated request' },
  tool_choice: { drop: 'translated with tools' },
  parallel_tool_calls: { drop: 'translated with tools' },

  temperature: {
    set: (value, out) => {
      // OpenAI allows 0–2, Anthropic 0–1; rescaling would change what the client tuned, so say so instead.
      if (typeof value === 'number' && value > 1) throw errors.badRequest('temperature must be between 0 and 1 for Anthropic models.', 'temperature', 'invalid_value');
      out.temperature = value as number;
    },
  },
  top_p: { set: (value, out) => { out.top_p = value as number; } },
  stop: { set: (value, out) => { out.stop_sequences = typeof value === 'string' ? [value] : (value as string[]); } },
  user: { set: (value, out) => { out.metadata = { user_id: String(value) }; } },
  tools: {
    set: (value, out, body) => {
      const tools = value as unknown[];
      if (tools.length === 0) return;
      out.tools = translateTools(tools);
      const choice = translateToolChoice(body.tool_choice ?? undefined, body.parallel_tool_calls);
      if (choice) out.tool_choice = choice;
    },
  },

  n: { reject: (value) => (value === 1 ? null : 'Anthropic models return one choice per request; n must be 1.') },
  logprobs: { reject: (value) => (value === false ? null : 'Anthropic models do not return logprobs.') },
  top_logprobs: { reject: unsupported('Anthropic models do not return logprobs.') },
  response_format: { drop: 'translated as a whole' },
  audio: { reject: unsupported('Anthropic models do not produce audio.') },
  modalities: { reject: (value) => (Array.isArray(value) && value.every((m) => m === 'text') ? null : 'Anthropic models produce text only.') },
  web_search_options: { reject: unsupported('web_search_options cannot be sent to Anthropic models.') },
  functions: { reject: unsupported('The deprecated functions parameter cannot be sent to Anthropic models; use tools.') },
  function_call: { reject: unsupported('The deprecated function_call parameter cannot be sent to Anthropic models; use tool_choice.') },

  stream_options: { drop: 'Anthropic streams always report usage' },
  presence_penalty: { drop: 'a sampling hint Anthropic has no counterpart for' },
  frequency_penalty: { drop: 'a sampling hint Anthropic has no counterpart for' },
  logit_bias: { drop: 'Anthropic exposes no token ids to bias' },
  seed: { drop: 'best-effort determinism only, even at OpenAI' },
  service_tier: { drop: "OpenAI's tiers do not map onto Anthropic's" },
  store: { drop: 'OpenAI-side storage of completions' },
  metadata: { drop: 'tags for OpenAI-side stored completions; Anthropic metadata holds only user_id' },
  prediction: { drop: 'a latency optimisation; the answer is the same without it' },
  reasoning_effort: { drop: 'translated as a whole' },
};

/** The `max_tokens` Anthropic requires: the client's limit (the newer OpenAI name wins), else the provider default. */
function maxTokens(body: Body, config: AnthropicProviderConfig): number {
  const limit = body.max_completion_tokens ?? body.max_tokens;
  return typeof limit === 'number' ? limit : config.default_max_tokens;
}

/** A validated OpenAI chat request → the body of Anthropic's `POST /v1/messages`. Throws GatewayError (400). */
export function translateChatRequest(body: Body, upstreamModel: string, stream: boolean, config: AnthropicProviderConfig): MessagesRequest {
  const { system, messages } = translateMessages(Array.isArray(body.messages) ? body.messages : []);
  const out: MessagesRequest = { model: upstreamModel, max_tokens: maxTokens(body, config), messages };
  if (system !== undefined) out.system = system;
  for (const [field, value] of Object.entries(body)) {
    const rule = FIELD_RULES[field];
    if (!rule || value === null || value === undefined) continue;
    if ('set' in rule) rule.set(value, out, body);
    else if ('reject' in rule) {
      const reason = rule.reject(value);
      if (reason) throw errors.badRequest(reason, field, 'unsupported_parameter');
    }
  }
  // After the field rules: thinking sizes max_tokens, and the response format joins the translated tools.
  applyReasoningEffort(body, out, config);
  applyResponseFormat(body.response_format, out);
  markSharedPrefix(out, config.cache_prefix_min_tokens ?? 0);
  if (stream) out.stream = true;
  return out;
}
