import { ANSWERING_MODEL_ATTRIBUTE, ANSWERING_PROVIDER_ATTRIBUTE } from '../../src/extproc/attributes.ts';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load-config.ts';
import { envoyBinary } from '../../src/envoy/envoy-process.ts';
import { renderLocalReplyConfig } from '../../src/envoy/local-replies.ts';
import { renderEnvoyConfig } from '../../src/envoy/render-envoy-config.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const config = loadConfigFile(join(root, 'config/tollgate.yaml'));

describe('rendered Envoy config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-envoy-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('is committed up to date: envoy/ equals what `tollgate envoy-config` renders', async () => {
    const rendered = renderEnvoyConfig(config, { dir: config.envoy.config_dir });
    for (const [name, text] of Object.entries(rendered.files)) {
      expect(await readFile(join(root, 'envoy', name), 'utf8'), `envoy/${name} is stale: run bin/tollgate envoy-config`).toBe(text);
    }
  });

  it('passes `envoy --mode validate`, bootstrap and dynamic resources alike', async () => {
    const rendered = renderEnvoyConfig(config, { dir });
    for (const [name, text] of Object.entries(rendered.files)) await writeFile(join(dir, name), text);
    const bootstrap = await run(envoyBinary(root), ['--mode', 'validate', '-c', join(dir, 'envoy.yaml')]);
    expect(bootstrap.stdout + bootstrap.stderr).toContain('OK');

    // Validate mode does not read the watched files, so inline them into a static twin and validate that too.
    const twin = parse(rendered.files['envoy.yaml']) as Record<string, any>;
    const routes = (parse(rendered.files['routes.yaml']) as { resources: Array<Record<string, unknown>> }).resources[0] ?? {};
    const clusters = (parse(rendered.files['clusters.yaml']) as { resources: Array<Record<string, unknown>> }).resources;
    const hcm = twin.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    delete hcm.rds;
    const { '@type': _routeType, ...routeConfig } = routes;
    hcm.route_config = routeConfig;
    twin.static_resources.clusters.push(...clusters.map(({ '@type': _type, ...cluster }) => cluster));
    delete twin.dynamic_resources;
    await writeFile(join(dir, 'static.yaml'), stringify(twin));
    const inlined = await run(envoyBinary(root), ['--mode', 'validate', '-c', join(dir, 'static.yaml')]);
    expect(inlined.stdout + inlined.stderr).toContain('OK');
  });

  it('keeps the admin interface on loopback, fails closed, holds request headers and streams responses', () => {
    const bootstrap = parse(renderEnvoyConfig(config, { dir }).files['envoy.yaml']) as Record<string, any>;
    expect(bootstrap.admin.address.socket_address.address).toBe('127.0.0.1');
    const filters = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters;
    const extproc = filters.find((f: { name: string }) => f.name === 'envoy.filters.http.ext_proc').typed_config;
    expect(extproc.failure_mode_allow).toBe(false);
    // Eager request bodies: Envoy streams the (already buffered) body right behind the headers.
    expect(extproc.processing_mode).toMatchObject({
      request_header_mode: 'SEND', request_body_mode: 'STREAMED', response_header_mode: 'SKIP', response_body_mode: 'STREAMED',
    });
    expect(extproc.send_body_without_waiting_for_header_response).toBe(true);
    expect(extproc.response_attributes).toEqual(['response.code', ANSWERING_PROVIDER_ATTRIBUTE, ANSWERING_MODEL_ATTRIBUTE, 'upstream.request_attempt_count']);
    expect(extproc.message_timeout).toBe('2.000s');
  });

  it('keeps the classic exchange (buffered body after the headers\' reply) when turned off or when a cache rule needs a mode override', () => {
    const extprocOf = (c: typeof config) => {
      const bootstrap = parse(renderEnvoyConfig(c, { dir }).files['envoy.yaml']) as Record<string, any>;
      const filters = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters;
      return filters.find((f: { name: string }) => f.name === 'envoy.filters.http.ext_proc').typed_config;
    };
    const off = extprocOf({ ...config, extproc: { ...config.extproc, eager_request_body: false } });
    expect(off.processing_mode.request_body_mode).toBe('BUFFERED');
    expect(off.send_body_without_waiting_for_header_response).toBeUndefined();
    const stale = extprocOf({ ...config, cache: { ...config.cache, defaults: { ...config.cache.defaults, stale_on_error: true } } });
    expect(stale.processing_mode.request_body_mode).toBe('BUFFERED');
    expect(stale.allow_mode_override).toBe(true);
  });
});

describe('local replies', () => {
  type Mapper = { filter: { extension_filter: { typed_config: { expression: string } } }; body_format_override?: { json_format: Record<string, unknown> } };
  const expr = (m: Mapper) => m.filter.extension_filter.typed_config.expression;

  it('a per-path 413 gets its own message, in Anthropic shape on /v1/messages and OpenAI shape elsewhere, before the default', () => {
    const mappers = renderLocalReplyConfig(1000, { '/v1/messages': 500, '/v1/embeddings': 2000 }).mappers as Mapper[];
    const messages413 = mappers.findIndex((m) => expr(m).includes("request.url_path.startsWith('/v1/messages')") && expr(m).includes("request.path.startsWith('/v1/messages')"));
    const openai413 = mappers.findIndex((m) => expr(m).includes("request.url_path.startsWith('/v1/messages')") && !expr(m).includes("request.path.startsWith('/v1/messages')"));
    const default413 = mappers.findIndex((m) => expr(m).endsWith('(response.code == 413)'));
    expect(mappers[messages413]?.body_format_override?.json_format).toEqual({
      type: 'error', error: { type: 'request_too_large', message: 'Request body is larger than the gateway limit of 500 bytes for /v1/messages.' },
    });
    expect(mappers[openai413]?.body_format_override?.json_format).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });
    expect(messages413).toBeGreaterThan(0);
    expect(messages413).toBeLessThan(openai413);
    expect(openai413).toBeLessThan(default413);
  });
});
