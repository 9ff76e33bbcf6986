import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../store/redis-store.ts';
import { bucketCost, perMs, type CrossedThreshold, type QuotaEngine, type QuotaPlan, type Reservation, type ReserveOutcome } from './engine.ts';

interface Script {
  lua: string;
  sha: string;
}

function script(name: string): Script {
  const lua = readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

type Arg = string | number;

/**
 * Quotas in Redis: one EVALSHA per request to reserve (lua/reserve.lua) and one to settle (lua/settle.lua), on a
 * single Redis or a Redis Cluster alike (every key of a call shares the org's hash tag, see plan.ts).
 */
export class RedisQuotaEngine implements QuotaEngine {
  readonly #client: RedisClient;
  readonly #reserve = script('reserve.lua');
  readonly #settle = script('settle.lua');

  constructor(client: RedisClient) {
    this.#client = client;
  }

  /**
   * Loads the scripts into every master's script cache, so that requests only send their SHA. Best effort: a Redis
   * that is down now, restarted or failed over later answers NOSCRIPT, and `#run` then sends the script itself.
   */
  async load(timeoutMs = 2000): Promise<void> {
    // A Cluster client knows its masters only once it has read the slot map.
    if (this.#client instanceof Cluster && this.#client.status !== 'ready') {
      const client = this.#client;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Redis Cluster not ready')), timeoutMs);
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    await Promise.all(nodes.flatMap((node) => [this.#reserve, this.#settle].map((s) => node.script('LOAD', s.lua))));
  }

  async reserve(plan: QuotaPlan, reservation: Reservation): Promise<ReserveOutcome> {
    const args: Arg[] = [plan.buckets.length, plan.budgets.length];
    for (const bucket of plan.buckets) args.push(bucket.limit, perMs(bucket.limit), bucketCost(bucket, reservation));
    for (const budget of plan.budgets) args.push(budget.capNanoUsd, reservation.nanoUsd, budget.ttlMs);
    const keys = [...plan.buckets.map((b) => b.key), ...plan.budgets.map((b) => b.key)];
    const reply = (await this.#run(this.#reserve, keys, args)) as number[];
    const [status = 0, index = 0, detail = 0, now = 0] = reply;
    if (status === 2) return { admitted: false, kind: 'budget', budget: index - 1, usedNanoUsd: detail, now };
    const levels = reply.slice(4);
    if (status === 1) return { admitted: false, kind: 'rate', bucket: index - 1, retryMs: detail, levels, now };
    return { admitted: true, levels, now };
  }

  async settle(plan: QuotaPlan, reserved: Reservation, actual: Reservation): Promise<CrossedThreshold[]> {
    // Request buckets keep their count: a request happened whatever it cost.
    const tokenBuckets = plan.buckets.filter((b) => b.kind === 'tokens');
    const args: Arg[] = [tokenBuckets.length, plan.budgets.length, plan.thresholds.length, ...plan.thresholds];
    for (const bucket of tokenBuckets) args.push(bucket.limit, perMs(bucket.limit), reserved.tokens - actual.tokens);
    for (const budget of plan.budgets) args.push(budget.capNanoUsd, reserved.nanoUsd, actual.nanoUsd, budget.ttlMs);
    const keys = [...tokenBuckets.map((b) => b.key), ...plan.budgets.map((b) => b.key), ...plan.budgets.flatMap((b) => b.alertKeys)];
    const reply = (await this.#run(this.#settle, keys, args)) as number[];
    const crossed: CrossedThreshold[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      crossed.push({ budget: (reply[i] as number) - 1, percent: reply[i + 1] as number, settledNanoUsd: reply[i + 2] as number });
    }
    return crossed;
  }

  async #run(s: Script, keys: string[], args: Arg[]): Promise<unknown> {
    try {
      return await this.#client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted or failed-over Redis has an empty script cache; EVAL runs the script and caches it again.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#client.eval(s.lua, keys.length, ...keys, ...args);
    }
  }
}
