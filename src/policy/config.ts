import type { AuditRotation } from '../audit/audit-log.ts';
import { retentionSchema } from '../audit/retention.ts';
/** The `policy` section of config/tollgate.yaml: which bundle decides every request, and where decisions are kept. */
export interface PolicyConfig {
  /** The bundle `npm run policy:build` writes (opa build -t wasm). Relative paths start at the working directory. */
  bundle: string;
  /** The rule Tollgate evaluates, slash-separated (package path + rule). */
  entrypoint: string;
  /** Reload when the bundle file changes (POST /admin/v1/policies/reload works either way). */
  watch: boolean;
  /**
   * When evaluation itself fails (a trap, memory exhausted): `closed` answers 503 and calls no provider, `open`
   * lets the request through unconstrained. Either way the audit log records it. An undefined or malformed
   * decision always denies.
   */
  fail_mode: 'closed' | 'open';
  /** The append-only JSONL audit log of every decision. */
  audit_log: string;
  /** When the audit log is closed and a new one begun, and how many closed files are kept. */
  audit_rotation: AuditRotation;
}

export const policyConfigSchema = {
  type: 'object', additionalProperties: false, required: ['bundle'],
  properties: {
    bundle: { type: 'string', minLength: 1 },
    entrypoint: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$', default: 'tollgate/decision' },
    watch: { type: 'boolean', default: true },
    fail_mode: { enum: ['closed', 'open'], default: 'closed' },
    audit_log: { type: 'string', minLength: 1, default: '.data/audit/policy-decisions.jsonl' },
    /**
     * The audit log is closed (renamed to `<name>.<UTC stamp>.jsonl`) at rotate_bytes or after
     * rotate_interval_seconds, and a new one begun; closed files beyond `retention` are deleted (unset: all kept).
     */
    audit_rotation: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        rotate_bytes: { type: 'integer', minimum: 1024, default: 64 * 1024 * 1024 },
        rotate_interval_seconds: { type: 'integer', minimum: 1, default: 86_400 },
        retention: retentionSchema,
      },
    },
  },
} as const;
