import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../helpers/free-port.ts';

/**
 * The container image runs compiled JavaScript (Dockerfile: `npm run build`, entrypoint src/cli/main.js). No Docker
 * engine runs here, so this builds the same way into a scratch folder laid out like the image and starts it.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe('compiled build (what the image runs)', () => {
  const out = join(root, '.run', `build-test-${process.pid}`);
  beforeAll(async () => {
    await rm(out, { recursive: true, force: true });
    await run(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root });
    await cp(join(root, 'config'), join(out, 'config'), { recursive: true });
  }, 120_000);
  afterAll(async () => rm(out, { recursive: true, force: true }));

  it('validates the container config and serves /healthz from src/cli/main.js', async () => {
    const main = join(out, 'src/cli/main.js');
    const node = join(root, 'node_modules/.bin/node');
    const checked = await run(node, [main, 'check-config', '--config', join(out, 'config/docker.yaml')]);
    expect(checked.stdout).toContain('config OK');

    const dir = join(out, 'serve');
    await mkdir(dir, { recursive: true });
    const [admin, extproc] = [await freePort(), await freePort()];
    const configPath = join(dir, 'tollgate.yaml');
    await writeFile(configPath, stringify({
      envoy: { config_dir: join(dir, 'envoy') },
      extproc: { address: '127.0.0.1', port: extproc },
      admin: { address: '127.0.0.1', port: admin },
      logging: { level: 'warn' },
      providers: { openai: { type: 'openai', base_url: 'https://api.openai.com/v1', api_key_env: 'OPENAI_API_KEY' } },
      models: { 'gpt-4o-mini': { provider: 'openai' } },
      orgs: { acme: { teams: { platform: { apps: { playground: {} } } } } },
    }));
    const child = spawn(node, [main, 'serve', '--config', configPath], { stdio: 'ignore' });
    try {
      let health: { status?: string } = {};
      for (let i = 0; i < 100 && health.status !== 'ok'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        health = await fetch(`http://127.0.0.1:${admin}/healthz`).then((r) => r.json() as Promise<{ status?: string }>, () => ({}));
      }
      expect(health.status).toBe('ok');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
