import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';

const SERIES = 5000;

describe('/metrics, streamed', () => {
  let pharos: TestPharos;

  beforeAll(async () => {
    pharos = await startTestPharos({ demo: { enabled: false } });
    // Thousands of tallied series, as 10,000 apps' web vitals make: written in many pieces.
    for (let i = 0; i < SERIES; i++) {
      pharos.metrics.httpDuration.labels('public', `/route-${i}`).observe(0.001);
    }
  });
  afterAll(() => pharos.stop());

  it('sends every series in chunks, and survives a scraper that hangs up halfway', async () => {
    // A scraper that times out: reads the first bytes of the answer, then closes the socket.
    const { port } = new URL(pharos.internalUrl);
    const firstBytes = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      });
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString('latin1'));
      });
      socket.once('error', reject);
    });
    expect(firstBytes).toMatch(/^HTTP\/1\.1 200/);
    expect(firstBytes.toLowerCase()).toContain('transfer-encoding: chunked');

    // The next scrape is whole: every series once, and the text ends as prom-client's does.
    const response = await request(`${pharos.internalUrl}/metrics`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.body.text();
    const counts = text
      .split('\n')
      .filter((line) => line.startsWith('pharos_http_request_duration_seconds_count{'));
    expect(counts).toHaveLength(SERIES);
    expect(text).toContain('pharos_build_info');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);

    const ready = await request(`${pharos.internalUrl}/-/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.text();
  });
});
