import { parseArgs } from 'node:util';
import { configSchema } from '../config/schema.ts';
import { loadConfigFile } from '../config/load-config.ts';
import { envoyConfigCommand } from './envoy-config.ts';
import { keysCommand } from './keys.ts';
import { piiScanCommand } from './pii-scan.ts';
import { cacheJudgeCommand } from './cache-judge.ts';
import { injectionScanCommand } from './injection-scan.ts';
import { defaultConfigPath } from './paths.ts';
import { serveCommand } from './serve.ts';
import { startCommand } from './start.ts';

const USAGE = `usage: tollgate <command>
  start                        run Envoy + Tollgate (+ the demo provider when no provider key is set)
  serve [--extproc-port P] [--admin-port P]
                               run Tollgate alone, beside an Envoy started elsewhere (containers)
  envoy-config [--out DIR]     render Envoy's config from the Tollgate config
  keys <create|list|revoke|rotate|expire> …   manage virtual keys through the admin API
  pii-scan [--disable TYPES]   JSONL {"text"} on stdin → {"spans":[{"type","start","end"}]} per line: the
                               gateway's PII/secret detector (TYPES: comma-separated types to turn off)
  injection-scan [--url URL] [--threshold X]
                               JSONL {"text"} on stdin → {"score","injection"} per line: the prompt-injection
                               classifier and the gateway's decision (without --url: starts the model sidecar)
  cache-judge [--model ALIAS] [--threshold X]
                               JSONL {"a","b"} on stdin → {"hit","similarity","reason"} per line: the semantic
                               cache's decision with the configured embeddings model, threshold and checks
  check-config                 validate the config and exit
  config-schema                print the JSON Schema of the config
Config: --config FILE or TOLLGATE_CONFIG (default config/tollgate.yaml).`;

function portFlag(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${value}`);
  return port;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: false,
    options: Object.fromEntries(
      ['config', 'out', 'org', 'team', 'app', 'name', 'expires-at', 'id', 'grace-seconds', 'at', 'admin-url', 'extproc-port', 'admin-port', 'disable', 'model', 'threshold', 'url']
        .map((name) => [name, { type: 'string' as const }]),
    ),
  });
  const config = typeof values.config === 'string' ? values.config : undefined;
  switch (command) {
    case 'start':
      return startCommand({ configPath: config ?? defaultConfigPath() });
    case 'serve':
      return serveCommand({
        configPath: config ?? defaultConfigPath(),
        extprocPort: portFlag(values['extproc-port']),
        adminPort: portFlag(values['admin-port']),
      });
    case 'envoy-config':
      return envoyConfigCommand({ config, out: typeof values.out === 'string' ? values.out : undefined });
    case 'keys':
      return keysCommand(positionals[0], values);
    case 'pii-scan':
      return piiScanCommand({ disable: typeof values.disable === 'string' ? values.disable : undefined });
    case 'injection-scan':
      return injectionScanCommand({
        url: typeof values.url === 'string' ? values.url : undefined,
        threshold: typeof values.threshold === 'string' ? values.threshold : undefined,
      });
    case 'cache-judge':
      return cacheJudgeCommand({
        configPath: config ?? defaultConfigPath(),
        model: typeof values.model === 'string' ? values.model : undefined,
        threshold: typeof values.threshold === 'string' ? values.threshold : undefined,
      });
    case 'check-config':
      loadConfigFile(config ?? defaultConfigPath());
      process.stdout.write('config OK\n');
      return;
    case 'config-schema':
      process.stdout.write(`${JSON.stringify(configSchema, null, 2)}\n`);
      return;
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = command ? 2 : 0;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`tollgate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
