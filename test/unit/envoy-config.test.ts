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
  describe('tracing', () => {
    const traced = (tracing: Record<string, unknown>) => ({ ...config, tracing: { ...config.tracing, enabled: true, ...tracing } as typeof config.tracing });
    const hcmOf = (c: typeof config) => (parse(renderEnvoyConfig(c, { dir, env: { OTLP_AUTH: 'Basic c2VjcmV0' } }).files['envoy.yaml']) as Record<string, any>)
      .static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const clustersOf = (c: typeof config) => (parse(renderEnvoyConfig(c, { dir }).files['envoy.yaml']) as Record<string, any>).static_resources.clusters;
    const routesOf = (c: typeof config) => JSON.stringify(parse(renderEnvoyConfig(c, { dir }).files['routes.yaml']));

    it('renders nothing when off: no tracer, no collector cluster, no trace id header', () => {
      expect(config.tracing.enabled).toBe(false);
      expect(hcmOf(config).tracing).toBeUndefined();
      expect(clustersOf(config).map((c: { name: string }) => c.name)).not.toContain('tollgate_otlp');
      expect(routesOf(config)).not.toContain('DYNAMIC_METADATA(tollgate.response_headers:x-tollgate-trace-id)');
    });

    it('exports Envoy\'s spans over OTLP/gRPC or OTLP/HTTP with the configured headers, one span per upstream attempt', () => {
      const grpc = hcmOf(traced({ exporter: { ...config.tracing.exporter, protocol: 'grpc', endpoint: 'http://collector:4317', headers_env: { authorization: 'OTLP_AUTH' } } })).tracing;
      expect(grpc.spawn_upstream_span).toBe(true);
      expect(grpc.provider.typed_config.grpc_service).toMatchObject({ envoy_grpc: { cluster_name: 'tollgate_otlp' }, initial_metadata: [{ key: 'authorization', value: 'Basic c2VjcmV0' }] });
      const http = traced({ exporter: { ...config.tracing.exporter, protocol: 'http', endpoint: 'https://langfuse.example/api/public/otel/v1/traces', headers: { 'x-tenant': 'a' } } });
      expect(hcmOf(http).tracing.provider.typed_config.http_service).toMatchObject({
        http_uri: { uri: 'https://langfuse.example/api/public/otel/v1/traces', cluster: 'tollgate_otlp' },
        request_headers_to_add: [{ header: { key: 'x-tenant', value: 'a' } }],
      });
      const cluster = clustersOf(http).find((c: { name: string }) => c.name === 'tollgate_otlp');
      expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'langfuse.example', port_value: 443 });
      expect(cluster.transport_socket.typed_config.sni).toBe('langfuse.example');
      expect(routesOf(http)).toContain('DYNAMIC_METADATA(tollgate.response_headers:x-tollgate-trace-id)');
    });

    it('keeps traceparent from providers when propagate_to_providers is off (every cluster\'s last header filter)', () => {
      const clusters = (c: typeof config) => parse(renderEnvoyConfig(c, { dir }).files['clusters.yaml']).resources as Array<Record<string, any>>;
      const removed = (c: typeof config) => clusters(c).map((cluster) => JSON.stringify(cluster.typed_extension_protocol_options));
      for (const text of removed(traced({ propagate_to_providers: false }))) expect(text).toContain('{"remove":"traceparent"}');
      for (const text of removed(traced({}))) expect(text).not.toContain('traceparent');
    });

    it('passes `envoy --mode validate` with tracing on', async () => {
      const tracedDir = await mkdtemp(join(tmpdir(), 'tollgate-envoy-traced-'));
      try {
        const rendered = renderEnvoyConfig(traced({ exporter: { ...config.tracing.exporter, protocol: 'http', endpoint: 'https://collector.example:4318/v1/traces' } }), { dir: tracedDir });
        for (const [name, text] of Object.entries(rendered.files)) await writeFile(join(tracedDir, name), text);
        const result = await run(envoyBinary(root), ['--mode', 'validate', '-c', join(tracedDir, 'envoy.yaml')]);
        expect(result.stdout + result.stderr).toContain('OK');
      } finally {
        await rm(tracedDir, { recursive: true, force: true });
      }
    });
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
