import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, uniquePrefix } from './redis.js';
import { IN_PROGRESS_CODE, startGateway, sumCounter, type Gateway } from './gateway.js';
import { faroPayload, postCollect, sdkIdempotencyKey } from './requests.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const APPS = [
  { tenant: 'alpha', id: 'alpha-app', key: 'alpha-key-0123456789' },
  { tenant: 'beta', id: 'beta-app', key: 'beta-key-01234567890' },
];

async function outcomes(gateway: Gateway, tenant: string, outcome: string): Promise<number> {
  return sumCounter(await gateway.metricsText(), 'pharos_idempotency_requests_total', {
    tenant,
    outcome,
  });
}

/**
 * Starts a POST whose body arrives in two parts; the second is sent by `finish`. Until then the
 * request is in progress at the gateway (it holds the claim while it reads the body).
 */
function slowPost(baseUrl: string, key: string, idempotencyKey: string, body: string) {
  const bytes = Buffer.from(body);
  const req = httpRequest(`${baseUrl}/collect/${key}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(bytes.length),
      'idempotency-key': idempotencyKey,
    },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
  });
  req.write(bytes.subarray(0, 10));
  return { answer, finish: () => req.end(bytes.subarray(10)) };
}

describe('Idempotency-Key on /collect (memory)', () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({ apps: APPS, idempotencyWindowMs: 600_000 });
  });
  afterAll(() => gateway?.stop());

  it('ingests a batch once when it is sent twice with the same key', async () => {
    const idempotencyKey = sdkIdempotencyKey();
    const payload = faroPayload({ events: 3 });
    const first = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      payload,
    });
    const retry = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      payload,
    });
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.body).toBe('');
    expect(await gateway.ingestedItems('alpha')).toBe(3);
    expect(await outcomes(gateway, 'alpha', 'new')).toBe(1);
    expect(await outcomes(gateway, 'alpha', 'duplicate')).toBe(1);
  });

  it('keeps the keys of different apps apart', async () => {
    const idempotencyKey = sdkIdempotencyKey();
    for (const app of APPS) {
      const answer = await postCollect(gateway.publicUrl, app.key, {
        idempotencyKey,
        payload: faroPayload({ events: 1 }),
      });
      expect(answer.status).toBe(202);
    }
    expect(await outcomes(gateway, 'beta', 'new')).toBe(1);
    expect(await outcomes(gateway, 'beta', 'duplicate')).toBe(0);
    expect(await gateway.ingestedItems('beta')).toBe(1);
  });

  it('releases the claim when the ingest fails, so that the retry is processed', async () => {
    const before = await gateway.ingestedItems('alpha');
    const idempotencyKey = sdkIdempotencyKey();
    const invalid = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      body: '{"meta":{},"logs":"not a list"}',
    });
    expect(invalid.status).toBe(400);
    const truncated = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      body: '{"meta":{},"events":[',
    });
    expect(truncated.status).toBe(400);
    const retry = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      payload: faroPayload({ events: 2 }),
    });
    expect(retry.status).toBe(202);
    expect((await gateway.ingestedItems('alpha')) - before).toBe(2);
  });

  it('answers 503 with Retry-After 1 to a retry that arrives while the first is in progress', async () => {
    const before = await gateway.ingestedItems('alpha');
    const idempotencyKey = sdkIdempotencyKey();
    const body = JSON.stringify(faroPayload({ events: 5 }));
    const newBefore = await outcomes(gateway, 'alpha', 'new');
    const first = slowPost(gateway.publicUrl, 'alpha-key-0123456789', idempotencyKey, body);
    // Wait until the first request holds the claim.
    for (let tries = 0; (await outcomes(gateway, 'alpha', 'new')) === newBefore; tries++) {
      if (tries > 200) throw new Error('the first request never claimed its key');
      await sleep(10);
    }
    const concurrent = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      body,
    });
    expect(concurrent.status).toBe(503);
    expect(concurrent.headers['retry-after']).toBe('1');
    expect((JSON.parse(concurrent.body) as { code: string }).code).toBe(IN_PROGRESS_CODE);

    first.finish();
    expect((await first.answer).status).toBe(202);
    // The SDK's retry after Retry-After: the batch is in, so it is answered 202 and skipped.
    const retry = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
      idempotencyKey,
      body,
    });
    expect(retry.status).toBe(202);
    expect((await gateway.ingestedItems('alpha')) - before).toBe(5);
  });

  it('ignores an invalid key: the batch is ingested, without deduplication, and counted', async () => {
    const before = await gateway.ingestedItems('beta');
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await postCollect(gateway.publicUrl, 'beta-key-01234567890', {
        idempotencyKey: 'a key with spaces',
        payload: faroPayload({ events: 1 }),
      });
      expect(answer.status).toBe(202);
    }
    expect((await gateway.ingestedItems('beta')) - before).toBe(2);
    expect(await outcomes(gateway, 'beta', 'invalid')).toBe(2);
  });

  it('ingests every request without a key (SDKs before 2.12 send none)', async () => {
    const before = await gateway.ingestedItems('beta');
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await postCollect(gateway.publicUrl, 'beta-key-01234567890', {
        payload: faroPayload({ events: 1 }),
      });
      expect(answer.status).toBe(202);
    }
    expect((await gateway.ingestedItems('beta')) - before).toBe(2);
    expect(await outcomes(gateway, 'beta', 'absent')).toBe(2);
  });
});

describe('Idempotency-Key window', () => {
  it('ingests the same key again once the window is over', async () => {
    const gateway = await startGateway({ apps: APPS, idempotencyWindowMs: 300 });
    try {
      const idempotencyKey = sdkIdempotencyKey();
      const send = () =>
        postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
          idempotencyKey,
          payload: faroPayload({ events: 1 }),
        });
      expect((await send()).status).toBe(202);
      expect((await send()).status).toBe(202);
      expect(await gateway.ingestedItems('alpha')).toBe(1);
      await sleep(350);
      expect((await send()).status).toBe(202);
      expect(await gateway.ingestedItems('alpha')).toBe(2);
    } finally {
      await gateway.stop();
    }
  });
});

describe('Idempotency-Key with Redis', () => {
  const prefix = uniquePrefix();
  afterAll(() => deletePrefix(prefix));

  it('deduplicates across two replicas sharing one Redis', async () => {
    const [replicaA, replicaB] = await Promise.all([
      startGateway({ apps: APPS, redis: { url: REDIS_URL, keyPrefix: prefix } }),
      startGateway({ apps: APPS, redis: { url: REDIS_URL, keyPrefix: prefix } }),
    ]);
    try {
      const idempotencyKey = sdkIdempotencyKey();
      const payload = faroPayload({ events: 2 });
      const first = await postCollect(replicaA.publicUrl, 'alpha-key-0123456789', {
        idempotencyKey,
        payload,
      });
      // The SDK's retry lands on the other replica (a load balancer does not care).
      const retry = await postCollect(replicaB.publicUrl, 'alpha-key-0123456789', {
        idempotencyKey,
        payload,
      });
      expect([first.status, retry.status]).toEqual([202, 202]);
      expect(await replicaA.ingestedItems('alpha')).toBe(2);
      expect(await replicaB.ingestedItems('alpha')).toBe(0);
      expect(await outcomes(replicaB, 'alpha', 'duplicate')).toBe(1);
      // And the other app's same key is still its own.
      const other = await postCollect(replicaB.publicUrl, 'beta-key-01234567890', {
        idempotencyKey,
        payload,
      });
      expect(other.status).toBe(202);
      expect(await replicaB.ingestedItems('beta')).toBe(2);
    } finally {
      await Promise.all([replicaA.stop(), replicaB.stop()]);
    }
  });

  it('keeps answering, deduplicating per replica in memory, when Redis is unreachable', async () => {
    const gateway = await startGateway({
      apps: APPS,
      redis: { url: 'redis://127.0.0.1:1', keyPrefix: prefix, connectTimeoutMs: 100 },
    });
    try {
      const idempotencyKey = sdkIdempotencyKey();
      for (let attempt = 0; attempt < 3; attempt++) {
        const answer = await postCollect(gateway.publicUrl, 'alpha-key-0123456789', {
          idempotencyKey,
          payload: faroPayload({ events: 1 }),
        });
        expect(answer.status).toBe(202);
      }
      expect(await gateway.ingestedItems('alpha')).toBe(1);
      const text = await gateway.metricsText();
      expect(sumCounter(text, 'pharos_idempotency_fallbacks_total')).toBeGreaterThan(0);
      expect(
        gateway.logged().filter((message) => /Redis is unreachable/.test(message)),
      ).toHaveLength(1);
    } finally {
      await gateway.stop();
    }
  });
});
