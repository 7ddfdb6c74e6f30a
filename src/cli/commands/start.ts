import cluster from 'node:cluster';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, unknownPharosVariables } from '../../config/index.js';
import { VERSION } from '../../version.js';

interface StartFlags {
  config?: string;
  public?: string;
  internal?: string;
  publicUrl?: string;
  dataDir?: string;
  logLevel?: string;
  workers: number;
}

/** Flag name → config path; the flags themselves are declared in the config schema. */
const FLAG_PATHS: Record<keyof Omit<StartFlags, 'config' | 'workers'>, string> = {
  public: 'server.public',
  internal: 'server.internal',
  publicUrl: 'server.publicUrl',
  dataDir: 'dataDir',
  logLevel: 'log.level',
};

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start Pharos (both listeners) with the embedded store by default')
    .option('-c, --config <file>', 'YAML configuration file (also PHAROS_CONFIG)')
    .option('--public <host:port>', 'public listener address (default 127.0.0.1:12347)')
    .option('--internal <host:port>', 'internal listener address (default 127.0.0.1:12348)')
    .option('--public-url <url>', 'URL browsers use to reach the public listener')
    .option('--data-dir <dir>', 'data directory (default ./pharos-data)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option(
      '--workers <n>',
      'worker processes sharing both listeners (at most one per core; default 1, a single process)',
      workerCount,
      1,
    )
    .action(async (flags: StartFlags) => {
      const flagValues: Record<string, string> = {};
      for (const [flag, path] of Object.entries(FLAG_PATHS)) {
        const value = flags[flag as keyof typeof FLAG_PATHS];
        if (value !== undefined) flagValues[path] = value;
      }
      const config = loadConfig({ file: flags.config, flags: flagValues });
      const unknown = unknownPharosVariables();
      // Workers re-run this command: the warning is the primary's (or the single process's).
      if (unknown.length > 0 && !cluster.isWorker) {
        process.stderr.write(
          `warning: ignoring ${unknown.join(', ')}: not Pharos settings (see docs/config.md)\n`,
        );
      }
      if (flags.workers > 1 && cluster.isPrimary) {
        // The primary serves nothing: it forks the workers (which run this command again, as
        // workers), shares the ports with them, restarts them and drains them on SIGTERM.
        const { superviseWorkers } = await import('../../app/cluster/index.js');
        process.exitCode = await superviseWorkers({
          workers: flags.workers,
          dataDir: config.dataDir,
          shutdownTimeoutMs: config.server.shutdownTimeout,
          log: (level, message) => process.stderr.write(`pharos primary: ${level}: ${message}\n`),
        });
        return;
      }
      // Loaded here, not at the top: the client commands stay quick to start.
      const { startPharos } = await import('../../app/pharos.js');
      const { tuneHeapGrowth } = await import('../../app/heap.js');
      tuneHeapGrowth();
      const { joinCluster, serveAsWorker, workerConfig } =
        await import('../../app/cluster/index.js');
      const worker = await joinCluster();
      const pharos = await startPharos(
        worker ? workerConfig(config, worker.slot, worker.count) : config,
      );
      if (worker) serveAsWorker(pharos);

      let signals = 0;
      const stop = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          process.stderr.write(`${signal} again: exiting now\n`);
          process.exit(1);
        }
        pharos.logger.info({ signal }, 'signal received');
        pharos.close().then(
          () => process.exit(0),
          (error: unknown) => {
            pharos.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      // In a cluster a Ctrl-C reaches every process of the group and the primary asks the workers
      // to drain as well: `close` is idempotent, so the worker drains once.
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      // Worker 1 says what the cluster serves; the others would repeat it.
      if (worker && worker.slot !== 1) return;

      const lines = [
        `Pharos ${VERSION} is ready${worker ? ` (${worker.count} workers)` : ''}.`,
        `  public listener   ${pharos.publicUrl}   (POST /collect/<appKey>)`,
        `  internal listener ${pharos.internalUrl}   (API, /metrics${config.demo.enabled ? ', /demo' : ''})`,
        `  admin token       ${pharos.adminTokenFile}`,
      ];
      if (pharos.demo) {
        lines.push(
          '',
          'First start: created the demo tenant and app.',
          `  ingest URL for the Faro SDK:  ${pharos.publicUrl}/collect/${pharos.demo.key}`,
          `  open the demo page:           ${pharos.internalUrl}/demo`,
          '  watch what arrives:           npx pharos tail --app demo',
        );
      } else if (config.demo.enabled && (await pharos.registry.store.getApp('demo'))) {
        lines.push(`  demo page         ${pharos.internalUrl}/demo`);
      }
      process.stderr.write(`${lines.join('\n')}\n`);
    });
}

function workerCount(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 256)
    throw new InvalidArgumentError('expected a whole number of worker processes, 1 to 256');
  return parsed;
}
