import { PRESIDIO_ENTITY_TYPES, type PresidioGuardrailConfig } from './config.ts';
import { badAnswer, joinUrl, postJson, type FetchLike } from './http.ts';
import { addFinding, type ExternalSpan, type GuardrailCheck, type GuardrailClient, type GuardrailInput } from './verdict.ts';

/** Between two texts of one request: NER sees a paragraph break, never one entity spanning two messages. */
const SEPARATOR = '\n\n';

interface PresidioResult {
  entity_type: string;
  start: number;
  end: number;
  score: number;
}

function isResult(value: unknown): value is PresidioResult {
  const r = value as PresidioResult;
  return typeof r === 'object' && r !== null && typeof r.entity_type === 'string' && Number.isInteger(r.start)
    && Number.isInteger(r.end) && typeof r.score === 'number';
}

/**
 * Presidio counts offsets in code points (Python strings); JavaScript in UTF-16 units. They differ only after an
 * astral character (emoji), so the table is built only for texts that have one.
 */
function codePointOffsets(text: string): ((cp: number) => number) {
  if (!/[\uD800-\uDFFF]/.test(text)) return (cp) => cp;
  const units: number[] = [];
  let unit = 0;
  for (const char of text) {
    units.push(unit);
    unit += char.length;
  }
  units.push(unit);
  return (cp) => units[Math.min(cp, units.length - 1)] ?? unit;
}

/**
 * A Presidio analyzer (POST /analyze): one call per request with all its texts joined, results mapped back to each
 * text and to the gateway's PII types, so the policy's redaction masks them like the built-in findings.
 */
export function presidioClient(config: PresidioGuardrailConfig, apiKey: string | null, fetchImpl: FetchLike = fetch): GuardrailClient {
  const url = joinUrl(config.url, '/analyze');
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  return {
    async check(input: GuardrailInput, signal: AbortSignal): Promise<GuardrailCheck> {
      const starts: number[] = [];
      let joined = '';
      input.texts.forEach((text, index) => {
        if (index > 0) joined += SEPARATOR;
        starts.push(joined.length);
        joined += text;
      });
      const body = {
        text: joined, language: config.language, score_threshold: config.score_threshold,
        ...(config.entities ? { entities: config.entities } : {}),
      };
      const answer = await postJson(fetchImpl, url, headers, body, signal);
      if (!Array.isArray(answer) || !answer.every(isResult)) throw badAnswer('not a list of recognizer results');
      const toUnits = codePointOffsets(joined);
      const spans: ExternalSpan[] = [];
      const findings: GuardrailCheck['findings'] = {};
      for (const result of answer) {
        const type = PRESIDIO_ENTITY_TYPES[result.entity_type];
        if (!type || result.score < config.score_threshold) continue;
        const start = toUnits(result.start);
        const end = toUnits(result.end);
        // The text that holds the start; a span running into the separator or the next text is cut at its end.
        let text = starts.length - 1;
        while (text > 0 && starts[text]! > start) text -= 1;
        const offset = starts[text]!;
        const length = input.texts[text]!.length;
        const localStart = start - offset;
        const localEnd = Math.min(end - offset, length);
        if (localStart < 0 || localEnd <= localStart) continue;
        spans.push({ text, type, start: localStart, end: localEnd });
        addFinding(findings, type, Math.round(result.score * 1000) / 1000);
      }
      return { flagged: false, findings, spans };
    },
  };
}
