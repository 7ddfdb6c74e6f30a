import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function assertBuilt(): void {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `pharos` CLI to completion. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...cleanEnv(), ...options.env },
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningPharos {
  child: ChildProcessWithoutNullStreams;
  publicUrl: string;
  internalUrl: string;
  banner: string;
  /** Milliseconds from spawn to the "ready" banner. */
  startupMs: number;
  stdout: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `pharos start` and waits for its banner (which carries the bound URLs). */
export function startCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunningPharos> {
  assertBuilt();
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [CLI, 'start', '--public', '127.0.0.1:0', '--internal', '127.0.0.1:0', ...args],
    {
      env: { ...cleanEnv(), ...options.env },
      cwd: options.cwd,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`pharos did not start within 20 s.\nstderr:\n${stderr}\nstdout:\n${stdout}`),
      );
    }, 20_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const publicUrl = /public listener\s+(http:\/\/\S+)/.exec(stderr)?.[1];
      const internalUrl = /internal listener\s+(http:\/\/\S+)/.exec(stderr)?.[1];
      if (publicUrl && internalUrl && /admin token/.test(stderr)) {
        clearTimeout(timer);
        resolve({
          child,
          publicUrl,
          internalUrl,
          banner: stderr,
          startupMs: Date.now() - started,
          stdout: () => stdout,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`pharos exited with ${code} before it was ready.\nstderr:\n${stderr}`));
    });
  });
}

/** The environment without PHAROS_* variables of the developer running the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('PHAROS_')),
    ),
    // Test files run side by side on two cores, where a starved process reads as a lagging event
    // loop: load shedding would refuse what the test expects to be taken. A test can set it.
    PHAROS_SHEDDING_MAX_EVENT_LOOP_DELAY: '0',
  };
}
