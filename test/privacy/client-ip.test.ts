import { request } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRequests, fixtureBody, replayHeaders } from '../helpers/fixtures.js';
import {
  FIXTURE_APP,
  apiGet,
  fixtureTenantConfig,
  startTestPharos,
  type TestPharos,
} from '../helpers/pharos.js';

/**
 * "Pharos never stores the client IP": the Faro SDK does not send it, and Pharos must not add it
 * (from the socket or from forwarding headers) to anything it stores or forwards. The requests
 * come from a loopback address that appears nowhere else (127.0.0.42), with every usual
 * forwarding header set to documentation addresses; none of them may show up in what was stored.
 */
const CLIENT_ADDRESS = '127.0.0.42';
const FORWARDED = {
  'x-forwarded-for': '203.0.113.77, 10.1.2.3',
  'x-real-ip': '198.51.100.23',
  forwarded: 'for=192.0.2.61;proto=https',
  'cf-connecting-ip': '2001:db8::4242',
  'true-client-ip': '192.0.2.199',
};
const ADDRESSES = [
  CLIENT_ADDRESS,
  '203.0.113.77',
  '10.1.2.3',
  '198.51.100.23',
  '192.0.2.61',
  '2001:db8::4242',
  '192.0.2.199',
];

function post(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, localAddress: CLIENT_ADDRESS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the client address is stored nowhere', () => {
  let dataDir: string;
  let pharos: TestPharos;
  let stored: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-client-ip-'));
    pharos = await startTestPharos(fixtureTenantConfig(), { dataDir });
    for (const captured of collectRequests.filter((c) => c.response.status === 202)) {
      const { wire } = fixtureBody(captured);
      const status = await post(
        `${pharos.publicUrl}${captured.path}`,
        { ...replayHeaders(captured), ...FORWARDED },
        wire,
      );
      expect(status, captured.file).toBe(202);
    }
    await pharos.flush();
    const kinds = ['logs', 'exceptions', 'measurements', 'events', 'spans'];
    const answers = await Promise.all(
      kinds.map((kind) =>
        apiGet<{ items: unknown[] }>(pharos, `/api/v1/apps/${FIXTURE_APP.app}/${kind}?limit=1000`),
      ),
    );
    stored = JSON.stringify(answers);
    await pharos.stop();
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the read API returns what was sent, without any client or forwarded address', () => {
    // Positive control: the items are there (session id, page URL of the capture).
    expect(stored).toContain('69tcByp4Jx');
    expect(stored).toContain('http://127.0.0.1:5600/s/main');
    for (const address of ADDRESSES) expect(stored, address).not.toContain(address);
  });

  it('no file Pharos wrote holds one (store, registry, spool, WAL)', () => {
    const files = filesUnder(dataDir);
    // Positive control: the scan reads stored text (a page URL of the capture is found).
    expect(
      files.some((file) => readFileSync(file).toString('latin1').includes('127.0.0.1:5600/s/main')),
    ).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file).toString('latin1');
      for (const address of ADDRESSES)
        expect(bytes.includes(address), `${address} in ${file}`).toBe(false);
    }
  });
});
