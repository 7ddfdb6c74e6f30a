import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../../lib/units.js';
// Loaded eagerly but light: the load generator imports no part of the server.
import {
  formatProgress,
  formatReport,
  readAppsFile,
  runLoad,
  type AppTarget,
  type KeyPlacement,
} from '../../loadgen/index.js';

interface LoadgenFlags {
  url: string;
  key: string[];
  appsFile?: string;
  origin: string;
  tenant?: string;
  tenantHeader?: string;
  keyIn: KeyPlacement;
  collectPath: string;
  sessions: number;
  rate?: number;
  concurrency: number;
  duration: number;
  warmup: number;
  requests?: number;
  gzip: number;
  timeout: number;
  allowRemote?: boolean;
  fixtures?: string;
  seed?: number;
  json?: boolean;
}

/** The Faro page origin of the captured fixtures, which the bench's apps allow. */
const DEFAULT_ORIGIN = 'http://127.0.0.1:5600';

export function registerLoadgen(program: Command): void {
  program
    .command('loadgen')
    .description(
      'send simulated Faro SDK sessions (page loads, vitals, logs, errors, traced fetches) to a collector and measure it',
    )
    .option(
      '--url <url>',
      'collector base URL (loopback only unless --allow-remote)',
      'http://127.0.0.1:12347',
    )
    .option('-k, --key <appKey>', 'app key to send for (repeatable)', collect, [])
    .option('--apps-file <file>', 'app keys, one a line: "<appKey> [origin|-] [tenant]"')
    .option(
      '--origin <origin>',
      'Origin header of the simulated pages ("-" for none)',
      DEFAULT_ORIGIN,
    )
    .option('--tenant <name>', 'tenant of the --key apps, for per-tenant counts')
    .option('--tenant-header <name>', "send each app's tenant in this header (e.g. X-Scope-OrgID)")
    .option(
      '--key-in <where>',
      'app key in the "path" (/collect/<key>) or the x-api-key "header" (Alloy)',
      keyPlacement,
      'path',
    )
    .option('--collect-path <path>', 'path of the Faro endpoint', '/collect')
    .option('--sessions <n>', 'simulated sessions under way at once', integer(1), 100)
    .option(
      '--rate <rps>',
      'open loop: requests per second to start (default: closed loop)',
      positive,
    )
    .option('-c, --concurrency <n>', 'connections; closed loop: requests in flight', integer(1), 32)
    .option('-d, --duration <duration>', 'measured time, e.g. 30s (at most 24h)', duration, 10_000)
    .option('--warmup <duration>', 'load before measuring', duration, 0)
    .option('-n, --requests <n>', 'stop after this many measured requests', integer(1))
    .option('--gzip <share>', 'share of requests sent gzip-compressed, 0..1', share, 0)
    .option('--timeout <duration>', 'per-request timeout', duration, 10_000)
    .option('--allow-remote', 'allow a target that is not on this machine (only one you run)')
    .option('--fixtures <dir>', "directory of the captured SDK traffic (default: the repository's)")
    .option('--seed <n>', 'seed of the generated ids', integer(0))
    .option('--json', 'print the report as JSON instead of text')
    .action(async (flags: LoadgenFlags) => {
      const origin = flags.origin === '-' ? undefined : flags.origin;
      const apps: AppTarget[] = flags.key.map((key) => ({ key, origin, tenant: flags.tenant }));
      if (flags.appsFile) apps.push(...readAppsFile(flags.appsFile, origin));
      if (apps.length === 0) throw new InvalidArgumentError('give --key <appKey> or --apps-file');

      const abort = new AbortController();
      const stop = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write('stopping: waiting for requests in flight (Ctrl-C again to quit)\n');
        abort.abort();
      };
      process.on('SIGINT', stop);
      // A refused target or a bad option is the user's to fix: the message, not a stack trace.
      const report = await runLoad(
        {
          url: flags.url,
          apps,
          collectPath: flags.collectPath,
          keyPlacement: flags.keyIn,
          tenantHeader: flags.tenantHeader,
          sessions: flags.sessions,
          rate: flags.rate,
          concurrency: flags.concurrency,
          durationMs: flags.duration,
          warmupMs: flags.warmup,
          maxRequests: flags.requests,
          gzipShare: flags.gzip,
          timeoutMs: flags.timeout,
          allowRemote: flags.allowRemote ?? false,
          fixturesDir: flags.fixtures,
          seed: flags.seed,
        },
        {
          signal: abort.signal,
          // Progress goes to stderr, so `--json > report.json` keeps only the report.
          onProgress: (progress) => process.stderr.write(`${formatProgress(progress)}\n`),
        },
      ).catch((error: unknown) => {
        process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 2;
        return undefined;
      });
      process.off('SIGINT', stop);
      if (report === undefined) return;
      console.log(flags.json ? JSON.stringify(report, null, 2) : formatReport(report));
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(min: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min)
      throw new InvalidArgumentError(`expected an integer of at least ${min}`);
    return parsed;
  };
}

function positive(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0 && Number.isFinite(parsed)))
    throw new InvalidArgumentError('expected a positive number');
  return parsed;
}

function share(value: string): number {
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed <= 1))
    throw new InvalidArgumentError('expected a number from 0 to 1');
  return parsed;
}

function duration(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new InvalidArgumentError('expected a duration such as 30s');
  return parsed;
}

function keyPlacement(value: string): KeyPlacement {
  if (value !== 'path' && value !== 'header')
    throw new InvalidArgumentError('expected "path" or "header"');
  return value;
}
