import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpsRequest } from '../helpers/https-request.ts';
import { createTestCaWithServer } from '../helpers/test-ca.ts';
import type { TestCa } from '../helpers/test-ca.ts';
import { CONTENT_FILTER_TRIGGER, FAKE_AZURE_KEY, startFakeAzure } from './azure-provider.ts';
import type { FakeAzure } from './azure-provider.ts';

let fake: FakeAzure;
let client: AzureOpenAI;
const API_VERSION = '2024-10-21';

beforeAll(async () => {
  fake = await startFakeAzure({
    region: 'westeurope',
    deployments: {
      'prod-mini': { model: 'gpt-4o-mini', kind: 'chat' },
      'embed-small': { model: 'text-embedding-3-small', kind: 'embeddings' },
    },
  });
  client = new AzureOpenAI({ endpoint: fake.url, apiKey: FAKE_AZURE_KEY, apiVersion: API_VERSION, deployment: 'prod-mini', maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

type ErrorBody = { error: Record<string, unknown> };

async function post(path: string, body: unknown, headers: Record<string, string> = { 'api-key': FAKE_AZURE_KEY }): Promise<{ status: number; headers: Headers; json: ErrorBody }> {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as ErrorBody };
}

const chat = (content = 'hello azure') => ({ model: 'ignored-by-azure', messages: [{ role: 'user', content }] });
const chatPath = (deployment = 'prod-mini', version: string | null = API_VERSION) =>
  `/openai/deployments/${deployment}/chat/completions${version === null ? '' : `?api-version=${version}`}`;

describe('fake Azure OpenAI: answers', () => {
  it('answers the official Azure client with the deployment\'s model and content-filter annotations', async () => {
    const r = await client.chat.completions.create({ model: 'anything', messages: [{ role: 'user', content: 'hello there' }] });
    expect(r.model).toBe('gpt-4o-mini');
    expect(r.choices[0]?.message.content).toBe('Echo: hello there');
    const raw = r as unknown as { prompt_filter_results: unknown[]; choices: Array<{ content_filter_results: Record<string, unknown> }>; service_tier?: unknown };
    expect(raw.prompt_filter_results).toEqual([{ prompt_index: 0, content_filter_results: expect.objectContaining({ jailbreak: { filtered: false, detected: false } }) }]);
    expect(raw.choices[0]?.content_filter_results.violence).toEqual({ filtered: false, severity: 'safe' });
    expect(raw.service_tier).toBeUndefined();

    const recorded = fake.requests[0];
    expect(recorded).toMatchObject({ method: 'POST', path: '/openai/deployments/prod-mini/chat/completions', query: { 'api-version': API_VERSION } });
    expect(recorded?.headers['api-key']).toBe(FAKE_AZURE_KEY);
    expect(recorded?.headers.authorization).toBeUndefined();
  });

  it('streams a leading prompt-filter chunk, annotated chunks, and usage only when asked', async () => {
    const res = await fetch(`${fake.url}${chatPath()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': FAKE_AZURE_KEY },
      body: JSON.stringify({ ...chat('one two'), stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks[0]).toEqual({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [expect.objectContaining({ prompt_index: 0 })] });
    expect(chunks[0]).not.toHaveProperty('usage');
    const usage = chunks.at(-1);
    expect(usage).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
    const content = chunks.slice(1, -1);
    expect(content.every((c) => c.usage === null && c.choices[0].content_filter_results)).toBe(true);
    expect(content.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('Echo: one two');

    const stream = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const received = [];
    for await (const c of stream) received.push(c);
    expect(received.some((c) => c.usage)).toBe(false);
  });

  it('serves embeddings deployments', async () => {
    const r = await client.embeddings.create({ model: 'x', input: ['a', 'b'] }, { path: `/deployments/embed-small/embeddings` });
    expect(r.data).toHaveLength(2);
    expect(r.model).toBe('text-embedding-3-small');
    expect(fake.requests[0]?.path).toBe('/openai/deployments/embed-small/embeddings');
  });
});

describe('fake Azure OpenAI: strictness', () => {
  it('needs a known api-version: missing is "Resource not found" (as Azure answers), unknown is 400', async () => {
    const missing = await post(chatPath('prod-mini', null), chat());
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: '404', message: 'Resource not found' } });
    const unknown = await post(chatPath('prod-mini', '2099-01-01'), chat());
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ error: { code: 'BadRequest', message: 'API version not supported' } });
  });

  it('takes the key only from api-key: a Bearer header (a Tollgate key) or a key in the query is refused', async () => {
    const wrong = await post(chatPath(), chat(), { 'api-key': 'not-the-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({ code: '401', message: expect.stringMatching(/^Access denied due to invalid subscription key/) });

    const bearer = await post(chatPath(), chat(), { authorization: `Bearer ${FAKE_AZURE_KEY}` });
    expect(bearer.status).toBe(401);
    expect(bearer.json.error.message).toMatch(/Access token is missing, invalid/);

    const inQuery = await post(`${chatPath()}&api-key=${FAKE_AZURE_KEY}`, chat(), {});
    expect(inQuery.status).toBe(401);
    expect(fake.requests.at(-1)?.query['api-key']).toBe(FAKE_AZURE_KEY);
  });

  it('knows only its deployments and their kind', async () => {
    const unknown = await post(chatPath('gpt-4o-mini'), chat());
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'DeploymentNotFound', message: expect.stringMatching(/^The API deployment for this resource does not exist/) });

    const wrongKind = await post(chatPath('embed-small'), chat());
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.json.error).toMatchObject({ code: 'OperationNotSupported', message: expect.stringContaining('text-embedding-3-small') });

    const badPath = await post(`/openai/deployments/prod-mini/completions?api-version=${API_VERSION}`, chat());
    expect(badPath.status).toBe(404);
    const brokenName = await post(chatPath('%E0%A4%A'), chat());
    expect(brokenName.json.error.code).toBe('DeploymentNotFound');
  });

  it('validates bodies like OpenAI, and refuses stream_options on API versions before 2024-09-01', async () => {
    const unknownField = await post(chatPath(), { ...chat(), foo: 1 });
    expect(unknownField.status).toBe(400);
    expect(unknownField.json).toEqual({ error: { message: 'Unrecognized request argument supplied: foo', type: 'invalid_request_error', param: null, code: null } });

    const badJson = await post(chatPath(), '{"messages":');
    expect(badJson.status).toBe(400);
    expect(badJson.json.error.message).toMatch(/could not parse the JSON body/);

    const tooHot = await post(chatPath(), { ...chat(), temperature: 3 });
    expect(tooHot.json.error).toMatchObject({ param: 'temperature', code: 'decimal_above_max_value' });

    const old = await post(chatPath('prod-mini', '2024-06-01'), { ...chat(), stream: true, stream_options: { include_usage: true } });
    expect(old.status).toBe(400);
    expect(old.json.error.message).toBe('Unrecognized request argument supplied: stream_options');
    expect((await post(chatPath('prod-mini', '2024-06-01'), chat())).status).toBe(200);
  });

  it('refuses a prompt with the content-filter trigger, with Azure\'s innererror', async () => {
    const r = await post(chatPath(), chat(`please ${CONTENT_FILTER_TRIGGER} now`));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({
      code: 'content_filter',
      param: 'prompt',
      status: 400,
      message: expect.stringMatching(/content management policy/),
      innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { violence: { filtered: true, severity: 'medium' } } },
    });
  });
});

describe('fake Azure OpenAI: faults and TLS', () => {
  it('answers a 429 fault in Azure\'s words with retry-after, and tags answers with its region', async () => {
    const r = await post(chatPath(), chat(), { 'api-key': FAKE_AZURE_KEY, 'x-fake-fault': 'status=429;retry-after=7' });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(r.headers.get('x-ms-region')).toBe('westeurope');
    expect(r.json.error).toEqual({ code: '429', message: expect.stringMatching(/^Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded .* retry after 7 seconds/) });

    fake.pushFault({ kind: 'status', status: 503 });
    const down = await post(chatPath(), chat());
    expect(down.status).toBe(503);
    expect(down.json.error.code).toBe('InternalServerError');
  });

  it('cuts a stream mid-way on demand', async () => {
    fake.pushFault({ kind: 'cut-stream', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'a b c d' }], stream: true });
    await expect((async () => {
      for await (const _ of stream) { /* drain */ }
    })()).rejects.toThrow();
  });

  it('serves HTTPS with a test CA certificate', async () => {
    let ca: TestCa | undefined;
    let secure: FakeAzure | undefined;
    try {
      const issued = await createTestCaWithServer(['DNS:azure-eu.test', 'IP:127.0.0.1']);
      ca = issued.ca;
      secure = await startFakeAzure({ tls: { cert: issued.server.cert, key: issued.server.key } });
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await httpsRequest(`${secure.url}${chatPath('gpt-4o-mini')}`, {
        method: 'POST', ca: ca.caCert, servername: 'azure-eu.test', headers: { 'api-key': FAKE_AZURE_KEY }, body: JSON.stringify(chat('secure')),
      });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).choices[0].message.content).toBe('Echo: secure');
    } finally {
      await secure?.close();
      await ca?.remove();
    }
  });
});
