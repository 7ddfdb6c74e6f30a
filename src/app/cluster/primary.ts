import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { isClusterMessage, type ClusterMessage } from './messages.js';
import { orphanWorkerDirs, workerSpoolDir } from './spool-dirs.js';

export interface SuperviseOptions {
  /** Worker processes, 2 or more. */
  readonly workers: number;
  /** For the warning about spools of workers that no longer run. */
  readonly dataDir: string;
  /** `server.shutdownTimeout`: how long workers get to drain after SIGTERM before they are killed. */
  readonly shutdownTimeoutMs: number;
  /** First wait before a crashed worker is started again; doubles up to 30 s. Default 1 s. */
  readonly restartDelayMs?: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** A worker that stayed up this long is healthy again: its next crash restarts it at once. */
const HEALTHY_AFTER_MS = 60_000;
const MAX_RESTART_DELAY_MS = 30_000;

interface Slot {
  readonly slot: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  restartDelayMs: number;
}

/**
 * The cluster primary of `pharos start --workers N`: it serves nothing itself. It starts worker 1
 * alone and waits until it is ready (it reconciles the registry with the config file and writes
 * the admin token; N workers doing that at once would race), then the others; it restarts a
 * worker that dies, with backoff; on SIGTERM or SIGINT it asks every worker to drain and waits
 * for them. The public and internal ports are shared by Node's cluster module (round-robin
 * accept); each worker has its own delivery spools (a spool has one writer). `/metrics` answers
 * the sum over the workers (prom-client's AggregatorRegistry, over IPC).
 *
 * Resolves with the exit code once every worker has exited.
 */
export async function superviseWorkers(options: SuperviseOptions): Promise<number> {
  const { workers: count, log } = options;
  if (!cluster.isPrimary) throw new Error('superviseWorkers runs in the cluster primary only');
  if (!Number.isInteger(count) || count < 2) throw new Error('--workers must be 2 or more');
  warnAboutOrphanSpools(options.dataDir, count, log);

  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
    slot: index + 1,
    worker: undefined,
    ready: false,
    startedAt: 0,
    restartDelayMs: options.restartDelayMs ?? 1000,
  }));
  const slotOf = new Map<Worker, Slot>();
  let shuttingDown = false;
  let forced = false;
  const aggregator = new AggregatorRegistry();
  const readyWaiters = new Map<Slot, (ok: boolean) => void>();

  cluster.on('message', (worker, message: unknown) => {
    if (!isClusterMessage(message)) return;
    const slot = slotOf.get(worker);
    if (!slot) return;
    if (message.type === 'pharos:hello') {
      send(worker, { type: 'pharos:slot', slot: slot.slot, count });
    } else if (message.type === 'pharos:ready') {
      slot.ready = true;
      readyWaiters.get(slot)?.(true);
    } else if (message.type === 'pharos:metrics-request') {
      aggregator.clusterMetrics().then(
        (text) => send(worker, { type: 'pharos:metrics-response', id: message.id, text }),
        (error: unknown) =>
          send(worker, {
            type: 'pharos:metrics-response',
            id: message.id,
            error: error instanceof Error ? error.message : String(error),
          }),
      );
    }
  });

  let resolveAllExited: () => void = () => undefined;
  const allExited = new Promise<void>((resolve) => (resolveAllExited = resolve));
  const noWorkersLeft = () => Object.keys(cluster.workers ?? {}).length === 0;
  cluster.on('exit', (worker, code, signal) => {
    const slot = slotOf.get(worker);
    slotOf.delete(worker);
    if (slot) {
      slot.worker = undefined;
      const wasReady = slot.ready;
      slot.ready = false;
      readyWaiters.get(slot)?.(false);
      if (!shuttingDown && wasReady) {
        log('error', `worker ${slot.slot} exited (${signal ?? `code ${code}`}); restarting it`);
        scheduleRestart(slot);
      }
    }
    if (shuttingDown && noWorkersLeft()) resolveAllExited();
  });

  function start(slot: Slot): Promise<boolean> {
    const ready = new Promise<boolean>((resolve) =>
      readyWaiters.set(slot, (ok) => {
        readyWaiters.delete(slot);
        resolve(ok);
      }),
    );
    const worker = cluster.fork();
    slot.worker = worker;
    slot.startedAt = Date.now();
    slotOf.set(worker, slot);
    return ready;
  }

  function scheduleRestart(slot: Slot): void {
    const healthy = Date.now() - slot.startedAt > HEALTHY_AFTER_MS;
    const delay = healthy ? 0 : slot.restartDelayMs;
    slot.restartDelayMs = healthy
      ? (options.restartDelayMs ?? 1000)
      : Math.min(MAX_RESTART_DELAY_MS, slot.restartDelayMs * 2);
    setTimeout(() => {
      if (shuttingDown) return;
      void start(slot).then((ok) => {
        if (!ok && !shuttingDown) scheduleRestart(slot);
      });
    }, delay).unref();
  }

  function shutDown(signal: string): void {
    if (shuttingDown) {
      log('warn', `${signal} again: killing the workers`);
      forced = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGKILL');
      return;
    }
    shuttingDown = true;
    log('info', `${signal}: asking ${count} workers to drain`);
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker) send(worker, { type: 'pharos:shutdown' });
    // Workers bound their own drain by shutdownTimeout; this is the backstop.
    setTimeout(() => {
      forced = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGKILL');
    }, options.shutdownTimeoutMs + 5000).unref();
    if (noWorkersLeft()) resolveAllExited();
  }
  process.on('SIGTERM', () => shutDown('SIGTERM'));
  process.on('SIGINT', () => shutDown('SIGINT'));

  const [first, ...others] = slots as [Slot, ...Slot[]];
  const firstOk = await start(first);
  const othersOk = firstOk && (await Promise.all(others.map(start))).every(Boolean);
  if (!othersOk && !shuttingDown) {
    log('error', 'a worker failed to start; stopping the others');
    shutDown('startup failure');
    await allExited;
    return 1;
  }
  if (!shuttingDown) log('info', `${count} workers ready`);
  await allExited;
  return forced ? 1 : 0;
}

function send(worker: Worker, message: ClusterMessage): void {
  // A worker that is exiting has closed its channel; it needs no answer.
  if (worker.isConnected()) worker.send(message);
}

/** Spools of worker slots above `count` are not delivered by anyone: say so at start. */
function warnAboutOrphanSpools(dataDir: string, count: number, log: SuperviseOptions['log']): void {
  for (const slot of orphanWorkerDirs(dataDir, count)) {
    log(
      'warn',
      `${workerSpoolDir(dataDir, slot)} belongs to worker ${slot}, which is not started with --workers ${count}: its queued telemetry waits until it runs again`,
    );
  }
}
