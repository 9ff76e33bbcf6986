import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options } from 'ajv';

/**
 * JSON Schema validators generated ahead of time. Ajv compiles a schema by generating JavaScript and compiling
 * that: for the config schema alone ~470 KB of code and ~30 MB of RSS that the process keeps for good (issue 11,
 * Tollgate's idle memory). So every fixed schema is written out once as Ajv standalone code
 * (scripts/gen-validators.ts, run by setup and by the build, into src/validation/generated/, git-ignored) and only
 * loaded at run time. A missing or stale file (the schema or the options changed since) falls back to compiling,
 * with the same result; a test keeps both equal.
 */
export interface SchemaSpec {
  /** The generated file's name: generated/<name>.cjs. */
  name: string;
  schema: object;
  options: Options;
}

export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

const require = createRequire(import.meta.url);

/** Identifies the schema and options a generated validator was made from. */
export function fingerprint(spec: SchemaSpec): string {
  return createHash('sha256').update(JSON.stringify({ schema: spec.schema, options: spec.options })).digest('hex');
}

export function generatedPath(spec: SchemaSpec): URL {
  return new URL(`generated/${spec.name}.cjs`, import.meta.url);
}

/** The generated validator, when its file is there and was made from this very schema and options. */
export function generatedValidator(spec: SchemaSpec): Validator | null {
  const path = generatedPath(spec);
  if (!existsSync(path)) return null;
  const module = require(path.pathname) as Validator & { fingerprint?: string };
  return module.fingerprint === fingerprint(spec) ? module : null;
}

export function compileValidator(spec: SchemaSpec): Validator {
  // Required on demand: with every validator generated, Ajv is not even loaded.
  const { Ajv: AjvClass } = require('ajv') as { Ajv: new (options: Options) => Ajv };
  return new AjvClass(spec.options).compile(spec.schema) as Validator;
}

/** The validator of a fixed schema: generated ahead of time when possible, else compiled now. */
export function precompiled(spec: SchemaSpec): Validator {
  return generatedValidator(spec) ?? compileValidator(spec);
}
