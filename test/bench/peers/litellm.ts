import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../helpers/free-port.ts';
import { stoppingTree } from '../lib/process-tree.ts';
import { startWatched } from '../lib/processes.ts';
import { JSON_HEADERS, type Contender, type ContenderName, type ContenderSpec, type StartContext } from './contender.ts';

/**
 * LiteLLM proxy (pinned in peers/versions.env, installed by peers/setup) with a minimal config: the benchmark model
 * as `openai/<model>` at the fake's base URL. Two set-ups:
 * - auth off: no master key, any caller is served (LiteLLM refuses to start like that unless told
 *   `dangerously_permit_weak_or_unset_master_key`);
 * - auth on: `general_settings.master_key`, checked on every request. LiteLLM's virtual keys need its PostgreSQL
 *   schema, created by Prisma, whose query-engine binaries are downloaded at run time from a host this machine cannot
 *   reach; so the master key is the "auth on" case here.
 * Workers: 2 uvicorn workers (BENCH_LITELLM_WORKERS), one per core, as Envoy runs 2 worker threads; one Python worker
 * could use only one of the two cores. Logging at WARNING (no access log line per request), like Tollgate at warn.
 */

/** LiteLLM refuses to start with a weak master key: a strong random one per run. */
const MASTER_KEY = `sk-${randomBytes(32).toString('hex')}`;
const WORKERS = Math.max(1, Number(process.env.BENCH_LITELLM_WORKERS ?? 2));
const STARTUP_TIMEOUT_MS = 180_000;

function litellmVersion(peersDir: string): string {
  const versionsFile = join(import.meta.dirname, 'versions.env');
  const pinned = /^LITELLM_VERSION=(\S+)/m.exec(readFileSync(versionsFile, 'utf8'))?.[1];
  const sitePackages = join(peersDir, 'litellm-venv/lib');
  return existsSync(sitePackages) && pinned ? pinned : 'not installed';
}

async function startLitellm(ctx: StartContext, name: ContenderName, auth: boolean): Promise<Contender> {
  const binary = join(ctx.peersDir, 'litellm-venv/bin/litellm');
  if (!existsSync(binary)) throw new Error(`LiteLLM is not installed (${binary}); run test/bench/peers/setup`);
  const port = await freePort();
  const configPath = join(ctx.dir, `${name}.yaml`);
  await writeFile(configPath, stringify({
    model_list: [{ model_name: ctx.model, litellm_params: { model: `openai/${ctx.model}`, api_base: ctx.fake.url, api_key: ctx.fake.apiKey } }],
    general_settings: auth ? { master_key: MASTER_KEY } : { dangerously_permit_weak_or_unset_master_key: true },
  }));
  let startedWorkers = 0;
  const lines: string[] = [];
  const started = stoppingTree(await startWatched({
    command: binary,
    args: ['--config', configPath, '--host', '127.0.0.1', '--port', String(port), '--num_workers', String(WORKERS)],
    cwd: ctx.dir,
    env: {
      ...process.env,
      // The cost map ships inside the package; without this LiteLLM fetches a newer one from the internet first.
      LITELLM_LOCAL_MODEL_COST_MAP: 'True',
      LITELLM_LOG: 'WARNING',
      NO_DOCS: 'True',
    },
    onLine: (line) => {
      if (lines.length < 400) lines.push(line);
      // Printed by each worker once its config is loaded (uvicorn's own "startup complete" is INFO, silenced here).
      if (line.includes('Proxy initialized with Config')) startedWorkers += 1;
    },
  }));
  ctx.group.add(started);
  let exited = false;
  void started.exited.then(() => { exited = true; });
  // Its output opens with ASCII art: show the lines that say what went wrong.
  const why = () => (lines.filter((line) => /error|refused|exception|failed/i.test(line)).slice(-12).join('\n') || lines.slice(-20).join('\n'));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (startedWorkers < WORKERS) {
    if (exited) throw new Error(`LiteLLM exited while starting:\n${why()}`);
    if (Date.now() > deadline) throw new Error(`LiteLLM did not start ${WORKERS} workers in ${STARTUP_TIMEOUT_MS / 1000} s:\n${why()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const liveness = `http://127.0.0.1:${port}/health/liveliness`;
  while (!(await fetch(liveness).then((r) => r.ok, () => false))) {
    if (exited || Date.now() > deadline) throw new Error(`LiteLLM does not answer ${liveness}:\n${why()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name,
    label: auth ? 'LiteLLM, master key' : 'LiteLLM, no auth',
    version: litellmVersion(ctx.peersDir),
    origin: `http://127.0.0.1:${port}`,
    headers: { ...JSON_HEADERS, authorization: `Bearer ${auth ? MASTER_KEY : 'sk-anything'}` },
    roots: () => [started.pid],
    processes: () => ({ litellm: [started.pid] }), // the parent and its uvicorn workers
    setup: {
      auth: auth ? 'master_key (general_settings), checked per request; virtual keys need Prisma engines (not downloadable here)' : 'none',
      workers: WORKERS,
      server: 'uvicorn (LiteLLM default), uvloop',
      logging: 'LITELLM_LOG=WARNING (no access log)',
      processes: `litellm parent + ${WORKERS} uvicorn workers (+ multiprocessing resource tracker)`,
    },
    verify: (headers) => (headers['x-litellm-version'] ? null : 'no x-litellm-version header: the answer did not come through LiteLLM'),
  };
}

export const litellmNoAuth: ContenderSpec = {
  name: 'litellm',
  description: 'LiteLLM proxy, minimal config (openai/<model> at the fake), no master key',
  start: (ctx) => startLitellm(ctx, 'litellm', false),
};

export const litellmMasterKey: ContenderSpec = {
  name: 'litellm-auth',
  description: 'LiteLLM proxy, same config plus a master key checked on every request (its virtual keys need a Prisma-managed database, see notes)',
  start: (ctx) => startLitellm(ctx, 'litellm-auth', true),
};
