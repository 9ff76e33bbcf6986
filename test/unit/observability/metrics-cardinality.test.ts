import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../../src/observability/metrics.ts';
import { timedHandlers } from '../../../src/observability/phase-timing.ts';
import { createPipeline } from '../../../src/pipeline/runner.ts';
import type { RequestContext } from '../../../src/pipeline/context.ts';
import { observeStage } from '../../../src/stages/observe.ts';
import { errors } from '../../../src/errors/errors.ts';

const logger = pino({ level: 'silent' });

/**
 * Metric labels stay bounded whatever clients send: a user id, a request id or a made-up model name never becomes a
 * label value (each would be a new series per request).
 */
describe('metric label cardinality', () => {
  it('keeps user ids, request ids and unknown model names out of every label', async () => {
    const metrics = new GatewayMetrics();
    const newHandler = timedHandlers(createPipeline({
      logger,
      now: () => performance.now(),
      stages: [
        {
          name: 'tenant-and-model',
          onRequest(ctx: RequestContext) {
            const body = ctx.body as { model: string; user: string };
            ctx.endpoint = 'chat';
            ctx.tenant = { org: 'acme', team: 'platform', app: 'playground', user: body.user, feature: null, keyId: 'k1' };
            ctx.model = body.model;
            // Known models resolve (as the resolve stage does); anything else is a 404.
            if (body.model !== 'gpt-4o-mini') return { respond: errors.modelNotFound(body.model) };
            ctx.routing.alias = body.model;
            ctx.provider = 'openai';
          },
        },
        observeStage({ metrics, logger }),
      ],
    }), 'request', metrics.extprocPhase);

    for (let i = 0; i < 40; i++) {
      const handler = newHandler();
      const requestId = `req-${i}-${Math.random()}`;
      const model = i % 2 ? 'gpt-4o-mini' : `made-up-model-${i}`;
      await handler.handle({ phase: 'request_headers', headers: new Map([[':method', 'POST'], [':path', '/v1/chat/completions'], ['x-request-id', requestId]]), endOfStream: false });
      const body = Buffer.from(JSON.stringify({ model, user: `user-${i}`, messages: [{ role: 'user', content: 'hi' }] }));
      const reply = await handler.handle({ phase: 'request_body', body, endOfStream: true });
      if (reply.kind === 'continue') await handler.handle({ phase: 'response_body', body: Buffer.from('{}'), endOfStream: true, status: 200 });
      handler.close(true);
      await new Promise((done) => setImmediate(done));
    }

    const text = await metrics.registry.metrics();
    const series = text.split('\n').filter((line) => line.startsWith('tollgate_') && line.includes('{'));
    expect(series.length).toBeGreaterThan(0);
    for (const line of series) {
      expect(line).not.toMatch(/user-\d+|req-\d+|made-up-model/);
    }
    // Two model values only: the resolved one and `unresolved`.
    const models = new Set([...text.matchAll(/tollgate_requests_total\{[^}]*model="([^"]+)"/g)].map((m) => m[1]));
    expect(models).toEqual(new Set(['gpt-4o-mini', 'unresolved']));
    // The phase histogram has one series per phase seen, whatever the number of requests.
    const phases = new Set([...text.matchAll(/tollgate_extproc_phase_duration_seconds_count\{filter="request",phase="([^"]+)"\} (\d+)/g)].map((m) => `${m[1]}=${m[2]}`));
    expect(phases).toEqual(new Set(['request_headers=40', 'request_body=40', 'response_body=20']));
  });
});
