import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateConfig } from '../../src/config/load-config.ts';
import { envoyBinary } from '../../src/envoy/envoy-process.ts';
import { renderEnvoyConfig } from '../../src/envoy/render-envoy-config.ts';
import { writeEnvoyConfig } from '../../src/envoy/write-envoy-config.ts';

/**
 * The CI check of deploy/helm/tollgate: `helm lint`, `helm template` with several value sets, and kubeconform's
 * schema validation of every rendered manifest against the Kubernetes JSON schemas (strict: unknown fields fail).
 * helm and kubeconform are built by scripts/setup (go install, pinned); the schemas come from the pinned PyPI package
 * kubernetes-validate in .venv/. Nothing is skipped: without the tools this test fails and says how to get them.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const chart = join(root, 'deploy/helm/tollgate');
const helm = join(root, '.tools/bin/helm');
const kubeconform = join(root, '.tools/bin/kubeconform');
const KUBERNETES_VERSION = '1.33.0';

function schemaDir(): string {
  const lib = join(root, '.venv/lib');
  const python = existsSync(lib) ? readdirSync(lib).find((name) => name.startsWith('python3')) : undefined;
  const dir = python && join(lib, python, 'site-packages/kubernetes_validate/kubernetes-json-schema', `v${KUBERNETES_VERSION}-local-strict`);
  if (!dir || !existsSync(dir)) throw new Error('Kubernetes JSON schemas missing: run scripts/setup (pip package kubernetes-validate)');
  return dir;
}

/** kubeconform's file name for a kind (its registry's rule): `deployment-apps-v1`, `service-v1`. */
function schemaName(kind: string, apiVersion: string): string {
  const [groupOrVersion, version] = apiVersion.split('/');
  const group = version === undefined ? '' : `-${(groupOrVersion ?? '').split('.')[0]?.toLowerCase()}`;
  return `${kind.toLowerCase()}${group}-${(version ?? groupOrVersion ?? '').toLowerCase()}`;
}

interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string };
  spec?: Record<string, any>;
  data?: Record<string, string>;
}

describe('Helm chart deploy/helm/tollgate', () => {
  let work: string;
  let schemas: string;

  beforeAll(async () => {
    for (const tool of [helm, kubeconform]) {
      if (!existsSync(tool)) throw new Error(`${tool} missing: run scripts/setup (go install, pinned in scripts/versions.env)`);
    }
    work = await mkdtemp(join(tmpdir(), 'tollgate-helm-'));
    schemas = join(work, 'schemas');
    await run('mkdir', ['-p', schemas]);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /**
   * The package ships "local" schemas whose $refs point into a shared _definitions.json by absolute path; kubeconform
   * reads standalone files. Each kind the chart renders gets its schema with the definitions inlined.
   */
  async function ensureSchemas(manifests: Manifest[]): Promise<void> {
    const source = schemaDir();
    const definitions = JSON.parse((await readFile(join(source, '_definitions.json'), 'utf8')).replaceAll('/api/_definitions.json#/$defs/', '#/$defs/'));
    for (const m of manifests) {
      const name = schemaName(m.kind, m.apiVersion);
      const target = join(schemas, `${name}.json`);
      if (existsSync(target)) continue;
      const schema = JSON.parse((await readFile(join(source, `${name}.json`), 'utf8')).replaceAll('/api/_definitions.json#/$defs/', '#/$defs/'));
      await writeFile(target, JSON.stringify({ $schema: definitions.$schema, ...schema, $defs: definitions.$defs }));
    }
  }

  async function template(args: string[] = []): Promise<{ text: string; manifests: Manifest[] }> {
    const { stdout } = await run(helm, ['template', 'gw', chart, '--namespace', 'ai', '--kube-version', KUBERNETES_VERSION, ...args], { maxBuffer: 16 << 20 });
    const manifests = parseAllDocuments(stdout).map((d) => d.toJS() as Manifest).filter(Boolean);
    return { text: stdout, manifests };
  }

  async function conform(text: string, manifests: Manifest[]): Promise<{ ok: boolean; output: string }> {
    await ensureSchemas(manifests);
    const file = join(work, `manifests-${Date.now()}.yaml`);
    await writeFile(file, text);
    try {
      const { stdout } = await run(kubeconform, [
        '-strict', '-summary', '-kubernetes-version', KUBERNETES_VERSION,
        '-schema-location', join(schemas, '{{.ResourceKind}}{{.KindSuffix}}.json'), file,
      ]);
      return { ok: true, output: stdout };
    } catch (error) {
      return { ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
    }
  }

  const find = (manifests: Manifest[], kind: string) => {
    const found = manifests.find((m) => m.kind === kind);
    if (!found) throw new Error(`no ${kind} rendered`);
    return found;
  };

  it('runs Envoy in the version of the pinned wheel', async () => {
    const versions = await readFile(join(root, 'scripts/versions.env'), 'utf8');
    const envoyVersion = /^ENVOY_VERSION=(.+)$/m.exec(versions)?.[1];
    const values = await readFile(join(chart, 'values.yaml'), 'utf8');
    expect(values).toContain(`envoy: { repository: envoyproxy/envoy, tag: "v${envoyVersion}"`);
  });

  it('passes helm lint --strict', async () => {
    const { stdout } = await run(helm, ['lint', '--strict', chart, '--kube-version', KUBERNETES_VERSION]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('renders valid Kubernetes objects with the default values: the pair, probes, resources, HPA, PDB', async () => {
    const { text, manifests } = await template();
    const result = await conform(text, manifests);
    expect(result.output).toContain('Invalid: 0, Errors: 0');
    expect(result.ok).toBe(true);
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service'],
    );
    const pod = find(manifests, 'Deployment').spec?.template.spec;
    const [tollgate, envoy] = ['tollgate', 'envoy'].map((name) => pod.containers.find((c: { name: string }) => c.name === name));
    expect(tollgate.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(envoy.readinessProbe.httpGet).toEqual({ path: '/envoy-ready', port: 'api', scheme: 'HTTP' });
    expect(tollgate.resources.requests).toEqual({ cpu: '1000m', memory: '320Mi' });
    expect(envoy.resources.requests).toEqual({ cpu: '500m', memory: '128Mi' });
    // Secrets come from Kubernetes Secrets, never from values.
    const env = Object.fromEntries(tollgate.env.map((e: { name: string; valueFrom: { secretKeyRef: { key: string } } }) => [e.name, e.valueFrom.secretKeyRef.key]));
    expect(env).toEqual({ TOLLGATE_ADMIN_TOKEN: 'admin-token', TOLLGATE_REDIS_URL: 'redis-url', TOLLGATE_POSTGRES_URL: 'postgres-url', OPENAI_API_KEY: 'openai-api-key' });
    expect(find(manifests, 'HorizontalPodAutoscaler').spec?.metrics[0].containerResource.container).toBe('tollgate');
    expect(find(manifests, 'PodDisruptionBudget').spec?.maxUnavailable).toBe(1);
  });

  it('renders a Tollgate config that Tollgate accepts and renders for Envoy (Redis, PostgreSQL, readiness path)', async () => {
    const { manifests } = await template();
    const config = validateConfig(parseAllDocuments(find(manifests, 'ConfigMap').data?.['tollgate.yaml'] ?? '')[0]?.toJS());
    expect(config.store).toEqual({ type: 'redis', url_env: 'TOLLGATE_REDIS_URL' });
    expect(config.ledger.sink).toEqual({ type: 'postgres', url_env: 'TOLLGATE_POSTGRES_URL' });
    expect(config.envoy.admin.address).toBe('127.0.0.1');
    const envoy = renderEnvoyConfig(config, { dir: '/etc/tollgate/envoy' }).files['envoy.yaml'];
    expect(envoy).toContain('envoy.filters.http.health_check');
  });

  it('renders TLS with mTLS from Secrets (and no HPA when autoscaling is off), still valid', async () => {
    const { text, manifests } = await template([
      '--set', 'tls.enabled=true', '--set', 'tls.clientCaSecretName=client-ca', '--set', 'tls.requireClientCert=true',
      '--set', 'autoscaling.enabled=false', '--set', 'secrets.postgresUrlKey=',
    ]);
    const result = await conform(text, manifests);
    expect(result.output).toContain('Invalid: 0, Errors: 0');
    expect(manifests.some((m) => m.kind === 'HorizontalPodAutoscaler')).toBe(false);
    const config = validateConfig(parseAllDocuments(find(manifests, 'ConfigMap').data?.['tollgate.yaml'] ?? '')[0]?.toJS());
    expect(config.listener.tls).toMatchObject({ cert_file: '/etc/tollgate/tls/tls.crt', client_ca_file: '/etc/tollgate/client-ca/ca.crt', require_client_cert: true });
    expect(config.ledger.sink).toEqual({ type: 'none' });
    const pod = find(manifests, 'Deployment').spec?.template.spec;
    expect(pod.volumes.find((v: { name: string }) => v.name === 'tls').secret.secretName).toBe('tollgate-tls');
    // A probe cannot present a client certificate.
    expect(pod.containers.find((c: { name: string }) => c.name === 'envoy').readinessProbe.tcpSocket).toEqual({ port: 'api' });
  });

  it('renders an Envoy bootstrap that `envoy --mode validate` accepts, with TLS, mTLS and a JWT provider', async () => {
    const { manifests } = await template([
      '--set', 'tls.enabled=true', '--set', 'tls.clientCaSecretName=client-ca',
      '--set', 'config.auth.jwt.providers.okta.issuer=https://okta.example',
      '--set', 'config.auth.jwt.providers.okta.jwks_uri=https://okta.example/oauth2/v1/keys',
      '--set', 'config.auth.jwt.providers.okta.claims.org=org', '--set', 'config.auth.jwt.providers.okta.claims.team=team',
      '--set', 'config.auth.jwt.providers.okta.claims.app=app',
    ]);
    const config = validateConfig(parseAllDocuments(find(manifests, 'ConfigMap').data?.['tollgate.yaml'] ?? '')[0]?.toJS());
    const dir = join(work, 'envoy');
    await writeEnvoyConfig(dir, renderEnvoyConfig(config, { dir }));
    const { stdout } = await run(envoyBinary(root), ['--mode', 'validate', '-c', join(dir, 'envoy.yaml'), '--log-level', 'error']);
    expect(stdout).toContain('OK');
    const bootstrap = await readFile(join(dir, 'envoy.yaml'), 'utf8');
    for (const filter of ['envoy.filters.http.jwt_authn', 'envoy.filters.http.health_check', 'DownstreamTlsContext']) {
      expect(bootstrap).toContain(filter);
    }
  });

  it('kubeconform really rejects a wrong manifest (the check is not a no-op)', async () => {
    const { text, manifests } = await template();
    const broken = text.replace('maxUnavailable: 1\n  selector:', 'maxUnavailable: 1\n  unknownField: true\n  selector:');
    expect(broken).not.toBe(text);
    const result = await conform(broken, manifests);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/PodDisruptionBudget.*(unknownField|additional)/s);
  });
});
