import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLOCK_TICKS, spawnPinned } from './processes.js';

const LUA = fileURLToPath(new URL('../wrk-pool.lua', import.meta.url));

export const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();

export interface WrkRun {
  readonly url: string;
  readonly poolFile: string;
  readonly keysFile: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly cpus: string | undefined;
}

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly latencyMs: {
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
  readonly statuses: Readonly<Record<string, number>>;
  readonly socketErrors: number;
  /** CPU seconds wrk used (from its parent shell's children times): the load generator's headroom. */
  readonly cpuSeconds: number;
}

interface WrkJson {
  durationUs: number;
  requests: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  statuses: Record<string, number>;
}

/**
 * Closed-loop load with wrk (one thread: one core), keep-alive connections, the request pool.
 * wrk runs under `sh`, which prints its children's CPU times once wrk has exited.
 */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const runId = Math.random().toString(36).slice(2, 8).padEnd(6, '0');
  const script = 'wrk "$@"; code=$?; echo "BENCH_CHILD_STAT $(cat /proc/$$/stat)"; exit $code';
  const args = [
    '-c',
    script,
    'sh',
    '-t1',
    `-c${run.connections}`,
    `-d${run.durationSeconds}s`,
    '--timeout',
    '10s',
    '-s',
    LUA,
    run.url,
  ];
  const spawned = spawnPinned(run.cpus, 'sh', args, {
    ...process.env,
    BENCH_POOL: run.poolFile,
    BENCH_KEYS: run.keysFile,
    BENCH_RUN_ID: runId,
  });
  const code = await new Promise<number | null>((resolve) => spawned.child.once('exit', resolve));
  const output = spawned.output();
  const json = /^BENCH_JSON (.*)$/m.exec(output)?.[1];
  if (code !== 0 || json === undefined) throw new Error(`wrk failed (${code}):\n${output}`);
  const parsed = JSON.parse(json) as WrkJson;
  const seconds = parsed.durationUs / 1e6;
  const us = (value: number) => Math.round(value) / 1000;
  return {
    requests: parsed.requests,
    seconds,
    rps: parsed.requests / seconds,
    latencyMs: {
      mean: us(parsed.latencyUs.mean),
      p50: us(parsed.latencyUs.p50),
      p90: us(parsed.latencyUs.p90),
      p99: us(parsed.latencyUs.p99),
      p999: us(parsed.latencyUs.p999),
      max: us(parsed.latencyUs.max),
    },
    statuses: parsed.statuses,
    socketErrors:
      parsed.errors.connect + parsed.errors.read + parsed.errors.write + parsed.errors.timeout,
    cpuSeconds: childCpuSeconds(output),
  };
}

/** cutime + cstime of the shell: wrk's CPU. */
function childCpuSeconds(output: string): number {
  const stat = /^BENCH_CHILD_STAT (.*)$/m.exec(output)?.[1];
  if (!stat) return NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}
