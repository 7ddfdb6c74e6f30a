/**
 * The bench's "limit": a bare Node `http` server that does the least any collector must do —
 * read the body (inflating it when it is gzip'd, as the SDK's `requestCompression` sends it),
 * parse the JSON and answer 202. Pharos is measured as a share of what this reaches on the same
 * core, in the same run.
 *
 *   node bench/servers/bare-server.mjs <port>
 *
 * Plain JavaScript on purpose: a measured process must not carry tsx's module loader (+34 MiB RSS).
 */
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-length': '2' });
    res.end('ok');
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let status = 202;
    try {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      JSON.parse(body.toString('utf8'));
    } catch {
      status = 400;
    }
    res.writeHead(status, { 'content-length': '0' });
    res.end();
  });
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
