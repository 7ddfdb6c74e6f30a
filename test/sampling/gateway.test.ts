import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideSession } from '../../src/admission/sampling.js';
import { generateSessionId } from '../../packages/faro-remote-config/src/index.js';
import { startGateway, sumCounter, type Gateway } from '../idempotency/gateway.js';
import { faroPayload, postCollect } from '../idempotency/requests.js';

/** A session id the gateway keeps (or drops) at `rate`. */
function sessionThat(decision: 'keep' | 'drop', rate: number): string {
  for (;;) {
    const id = generateSessionId();
    if (decideSession(id, rate) === decision) return id;
  }
}

const ORIGIN = 'https://shop.example';

describe('session sampling on /collect', () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({
      apps: [
        { tenant: 'half', id: 'half-app', key: 'half-key-0123456789', samplingRate: 0.5 },
        { tenant: 'none', id: 'none-app', key: 'none-key-0123456789', samplingRate: 0 },
        { tenant: 'all', id: 'all-app', key: 'all-key-01234567890', samplingRate: 1 },
        {
          tenant: 'cors',
          id: 'cors-app',
          key: 'cors-key-0123456789',
          samplingRate: 0,
          allowedOrigins: [ORIGIN],
        },
      ],
    });
  });
  afterAll(() => gateway?.stop());

  const sampledOut = async (tenant: string, from: 'header' | 'body') =>
    sumCounter(await gateway.metricsText(), 'pharos_ingest_sampled_out_total', { tenant, from });

  it('drops a session from its x-faro-session-id header without reading the body', async () => {
    const dropped = sessionThat('drop', 0.5);
    // The body is not JSON: a read body would be refused with 400. A 202 proves it was not read.
    const answer = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
      sessionHeader: dropped,
      body: '{ not json',
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toBe('');
    expect(await sampledOut('half', 'header')).toBe(1);
    expect(await gateway.ingestedItems('half')).toBe(0);
  });

  it('reads, checks and ingests a kept session as usual', async () => {
    const kept = sessionThat('keep', 0.5);
    const invalid = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
      sessionHeader: kept,
      body: '{ not json',
    });
    expect(invalid.status).toBe(400);
    const valid = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
      sessionHeader: kept,
      payload: faroPayload({ sessionId: kept, events: 3 }),
    });
    expect(valid.status).toBe(202);
    expect(await gateway.ingestedItems('half')).toBe(3);
  });

  it('keeps or drops every batch of a session alike', async () => {
    const kept = sessionThat('keep', 0.5);
    const dropped = sessionThat('drop', 0.5);
    const before = await gateway.ingestedItems('half');
    for (let batch = 0; batch < 5; batch++) {
      for (const id of [kept, dropped]) {
        const answer = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
          sessionHeader: id,
          payload: faroPayload({ sessionId: id, events: 2 }),
        });
        expect(answer.status).toBe(202);
      }
    }
    expect((await gateway.ingestedItems('half')) - before).toBe(10);
  });

  it('decides from meta.session.id after parsing when the header is absent', async () => {
    const dropped = sessionThat('drop', 0.5);
    const kept = sessionThat('keep', 0.5);
    const before = await gateway.ingestedItems('half');
    const bodyBefore = await sampledOut('half', 'body');
    const droppedAnswer = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
      payload: faroPayload({ sessionId: dropped, events: 4 }),
    });
    expect(droppedAnswer.status).toBe(202);
    expect(await sampledOut('half', 'body')).toBe(bodyBefore + 1);
    const keptAnswer = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
      payload: faroPayload({ sessionId: kept, events: 4 }),
    });
    expect(keptAnswer.status).toBe(202);
    expect((await gateway.ingestedItems('half')) - before).toBe(4);
  });

  it('still refuses an invalid body on the body path (a session is only read from a valid payload)', async () => {
    const answer = await postCollect(gateway.publicUrl, 'half-key-0123456789', {
      body: JSON.stringify({ meta: { session: { id: sessionThat('drop', 0.5) } }, logs: 'x' }),
    });
    expect(answer.status).toBe(400);
  });

  it('keeps payloads without a session, even at rate 0', async () => {
    const answer = await postCollect(gateway.publicUrl, 'none-key-0123456789', {
      payload: faroPayload({ events: 2 }),
    });
    expect(answer.status).toBe(202);
    expect(await gateway.ingestedItems('none')).toBe(2);
  });

  it('drops every session at rate 0 and keeps every session at rate 1', async () => {
    for (let session = 0; session < 20; session++) {
      const id = generateSessionId();
      for (const key of ['none-key-0123456789', 'all-key-01234567890']) {
        const answer = await postCollect(gateway.publicUrl, key, {
          sessionHeader: id,
          payload: faroPayload({ sessionId: id }),
        });
        expect(answer.status).toBe(202);
      }
    }
    expect(await gateway.ingestedItems('none')).toBe(2); // the session-less batch above
    expect(await gateway.ingestedItems('all')).toBe(20);
    expect(await sampledOut('none', 'header')).toBe(20);
    expect(await sampledOut('all', 'header')).toBe(0);
  });

  it('answers a sampled-out batch with the CORS headers of an accepted one', async () => {
    const answer = await postCollect(gateway.publicUrl, 'cors-key-0123456789', {
      sessionHeader: generateSessionId(),
      origin: ORIGIN,
      payload: faroPayload(),
    });
    expect(answer.status).toBe(202);
    expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(answer.headers['access-control-expose-headers']).toContain('Retry-After');
  });

  it('still refuses an origin outside the app list before sampling', async () => {
    const answer = await postCollect(gateway.publicUrl, 'cors-key-0123456789', {
      sessionHeader: generateSessionId(),
      origin: 'https://evil.example',
      payload: faroPayload(),
    });
    expect(answer.status).toBe(403);
  });
});
