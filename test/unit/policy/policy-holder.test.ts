import { copyFile, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PolicyBundleError } from '../../../src/policy/bundle.ts';
import { PolicyHolder } from '../../../src/policy/policy-holder.ts';
import { buildPolicyBundle } from '../../helpers/policy-bundle.ts';

const logger = pino({ level: 'silent' });

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('policy holder (hot reload)', () => {
  let first: string;
  let second: string;
  let holder: PolicyHolder | null = null;
  beforeAll(async () => {
    first = await buildPolicyBundle();
    second = await buildPolicyBundle({ data: { tenants: { orgs: {} } } });
  });
  afterEach(() => holder?.stop());

  async function start(watch: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-holder-'));
    const path = join(dir, 'bundle.tar.gz');
    await copyFile(first, path);
    holder = await PolicyHolder.start({ path, entrypoint: 'tollgate/decision', watch, logger });
    return { path, dir, holder };
  }

  it('refuses to start without a usable bundle', async () => {
    await expect(PolicyHolder.start({ path: '/nonexistent/bundle.tar.gz', entrypoint: 'tollgate/decision', watch: false, logger }))
      .rejects.toThrow(/cannot read policy bundle .*npm run policy:build/);
  });

  it('swaps in a new bundle on reload, and reports no change for the same one', async () => {
    const { path, holder } = await start(false);
    const before = holder.current();
    expect(await holder.reload()).toEqual({ changed: false, revision: before.revision, previous_revision: before.revision });
    await copyFile(second, path);
    const result = await holder.reload();
    expect(result.changed).toBe(true);
    expect(result.previous_revision).toBe(before.revision);
    expect(holder.current().revision).toBe(result.revision);
    // A request holding the old bundle still evaluates on it.
    expect(before.evaluate(new TextEncoder().encode('{}'))).toBeDefined();
  });

  it('keeps the running bundle when the new one is invalid, and says why', async () => {
    const { path, holder } = await start(false);
    const running = holder.current().revision;
    await writeFile(path, 'garbage');
    const error = await holder.reload().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyBundleError);
    expect((error as Error).message).toContain(`invalid policy bundle ${path}: not a policy bundle`);
    expect(holder.current().revision).toBe(running);
    expect(holder.status()).toMatchObject({ status: 'stale', revision: running, last_error: { message: (error as Error).message } });
    await copyFile(first, path);
    await holder.reload();
    expect(holder.status()).toMatchObject({ status: 'loaded', last_error: null });
  });

  it('picks up a bundle replaced on disk (atomic rename, as policy-build writes it)', async () => {
    const { path, dir, holder } = await start(true);
    const running = holder.current().revision;
    await copyFile(second, join(dir, 'next.tmp'));
    await rename(join(dir, 'next.tmp'), path);
    await until(() => holder.current().revision !== running);
    expect(holder.status()).toMatchObject({ reloads: 1 });
  });
});
