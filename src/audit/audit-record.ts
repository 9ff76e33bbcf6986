import type { GuardrailVerdict } from '../guardrails/external/verdict.ts';
import type { PiiFindings } from '../guardrails/pii/types.ts';
import type { PolicyDecision } from '../policy/decision.ts';

/**
 * One policy decision as the audit log keeps it: who asked, which bundle decided, a digest of the exact input, and
 * the outcome with its reasons. Never request content: PII appears as types and counts only.
 */
export interface AuditRecord {
  decision_id: string;
  time: string;
  request_id: string;
  /** The bundle revision (sha256 of policy.wasm + data.json). */
  revision: string;
  /** sha256 of the JSON input the policy evaluated, to prove later which input led to this decision. */
  input_digest: string;
  tenant: { org: string; team: string; app: string; user: string | null; feature: string | null };
  model: string;
  endpoint: string;
  decision: 'allow' | 'deny';
  reasons: string[];
  /** The policy's full decision; null when it produced none or a malformed one (then `error` says why). */
  result: Omit<PolicyDecision, 'allow' | 'reasons'> | null;
  error: string | null;
  pii: PiiFindings;
  /** External guardrails' verdicts (status, categories with counts and scores, latency); absent when none ran. */
  guardrails?: Record<string, GuardrailVerdict>;
  /** Evaluation time in microseconds. */
  eval_us: number;
}

export interface AuditQuery {
  request_id?: string;
  decision?: 'allow' | 'deny';
  team?: string;
  /** ISO time: records at or after it. */
  since?: string;
  limit: number;
  /** Opaque position from a previous page's next_cursor. */
  cursor?: string;
}

export interface AuditPage {
  data: AuditRecord[];
  has_more: boolean;
  next_cursor: string | null;
}
