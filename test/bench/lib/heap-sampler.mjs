// Loaded into a Tollgate process with NODE_OPTIONS=--import (test/bench/allocation.ts). On SIGUSR2 it starts V8's
// sampling heap profiler, counting objects that die young too (what the garbage collector has to handle); on the
// next SIGUSR2 it stops and writes the profile to $TOLLGATE_HEAP_SAMPLE_OUT. Main thread only.
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && process.env.TOLLGATE_HEAP_SAMPLE_OUT) {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  let sampling = false;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!sampling) {
        sampling = true;
        await post('HeapProfiler.enable');
        await post('HeapProfiler.startSampling', {
          samplingInterval: Number(process.env.TOLLGATE_HEAP_SAMPLE_INTERVAL ?? 4096),
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      } else {
        sampling = false;
        const { profile } = await post('HeapProfiler.stopSampling');
        writeFileSync(process.env.TOLLGATE_HEAP_SAMPLE_OUT, JSON.stringify(profile));
      }
    })();
  });
}
