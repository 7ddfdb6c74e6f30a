import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Sender } from '../../src/model/index.js';
import { createMetricsSink, type MetricsSinkOptions } from '../../src/sinks/metrics/index.js';
import { acceptedBatch } from './batches.js';

export interface MetricsHarness {
  /** `127.0.0.1:<port>`: the scrape target, serving `/metrics`. */
  readonly target: string;
  readonly registry: Registry;
  /** Hands a Faro payload to the metrics sink as ingest would, once validated and admitted. */
  send(body: unknown, sender: Sender): void;
  close(): Promise<void>;
}

/**
 * The metrics sink behind a `/metrics` endpoint, until the sink is wired into Pharos: a
 * prom-client registry fed by the sink, served by node:http on a free loopback port. Once Pharos
 * serves the sink's metrics on its internal `/metrics`, `target` becomes the internal listener
 * and `send` a POST of the body to `/collect/<app key>`.
 */
export async function startMetricsHarness(options: MetricsSinkOptions): Promise<MetricsHarness> {
  const registry = new Registry();
  const sink = createMetricsSink(options, { registry, logger: pino({ level: 'silent' }) });
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    registry,
    send: (body, sender) => {
      const batch = acceptedBatch(body, sender);
      if (!sink.hasRoom(batch)) throw new Error('the metrics sink has no room');
      sink.offer(batch);
    },
    close: async () => {
      await sink.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
