/**
 * Writes the validator of every fixed JSON Schema as Ajv standalone code (see src/validation/precompiled.ts):
 *   node scripts/gen-validators.ts [OUT_DIR]   (default: src/validation/generated)
 * Each file records its schema's fingerprint; a validator made from another schema is ignored at load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { fingerprint } from '../src/validation/precompiled.ts';
import { PRECOMPILED_SCHEMAS } from '../src/validation/schemas.ts';

type ToCode = (ajv: Ajv, validate: ReturnType<Ajv['compile']>) => string;
const toCode = ((standaloneCode as unknown as { default?: ToCode }).default ?? standaloneCode) as ToCode;
const outDir = resolve(process.argv[2] ?? resolve(import.meta.dirname, '../src/validation/generated'));
mkdirSync(outDir, { recursive: true });
for (const spec of PRECOMPILED_SCHEMAS) {
  const ajv = new Ajv({ ...spec.options, code: { source: true } });
  const code = toCode(ajv, ajv.compile(spec.schema));
  writeFileSync(join(outDir, `${spec.name}.cjs`), `${code}\nmodule.exports.fingerprint = ${JSON.stringify(fingerprint(spec))};\n`);
}
process.stdout.write(`wrote ${PRECOMPILED_SCHEMAS.length} validators to ${outDir}\n`);
