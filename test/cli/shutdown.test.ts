import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryStore } from '../../src/store/index.js';
import { startCli, type RunningPharos } from '../helpers/process.js';

describe('graceful shutdown on SIGTERM', () => {
  let dataDir: string;
  let pharos: RunningPharos;
  let collectUrl: URL;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-shutdown-'));
    // A long flush interval: whatever is accepted stays queued until shutdown flushes it.
    pharos = await startCli(['--data-dir', dataDir, '--log-level', 'info'], {
      env: { PHAROS_STORE_FLUSH_INTERVAL: '1h' },
    });
    collectUrl = new URL(/ingest URL for the Faro SDK:\s+(\S+)/.exec(pharos.banner)?.[1] as string);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('finishes the request in flight, stops accepting, flushes the store and exits 0', async () => {
    const queued = await fetch(collectUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ logs: [{ message: 'accepted before the signal' }] }),
    });
    expect(queued.status).toBe(202);

    // An upload that is half sent when the signal arrives.
    const body = JSON.stringify({ logs: [{ message: 'in flight during shutdown' }] });
    const socket = connect(Number(collectUrl.port), collectUrl.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST ${collectUrl.pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    const exitCode = pharos.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // New connections are refused while the old one is still being served.
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(Number(collectUrl.port), collectUrl.hostname);
      probe.once('connect', () => {
        probe.destroy();
        resolve(false);
      });
      probe.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);

    socket.write(body.slice(10));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 202 Accepted\r\n/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(await exitCode).toBe(0);
    expect(pharos.stdout()).toContain('shutdown complete');

    const store = new TelemetryStore(join(dataDir, 'telemetry.db'));
    try {
      const messages = store
        .query({ appId: 'demo', kind: 'log', limit: 10, order: 'asc' })
        .map((item) => item.item.message);
      expect(messages).toEqual(['accepted before the signal', 'in flight during shutdown']);
    } finally {
      store.close();
    }
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8')).toMatch(/^pha_/);
  });
});
