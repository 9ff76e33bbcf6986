/**
 * Azure's content-filter annotations on successful answers: `prompt_filter_results` on the response (in a stream, a
 * leading chunk with `choices: []` and no usage) and `content_filter_results` on every choice. The fake annotates
 * the OpenAI fake's answers, so both fakes share one answer generator.
 */
import { isObj } from '../shared/json.ts';

/** A prompt containing this text is refused by the fake's content filter (400 `content_filter`). */
export const CONTENT_FILTER_TRIGGER = '[azure-content-filter]';

const SAFE = { filtered: false, severity: 'safe' } as const;

export const SAFE_COMPLETION_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE } as const;

const SAFE_PROMPT_RESULTS = { ...SAFE_COMPLETION_RESULTS, jailbreak: { filtered: false, detected: false } } as const;

export const FILTERED_PROMPT_RESULTS = { ...SAFE_PROMPT_RESULTS, violence: { filtered: true, severity: 'medium' } } as const;

const PROMPT_FILTER_RESULTS = [{ prompt_index: 0, content_filter_results: SAFE_PROMPT_RESULTS }];

/** Azure does not send OpenAI's `service_tier`. */
function withoutOpenAIOnlyFields(o: Record<string, unknown>): Record<string, unknown> {
  const { service_tier: _ignored, ...rest } = o;
  return rest;
}

function annotateChoices(choices: unknown): void {
  if (!Array.isArray(choices)) return;
  for (const c of choices) if (isObj(c)) c.content_filter_results = SAFE_COMPLETION_RESULTS;
}

/** A `chat.completion` body as Azure sends it. */
export function azureChatBody(openAIBody: string): string {
  const body = withoutOpenAIOnlyFields(JSON.parse(openAIBody) as Record<string, unknown>);
  annotateChoices(body.choices);
  return JSON.stringify({ ...body, prompt_filter_results: PROMPT_FILTER_RESULTS });
}

/** SSE frames as Azure sends them: the prompt-filter chunk first, then the chunks with annotated choices. */
export function azureStreamFrames(openAIFrames: readonly string[]): string[] {
  const lead = { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: PROMPT_FILTER_RESULTS };
  const frames = [`data: ${JSON.stringify(lead)}\n\n`];
  for (const frame of openAIFrames) {
    const data = frame.slice('data: '.length).trimEnd();
    if (data === '[DONE]') {
      frames.push(frame);
      continue;
    }
    const chunk = withoutOpenAIOnlyFields(JSON.parse(data) as Record<string, unknown>);
    annotateChoices(chunk.choices);
    frames.push(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  return frames;
}
