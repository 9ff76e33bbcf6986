import { CONFIG_SCHEMA_SPEC } from '../config/config-validator.ts';
import { DECISION_SCHEMA_SPEC } from '../policy/decision.ts';
import { PRICING_SCHEMA_SPEC } from '../pricing/price-table.ts';
import { REQUEST_SCHEMA_SPECS } from '../stages/request-schemas.ts';
import type { SchemaSpec } from './precompiled.ts';

/** Every fixed schema whose validator scripts/gen-validators.ts writes ahead of time (see precompiled.ts). */
export const PRECOMPILED_SCHEMAS: readonly SchemaSpec[] = [CONFIG_SCHEMA_SPEC, DECISION_SCHEMA_SPEC, PRICING_SCHEMA_SPEC, ...REQUEST_SCHEMA_SPECS];
