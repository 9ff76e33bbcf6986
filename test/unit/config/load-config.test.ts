import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../../src/config/load-config.ts';
import { Catalog } from '../../../src/config/catalog.ts';

const base = `
providers: { openai: { type: openai, base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY } }
models: { gpt-4o-mini: { provider: openai }, gpt-4o: { provider: openai } }
orgs: { acme: { teams: { hr: { models: [gpt-4o-mini], apps: { bot: { models: [gpt-4o-mini] }, portal: } } } } }
`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('config loader', () => {
  it('fills defaults: fail closed, loopback admin, memory store', () => {
    const config = parseConfigText(base, 'test.yaml');
    expect(config.envoy.failure_mode_allow).toBe(false);
    expect(config.envoy.admin.address).toBe('127.0.0.1');
    expect(config.admin.address).toBe('127.0.0.1');
    expect(config.store).toEqual({ type: 'memory' });
    expect(config.models['gpt-4o']?.kind).toBe('chat');
    expect(config.orgs.acme?.teams.hr?.apps.portal).toEqual({});
  });

  it('names the path of each bad field', () => {
    expect(problems(`${base}\nlistner: {}`)).toContain('(root): unknown field "listner"');
    expect(problems(base.replace('provider: openai }, gpt-4o:', 'provider: azure }, gpt-4o:'))).toContain('models.gpt-4o-mini.provider: unknown provider "azure"');
    expect(problems(base.replace('models: [gpt-4o-mini], apps', 'models: [gpt-5], apps'))).toContain('orgs.acme.teams.hr.models: unknown model "gpt-5"');
    expect(problems(`${base}\nkeys: [{ sha256: ${'a'.repeat(64)}, org: acme, team: hr, app: nope }]`)).toContain('keys.0: unknown tenant acme/hr/nope');
    expect(problems(base.replace('https://api.openai.com/v1', 'ftp://x'))[0]).toMatch(/^providers\.openai\.base_url: /);
    expect(problems('providers: [')).toEqual([expect.stringContaining('not valid YAML')]);
  });

  it('applies team and app scopes together', () => {
    const catalog = new Catalog(parseConfigText(base, 'test.yaml'));
    expect(catalog.access({ org: 'acme', team: 'hr', app: 'bot' }, 'gpt-4o')).toMatchObject({ allowed: false, reason: 'scope' });
    expect(catalog.access({ org: 'acme', team: 'hr', app: 'bot' }, 'nope')).toMatchObject({ allowed: false, reason: 'unknown' });
    expect(catalog.modelsFor({ org: 'acme', team: 'hr', app: 'portal' })).toEqual(['gpt-4o-mini']);
    expect(catalog.access({ org: 'acme', team: 'hr', app: 'portal' }, 'toString')).toMatchObject({ allowed: false, reason: 'unknown' });
  });
});

describe('config/tollgate.schema.json', () => {
  it('is the committed copy of the schema the loader enforces (for editors)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { configSchema } = await import('../../../src/config/schema.ts');
    const committed = JSON.parse(await readFile(new URL('../../../config/tollgate.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(committed, 'stale: run bin/tollgate config-schema > config/tollgate.schema.json').toEqual(JSON.parse(JSON.stringify(configSchema)));
  });
});
