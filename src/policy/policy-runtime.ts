import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/audit-log.ts';
import type { PolicyConfig } from './config.ts';
import { PolicyHolder } from './policy-holder.ts';

/** Everything a configured policy needs at run time: the live bundle and the audit log of its decisions. */
export interface PolicyRuntime {
  holder: PolicyHolder;
  audit: AuditLog;
  failMode: PolicyConfig['fail_mode'];
  stop(): Promise<void>;
}

/** Loads the bundle (an invalid one stops the start: no policy must never mean no enforcement) and opens the log. */
export async function startPolicyRuntime(config: PolicyConfig, deps: { logger: Logger }): Promise<PolicyRuntime> {
  const holder = await PolicyHolder.start({
    path: resolve(config.bundle),
    entrypoint: config.entrypoint,
    watch: config.watch,
    logger: deps.logger,
  });
  const audit = new AuditLog(
    resolve(config.audit_log), (error) => deps.logger.error({ err: error }, 'audit log write failed'), config.audit_rotation,
  );
  return {
    holder,
    audit,
    failMode: config.fail_mode,
    async stop() {
      holder.stop();
      await audit.close();
    },
  };
}
