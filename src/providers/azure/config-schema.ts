/**
 * The Azure-specific fields of a provider entry, as a JSON-schema fragment for `src/config/schema.ts`
 * (applies when `type: azure`). One entry is one Azure OpenAI resource in one region.
 */
export const azureProviderSchema = {
  required: ['api_version'],
  properties: {
    // Azure's versions are dates, GA (`2024-10-21`) or preview (`2025-01-01-preview`).
    api_version: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}(-preview)?$' },
    // Upstream model name → deployment name; a model without an entry uses its own name as the deployment.
    deployments: {
      type: 'object',
      propertyNames: { type: 'string', minLength: 1 },
      additionalProperties: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
      default: {},
    },
  },
} as const;
