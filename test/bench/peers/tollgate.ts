import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { validateConfig } from '../../../src/config/load-config.ts';
import { freePort } from '../../helpers/free-port.ts';
import { startEnvoyAt, startTollgateServe } from '../lib/processes.ts';
import { startRedisProcess } from '../lib/redis-process.ts';
import { versions } from '../lib/run-info.ts';
import { JSON_HEADERS, type Contender, type ContenderName, type ContenderSpec, type StartContext } from './contender.ts';
import { authOnlySections, planFullStages, type StagePlan } from './tollgate-stages.ts';

/**
 * Tollgate as `tollgate serve` + the Envoy it renders, in two set-ups: auth only (the stages every request needs:
 * auth, validate, models, route, observe; in-memory store) and every optional stage on (tollgate-stages.ts) with
 * Redis as the store, as a deployment with quotas and a shared cache would run.
 */

const VIRTUAL_KEY = 'tg-bench-virtual-key-0123456789';
/** A tenant the policies in policies/data.json have rules for (model allow-list, token cap), so they all evaluate. */
const TENANT = { org: 'acme', team: 'research', app: 'bench' };
/** Extra node options for Tollgate, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (then test/bench/profile-summary.ts). */
const TOLLGATE_NODE_OPTIONS = process.env.BENCH_TOLLGATE_NODE_OPTIONS;
/**
 * What Tollgate runs from: `dist` (the compiled JavaScript, as the container image runs it; the caller builds it,
 * see buildDist) or `src` (the .ts sources through bin/tollgate, as in development). Default src; peers.ts sets dist.
 */
const runFrom = (): 'src' | 'dist' => (process.env.BENCH_TOLLGATE_RUN === 'dist' ? 'dist' : 'src');

function baseConfig(options: {
  ports: { listener: number; envoyAdmin: number; extproc: number; admin: number };
  envoyDir: string; fakeUrl: string; model: string;
}): Record<string, unknown> {
  return {
    listener: { address: '127.0.0.1', port: options.ports.listener },
    envoy: { admin: { address: '127.0.0.1', port: options.ports.envoyAdmin }, config_dir: options.envoyDir },
    extproc: { address: '127.0.0.1', port: options.ports.extproc },
    admin: { address: '127.0.0.1', port: options.ports.admin, token_env: 'BENCH_ADMIN_TOKEN' },
    store: { type: 'memory' },
    logging: { level: 'warn' },
    providers: { openai: { type: 'openai', base_url: options.fakeUrl, api_key_env: 'BENCH_PROVIDER_KEY' } },
    models: { [options.model]: { provider: 'openai', kind: 'chat' } },
    orgs: { [TENANT.org]: { teams: { [TENANT.team]: { apps: { [TENANT.app]: {} } } } } },
    keys: [{ key_env: 'BENCH_VIRTUAL_KEY', ...TENANT, name: 'bench' }],
  };
}

/** How a Tollgate contender is set up. */
export interface TollgateSetup {
  /** Every optional stage on with Redis as the store (tollgate-stages.ts), or only the stages every request needs. */
  full: boolean;
  /**
   * How many `tollgate serve` processes on the same config (default 1). More than one: each on its own ext_proc and
   * admin port (`--extproc-port`, `--admin-port`), all listed in `extproc.endpoints`, so the one Envoy (rendered by the
   * first) spreads the ext_proc streams over them (README "Sizing"); their CPU and RSS count together as `tollgate`.
   */
  processes?: number;
  /** NODE_OPTIONS of every Tollgate process (default BENCH_TOLLGATE_NODE_OPTIONS). */
  nodeOptions?: string | undefined;
}

export async function startTollgate(ctx: StartContext, name: ContenderName, setup: TollgateSetup): Promise<Contender> {
  const { full, processes = 1, nodeOptions = TOLLGATE_NODE_OPTIONS } = setup;
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`${name}: processes must be a whole number ≥ 1, not ${processes}`);
  const dir = join(ctx.dir, nodeOptions?.includes('--cpu-prof') ? `${name}-profiled` : name);
  await mkdir(dir, { recursive: true });
  const ports = { listener: await freePort(), envoyAdmin: await freePort(), extproc: await freePort(), admin: await freePort() };
  const more: { extproc: number; admin: number }[] = [];
  for (let i = 1; i < processes; i++) more.push({ extproc: await freePort(), admin: await freePort() });
  const envoyDir = join(dir, 'envoy');
  const config = baseConfig({ ports, envoyDir, fakeUrl: ctx.fake.url, model: ctx.model });
  if (more.length) {
    config.extproc = { ...(config.extproc as object), endpoints: [ports.extproc, ...more.map((p) => p.extproc)].map((port) => ({ address: '127.0.0.1', port })) };
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env, BENCH_PROVIDER_KEY: ctx.fake.apiKey, BENCH_VIRTUAL_KEY: VIRTUAL_KEY, BENCH_ADMIN_TOKEN: 'bench-admin',
  };
  let redisPid: number | null = null;
  let plan: StagePlan | null = null;
  if (full) {
    const redis = ctx.group.add(await startRedisProcess());
    redisPid = redis.pid;
    config.store = { type: 'redis', url_env: 'BENCH_REDIS_URL' };
    env.BENCH_REDIS_URL = redis.url;
    plan = planFullStages({ projectRoot: ctx.projectRoot, dir }, config);
    Object.assign(config, plan.sections);
    for (const rejected of plan.rejected) {
      process.stdout.write(`  ${name}: the ${rejected.stage} stage stays off, its section rejects the benchmark's settings:\n    ${rejected.error.replaceAll('\n', '\n    ')}\n`);
    }
  } else {
    Object.assign(config, authOnlySections());
  }
  // Experiments only (never in published runs): config sections merged over the benchmark's, e.g. {"extproc":{...}}.
  if (process.env.BENCH_TOLLGATE_CONFIG_JSON) {
    for (const [section, value] of Object.entries(JSON.parse(process.env.BENCH_TOLLGATE_CONFIG_JSON) as Record<string, Record<string, unknown>>)) {
      config[section] = { ...(config[section] as Record<string, unknown> | undefined), ...value };
    }
  }
  validateConfig(structuredClone(config), name); // a clear error here rather than in Tollgate's log (it fills defaults into a copy)
  const configPath = join(dir, 'tollgate.yaml');
  await writeFile(configPath, stringify(config));
  const tollgate = ctx.group.add(await startTollgateServe({
    projectRoot: ctx.projectRoot, configPath, adminUrl: `http://127.0.0.1:${ports.admin}`, env, logFile: join(dir, 'tollgate.log'),
    runFrom: runFrom(), ...(nodeOptions ? { nodeOptions } : {}),
  }));
  const others = [];
  for (const [index, port] of more.entries()) {
    others.push(ctx.group.add(await startTollgateServe({
      projectRoot: ctx.projectRoot, configPath, adminUrl: `http://127.0.0.1:${port.admin}`, env, logFile: join(dir, `tollgate-${index + 2}.log`),
      serveArgs: ['--extproc-port', String(port.extproc), '--admin-port', String(port.admin)],
      runFrom: runFrom(), ...(nodeOptions ? { nodeOptions } : {}),
    })));
  }
  const tollgatePids = [tollgate.pid, ...others.map((other) => other.pid)];
  const envoy = ctx.group.add(await startEnvoyAt(ctx.projectRoot, join(envoyDir, 'envoy.yaml'), ports.envoyAdmin));
  const stages = ['auth', 'validate', 'models', 'route', ...(plan?.on ?? []), 'observe'];
  return {
    name,
    label: `${full ? 'Tollgate, every stage' : 'Tollgate, auth only'}${processes > 1 ? `, ${processes} processes` : ''}`,
    version: versions(ctx.projectRoot).tollgate,
    origin: `http://127.0.0.1:${ports.listener}`,
    headers: { ...JSON_HEADERS, authorization: `Bearer ${VIRTUAL_KEY}` },
    roots: () => [envoy.pid, ...tollgatePids, ...(redisPid === null ? [] : [redisPid])],
    processes: () => ({ tollgate: tollgatePids, envoy: [envoy.pid], ...(redisPid === null ? {} : { redis: [redisPid] }) }),
    setup: {
      auth: 'Tollgate virtual key (SHA-256 lookup in the store)',
      store: full ? 'redis' : 'memory',
      stages,
      ...(plan
        ? { optional_stages_on: plan.on, optional_stages_absent: plan.absent, optional_stages_rejected: plan.rejected, stage_settings: plan.settings }
        : { optional_stages_on: [] }),
      processes: `Envoy (--concurrency 2) + Tollgate (${processes === 1 ? 'one Node process' : `${processes} Node processes, extproc.endpoints`})${full ? ' + redis-server' : ''}`,
      logging: 'warn',
      run_from: runFrom() === 'dist' ? 'dist/src/cli/main.js (npm run build), as the container image runs it' : 'src/cli/main.ts through bin/tollgate (Node type stripping)',
    },
    verify: (headers) => {
      if (!headers['x-tollgate-provider']) return 'no x-tollgate-provider header: the answer did not come through Tollgate';
      // Every prompt is unique: a hit would mean the benchmark measures the cache's fast path, not the miss path.
      if (headers['x-tollgate-cache'] === 'hit') return 'x-tollgate-cache: hit on a unique prompt';
      return null;
    },
  };
}

export const tollgateAuthOnly: ContenderSpec = {
  name: 'tollgate-auth',
  description: 'Envoy + Tollgate ext_proc with only the stages every request needs (virtual-key auth, validate, models, route, observe), in-memory store',
  start: (ctx) => startTollgate(ctx, 'tollgate-auth', { full: false }),
};

/** Tollgate with every stage and `processes` serve processes behind the one Envoy: tollgate-full, tollgate-full-2p, … */
export function tollgateFullWith(processes: number): ContenderSpec {
  if (processes === 1) {
    return {
      name: 'tollgate-full',
      description: 'Envoy + Tollgate ext_proc with every optional stage that exists on (see its stages below), Redis as the store',
      start: (ctx) => startTollgate(ctx, 'tollgate-full', { full: true }),
    };
  }
  const name: ContenderName = `tollgate-full-${processes}p`;
  return {
    name,
    description: processes === 2
      ? 'As "every stage", with two Tollgate processes behind the one Envoy (extproc.endpoints lists both)'
      : `As "every stage", with ${processes} Tollgate processes behind the one Envoy (extproc.endpoints lists them all)`,
    start: (ctx) => startTollgate(ctx, name, { full: true, processes }),
  };
}

export const tollgateFull: ContenderSpec = tollgateFullWith(1);
export const tollgateFullTwoProcesses: ContenderSpec = tollgateFullWith(2);

/** Tollgate with every stage, writing V8 CPU profiles into profileDir when it stops (for "where the time goes"). */
export function startTollgateFullProfiled(ctx: StartContext, profileDir: string): Promise<Contender> {
  return startTollgate(ctx, 'tollgate-full', { full: true, nodeOptions: `--cpu-prof --cpu-prof-dir=${profileDir}` });
}
