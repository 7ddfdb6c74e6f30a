import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerLoadgen } from '../../src/cli/commands/loadgen.js';
import { checkTarget, runLoad, type LoadProgress } from '../../src/loadgen/index.js';
import {
  FIXTURE_APP,
  fixtureTenantConfig,
  startTestPharos,
  type TestPharos,
} from '../helpers/pharos.js';

/**
 * The load generator against a real Pharos: every simulated request must be one Pharos accepts
 * (its validation is strict), in both loops, compressed or not. No timing is asserted.
 */
describe('pharos loadgen', () => {
  let pharos: TestPharos;
  beforeAll(async () => {
    pharos = await startTestPharos(fixtureTenantConfig());
  });
  afterAll(async () => {
    await pharos.stop();
  });
  const apps = () => [{ key: FIXTURE_APP.key, origin: FIXTURE_APP.origin, tenant: 'capture' }];

  it('closed loop: every request of the simulated sessions is accepted', async () => {
    const progress: LoadProgress[] = [];
    const report = await runLoad(
      {
        url: pharos.publicUrl,
        apps: apps(),
        concurrency: 4,
        sessions: 3,
        durationMs: 5_000,
        maxRequests: 120,
        gzipShare: 0.5,
        progressIntervalMs: 50,
      },
      { onProgress: (line) => progress.push(line) },
    );
    expect(report.stoppedBy).toBe('requests');
    expect(report.sent).toBe(120);
    expect(report.counts.completed).toBe(120);
    expect(report.counts.byStatus).toEqual({ '202': 120 });
    expect(report.counts.rateLimited429 + report.counts.unavailable503).toBe(0);
    expect(report.byTenant.capture?.accepted).toBe(120);
    expect(report.latencyMs.p99).toBeGreaterThan(0);
    expect(report.sessionsStarted).toBeGreaterThan(3); // 120 requests: sessions of 17 were replaced
    expect(progress.length).toBeGreaterThan(0);
  });

  it('open loop: holds a rate and counts from when each request was due', async () => {
    const report = await runLoad({
      url: pharos.publicUrl,
      apps: apps(),
      rate: 200,
      concurrency: 8,
      durationMs: 500,
      warmupMs: 100,
    });
    expect(report.mode).toBe('open-loop');
    expect(report.counts.accepted).toBe(report.counts.completed);
    // 500 ms at 200/s is 100 requests; allow for timer granularity and a busy test machine.
    expect(report.sent).toBeGreaterThan(50);
    expect(report.sent).toBeLessThanOrEqual(102);
  });

  it('counts refusals by status: an unknown key is 401', async () => {
    const report = await runLoad({
      url: pharos.publicUrl,
      apps: [{ key: 'unknown-key-0123456789' }],
      concurrency: 2,
      maxRequests: 10,
    });
    expect(report.counts.byStatus).toEqual({ '401': 10 });
    expect(report.counts.otherErrors).toBe(10);
    expect(report.acceptedRps).toBe(0);
  });

  it('refuses a target outside loopback unless told otherwise', async () => {
    await expect(checkTarget(new URL('http://192.0.2.1:12347'), false)).rejects.toThrow(
      /allow-remote/,
    );
    await expect(checkTarget(new URL('http://192.0.2.1:12347'), true)).resolves.toBeUndefined();
    await expect(checkTarget(new URL('http://localhost:1'), false)).resolves.toBeUndefined();
    await expect(checkTarget(new URL('ftp://127.0.0.1/'), false)).rejects.toThrow(/http/);
  });

  it('is a pharos command that prints its report as JSON', async () => {
    const program = new Command().exitOverride();
    registerLoadgen(program);
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => {
      printed.push(line);
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(
        [
          'loadgen',
          '--url',
          pharos.publicUrl,
          '--key',
          FIXTURE_APP.key,
          '--origin',
          FIXTURE_APP.origin,
          '--requests',
          '20',
          '--concurrency',
          '2',
          '--json',
        ],
        { from: 'user' },
      );
    } finally {
      log.mockRestore();
      stderr.mockRestore();
    }
    const report = JSON.parse(printed.join('\n')) as { counts: { accepted: number } };
    expect(report.counts.accepted).toBe(20);
  });

  it('as a command, refuses a remote target with a message and exit code 2', async () => {
    const program = new Command().exitOverride();
    registerLoadgen(program);
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['loadgen', '--url', 'http://192.0.2.1:1', '--key', 'k'], {
        from: 'user',
      });
      expect(process.exitCode).toBe(2);
    } finally {
      stderr.mockRestore();
      process.exitCode = undefined;
    }
    expect(written.join('')).toMatch(/^error: .*not loopback.*--allow-remote/m);
  });
});
