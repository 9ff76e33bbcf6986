import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '../helpers/free-port.ts';

/** `npm start`'s command as a user runs it: demo provider, demo key, and no Envoy left behind when it stops. */
const root = resolve(import.meta.dirname, '../..');
const DEMO_KEY = 'tg-demo-start-command-test';
const ADMIN_TOKEN = 'start-command-admin-token';

/** Every gateway a test started, killed after each test even when an assertion failed half-way. */
const launched: ChildProcess[] = [];

async function launch(dir: string): Promise<{ child: ChildProcess; baseUrl: string; adminUrl: string; envoyPids: () => number[]; output: () => string }> {
  const config = parse(await readFile(join(root, 'config/tollgate.yaml'), 'utf8')) as Record<string, any>;
  const listener = await freePort();
  config.listener = { address: '127.0.0.1', port: listener };
  config.envoy.admin.port = await freePort();
  config.extproc.port = await freePort();
  config.admin.port = await freePort();
  config.logging.level = 'warn';
  const configPath = join(dir, 'tollgate.yaml');
  await writeFile(configPath, stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, TOLLGATE_CONFIG: configPath, TOLLGATE_DEMO_KEY: DEMO_KEY, TOLLGATE_RUN_DIR: dir, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN };
  delete env.OPENAI_API_KEY;
  const child = spawn(join(root, 'bin/tollgate'), ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  launched.push(child);
  let output = '';
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`gateway did not start:\n${output}`)), 30_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`gateway exited (${code}):\n${output}`)));
  });
  expect(output).toContain(DEMO_KEY);
  const envoyPids = () => {
    try {
      return execFileSync('pgrep', ['-f', join(dir, 'envoy/envoy.yaml')]).toString().trim().split('\n').map(Number)
        .filter((pid) => pid && pid !== child.pid);
    } catch {
      return [];
    }
  };
  return { child, baseUrl: `http://127.0.0.1:${listener}/v1`, adminUrl: `http://127.0.0.1:${config.admin.port}`, envoyPids, output: () => output };
}

async function waitFor(check: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !check()) await new Promise((r) => setTimeout(r, 100));
  return check();
}

describe('tollgate start (npm start)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-start-'));
  });
  afterEach(() => {
    for (const child of launched.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('serves the demo provider with the demo key and stops Envoy on Ctrl-C', async () => {
    const { child, baseUrl, envoyPids } = await launch(dir);
    const client = new OpenAI({ apiKey: DEMO_KEY, baseURL: baseUrl, maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });
    expect(reply.choices[0]?.message.content).toBe('Echo: Hello');
    // Each provider API has its demo stand-in, so translation and the fallback chain work out of the box.
    for (const model of ['claude-sonnet', 'gemini-flash', 'smart']) {
      const translated = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello' }] });
      expect(translated.choices[0]?.message.content).toBe('Echo: Hello');
    }
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi there' }], stream: true })) {
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBe('Echo: Hi there');
    expect(envoyPids().length).toBeGreaterThan(0);

    // The keys CLI talks to this gateway's admin API; the key it prints works at once.
    const cliEnv = { ...process.env, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_CONFIG: join(dir, 'tollgate.yaml') };
    const key = execFileSync(join(root, 'bin/tollgate'), ['keys', 'create', '--team', 'research', '--app', 'notebook'], { env: cliEnv }).toString().trim();
    expect(key).toMatch(/^tg-/);
    const models = [];
    for await (const model of new OpenAI({ apiKey: key, baseURL: baseUrl }).models.list()) models.push(model.id);
    expect(models.sort()).toEqual(['gpt-4o-mini', 'text-embedding-3-small']);
    const listing = execFileSync(join(root, 'bin/tollgate'), ['keys', 'list', '--team', 'research'], { env: cliEnv }).toString();
    expect(listing).toContain('"team": "research"');
    expect(listing).not.toContain(key);

    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await waitFor(() => envoyPids().length === 0, 5000)).toBe(true);
  });

  it('shows the product on a first run: every command of the printed tour does what the tour says', async () => {
    const { output } = await launch(dir);
    const printed = output();
    // The commands exactly as printed, run by a shell as a user would paste them.
    const commands = printed.split('\n').filter((line) => /^ {5}(curl|for i in)/.test(line)).map((line) => line.trim());
    expect(commands).toHaveLength(4);
    const run = (command: string) => execFileSync('bash', ['-c', command], { timeout: 15_000 }).toString();
    const served = run(commands[0] as string);
    expect(JSON.parse(served).choices[0].message.content).toBe('Echo: Hello, Tollgate!');
    // The demo provider echoes what it received: the card number never reached it.
    const redacted = JSON.parse(run(commands[1] as string)).choices[0].message.content as string;
    expect(redacted).toContain('[REDACTED_CREDIT_CARD]');
    expect(redacted).not.toMatch(/4539/);
    const denied = JSON.parse(run(commands[2] as string));
    expect(denied.error.message).toMatch(/may not send personal data \(credit_card\) to anthropic/);
    const limited = run(commands[3] as string);
    expect([...limited.matchAll(/→ (\d{3})/g)].map((m) => m[1])).toEqual(['200', '200', '429']);
    expect(printed).toMatch(/Usage so far: curl/);
    // The tour ends at the usage dashboard, which answers with its sign-in page.
    const dashboard = /open the usage dashboard: (http:\S+)/.exec(printed)?.[1];
    expect(dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard$/);
    const page = await fetch(dashboard as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Admin token');
  });

  it('leaves no orphan Envoy even when the gateway process is killed outright', async () => {
    const { child, envoyPids } = await launch(dir);
    expect(envoyPids().length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    expect(await waitFor(() => envoyPids().length === 0, 5000)).toBe(true);
  });
});
