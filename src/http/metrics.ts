import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FlowObserver } from '../flow/deps.js';
import type { EventStore } from '../store/types.js';

/**
 * The engine's Prometheus metrics on a registry of their own (never prom-client's global one,
 * so a host app and several engines in one process do not collide).
 *
 * Label values are bounded: server names come from configuration (the engine reports every
 * other server, user-managed ones included, as `(user-managed)`), failure reasons are the
 * engine's error codes or RFC 6749 codes (validated by the flow core), routes are route
 * patterns, never raw paths.
 */
export interface EngineMetrics {
  readonly registry: Registry;
  /** Pass to `createEngine({ observer })`: flow counters. */
  readonly observer: FlowObserver;
  /** Times one callback's handling; call the returned function with the outcome code. */
  startCallbackTimer(): (outcome: string) => void;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** Reports each projection's lag (events behind the log head) and status at scrape time. */
  watchProjections(list: () => Promise<Array<{ name: string; lag: number; status: string }>>): void;
}

export interface MetricsOptions {
  /** Also export process metrics (CPU, memory, event-loop lag). Default false. */
  defaultMetrics?: boolean;
  prefix?: string;
}

export function createMetrics(options: MetricsOptions = {}): EngineMetrics {
  const registry = new Registry();
  const p = options.prefix ?? 'flow_engine_';
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: p });
  const registers = [registry];
  const started = new Counter({ name: `${p}flows_started_total`, help: 'Authorization attempts started (joins not counted)', labelNames: ['server'], registers });
  const completed = new Counter({ name: `${p}flows_completed_total`, help: 'Attempts that ended with tokens issued', labelNames: ['server'], registers });
  const failed = new Counter({ name: `${p}flows_failed_total`, help: 'Attempts that failed, by reason (engine or RFC 6749 error code)', labelNames: ['server', 'reason'], registers });
  const callback = new Histogram({
    name: `${p}callback_duration_seconds`,
    help: 'Handling time of the OAuth callback route, token request included, by outcome',
    labelNames: ['outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const append = new Histogram({
    name: `${p}store_append_duration_seconds`,
    help: 'Latency of event store appends',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const requests = new Histogram({
    name: `${p}http_request_duration_seconds`,
    help: 'HTTP request handling time by route pattern',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers,
  });
  return {
    registry,
    observer: {
      flowStarted: (server) => started.inc({ server }),
      flowCompleted: (server) => completed.inc({ server }),
      flowFailed: (server, reason) => failed.inc({ server, reason }),
      appendLatency: (seconds) => append.observe(seconds),
    },
    startCallbackTimer() {
      const end = callback.startTimer();
      return (outcome) => end({ outcome });
    },
    observeRequest: (route, method, status, seconds) => requests.observe({ route, method, status: String(status) }, seconds),
    watchProjections(list) {
      // Collected when scraped (prom-client collects metrics concurrently, so each gauge asks).
      new Gauge({
        name: `${p}projection_lag_events`,
        help: 'Events in the log not yet applied by each projection',
        labelNames: ['projection'],
        registers,
        async collect() {
          for (const info of await list()) this.set({ projection: info.name }, info.lag);
        },
      });
      new Gauge({
        name: `${p}projection_running`,
        help: '1 while a projection runs, 0 when stopped or faulted',
        labelNames: ['projection'],
        registers,
        async collect() {
          for (const info of await list()) this.set({ projection: info.name }, /running/i.test(info.status) ? 1 : 0);
        },
      });
    },
  };
}

/**
 * Wraps a store so every append reports its latency to `observer.appendLatency`. The flow core
 * never times its own I/O; the composition root decides what is measured.
 */
export function instrumentStore(store: EventStore, observer: FlowObserver): EventStore {
  const report = observer.appendLatency;
  if (!report) return store;
  // One wrapper per method, made on first use: every read on the request path goes through
  // this proxy, and binding afresh per call allocated a function each time.
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const made = methods.get(prop);
      if (made !== undefined) return made;
      let value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'appendToStream' || prop === 'appendToStreams') {
        const append = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
        value = async (...args: unknown[]) => {
          const t0 = process.hrtime.bigint();
          try {
            return await append(...args);
          } finally {
            report(Number(process.hrtime.bigint() - t0) / 1e9);
          }
        };
      } else {
        value = (value as (...a: unknown[]) => unknown).bind(target);
      }
      methods.set(prop, value);
      return value;
    },
  });
}
