import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/**
 * The embedded ledger (memory store → in-process queue, SQLite on a worker thread) through real Envoy: one record
 * per request with the provider's usage, rejections and client aborts included; the usage API; the JSONL export.
 */
describe('usage ledger, embedded (SQLite)', () => {
  let harness: Harness;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-ledger-e2e-'));
    harness = await startHarness({
      config: {
        ...testConfig(),
        ledger: { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20, export: { dir: join(dir, 'export') } },
      },
    });
  });

  afterAll(async () => {
    await harness?.stop();
    await rm(dir, { recursive: true, force: true });
  });


  const usage = (query: string, token = ADMIN_TOKEN) =>
    fetch(`${harness.adminUrl}/admin/v1/usage?${query}`, { headers: { authorization: `Bearer ${token}` } });

  it('records a completed request with tenant, feature, user, attempts and the provider usage', async () => {
    const { data, response } = await harness.client().chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count my tokens please' }], user: 'user-42' },
        { headers: { 'x-tollgate-feature': 'summaries' } },
      )
      .withResponse();
    const requestId = response.headers.get('x-tollgate-request-id') as string;
    const record = await harness.ledgerRecord(requestId);
    expect(record).toMatchObject({
      state: 'final', org: 'acme', team: 'platform', app: 'playground', user: 'user-42', feature: 'summaries',
      endpoint: 'chat', model: 'gpt-4o-mini', provider: 'openai', upstreamModel: 'gpt-4o-mini', status: 200,
      outcome: 'completed', promptTokens: data.usage?.prompt_tokens, completionTokens: data.usage?.completion_tokens,
    });
    expect(record?.attempts.at(-1)).toMatchObject({ provider: 'openai', status: 200 });
    expect(record?.latencyMs).toBeGreaterThan(0);
  });

  it('records a rejected request once, with its error code', async () => {
    const response = await fetch(`${harness.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(404);
    const record = await harness.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    expect(record).toMatchObject({ state: 'final', status: 404, outcome: 'rejected', errorCode: 'model_not_found', promptTokens: 0 });
  });

  it('records a stream the client aborted as aborted, never left pending', async () => {
    const controller = new AbortController();
    const response = await fetch(`${harness.baseUrl}/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/json', 'x-fake-chunk-delay-ms': '200' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three four five six seven eight' }] }),
    });
    const requestId = response.headers.get('x-tollgate-request-id') as string;
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    const record = await harness.ledgerRecord(requestId);
    expect(record).toMatchObject({ state: 'final', outcome: 'aborted', stream: true });
  });

  it('aggregates usage per team and model over a period, exactly', async () => {
    const client = harness.client(await harness.createKey('research', 'notebook'));
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `research ${'x '.repeat(i)}` }] }).withResponse()));
    for (const { response } of answers) await harness.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const reply = await usage(`group_by=team&from=${from}&to=${to}`);
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { group_by: string; data: Array<Record<string, unknown>>; total: Record<string, unknown> };
    const research = body.data.find((g) => g.team === 'research');
    expect(research).toMatchObject({
      org: 'acme', requests: 5,
      prompt_tokens: answers.reduce((sum, a) => sum + (a.data.usage?.prompt_tokens ?? 0), 0),
      completion_tokens: answers.reduce((sum, a) => sum + (a.data.usage?.completion_tokens ?? 0), 0),
      cost_nano_usd: expect.any(String), cost_usd: expect.stringMatching(/^\d+\.\d{9}$/),
    });
    const models = (await (await usage(`group_by=model&from=${from}&to=${to}`)).json()) as { data: Array<Record<string, unknown>> };
    expect(models.data.map((g) => g.model)).toContain('gpt-4o-mini');
    // A period before any traffic is empty.
    const empty = (await (await usage('group_by=team&from=2001-01-01&to=2001-02-01')).json()) as { data: unknown[] };
    expect(empty.data).toEqual([]);
  });

  it('answers bad usage queries in the OpenAI error shape, and only to the admin token', async () => {
    const bad = await usage('group_by=planet');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'group_by', code: 'invalid_request' } });
    expect((await usage('group_by=team&from=yesterday')).status).toBe(400);
    expect((await usage('group_by=team&from=2026-02-01&to=2026-01-01')).status).toBe(400);
    expect((await usage('group_by=team', harness.key)).status).toBe(403);
  });

  it('exports the records to JSONL files that close on rotation (here: at shutdown)', async () => {
    await harness.tollgate.ledger?.stop();
    const files = (await readdir(join(dir, 'export'))).filter((file) => file.endsWith('.jsonl'));
    expect(files).toHaveLength(1);
    const lines = (await readFile(join(dir, 'export', files[0] as string), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.every((line) => line.state === 'final' && typeof line.request_id === 'string')).toBe(true);
    expect(lines.some((line) => line.feature === 'summaries' && line.user === 'user-42')).toBe(true);
  });
});
