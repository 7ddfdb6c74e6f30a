import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { isClusterMessage, type ClusterMessage } from './messages.js';

export interface WorkerSlot {
  /** 1..count, stable across restarts of this worker (its spool directory depends on it). */
  readonly slot: number;
  readonly count: number;
}

/** What a worker needs of the running Pharos. */
export interface WorkerPharos {
  readonly metrics: { readonly registry: Registry };
  close(): Promise<void>;
}

const SLOT_TIMEOUT_MS = 10_000;
const METRICS_TIMEOUT_MS = 5_000;

/** True in a process forked by `superviseWorkers`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * In a cluster worker: asks the primary for this worker's slot. Undefined in a single process.
 * (The worker asks, rather than the primary telling it at fork, because a message sent before the
 * worker listens would be lost.)
 */
export async function joinCluster(): Promise<WorkerSlot | undefined> {
  if (!cluster.isWorker) return undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the cluster primary did not give this worker a slot'));
    }, SLOT_TIMEOUT_MS);
    const onMessage = (message: unknown) => {
      if (!isClusterMessage(message) || message.type !== 'pharos:slot') return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve({ slot: message.slot, count: message.count });
    };
    process.on('message', onMessage);
    send({ type: 'pharos:hello' });
  });
}

/**
 * Once Pharos runs in a worker: tells the primary it is ready, drains and exits when the primary
 * says so, and answers the primary's metric collection with this worker's registry.
 */
export function serveAsWorker(pharos: WorkerPharos): void {
  // Constructing an AggregatorRegistry in a worker installs prom-client's IPC responder.
  new AggregatorRegistry();
  const registry = pharos.metrics.registry;
  AggregatorRegistry.setRegistries([registry]);
  // A scrape of /metrics reaches whichever worker accepted the connection; it must answer for all
  // of them (the primary collects every worker's registry as JSON, so this does not recurse).
  registry.metrics = () => clusterMetricsText();
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message) || message.type !== 'pharos:shutdown') return;
    // `close` is idempotent: a Ctrl-C reaches the workers too, through the process group.
    pharos.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  send({ type: 'pharos:ready' });
}

let nextRequestId = 1;

/**
 * The exposition text of every worker's metrics together, collected by the primary. A scrape
 * reaches one worker at random (the port is shared): without this, each scrape would see one
 * worker's counters and Prometheus would read the jumps as resets.
 */
export function clusterMetricsText(): Promise<string> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the cluster primary did not answer the metrics request'));
    }, METRICS_TIMEOUT_MS);
    const onMessage = (message: unknown) => {
      if (!isClusterMessage(message) || message.type !== 'pharos:metrics-response') return;
      if (message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.text !== undefined) resolve(message.text);
      else reject(new Error(message.error ?? 'metrics aggregation failed'));
    };
    process.on('message', onMessage);
    send({ type: 'pharos:metrics-request', id });
  });
}

function send(message: ClusterMessage): void {
  process.send?.(message);
}
