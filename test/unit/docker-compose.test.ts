import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/config/load-config.ts';

/** No Docker engine runs here, so the compose file and Dockerfile are checked for structure and consistency. */
const root = resolve(import.meta.dirname, '../..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; ports?: string[]; volumes?: string[]; network_mode?: string; depends_on?: Record<string, unknown>; environment?: Record<string, string>; profiles?: string[] }>;
  volumes?: Record<string, unknown>;
};
const versions = Object.fromEntries(readFileSync(join(root, 'scripts/versions.env'), 'utf8').split('\n')
  .filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=') as [string, string]));

describe('docker-compose.yml and Dockerfile', () => {
  it('has Envoy, Tollgate and Redis, with Envoy in the pinned version of the wheel', () => {
    const always = Object.entries(compose.services).filter(([, service]) => !service.profiles).map(([name]) => name);
    expect(always.sort()).toEqual(['envoy', 'redis', 'tollgate']);
    expect(compose.services.envoy?.image).toBe(`envoyproxy/envoy:v${versions.ENVOY_VERSION}`);
    expect(compose.services.redis?.image).toMatch(/^redis:\d+\.\d+\.\d+/);
  });

  it('publishes the API port and keeps the admin port on the host loopback', () => {
    const ports = compose.services.tollgate?.ports ?? [];
    expect(ports).toContain('10000:10000');
    expect(ports).toContain('127.0.0.1:8088:8088');
    expect(compose.services.envoy?.network_mode).toBe('service:tollgate');
  });

  it('adds Prometheus and Grafana on request, scraping Envoy and Tollgate on the pair\'s loopback', () => {
    for (const name of ['prometheus', 'grafana']) {
      expect(compose.services[name]?.profiles).toEqual(['observability']);
      expect(compose.services[name]?.network_mode).toBe('service:tollgate');
    }
    const prometheus = parse(readFileSync(join(root, 'config/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
    const jobs = Object.fromEntries(prometheus.scrape_configs.map((job) => [job.job_name, `${job.static_configs[0]?.targets[0]}${job.metrics_path}`]));
    const tollgateConfig = loadConfigFile(join(root, 'config/docker.yaml'));
    expect(jobs).toEqual({
      tollgate: `127.0.0.1:${tollgateConfig.admin.port}/metrics`,
      envoy: `${tollgateConfig.envoy.admin.address}:${tollgateConfig.envoy.admin.port}/stats/prometheus`,
    });
    expect(compose.services.tollgate?.ports).toContain('127.0.0.1:3000:3000');
  });

  it('mounts files that exist, and a config that validates and points Envoy at the shared volume', () => {
    const tollgate = compose.services.tollgate;
    for (const volume of Object.values(compose.services).flatMap((service) => service.volumes ?? [])) {
      const [source] = volume.split(':');
      if (source?.startsWith('./')) expect(existsSync(join(root, source)), `${source} is mounted but missing`).toBe(true);
      else expect(Object.keys(compose.volumes ?? {})).toContain(source);
    }
    const config = loadConfigFile(join(root, 'config/docker.yaml'));
    expect(config.store.type).toBe('redis');
    expect(config.envoy.config_dir).toBe('/etc/tollgate/envoy');
    expect(compose.services.envoy?.command).toContain(`${config.envoy.config_dir}/envoy.yaml`);
    expect(tollgate?.environment?.TOLLGATE_REDIS_URL).toBe('redis://redis:6379');
  });

  it('builds Tollgate on the same Node 24 as package.json pins, running the serve command', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(dockerfile).toMatch(new RegExp(`^FROM node:${pkg.devDependencies.node?.replaceAll('.', '\\.')}-`, 'm'));
    expect(compose.services.tollgate?.command?.[0]).toBe('serve');
    // The runtime stage runs what the build stage compiled with the project's own build script.
    expect(dockerfile).toContain('RUN npm run build');
    // The same V8 heap flags as bin/tollgate, so the image sizes like a source run.
    const binFlags = /TOLLGATE_NODE_FLAGS-"([^"]*)"/.exec(readFileSync(join(root, 'bin/tollgate'), 'utf8'))?.[1] ?? '';
    const flags = binFlags.split(' ').map((flag) => `"${flag}", `).join('');
    expect(dockerfile).toContain(`ENTRYPOINT ["node", ${flags}"src/cli/main.js"]`);
    // And the same malloc arenas.
    const arenas = /MALLOC_ARENA_MAX="\$\{MALLOC_ARENA_MAX-(\d+)\}"/.exec(readFileSync(join(root, 'bin/tollgate'), 'utf8'))?.[1];
    expect(arenas).toBeDefined();
    expect(dockerfile).toContain(`ENV MALLOC_ARENA_MAX=${arenas}`);
    for (const copied of dockerfile.matchAll(/^COPY (?!package|--from)(\S+)/gm)) {
      expect(existsSync(join(root, copied[1] ?? '')), `${copied[1]} is copied but missing`).toBe(true);
    }
  });

  it('puts every file the compiled gateway reads at run time into dist/ (tsc copies only TypeScript)', () => {
    const build = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build ?? '';
    const assetDirs = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (path !== 'src/generated') walk(path);
        } else if (!entry.name.endsWith('.ts') && !entry.name.endsWith('.ranks') && !path.startsWith('src/validation/generated/')) {
          assetDirs.add(dir);
        }
      }
    };
    walk('src');
    expect(assetDirs.size).toBeGreaterThan(0);
    for (const dir of assetDirs) {
      const copied = [...build.matchAll(/cp -r (\S+) /g)].some(([, source]) => source !== undefined && (dir === source || dir.startsWith(`${source}/`)));
      expect(copied, `${dir} holds run-time files that npm run build does not copy into dist/`).toBe(true);
    }
    // The tokenizer's rank table and the config validator are generated, not copied.
    expect(build).toContain('gen-tokenizer-ranks.ts dist/src/tokenizer/o200k_base.ranks');
    expect(build).toContain('gen-validators.ts dist/src/validation/generated');
  });
});
