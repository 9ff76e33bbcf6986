import type { Histogram } from 'prom-client';
import type { Phase, PhaseEvent, PhaseReply, StreamHandler, StreamHandlerFactory } from '../pipeline/phases.ts';

type Filter = 'request' | 'upstream';
type Observe = (seconds: number) => void;

/**
 * Times how long Tollgate takes to answer each ext_proc message, by filter and phase, into a histogram. The observers
 * are bound once per label pair (prom-client's label lookup per call costs more than the timing itself).
 */
export function timedHandlers(factory: StreamHandlerFactory, filter: Filter, histogram: Histogram<'filter' | 'phase'>): StreamHandlerFactory {
  const phases: Phase[] = ['request_headers', 'request_body', 'response_headers', 'response_body'];
  const observers = new Map<Phase, Observe>(phases.map((phase) => {
    const child = histogram.labels({ filter, phase });
    return [phase, (seconds: number) => child.observe(seconds)];
  }));
  return (traceparent) => new TimedHandler(factory(traceparent), observers);
}

class TimedHandler implements StreamHandler {
  private readonly inner: StreamHandler;
  private readonly observers: Map<Phase, Observe>;

  constructor(inner: StreamHandler, observers: Map<Phase, Observe>) {
    this.inner = inner;
    this.observers = observers;
  }

  handle(event: PhaseEvent): PhaseReply | Promise<PhaseReply> {
    const started = performance.now();
    const observe = this.observers.get(event.phase) as Observe;
    const reply = this.inner.handle(event);
    if (!(reply instanceof Promise)) {
      observe((performance.now() - started) / 1000);
      return reply;
    }
    return reply.then((value) => {
      observe((performance.now() - started) / 1000);
      return value;
    });
  }

  close(complete: boolean): void {
    this.inner.close(complete);
  }
}
