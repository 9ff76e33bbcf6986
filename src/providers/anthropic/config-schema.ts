/**
 * The Anthropic-specific fields of a provider entry, as a JSON-schema fragment for `src/config/schema.ts`
 * (applies when `type: anthropic`; same shape as the Azure fragment). Ajv fills the defaults.
 */
export const anthropicProviderSchema = {
  properties: {
    // Sent as the `anthropic-version` header: it pins the wire format the translator speaks. Versions are dates.
    anthropic_version: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', default: '2023-06-01' },
    // Anthropic requires `max_tokens`; OpenAI clients usually leave it out.
    default_max_tokens: { type: 'integer', minimum: 1, default: 4096 },
    // Mark tools and the system prompt for Anthropic's prompt cache when together they are at least this many
    // tokens (estimated at 4 characters a token). 0: off; only marks the client sent itself are passed on.
    cache_prefix_min_tokens: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;
