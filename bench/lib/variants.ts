import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './network.js';
import { benchApps, startPharos, type BenchApp } from './pharos-instance.js';
import { spawnPinned, stopProcess, waitForHttp } from './processes.js';

const BARE_SERVER = fileURLToPath(new URL('../servers/bare-server.mjs', import.meta.url));

export type VariantName = 'pharos' | 'bare' | 'workers' | 'apps' | 'candidate';

/** A server under test, started fresh for every measurement. */
export interface RunningServer {
  readonly url: string;
  readonly pid: number;
  /** `cli` (pharos start) or `node` (the bare server). */
  readonly launcher: string;
  /**
   * Requests answered 202 without being ingested so far (duplicate idempotency keys, sampled-out
   * sessions): a run with any measured cheap answers, not the pipeline. Undefined: not Pharos.
   */
  notIngested?(): Promise<number>;
  /** Where Prometheus would scrape it (Pharos's internal listener). */
  readonly metricsUrl?: string;
  stop(): Promise<void>;
}

export interface Variant {
  readonly name: VariantName;
  readonly label: string;
  readonly description: string;
  /** The apps whose keys the load goes round-robin over. */
  readonly apps: readonly BenchApp[];
  /** taskset CPU list of the server. */
  readonly cpus: string | undefined;
  /** True when the server shares a core with the load generator (too few cores). */
  readonly sharesLoadgenCore: boolean;
  start(dir: string, nodeFlags?: readonly string[]): Promise<RunningServer>;
}

export interface VariantSettings {
  readonly receiversUrl: string;
  readonly serverCpu: string | undefined;
  readonly loadgenCpu: string | undefined;
  readonly cores: number;
  readonly workers: number;
  readonly manyApps: { readonly tenants: number; readonly appsPerTenant: number };
  /** Another checkout (built) to compare with this one: the `candidate` variant. */
  readonly candidateRoot?: string | undefined;
}

/**
 * The four servers of the issue (full pipeline, the bare limit, N workers, 10,000 apps), and the
 * full pipeline of another checkout to compare optimisations with (`--candidate <dir>`).
 */
export function defineVariants(settings: VariantSettings): Record<VariantName, Variant> {
  const oneApp = benchApps(1, 1);
  const manyApps = benchApps(settings.manyApps.tenants, settings.manyApps.appsPerTenant);
  const workerCpus = cpusForWorkers(settings);
  const pharos = (
    name: VariantName,
    label: string,
    description: string,
    apps: readonly BenchApp[],
    workers: number,
    cpus: string | undefined,
    root?: string,
  ): Variant => ({
    name,
    label,
    description,
    apps,
    cpus,
    sharesLoadgenCore:
      cpus !== undefined &&
      settings.loadgenCpu !== undefined &&
      overlaps(cpus, settings.loadgenCpu),
    async start(dir, nodeFlags) {
      const instance = await startPharos({
        dir,
        apps,
        receiversUrl: settings.receiversUrl,
        workers,
        cpus,
        ...(nodeFlags ? { nodeFlags } : {}),
        ...(root !== undefined ? { root } : {}),
      });
      return {
        url: instance.publicUrl,
        pid: instance.spawned.pid,
        launcher: instance.launcher,
        notIngested: () => instance.notIngested(),
        metricsUrl: `${instance.internalUrl}/metrics`,
        stop: () => instance.stop(),
      };
    },
  });

  return {
    pharos: pharos(
      'pharos',
      'Pharos, full pipeline',
      'validation, limits, privacy, symbolication (warm cache), fingerprints, Loki + OTLP + metrics encoding and batching, delivery to discard receivers',
      oneApp,
      1,
      settings.serverCpu,
    ),
    bare: {
      name: 'bare',
      label: 'bare Node http (limit)',
      description: 'reads the body (gunzip when gzip), JSON.parse, answers 202',
      apps: oneApp,
      cpus: settings.serverCpu,
      sharesLoadgenCore: false,
      async start(dir) {
        void dir;
        const port = await freePort();
        const spawned = spawnPinned(settings.serverCpu, process.execPath, [
          BARE_SERVER,
          String(port),
        ]);
        const url = `http://127.0.0.1:${port}`;
        await waitForHttp(url, spawned);
        return { url, pid: spawned.pid, launcher: 'node', stop: () => stopProcess(spawned) };
      },
    },
    workers: pharos(
      'workers',
      `Pharos --workers ${settings.workers}`,
      `the full pipeline in ${settings.workers} cluster workers on CPUs ${workerCpus ?? 'any'}`,
      oneApp,
      settings.workers,
      workerCpus,
    ),
    apps: pharos(
      'apps',
      `Pharos, ${manyApps.length.toLocaleString('en-US')} apps`,
      `the full pipeline with ${settings.manyApps.tenants} tenants × ${settings.manyApps.appsPerTenant} apps registered (config file); load round-robin over every app key, tenants interleaved; the source map uploaded for the first app`,
      manyApps,
      1,
      settings.serverCpu,
    ),
    candidate: pharos(
      'candidate',
      'candidate (other checkout)',
      `the full pipeline of the build in ${settings.candidateRoot ?? '(no --candidate given)'}`,
      oneApp,
      1,
      settings.serverCpu,
      settings.candidateRoot,
    ),
  };
}

/**
 * N workers get N cores of their own when the machine has N + 1 (one left for the load
 * generator); otherwise every core, sharing the load generator's (the results say so).
 */
function cpusForWorkers(settings: VariantSettings): string | undefined {
  if (settings.serverCpu === undefined) return undefined;
  const count = settings.cores >= settings.workers + 1 ? settings.workers : settings.cores;
  return Array.from({ length: count }, (_, index) => index).join(',');
}

function overlaps(a: string, b: string): boolean {
  const set = new Set(a.split(','));
  return b.split(',').some((cpu) => set.has(cpu));
}

export function variantDir(root: string, variant: VariantName, round: number): string {
  return join(root, `${variant}-${round}`);
}
