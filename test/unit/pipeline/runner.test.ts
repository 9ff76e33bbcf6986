import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors/errors.ts';
import type { RequestContext } from '../../../src/pipeline/context.ts';
import type { PhaseReply } from '../../../src/pipeline/phases.ts';
import { createPipeline, decodeJsonBody } from '../../../src/pipeline/runner.ts';
import type { Stage } from '../../../src/pipeline/stage.ts';

const headers = (entries: Record<string, string>) => new Map(Object.entries(entries));
const requestHeaders = headers({ ':method': 'POST', ':path': '/v1/chat/completions?x=1', 'x-request-id': 'req-1' });
const tick = () => new Promise((r) => setTimeout(r, 0));

function recorder(calls: string[], overrides: Partial<Stage> = {}): Stage {
  return {
    name: 'recorder',
    onRequestHeaders: (ctx) => void calls.push(`headers ${ctx.path}`),
    onRequest: (ctx) => void calls.push(`request ${JSON.stringify(ctx.body)}`),
    onResponseHeaders: (ctx) => void calls.push(`response ${ctx.response.status}`),
    onResponseChunk: (_ctx, chunk, end) => void calls.push(`chunk ${chunk.toString()} ${end}`),
    onResponseEnd: (ctx) => void calls.push(`end ${ctx.outcome}`),
    ...overrides,
  };
}

function pipeline(stages: Stage[]) {
  return createPipeline({ stages, logger: pino({ level: 'silent' }), now: () => 0 })();
}

describe('pipeline runner', () => {
  it('runs every phase in order and ends exactly once', async () => {
    const calls: string[] = [];
    const handler = pipeline([recorder(calls)]);
    await handler.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: false });
    await handler.handle({ phase: 'request_body', body: Buffer.from('{"a":1}'), endOfStream: true });
    await handler.handle({ phase: 'response_headers', headers: headers({ ':status': '200', 'content-type': 'application/json' }), endOfStream: false });
    await handler.handle({ phase: 'response_body', body: Buffer.from('{}'), endOfStream: true });
    handler.close(true);
    await tick();
    expect(calls).toEqual(['headers /v1/chat/completions', 'request {"a":1}', 'response 200', 'chunk {} true', 'end completed']);
  });

  it('answers a rejection as an immediate OpenAI error, skips later stages, and still runs onResponseEnd', async () => {
    const calls: string[] = [];
    const handler = pipeline([
      { name: 'deny', onRequestHeaders: () => ({ respond: errors.missingKey() }), onResponseEnd: (ctx) => void calls.push(`deny-end ${ctx.outcome}`) },
      recorder(calls),
    ]);
    const reply = await handler.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: false }) as Extract<PhaseReply, { kind: 'immediate' }>;
    expect(reply.kind).toBe('immediate');
    expect(reply.status).toBe(401);
    expect(reply.details).toBe('tollgate_missing_api_key');
    expect(JSON.parse(reply.body)).toEqual({ error: { message: expect.any(String), type: 'authentication_error', code: 'missing_api_key', param: null } });
    handler.close(true);
    await tick();
    expect(calls).toEqual(['deny-end rejected', 'end rejected']);
  });

  it('marks a request whose stream closed before the response ended as aborted', async () => {
    const calls: string[] = [];
    const handler = pipeline([recorder(calls)]);
    await handler.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: true });
    await handler.handle({ phase: 'response_headers', headers: headers({ ':status': '200', 'content-type': 'text/event-stream' }), endOfStream: false });
    await handler.handle({ phase: 'response_body', body: Buffer.from('data: x\n\n'), endOfStream: false });
    handler.close(false);
    handler.close(false);
    await tick();
    expect(calls.filter((c) => c.startsWith('end'))).toEqual(['end aborted']);
  });

  it('learns the response status from the first body chunk when response headers are not sent', async () => {
    const seen: Array<[number | null, boolean]> = [];
    const stage: Stage = { name: 'watch', onResponseHeaders: (ctx) => void seen.push([ctx.response.status, ctx.response.streaming]) };
    const stream: Stage = { name: 'stream', onRequest: (ctx) => { ctx.stream = true; } };
    for (const status of [200, 429]) {
      const handler = pipeline([stream, stage]);
      await handler.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: true });
      await handler.handle({ phase: 'response_body', body: Buffer.from('x'), endOfStream: false, status });
      await handler.handle({ phase: 'response_body', body: Buffer.from('y'), endOfStream: true });
    }
    // A stream request answered 200 is SSE; an error answer is JSON, whatever the client asked for.
    expect(seen).toEqual([[200, true], [429, false]]);
  });

  it('re-serialises the body only when a stage changed it, with a matching content-length', async () => {
    const unchanged = pipeline([]);
    await unchanged.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: false });
    expect(await unchanged.handle({ phase: 'request_body', body: Buffer.from('{"a":1}'), endOfStream: true })).not.toHaveProperty('body');

    const changing: Stage = { name: 'change', onRequest: (ctx: RequestContext) => { ctx.body = { b: 'ü' }; ctx.upstream.bodyChanged = true; } };
    const changed = pipeline([changing]);
    await changed.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: false });
    const reply = await changed.handle({ phase: 'request_body', body: Buffer.from('{"a":1}'), endOfStream: true }) as Extract<PhaseReply, { kind: 'continue' }>;
    expect(reply.body?.toString()).toBe('{"b":"ü"}');
    expect(reply.headers?.set).toContainEqual(['content-length', String(Buffer.byteLength('{"b":"ü"}'))]);
  });

  it('turns an unexpected stage failure into a 500 without internals', async () => {
    const handler = pipeline([{ name: 'boom', onRequest: () => { throw new Error('secret detail'); } }]);
    await handler.handle({ phase: 'request_headers', headers: requestHeaders, endOfStream: false });
    const reply = await handler.handle({ phase: 'request_body', body: Buffer.from('{}'), endOfStream: true }) as Extract<PhaseReply, { kind: 'immediate' }>;
    expect(reply.status).toBe(500);
    expect(reply.body).not.toContain('secret detail');
  });
});

describe('decodeJsonBody', () => {
  it.each([
    [Buffer.from([0x7b, 0xff, 0x7d]), 'invalid_encoding'],
    [Buffer.from('{"a":'), 'invalid_json'],
    [Buffer.from('"text"'), 'invalid_json'],
    [Buffer.from('null'), 'invalid_json'],
  ])('rejects %s with a 400', (raw, code) => {
    expect(() => decodeJsonBody(raw)).toThrow(expect.objectContaining({ status: 400, code }));
  });
});
