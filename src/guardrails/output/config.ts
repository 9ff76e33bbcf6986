import { PII_TYPES, type PiiType } from '../pii/types.ts';

/**
 * `guardrails.output` in config/tollgate.yaml: what happens to personal data and secrets in answers. Empty lists (the
 * default) leave the answer untouched and cost nothing: the stage is not even in the pipeline.
 */
export interface OutputGuardrailsConfig {
  /** Types masked in the answer, e.g. an email becomes [REDACTED_EMAIL]. */
  redact: PiiType[];
  /** Types that stop the answer: a stream ends with an error event, a JSON answer gets finish_reason content_filter. */
  block: PiiType[];
  /** Characters held back per choice of a stream so a value split across chunks is still caught. */
  window_chars: number;
}

const typeList = { type: 'array', uniqueItems: true, items: { enum: [...PII_TYPES] }, default: [] } as const;

export const guardrailsConfigSchema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    output: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        redact: typeList,
        block: typeList,
        window_chars: { type: 'integer', minimum: 16, maximum: 4096, default: 128 },
      },
    },
  },
} as const;
