import { AZURE_CATEGORIES, type AzureContentSafetyConfig } from './config.ts';
import { badAnswer, joinUrl, postJson, type FetchLike } from './http.ts';
import { addFinding, type GuardrailCheck, type GuardrailClient, type GuardrailInput } from './verdict.ts';

/** The service analyses at most 10 000 characters per call; longer texts go in several calls, all at once. */
export const AZURE_MAX_TEXT = 10_000;
const KNOWN = new Set<string>(AZURE_CATEGORIES);

interface AnalyzeAnswer {
  categoriesAnalysis?: Array<{ category?: unknown; severity?: unknown }>;
}

function pieces(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  do {
    let end = Math.min(at + AZURE_MAX_TEXT, text.length);
    // Never split a surrogate pair.
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end -= 1;
    out.push(text.slice(at, end));
    at = end;
  } while (at < text.length);
  return out;
}

/**
 * Azure AI Content Safety, text:analyze. Severities (0, 2, 4, 6 with FourSeverityLevels) per harm category; a
 * category at or above `severity_threshold` flags the text. Findings keep every category with a severity above 0.
 */
export function azureContentSafetyClient(config: AzureContentSafetyConfig, apiKey: string | null, fetchImpl: FetchLike = fetch): GuardrailClient {
  const url = `${joinUrl(config.url, '/contentsafety/text:analyze')}?api-version=${encodeURIComponent(config.api_version)}`;
  const headers: Record<string, string> = apiKey ? { 'ocp-apim-subscription-key': apiKey } : {};
  const analyze = async (text: string, signal: AbortSignal) => {
    const body = { text, outputType: 'FourSeverityLevels', ...(config.categories ? { categories: config.categories } : {}) };
    const answer = await postJson(fetchImpl, url, headers, body, signal) as AnalyzeAnswer;
    const list = answer?.categoriesAnalysis;
    if (!Array.isArray(list)) throw badAnswer('no categoriesAnalysis');
    return list.map((entry) => {
      if (typeof entry?.category !== 'string' || !KNOWN.has(entry.category) || !Number.isInteger(entry.severity)) {
        throw badAnswer('a categoriesAnalysis entry without a known category and an integer severity');
      }
      return { category: entry.category, severity: entry.severity as number };
    });
  };
  return {
    async check(input: GuardrailInput, signal: AbortSignal): Promise<GuardrailCheck> {
      const results = await Promise.all(pieces(input.texts.join('\n\n')).map((text) => analyze(text, signal)));
      const findings: GuardrailCheck['findings'] = {};
      let flagged = false;
      for (const { category, severity } of results.flat()) {
        if (severity <= 0) continue;
        addFinding(findings, category, severity);
        if (severity >= config.severity_threshold) flagged = true;
      }
      return { flagged, findings };
    },
  };
}
