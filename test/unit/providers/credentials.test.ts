import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialResolver } from '../../../src/providers/credentials.ts';

describe('CredentialResolver', () => {
  let resolver: CredentialResolver | null = null;
  afterEach(() => resolver?.stop());

  it('reads the env var first, then the secret file, and picks up a rotated file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-cred-'));
    const file = join(dir, 'key');
    await writeFile(file, 'sk-from-file\n');
    const env: NodeJS.ProcessEnv = {};
    resolver = new CredentialResolver({ env });
    const provider = { type: 'openai' as const, base_url: 'https://x/v1', api_key_env: 'K', api_key_file: file };
    await resolver.preload([provider], 50);
    expect(resolver.get(provider)).toBe('sk-from-file');
    env.K = 'sk-from-env';
    expect(resolver.get(provider)).toBe('sk-from-env');
    delete env.K;
    await writeFile(file, 'sk-rotated');
    await new Promise((r) => setTimeout(r, 150));
    expect(resolver.get(provider)).toBe('sk-rotated');
    await rm(dir, { recursive: true, force: true });
  });

  it('reads process.env at most once a second per variable (each read is a copy out of C++), and sees a change after that', async () => {
    const name = `TOLLGATE_TEST_KEY_${process.pid}`;
    process.env[name] = 'sk-first';
    try {
      resolver = new CredentialResolver();
      const provider = { type: 'openai' as const, base_url: 'https://x/v1', api_key_env: name };
      expect(resolver.get(provider)).toBe('sk-first');
      process.env[name] = 'sk-second';
      expect(resolver.get(provider)).toBe('sk-first');
      await new Promise((r) => setTimeout(r, 1100));
      expect(resolver.get(provider)).toBe('sk-second');
      expect(resolver.has(provider)).toBe(true);
    } finally {
      delete process.env[name];
    }
  });

  it('knows keyless providers from providers whose credential is missing', () => {
    resolver = new CredentialResolver({ env: {} });
    const keyless = { type: 'openai' as const, base_url: 'http://vllm:8000/v1' };
    const missing = { type: 'openai' as const, base_url: 'https://x/v1', api_key_env: 'NOPE' };
    expect(CredentialResolver.needsCredential(keyless)).toBe(false);
    expect(CredentialResolver.needsCredential(missing)).toBe(true);
    expect(resolver.get(missing)).toBeNull();
  });

  it('uses several keys of one source in turn (rate limits spread over projects)', () => {
    resolver = new CredentialResolver({ env: { K: 'sk-one, sk-two\nsk-three' } });
    const provider = { type: 'openai' as const, base_url: 'https://x/v1', api_key_env: 'K' };
    const used = Array.from({ length: 6 }, () => resolver?.get(provider));
    expect(used).toEqual(['sk-one', 'sk-two', 'sk-three', 'sk-one', 'sk-two', 'sk-three']);
  });

  it('tells whether a credential is there without taking a turn of the rotation', () => {
    resolver = new CredentialResolver({ env: { K: 'sk-one,sk-two', EMPTY: ' , ' } });
    const provider = { type: 'openai' as const, base_url: 'https://x/v1', api_key_env: 'K' };
    expect(resolver.has(provider)).toBe(true);
    expect(resolver.has({ ...provider, api_key_env: 'EMPTY' })).toBe(false);
    expect(resolver.has({ ...provider, api_key_env: 'NOPE' })).toBe(false);
    expect([resolver.get(provider), resolver.has(provider), resolver.get(provider)]).toEqual(['sk-one', true, 'sk-two']);
  });
});
