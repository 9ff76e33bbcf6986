import type { ProviderAdapter, ResponseInfo, ResponseTranslator, TranslateRequestInput } from '../provider-adapter.ts';
import { BufferedBody } from '../shared/buffered-body.ts';
import { toOpenAIErrorBody } from '../shared/errors.ts';
import { FinishReasons } from '../shared/finish-reasons.ts';
import { chatToResponsesRequest } from '../../responses/request.ts';
import type { ProviderConfig } from '../../config/types.ts';
import { ResponsesJsonTranslator, ResponsesToChatStream } from './responses-api.ts';
import { OpenAIStreamTransformer } from './stream.ts';
import { fromOpenAIUsage } from './usage.ts';

const PATHS = { chat: '/chat/completions', embeddings: '/embeddings' } as const;

/** The OpenAI wire format with a Bearer credential: OpenAI itself and every compatible API (vLLM, Ollama, Groq…). */
export function openAICompatibleBody(input: TranslateRequestInput): Record<string, unknown> {
  const body: Record<string, unknown> = { ...input.body, model: input.target.upstreamModel };
  // Usage is always requested for streams (metering needs it); the translator hides it again if the client did not ask.
  if (input.stream) body.stream_options = { ...(input.body.stream_options as object | undefined), include_usage: true };
  return body;
}

/** OpenAI-compatible servers that are not OpenAI (vLLM, Ollama) answer errors in varying shapes; read them all. */
export function readOpenAIStyleError(parsed: unknown) {
  const root = parsed as { error?: unknown; message?: unknown; detail?: unknown };
  const error = root?.error;
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown; type?: unknown; param?: unknown };
    return {
      message: String(e.message ?? ''),
      code: e.code != null ? String(e.code) : e.type != null ? String(e.type) : null,
      param: typeof e.param === 'string' ? e.param : null,
    };
  }
  if (typeof error === 'string') return { message: error };
  if (typeof root?.message === 'string') return { message: root.message };
  if (typeof root?.detail === 'string') return { message: root.detail };
  return null;
}

class OpenAIJsonTranslator implements ResponseTranslator {
  usage: ReturnType<typeof fromOpenAIUsage> = null;
  readonly truncated = false;
  private readonly body = new BufferedBody();
  private readonly info: ResponseInfo;
  private readonly providerName: string;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

  constructor(info: ResponseInfo, providerName: string) {
    this.info = info;
    this.providerName = providerName;
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer | void {
    const whole = this.body.push(chunk, endOfStream);
    // A success passes through byte for byte: its pieces are only kept to read the usage at the end.
    if (this.info.status === 200) {
      if (whole) {
        try {
          const parsed = JSON.parse(whole.toString('utf8')) as { usage?: unknown };
          this.usage = fromOpenAIUsage(parsed.usage);
          this.finished.noteCompletion(parsed);
        } catch {
          this.usage = null;
        }
      }
      return;
    }
    if (!whole) return Buffer.alloc(0);
    return toOpenAIErrorBody(this.info.status, whole, this.providerName, readOpenAIStyleError);
  }
}

/** OpenAI itself speaks the Responses API; compatible servers (vLLM, Ollama…) only when the config says so. */
export function openAISpeaksResponses(provider: ProviderConfig): boolean {
  if (provider.type !== 'openai') return false;
  if (provider.responses_api !== undefined) return provider.responses_api;
  try {
    return new URL(provider.base_url).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

/** OpenAI and every OpenAI-compatible API (vLLM, Ollama, Groq, Mistral…): a passthrough with a credential. */
export const openaiAdapter: ProviderAdapter = {
  translateRequest(input) {
    const { target } = input;
    const headers: Record<string, string> = {};
    if (target.credential) headers.authorization = `Bearer ${target.credential}`;
    const native = input.responses && input.endpoint === 'chat' && openAISpeaksResponses(target.provider);
    return {
      path: target.basePath + (native ? '/responses' : PATHS[input.endpoint]),
      headers,
      removeHeaders: target.credential ? [] : ['authorization'],
      body: native
        ? chatToResponsesRequest(input.body, target.upstreamModel, input.responses?.metadata)
        : openAICompatibleBody(input),
    };
  },

  speaksResponses: openAISpeaksResponses,

  // OpenAI sends retry-after-ms besides retry-after; some compatible servers only the former.
  retryAfterInMs: true,

  translateResponse(info) {
    if (info.responsesDialect) {
      return info.stream && info.status === 200 ? new ResponsesToChatStream(info) : new ResponsesJsonTranslator(info);
    }
    if (info.stream && info.status === 200) return new OpenAIStreamTransformer(!info.clientWantsUsage);
    return new OpenAIJsonTranslator(info, 'The provider');
  },
};
