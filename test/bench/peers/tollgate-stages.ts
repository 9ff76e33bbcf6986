import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { validateConfig } from '../../../src/config/load-config.ts';
import { configSchema } from '../../../src/config/schema.ts';

/**
 * Which of Tollgate's optional stages the "every stage on" contender turns on, and with what settings. A stage is on
 * when its config section exists in src/config/schema.ts at run time (stages land one by one), so the benchmark
 * always measures every stage there is and records which ones those were. Settings are realistic but never in the
 * way: limits far above the load, unique prompts so every cache lookup misses (and stores the answer).
 */

export interface StageContext {
  projectRoot: string;
  /** The run's temp dir (bundle, audit log, ledger file). */
  dir: string;
}

interface StageSetup {
  stage: string;
  /** The config section that turns it on. */
  section: string;
  /** What the benchmark configures, one line for RESULTS.md. */
  settings: string;
  build(ctx: StageContext): Record<string, unknown>;
}

/** Far above any rate this machine reaches, so a quota never rejects: the benchmark measures its bookkeeping. */
const UNREACHABLE_RATE = { rpm: 100_000_000, tpm: 1_000_000_000 };
const UNREACHABLE_BUDGET = { daily_usd: 1_000_000, monthly_usd: 10_000_000 };

const STAGES: StageSetup[] = [
  {
    stage: 'policy',
    section: 'policy',
    settings: 'the bundle compiled from policies/ (scripts/policy-build), evaluated for every request, every decision audit-logged',
    build: (ctx) => ({ bundle: buildPolicyBundle(ctx), audit_log: join(ctx.dir, 'policy-decisions.jsonl'), fail_mode: 'closed' }),
  },
  {
    stage: 'quota',
    section: 'quotas',
    settings: 'RPM/TPM limits on key, app, team and org plus daily/monthly budgets on team and app, in Redis, never reached',
    build: () => ({
      limits: { key: { '*': UNREACHABLE_RATE }, app: { '*': UNREACHABLE_RATE }, team: { '*': UNREACHABLE_RATE }, org: { '*': UNREACHABLE_RATE } },
      budgets: { team: { '*': UNREACHABLE_BUDGET }, app: { '*': UNREACHABLE_BUDGET } },
    }),
  },
  {
    stage: 'cache',
    section: 'cache',
    settings: 'exact cache in Redis for every request (mode always); unique prompts, so each request is a miss whose answer is stored',
    build: () => ({ backend: 'redis', defaults: { mode: 'always', ttl_seconds: 300 } }),
  },
  {
    stage: 'ledger',
    section: 'ledger',
    settings: 'one usage record per request through the Redis Stream into the embedded SQLite sink',
    build: (ctx) => ({ sink: { type: 'sqlite', path: join(ctx.dir, 'ledger.sqlite') } }),
  },
];

/** Sections the auth-only contender sets so that optional stages with defaults stay off. */
const AUTH_ONLY_SECTIONS: Record<string, Record<string, unknown>> = {
  cache: { defaults: { mode: 'off' } },
};

export interface StagePlan {
  /** Config sections to add to the base config. */
  sections: Record<string, Record<string, unknown>>;
  on: string[];
  /** Stages whose section is not in the schema yet. */
  absent: string[];
  /** Stages whose section exists but rejects what the benchmark configures (the STAGES table needs an update). */
  rejected: { stage: string; error: string }[];
  settings: Record<string, string>;
}

const inSchema = (section: string) => Object.hasOwn(configSchema.properties, section);

/** Every stage there is, each checked on its own against the schema (with the base config) before it is kept. */
export function planFullStages(ctx: StageContext, base: Record<string, unknown>): StagePlan {
  const plan: StagePlan = { sections: {}, on: [], absent: [], rejected: [], settings: {} };
  for (const stage of STAGES) {
    if (!inSchema(stage.section)) {
      plan.absent.push(stage.stage);
      continue;
    }
    try {
      const section = stage.build(ctx);
      // validateConfig fills defaults into what it is given: it gets a copy.
      validateConfig(structuredClone({ ...base, ...plan.sections, [stage.section]: section }), `${stage.stage} stage`);
      plan.sections[stage.section] = section;
      plan.on.push(stage.stage);
      plan.settings[stage.stage] = stage.settings;
    } catch (error) {
      plan.rejected.push({ stage: stage.stage, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return plan;
}

export function authOnlySections(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(AUTH_ONLY_SECTIONS).filter(([section]) => inSchema(section)));
}

/** Compiles policies/ into this run's own bundle (never touching policies/build, which tests may be using). */
function buildPolicyBundle(ctx: StageContext): string {
  const out = join(ctx.dir, 'policy-bundle.tar.gz');
  execFileSync(join(ctx.projectRoot, 'scripts/policy-build'), ['--out', out], { cwd: ctx.projectRoot, stdio: 'pipe' });
  return out;
}
