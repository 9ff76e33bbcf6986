import { parentPort } from 'node:worker_threads';
import { SqliteLedger, type SqliteLedgerOptions } from './sqlite-ledger.ts';

/**
 * Worker-thread side of SqliteSink: node:sqlite is synchronous, and a batch commit (an fsync) must never stall the
 * event loop that answers Envoy. Requests are { id, method, args }; every one gets { id, result } or { id, error }.
 */
export interface WorkerRequest {
  id: number;
  method: 'open' | 'write' | 'closeOrphans' | 'aggregate' | 'feedback' | 'get' | 'close';
  args: unknown[];
}

let ledger: SqliteLedger | null = null;

function call(request: WorkerRequest): unknown {
  if (request.method === 'open') {
    // Opening again (migrate() called twice) re-runs the migration check on a fresh handle.
    ledger?.close();
    ledger = new SqliteLedger(request.args[0] as string, (request.args[1] ?? {}) as SqliteLedgerOptions);
    return null;
  }
  if (!ledger) throw new Error('the SQLite ledger is not open');
  switch (request.method) {
    case 'write':
      return ledger.write(...(request.args as Parameters<SqliteLedger['write']>));
    case 'closeOrphans':
      return ledger.closeOrphans(...(request.args as Parameters<SqliteLedger['closeOrphans']>));
    case 'aggregate':
      return ledger.aggregate(...(request.args as Parameters<SqliteLedger['aggregate']>));
    case 'feedback':
      return ledger.feedback(...(request.args as Parameters<SqliteLedger['feedback']>));
    case 'get':
      return ledger.get(...(request.args as Parameters<SqliteLedger['get']>));
    case 'close':
      ledger.close();
      ledger = null;
      return null;
  }
}

parentPort?.on('message', (request: WorkerRequest) => {
  try {
    parentPort?.postMessage({ id: request.id, result: call(request) });
  } catch (error) {
    parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
