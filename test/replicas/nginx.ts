import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where Debian's package puts it; PHAROS_TEST_NGINX points elsewhere. */
const CANDIDATES = [process.env.PHAROS_TEST_NGINX, '/usr/sbin/nginx', '/usr/local/sbin/nginx'];

/** The nginx binary, or an error that says how to get one. */
export function nginxBinary(): string {
  for (const candidate of CANDIDATES) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return found;
  throw new Error(
    'nginx is required by the replicas test (three Pharos replicas behind a real load balancer) ' +
      'and was not found in /usr/sbin, /usr/local/sbin or PATH. Install the Debian package ' +
      '(`apt-get install nginx`, as scripts/install-system-deps.sh does) or set PHAROS_TEST_NGINX ' +
      'to its path.',
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Header nginx adds to every answer: the upstream (replica) that served the request. */
export const UPSTREAM_HEADER = 'x-upstream';

/**
 * The nginx configuration: one server on `port` proxying everything to `upstreams` (host:port),
 * round robin over kept-alive connections. Every path nginx writes (pid, logs, temp files) is
 * under `prefix`, so it runs without touching the system's nginx.
 */
export function nginxConfig(prefix: string, port: number, upstreams: readonly string[]): string {
  return `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;

events {
  worker_connections 1024;
}

http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;

  upstream pharos {
${upstreams.map((address) => `    server ${address} max_fails=0;`).join('\n')}
    keepalive 64;
    keepalive_timeout 60s;
  }

  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pharos;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      # A refused request is the answer to measure, never a reason to try another replica.
      proxy_next_upstream off;
      add_header ${UPSTREAM_HEADER} $upstream_addr always;
    }
  }
}
`;
}

export interface RunningNginx {
  url: string;
  pid: number;
  /** nginx's own error log (start-up failures, upstream errors). */
  errorLog: () => string;
  /** Stops the master (and so its worker) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts nginx in the foreground (`daemon off`) as a child of this process, so that its master's
 * pid is the child's and stopping it never needs a broad signal.
 */
export async function startNginx(upstreams: readonly string[]): Promise<RunningNginx> {
  const binary = nginxBinary();
  let lastError: unknown;
  // The port is free when chosen and taken by nginx a moment later; another process may win it.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, await freePort(), upstreams);
    } catch (error) {
      lastError = error;
      if (!/Address already in use/.test(String(error))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(
  binary: string,
  port: number,
  upstreams: readonly string[],
): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'pharos-nginx-'));
  // Workers drop root for `nobody` when the tests run as root: let them reach their temp paths.
  chmodSync(prefix, 0o755);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(prefix, port, upstreams));
  const child: ChildProcess = spawn(
    binary,
    ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', conf, '-g', 'daemon off;'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  const errorLog = () => {
    try {
      return readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (exitCode === undefined) {
      // SIGTERM: fast shutdown of the master and its worker.
      child.kill('SIGTERM');
      const timeout = sleep(5000).then(() => child.kill('SIGKILL'));
      await Promise.race([exited, timeout]);
      await exited;
    }
    rmSync(prefix, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exitCode !== undefined) {
      const log = `${output}\n${errorLog()}`;
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx exited with ${exitCode} at start:\n${log}`);
    }
    try {
      const response = await fetch(`${url}/-/ready`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not answer /-/ready within 10 s:\n${output}\n${errorLog()}`);
    }
    await sleep(20);
  }
  return { url, pid: child.pid ?? -1, errorLog, stop };
}
