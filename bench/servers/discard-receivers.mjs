/**
 * Loki and OTLP receivers that throw away what they get, for the bench: reading the body and
 * answering is all they do, so they cost the machine as little as a backend can. (The strict
 * receivers in test/helpers decode and check every push; that is a test's job, not a bench's.)
 *
 *   node bench/servers/discard-receivers.mjs [port]
 *
 * Prints `listening <port>` once ready. `GET /stats` answers the pushes and bytes received.
 *
 * Plain JavaScript on purpose: a measured process must not carry tsx's module loader (+34 MiB RSS).
 */
import { createServer } from 'node:http';

const stats = { lokiPushes: 0, tracePushes: 0, otherRequests: 0, bytes: 0 };

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  req.on('data', (chunk) => (stats.bytes += chunk.length));
  req.on('end', () => {
    if (req.url?.startsWith('/loki/api/v1/push')) {
      stats.lokiPushes++;
      res.writeHead(204);
      res.end();
    } else if (req.url?.startsWith('/v1/traces')) {
      stats.tracePushes++;
      // An empty ExportTraceServiceResponse: no partial success to report.
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
      res.end();
    } else {
      stats.otherRequests++;
      res.writeHead(404, { 'content-length': '0' });
      res.end();
    }
  });
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
