import { precompiled, type SchemaSpec, type Validator } from '../validation/precompiled.ts';
import { configSchema } from './schema.ts';

export const CONFIG_SCHEMA_SPEC: SchemaSpec = { name: 'config', schema: configSchema, options: { allErrors: true, useDefaults: true, strict: false } };

let validator: Validator | null = null;

/** The config schema's validator (generated ahead of time, see validation/precompiled.ts), made on first use. */
export function configValidator(): Validator {
  return (validator ??= precompiled(CONFIG_SCHEMA_SPEC));
}
