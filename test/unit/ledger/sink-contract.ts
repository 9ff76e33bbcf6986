import { describe, expect, it } from 'vitest';
import { GROUP_COLUMNS, type GroupColumn, type LedgerSink, type UsageGroup, type UsageQuery } from '../../../src/ledger/sink.ts';
import type { UsageRecord } from '../../../src/ledger/usage-record.ts';
import { pendingOf, usageRecord } from './records.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** What an aggregate must answer, summed here in JavaScript from the records as they stand. */
function expectedGroups(records: Iterable<UsageRecord & { feedback?: number }>, query: UsageQuery): UsageGroup[] {
  const columns: readonly GroupColumn[] = typeof query.groupBy === 'string' ? GROUP_COLUMNS[query.groupBy] : query.groupBy;
  const groups = new Map<string, UsageGroup>();
  for (const r of records) {
    if (r.startedAt < query.from || r.startedAt >= query.to) continue;
    if (Object.entries(query.where ?? {}).some(([field, value]) => r[field as keyof UsageRecord] !== value)) continue;
    const key = Object.fromEntries(columns.map((c) => [c, (r[(c === 'error_code' ? 'errorCode' : c === 'cache_status' ? 'cacheStatus' : c) as keyof UsageRecord] ?? null) as string | null]));
    const bucket = query.bucketMs ? Math.floor(r.startedAt / query.bucketMs) * query.bucketMs : undefined;
    const id = JSON.stringify([bucket, key]);
    const g = groups.get(id) ?? {
      key, ...(bucket === undefined ? {} : { bucket }), requests: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0,
      costNanoUsd: 0n, savedNanoUsd: 0n, errors: 0, latencyMsSum: 0, latencyCount: 0, feedbackSum: 0, feedbackCount: 0,
    };
    g.requests += 1;
    g.promptTokens += r.promptTokens;
    g.completionTokens += r.completionTokens;
    g.cachedPromptTokens += r.cachedPromptTokens;
    g.costNanoUsd += r.costNanoUsd ?? 0n;
    g.savedNanoUsd += r.savedNanoUsd ?? 0n;
    if ((r.status ?? 0) >= 400) g.errors += 1;
    if (r.latencyMs !== null) {
      g.latencyMsSum += r.latencyMs;
      g.latencyCount += 1;
    }
    if (r.feedback !== undefined) {
      g.feedbackSum += r.feedback;
      g.feedbackCount += 1;
    }
    groups.set(id, g);
  }
  return [...groups.values()];
}

const sorted = (groups: UsageGroup[]) => groups.map((g) => JSON.stringify(g, (_, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();

/**
 * What every ledger sink must do, run against real databases (PostgreSQL, SQLite). `fresh` gives an empty,
 * migrated sink per test.
 */
export function sinkContract(name: string, fresh: () => Promise<LedgerSink>): void {
  describe(`${name} ledger sink`, () => {
    it('keeps one row per request id: a replayed entry changes nothing', async () => {
      const sink = await fresh();
      const record = usageRecord();
      expect(await sink.write([record])).toHaveLength(1);
      expect(await sink.write([record])).toHaveLength(0);
      expect(await sink.write([record, record])).toHaveLength(0);
      const [group] = await sink.aggregate({ groupBy: 'team', from: 0, to: Date.UTC(2030, 0, 1) });
      expect(group).toMatchObject({ requests: 1, promptTokens: 10, completionTokens: 5, costNanoUsd: 4_500n });
      expect(await sink.get(record.requestId)).toEqual(record);
    });

    it('keeps the trace id of a traced request (and null for an untraced one)', async () => {
      const sink = await fresh();
      const traced = usageRecord({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
      const untraced = usageRecord();
      await sink.write([traced, untraced]);
      expect((await sink.get(traced.requestId))?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect((await sink.get(untraced.requestId))?.traceId).toBeNull();
    });

    it('only moves a row forward: pending → final, never back, whatever the arrival order', async () => {
      const sink = await fresh();
      const inOrder = usageRecord();
      expect(await sink.write([pendingOf(inOrder)])).toHaveLength(1);
      expect(await sink.write([inOrder])).toHaveLength(1);
      const late = usageRecord();
      await sink.write([late]);
      // The pending entry arriving after the final one (redelivered from the queue) is ignored.
      expect(await sink.write([pendingOf(late)])).toHaveLength(0);
      // Both entries in one batch: the final one wins.
      const both = usageRecord();
      expect(await sink.write([both, pendingOf(both)])).toEqual([both]);
      for (const record of [inOrder, late, both]) expect((await sink.get(record.requestId))?.state).toBe('final');
    });

    it('closes orphans once, and a final entry that still arrives replaces the orphan', async () => {
      const sink = await fresh();
      const old = usageRecord({ startedAt: Date.UTC(2026, 0, 1) });
      const recent = usageRecord({ startedAt: Date.UTC(2026, 0, 2) });
      await sink.write([pendingOf(old), pendingOf(recent)]);
      const closed = await sink.closeOrphans(Date.UTC(2026, 0, 1, 12), Date.UTC(2026, 0, 3));
      expect(closed.map((r) => [r.requestId, r.state, r.outcome, r.endedAt])).toEqual([[old.requestId, 'orphaned', 'orphaned', Date.UTC(2026, 0, 3)]]);
      expect(await sink.closeOrphans(Date.UTC(2026, 0, 1, 12), Date.UTC(2026, 0, 3))).toEqual([]);
      expect((await sink.get(recent.requestId))?.state).toBe('pending');
      // A redelivered pending entry does not reopen it.
      expect(await sink.write([pendingOf(old)])).toHaveLength(0);
      expect(await sink.write([old])).toEqual([old]);
      expect(await sink.get(old.requestId)).toEqual(old);
    });

    it('sums costs exactly, past 2^53 nano-USD, per group and period', async () => {
      const sink = await fresh();
      const big = 2n ** 60n + 7n;
      const inPeriod = Date.UTC(2026, 1, 10);
      await sink.write([
        usageRecord({ startedAt: inPeriod, team: 'research', app: 'notebook', costNanoUsd: big, feature: 'search', user: 'u1' }),
        usageRecord({ startedAt: inPeriod, team: 'research', app: 'notebook', costNanoUsd: 3n, feature: 'search', user: 'u2' }),
        usageRecord({ startedAt: inPeriod, team: 'platform', costNanoUsd: null, promptTokens: 7, model: 'gpt-4o' }),
        // Outside the period: [from, to) excludes `to`.
        usageRecord({ startedAt: Date.UTC(2026, 2, 1), team: 'research', costNanoUsd: 1_000n }),
      ]);
      const period = { from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 2, 1) };
      const teams = await sink.aggregate({ groupBy: 'team', ...period });
      expect(teams).toEqual([
        { key: { org: 'acme', team: 'platform' }, requests: 1, promptTokens: 7, completionTokens: 5, cachedPromptTokens: 0, costNanoUsd: 0n, savedNanoUsd: 0n, errors: 0, latencyMsSum: 12.5, latencyCount: 1, feedbackSum: 0, feedbackCount: 0 },
        { key: { org: 'acme', team: 'research' }, requests: 2, promptTokens: 20, completionTokens: 10, cachedPromptTokens: 0, costNanoUsd: big + 3n, savedNanoUsd: 0n, errors: 0, latencyMsSum: 25, latencyCount: 2, feedbackSum: 0, feedbackCount: 0 },
      ]);
      const features = await sink.aggregate({ groupBy: 'feature', ...period });
      expect(new Map(features.map((g) => [g.key.feature, g.costNanoUsd]))).toEqual(new Map([[null, 0n], ['search', big + 3n]]));
      const users = await sink.aggregate({ groupBy: 'user', ...period });
      expect(new Map(users.map((g) => [g.key.user, g.requests]))).toEqual(new Map([[null, 1], ['u1', 1], ['u2', 1]]));
      const models = await sink.aggregate({ groupBy: 'model', ...period });
      expect(new Map(models.map((g) => [g.key.model, g.requests]))).toEqual(new Map([['gpt-4o', 1], ['gpt-4o-mini', 2]]));
      const apps = await sink.aggregate({ groupBy: 'app', ...period });
      expect(apps.map((g) => g.key)).toContainEqual({ org: 'acme', team: 'research', app: 'notebook' });
    });

    it('counts errors and latency per A/B variant (the results view), pending rows without a latency', async () => {
      const sink = await fresh();
      const at = Date.UTC(2026, 3, 1);
      await sink.write([
        usageRecord({ startedAt: at, model: 'assistant', variant: 'control', latencyMs: 10 }),
        usageRecord({ startedAt: at, model: 'assistant', variant: 'control', latencyMs: 30, status: 503, outcome: 'completed' }),
        usageRecord({ startedAt: at, model: 'assistant', variant: 'cheaper', latencyMs: 5 }),
        usageRecord({ startedAt: at, model: 'assistant', variant: 'cheaper', state: 'pending', latencyMs: null, status: null }),
      ]);
      const rated = usageRecord({ startedAt: at, model: 'assistant', variant: 'cheaper', latencyMs: 7 });
      await sink.write([rated]);
      const tenant = { org: rated.org, team: rated.team, app: rated.app };
      // Feedback: only the app's own requests, the last score wins.
      expect(await sink.feedback(rated.requestId, { ...tenant, app: 'other-app' }, 1)).toBe(false);
      expect(await sink.feedback('no-such-request', tenant, 1)).toBe(false);
      expect(await sink.feedback(rated.requestId, tenant, -1)).toBe(true);
      expect(await sink.feedback(rated.requestId, tenant, 0.5)).toBe(true);
      const groups = await sink.aggregate({ groupBy: 'variant', from: at, to: at + 1 });
      expect(groups.map(({ key, requests, errors, latencyMsSum, latencyCount, feedbackSum, feedbackCount }) =>
        ({ key, requests, errors, latencyMsSum, latencyCount, feedbackSum, feedbackCount }))).toEqual([
        { key: { model: 'assistant', variant: 'cheaper' }, requests: 3, errors: 0, latencyMsSum: 12, latencyCount: 2, feedbackSum: 0.5, feedbackCount: 1 },
        { key: { model: 'assistant', variant: 'control' }, requests: 2, errors: 1, latencyMsSum: 40, latencyCount: 2, feedbackSum: 0, feedbackCount: 0 },
      ]);
      // A final entry that arrives after the feedback keeps it.
      await sink.write([{ ...rated, state: 'final', latencyMs: 8 }]);
      expect((await sink.aggregate({ groupBy: 'variant', from: at, to: at + 1 }))[0]?.feedbackCount).toBe(1);
    });

    it('narrows to filters and groups by UTC time buckets (the dashboard), by several columns at once', async () => {
      const sink = await fresh();
      const hour = 3_600_000;
      const base = Date.UTC(2026, 5, 1);
      await sink.write([
        usageRecord({ startedAt: base + 10, team: 'research', model: 'gpt-4o', costNanoUsd: 1_000n, errorCode: null }),
        usageRecord({ startedAt: base + hour - 1, team: 'research', model: 'gpt-4o', costNanoUsd: 2_000n }),
        usageRecord({ startedAt: base + hour, team: 'research', model: 'gpt-4o-mini', costNanoUsd: 4_000n, status: 403, errorCode: 'policy_denied' }),
        usageRecord({ startedAt: base + 2 * hour + 5, team: 'platform', model: 'gpt-4o', costNanoUsd: 8_000n }),
      ]);
      const range = { from: base, to: base + 3 * hour };
      const buckets = await sink.aggregate({ ...range, groupBy: 'model', where: { team: 'research' }, bucketMs: hour });
      expect(buckets.map((g) => [g.bucket, g.key.model, g.costNanoUsd])).toEqual([
        [base, 'gpt-4o', 3_000n],
        [base + hour, 'gpt-4o-mini', 4_000n],
      ]);
      const narrowed = await sink.aggregate({ ...range, groupBy: 'team', where: { team: 'research', model: 'gpt-4o' } });
      expect(narrowed.map((g) => [g.key.team, g.requests, g.costNanoUsd])).toEqual([['research', 2, 3_000n]]);
      // A filter value is bound, never spliced into the SQL.
      expect(await sink.aggregate({ ...range, groupBy: 'team', where: { team: "research' OR '1'='1" } })).toEqual([]);
      const byErrors = await sink.aggregate({ ...range, groupBy: ['team', 'error_code'] });
      // (Where NULLs sort differs between the dialects: compared as a set.)
      const rows = byErrors.map((g) => [g.key.team, g.key.error_code, g.requests]);
      expect(rows).toHaveLength(3);
      expect(rows).toEqual(expect.arrayContaining([['platform', null, 1], ['research', null, 2], ['research', 'policy_denied', 1]]));
    });

    it('answers from its summary tables exactly what the records sum to: any range, bucket, grouping and filter, after updates', async () => {
      const sink = await fresh();
      const next = random(7);
      const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T;
      const base = Date.UTC(2026, 2, 1);
      const live = new Map<string, UsageRecord & { feedback?: number }>();
      const finals: UsageRecord[] = [];
      const pendings: UsageRecord[] = [];
      for (let i = 0; i < 600; i++) {
        const failed = next() < 0.15;
        const record = usageRecord({
          startedAt: base + Math.floor(next() * 5 * DAY), team: pick(['a', 'b', 'c']), app: pick(['x', 'y']),
          user: pick([null, 'u1', 'u2', 'u3']), feature: pick([null, 'f1', 'f2']), model: pick(['m1', 'm2']),
          provider: failed ? pick([null, 'p1']) : pick(['p1', 'p2']), promptTokens: Math.floor(next() * 1000),
          completionTokens: Math.floor(next() * 500), cachedPromptTokens: Math.floor(next() * 10),
          costNanoUsd: failed ? null : BigInt(Math.floor(next() * 1e9)) * 1_000_000n,
          // Quarter milliseconds: binary fractions, so sums in any order are the same number.
          latencyMs: pick([null, Math.floor(next() * 4000) / 4]), status: failed ? pick([403, 429, 502]) : 200,
          errorCode: failed ? pick(['policy_denied', 'provider_error']) : null, cacheStatus: pick([null, 'hit', 'miss']),
        });
        if (record.cacheStatus === 'hit') record.savedNanoUsd = BigInt(Math.floor(next() * 1e6)) * 1_000n;
        pendings.push(pendingOf(record));
        if (next() < 0.9) finals.push(record);
      }
      // Pending first (the triggers count them), then most of them move on: to final (other columns), or orphaned.
      await sink.write(pendings);
      for (const p of pendings) live.set(p.requestId, p);
      await sink.write(finals);
      for (const f of finals) live.set(f.requestId, f);
      const cutoff = base + 2 * DAY;
      for (const orphan of await sink.closeOrphans(cutoff, base + 6 * DAY)) live.set(orphan.requestId, { ...(live.get(orphan.requestId) as UsageRecord), state: 'orphaned', outcome: 'orphaned', endedAt: base + 6 * DAY });
      for (const f of finals.slice(0, 100)) {
        const score = pick([-1, 0, 0.5, 1]);
        expect(await sink.feedback(f.requestId, f, score)).toBe(true);
        live.set(f.requestId, { ...(live.get(f.requestId) as UsageRecord), feedback: score });
      }
      const ranges = [
        { from: base - DAY, to: base + 10 * DAY },
        { from: base + 12_345, to: base + 4 * DAY + 7 * HOUR + 999 },
        { from: base + DAY, to: base + 2 * DAY },
        { from: base + 3 * HOUR + 17, to: base + 3 * HOUR + 1_800_017 },
        { from: base + 5 * HOUR, to: base + 29 * HOUR + 1 },
      ];
      const groupings: UsageQuery['groupBy'][] = ['team', 'app', 'user', 'feature', 'model', 'provider', 'variant', ['team', 'model', 'provider'], ['cache_status', 'error_code'], ['team', 'model', 'provider', 'cache_status', 'error_code']];
      const filters = [{}, { team: 'a' }, { team: 'b', model: 'm1' }, { user: 'u2' }, { feature: 'f1', org: 'acme' }, { provider: 'p1', app: 'y' }, { model: 'm2' }];
      let compared = 0;
      for (const range of ranges) {
        for (const groupBy of groupings) {
          for (const where of filters) {
            for (const bucketMs of [undefined, HOUR, DAY, 60_000]) {
              const query = { ...range, groupBy, where, ...(bucketMs ? { bucketMs } : {}) };
              const got = await sink.aggregate(query);
              expect(sorted(got), JSON.stringify(query)).toEqual(sorted(expectedGroups(live.values(), query)));
              compared += got.length;
            }
          }
        }
      }
      expect(compared).toBeGreaterThan(5000);
    });

    it("keeps what a cache hit saved (the provider's price of the cached answer) and sums it per group", async () => {
      const sink = await fresh();
      const hit = usageRecord({ cacheStatus: 'hit', costNanoUsd: 0n, savedNanoUsd: 2n ** 55n + 1n });
      const miss = usageRecord({ cacheStatus: 'miss' });
      await sink.write([pendingOf(hit), miss]);
      await sink.write([hit]);
      expect(await sink.get(hit.requestId)).toEqual(hit);
      expect((await sink.get(miss.requestId))?.savedNanoUsd).toBeUndefined();
      const range = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1) };
      const groups = await sink.aggregate({ ...range, groupBy: 'cache_status' });
      expect(groups.find((g) => g.key.cache_status === 'hit')?.savedNanoUsd).toBe(2n ** 55n + 1n);
      expect(groups.find((g) => g.key.cache_status === 'miss')?.savedNanoUsd).toBe(0n);
    });

    it('runs its migrations once: migrating again is a no-op', async () => {
      const sink = await fresh();
      await sink.migrate();
      const record = usageRecord();
      await sink.write([record]);
      await sink.migrate();
      expect(await sink.get(record.requestId)).toEqual(record);
    });
  });
}
