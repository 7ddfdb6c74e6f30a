import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Kernel clock ticks per second, the unit of CPU times in /proc/<pid>/stat. */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process wrote to stderr and stdout so far (for error messages). */
  output(): string;
}

/**
 * Starts a process pinned to `cpus` (taskset list, `0` or `0,1`) when taskset exists. The child
 * inherits nothing of the bench's stdin; its output is kept for error messages.
 */
export function spawnPinned(
  cpus: string | undefined,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Spawned {
  const [file, argv] =
    cpus !== undefined && hasTaskset
      ? ['taskset', ['-c', cpus, command, ...args]]
      : [command, [...args]];
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  // taskset execs the command, so the pid is the command's own.
  return { child, pid: child.pid, output: () => output };
}

/** Waits until `url` answers 2xx, or throws with the process's output. */
export async function waitForHttp(
  url: string,
  spawned: Spawned,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawned.child.exitCode !== null)
      throw new Error(`process exited (${spawned.child.exitCode}):\n${spawned.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${spawned.output()}`);
}

/** Waits until the process has written `text` (stdout or stderr), or throws with its output. */
export async function waitForOutput(
  spawned: Spawned,
  text: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!spawned.output().includes(text)) {
    if (spawned.child.exitCode !== null)
      throw new Error(`process exited (${spawned.child.exitCode}):\n${spawned.output()}`);
    if (Date.now() > deadline)
      throw new Error(`no "${text}" within ${timeoutMs} ms:\n${spawned.output()}`);
    await sleep(50);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
export async function stopProcess(spawned: Spawned, graceMs = 10_000): Promise<void> {
  const { child } = spawned;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ProcessSample {
  /** User + system CPU seconds of the process and its live descendants. */
  readonly cpuSeconds: number;
  /** Resident memory now, summed over the process tree, in bytes. */
  readonly rssBytes: number;
  /** Peak resident memory (VmHWM) of each process of the tree, summed, in bytes. */
  readonly peakRssBytes: number;
  readonly pids: readonly number[];
}

/** CPU and memory of a process and its descendants (cluster workers), from /proc. */
export function sampleProcessTree(rootPid: number): ProcessSample {
  const pids = [rootPid, ...descendantsOf(rootPid)];
  let cpuSeconds = 0;
  let rssBytes = 0;
  let peakRssBytes = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuSeconds += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rssBytes += kib(status, 'VmRSS') * 1024;
      peakRssBytes += kib(status, 'VmHWM') * 1024;
    } catch {
      // The process ended between listing and reading.
    }
  }
  return { cpuSeconds, rssBytes, peakRssBytes, pids };
}

function kib(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // Gone already.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** The 1-, 5- and 15-minute load averages: the bench records how busy the machine was. */
export function loadAverage(): [number, number, number] {
  try {
    const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
    return [one ?? NaN, five ?? NaN, fifteen ?? NaN];
  } catch {
    return [NaN, NaN, NaN];
  }
}

/** Busy and total clock ticks of each CPU since boot, from /proc/stat. */
export interface CpuTimes {
  readonly busy: readonly number[];
  readonly total: readonly number[];
}

export function cpuTimes(): CpuTimes {
  const busy: number[] = [];
  const total: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (!match) continue;
    // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    const fields = (match[2] as string).trim().split(/\s+/).map(Number);
    const sum = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    busy[Number(match[1])] = sum - idle;
    total[Number(match[1])] = sum;
  }
  return { busy, total };
}

/**
 * How busy `cpus` were between two readings, as a share (0..1 per CPU, summed over the list):
 * compared with what the server itself used, it tells how much other work shared its cores.
 */
export function busyCores(before: CpuTimes, after: CpuTimes, cpus: string): number {
  let share = 0;
  for (const cpu of cpus.split(',').map(Number)) {
    const total = (after.total[cpu] ?? 0) - (before.total[cpu] ?? 0);
    const busy = (after.busy[cpu] ?? 0) - (before.busy[cpu] ?? 0);
    if (total > 0) share += busy / total;
  }
  return share;
}

/**
 * Waits (at most `maxWaitMs`) until `cpus` are idle enough, sampled over half a second: on a
 * shared machine a measurement started in the middle of someone's test run measures that run.
 * Returns the busy share seen last.
 */
export async function waitForQuietCpus(
  cpus: string,
  maxWaitMs: number,
  threshold = 0.15,
): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = cpuTimes();
    await sleep(500);
    const busy = busyCores(before, cpuTimes(), cpus) / cpus.split(',').length;
    if (busy <= threshold || Date.now() >= deadline) return busy;
  }
}
