import type { PiiType } from '../pii/types.ts';
import type { ExternalGuardrailType } from './config.ts';

/** One category (a PII type, a hazard S1..S14, an Azure harm category): how often, and the highest score or severity. */
export interface GuardrailFinding {
  count: number;
  score: number;
}

/** Where an external detector found a value: which of the request's texts, and UTF-16 offsets in it. */
export interface ExternalSpan {
  text: number;
  type: PiiType;
  start: number;
  end: number;
}

/** What one client call returns: never the text, only categories, counts and scores (and offsets for redaction). */
export interface GuardrailCheck {
  flagged: boolean;
  findings: Record<string, GuardrailFinding>;
  spans?: ExternalSpan[];
}

/**
 * One guardrail's verdict on a request or an answer, as the policy input, the audit log and the metrics see it.
 * `error`: it timed out or failed and fail-open let the request through (fail-closed rejects before anything sees it).
 */
export interface GuardrailVerdict {
  type: ExternalGuardrailType;
  status: 'pass' | 'flagged' | 'error';
  findings: Record<string, GuardrailFinding>;
  latency_ms: number;
  /** Why it failed (timeout, http_503, bad_answer…); absent unless status is error. */
  error?: string;
}

/** What the text looked like to the guardrail: the request's texts, or an answer (with the prompt it answers). */
export interface GuardrailInput {
  direction: 'input' | 'output';
  texts: string[];
  /** For answers: the last user message, so a conversation classifier (Llama Guard) judges the reply in context. */
  prompt?: string;
  /**
   * For requests: what a topic guardrail compares by meaning: the last user message of a chat, each input of an
   * embeddings request (absent: all texts).
   */
  compare?: string[];
  /**
   * For requests: what the prompt-injection classifier scores: the texts of user and tool messages and embeddings
   * inputs, never the operator's system or developer prompts nor the model's own earlier turns (absent: all texts).
   */
  untrusted?: string[];
}

export interface GuardrailClient {
  check(input: GuardrailInput, signal: AbortSignal): Promise<GuardrailCheck>;
}

export function addFinding(findings: Record<string, GuardrailFinding>, category: string, score: number): void {
  const seen = findings[category];
  if (seen) {
    seen.count += 1;
    if (score > seen.score) seen.score = score;
  } else {
    findings[category] = { count: 1, score };
  }
}
