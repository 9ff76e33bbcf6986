import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MATRIX, startProviderMatrix, type ProviderMatrix } from '../helpers/provider-matrix.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
/** The client virtualenv scripts/setup makes from test/clients/python/requirements.txt. */
const PYTHON = resolve(projectRoot, '.venv-clients/bin/python');
const SCRIPT = resolve(projectRoot, 'test/clients/python/matrix.py');

type Observed = Record<string, unknown>;
type Results = Record<string, Record<string, Observed>>;
interface PythonRun { versions: Record<string, string>; results: Results; timings_ms: Record<string, number> }

/**
 * Runs the job in one Python process (imports cost more than all its requests). Asynchronously: the gateway under
 * test lives in this process and must keep answering meanwhile.
 */
async function runPython(job: unknown): Promise<PythonRun> {
  if (!existsSync(PYTHON)) throw new Error('.venv-clients/bin/python is missing: run scripts/setup');
  return new Promise((done, fail) => {
    const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) fail(new Error(`${SCRIPT} exited with ${code}: ${stderr}`));
      else done(JSON.parse(stdout) as PythonRun);
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/**
 * The official `openai` Python SDK and LangChain (`langchain-openai`: ChatOpenAI plain, streamed, tools, structured
 * output, the Responses API, OpenAIEmbeddings), run as a subprocess against every provider through real Envoy.
 * The script records what each client observed; the assertions are here.
 */
describe('openai Python SDK and LangChain × every provider', () => {
  let m: ProviderMatrix;
  let results: Results;
  beforeAll(async () => {
    m = await startProviderMatrix();
    const targets = MATRIX.map((t) => ({ label: t.label, chat: t.chat, embeddings: t.embeddings }));
    const started = performance.now();
    let timings: Record<string, number>;
    ({ results, timings_ms: timings } = await runPython({ base_url: m.h.baseUrl, api_key: m.h.key, targets }));
    if (process.env.TOLLGATE_TEST_TIMINGS) console.log(Math.round(performance.now() - started), timings);
  }, 60_000);
  afterAll(async () => m?.stop());

  for (const target of MATRIX) {
    describe(target.label, () => {
      const observed = (check: string) => results[target.label]?.[check];

      it('openai SDK: chat plain, streamed (usage chunk only when asked) and the stream helper', () => {
        expect(observed('sdk_chat')).toEqual({
          content: 'Echo: the quick brown fox', finish_reason: 'stop', usage_adds_up: true, completion_tokens: expect.any(Number), provider: target.provider,
          // `_request_id`: OpenAI's and Azure's own, Tollgate's where the provider sends none.
          has_request_id: true, request_id_is_tollgates: target.provider !== 'openai' && target.provider !== 'azure',
        });
        const completionTokens = (observed('sdk_chat') as { completion_tokens: number }).completion_tokens;
        expect(completionTokens).toBeGreaterThan(0);
        expect(observed('sdk_stream')).toEqual({
          text: 'Echo: jumps over the lazy dog',
          chunks: expect.any(Number),
          usage_chunks: 0,
          last_chunk: { choices: 0, completion_tokens: expect.any(Number) },
          helper_text: 'Echo: jumps over the lazy dog',
        });
        expect((observed('sdk_stream') as { chunks: number }).chunks).toBeGreaterThan(1);
        // A stream the provider cut mid-way raises in the client (after what had arrived), never ends cleanly.
        expect(observed('sdk_stream_cut')).toEqual({ raised: expect.stringMatching(/.+/), chunks_before: expect.any(Number) });
      });

      it('openai SDK: tool call round trip, structured output, Responses API, error shape', () => {
        expect(observed('sdk_tools')).toEqual({
          finish_reason: 'tool_calls', name: 'lookup', arguments: { echo: 'Paris' }, streamed_arguments: { echo: 'Paris' }, answer: expect.stringContaining('sunny'),
        });
        if (target.jsonSchema) expect(observed('sdk_structured')).toEqual({ parsed: { echo: expect.any(String) } });
        else expect(observed('sdk_structured')).toMatchObject({ refused: { status: 400, type: 'invalid_request_error', message: expect.stringMatching(/json_schema/) } });
        expect(observed('sdk_responses')).toEqual({ output_text: 'Echo: the quick brown fox', stream_text: 'Echo: jumps over', last_event: 'response.completed' });
        expect(observed('sdk_unknown_model')).toMatchObject({ status: 404, type: 'invalid_request_error', code: 'model_not_found', request_id_is_tollgates: true });
      });

      it('LangChain ChatOpenAI: invoke, stream with usage, tools, structured output, Responses API', () => {
        expect(observed('lc_invoke')).toEqual({ content: 'Echo: the quick brown fox', output_tokens: expect.any(Number) });
        expect(observed('lc_stream')).toEqual({ text: 'Echo: jumps over the lazy dog', pieces: expect.any(Number), output_tokens: expect.any(Number) });
        expect((observed('lc_stream') as { pieces: number }).pieces).toBeGreaterThan(1);
        expect((observed('lc_stream') as { output_tokens: number }).output_tokens).toBeGreaterThan(0);
        expect(observed('lc_tools')).toEqual({
          name: 'lookup', args: { echo: 'Paris' }, is_tool_message: true, answer: expect.stringContaining('sunny in Paris'),
          streamed_calls: [{ name: 'lookup', args: { echo: 'Lyon' } }],
        });
        if (target.jsonSchema) expect(observed('lc_structured')).toEqual({ parsed: { echo: expect.any(String) } });
        else expect(observed('lc_structured')).toMatchObject({ refused: { status: 400 } });
        expect(observed('lc_responses')).toEqual({ text: 'Echo: the quick brown fox', stream_text: 'Echo: jumps over' });
      });

      if (target.embeddings) {
        it('openai SDK embeddings (base64 default and float agree) and LangChain OpenAIEmbeddings', () => {
          expect(observed('sdk_embeddings')).toEqual({ count: 2, dimensions: expect.any(Number), base64_equals_float: true, distinct: true });
          expect(observed('lc_embeddings')).toEqual({ count: 2, dimensions: expect.any(Number), query_equals_document: true });
          expect((observed('lc_embeddings') as { dimensions: number }).dimensions).toBeGreaterThan(0);
        });
      }
    });
  }
});
