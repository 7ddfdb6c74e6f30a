export { superviseWorkers } from './primary.js';
export type { SuperviseOptions } from './primary.js';
export { orphanWorkerDirs, workerConfig, workerDataDir, workerSpoolDir } from './spool-dirs.js';
export { clusterMetricsText, isClusterWorker, joinCluster, serveAsWorker } from './worker.js';
export type { WorkerPharos, WorkerSlot } from './worker.js';
