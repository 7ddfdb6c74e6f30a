import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { faroPayload } from '../idempotency/requests.js';
import { UPSTREAM_HEADER } from './nginx.js';

/** One sender: an app key posting small Faro payloads at a fixed rate. */
export interface Stream {
  name: string;
  key: string;
  perSecond: number;
}

export interface StreamResult {
  name: string;
  sent: number;
  /** Answers by status; 0 counts requests that got no HTTP answer. */
  statuses: Map<number, number>;
  /** 202s by the replica (host:port) that answered them, as nginx reports it. */
  acceptedBy: Map<string, number>;
  /** Time of the first and the last send (ms, `performance.now()`). */
  firstSentAt: number;
  lastSentAt: number;
  /** A few transport errors and unexpected answers (not 202 nor 429), for the failure message. */
  errors: string[];
}

export const accepted = (result: StreamResult): number => result.statuses.get(202) ?? 0;

/** Answers other than 202, network failures included. */
export const refused = (result: StreamResult): number => result.sent - accepted(result);

export function describeResult(result: StreamResult): string {
  const statuses = [...result.statuses].map(([status, count]) => `${status}×${count}`).join(' ');
  const spread = [...result.acceptedBy].map(([upstream, count]) => `${upstream}:${count}`);
  return `${result.name}: sent ${result.sent} in ${((result.lastSentAt - result.firstSentAt) / 1000).toFixed(2)} s, ${statuses}; 202 by replica ${spread.join(' ')}${result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''}`;
}

/**
 * Open-loop load through `baseUrl`: each stream sends on its own schedule (request i at
 * i / perSecond seconds) whatever the answers and however long they take, for `durationMs`.
 * The schedule catches up after a stall of this process (timers on a busy machine fire late), so
 * the count sent is exact and the offered rate holds on average. Resolves once every answer is in.
 */
export async function drive(
  baseUrl: string,
  streams: readonly Stream[],
  durationMs: number,
): Promise<StreamResult[]> {
  const pool = new Pool(baseUrl, { connections: 128, keepAliveTimeout: 30_000 });
  const body = JSON.stringify(faroPayload());
  const results = streams.map((stream): StreamResult => ({
    name: stream.name,
    sent: 0,
    statuses: new Map(),
    acceptedBy: new Map(),
    firstSentAt: 0,
    lastSentAt: 0,
    errors: [],
  }));
  const inFlight = new Set<Promise<void>>();

  const send = async (stream: Stream, result: StreamResult) => {
    let status = 0;
    try {
      const response = await pool.request({
        path: `/collect/${stream.key}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      status = response.statusCode;
      if (status === 202 || status === 429) await response.body.dump();
      else if (result.errors.length < 5)
        result.errors.push(`${status} ${(await response.body.text()).slice(0, 300)}`);
      else await response.body.dump();
      const upstream = response.headers[UPSTREAM_HEADER];
      if (status === 202 && typeof upstream === 'string')
        result.acceptedBy.set(upstream, (result.acceptedBy.get(upstream) ?? 0) + 1);
    } catch (error) {
      if (result.errors.length < 5) result.errors.push(String(error));
    }
    result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
  };

  const started = performance.now();
  try {
    for (;;) {
      const now = performance.now();
      const elapsed = now - started;
      const last = elapsed >= durationMs;
      streams.forEach((stream, index) => {
        const result = results[index]!;
        // Requests due by now (the first one at 0), never past the end of the run.
        const due = Math.floor((Math.min(elapsed, durationMs) * stream.perSecond) / 1000) + 1;
        while (result.sent < due) {
          if (result.sent === 0) result.firstSentAt = now;
          result.lastSentAt = now;
          result.sent++;
          const pending = send(stream, result);
          inFlight.add(pending);
          void pending.finally(() => inFlight.delete(pending));
        }
      });
      if (last) break;
      await sleep(1);
    }
    await Promise.all(inFlight);
  } finally {
    await pool.close();
  }
  return results;
}
