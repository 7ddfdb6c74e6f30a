import { lookup } from 'node:dns/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { checkAddress, type AddressPolicy } from './address-guard.js';
import { TtlCache } from './ttl-cache.js';

/** One address a hostname resolves to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a hostname to every address it has (tests pass a fake: no DNS packet leaves). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Where the downloader connects: an address the guard has checked, never a hostname. */
export interface ConnectTarget {
  address: string;
  family: 4 | 6;
  port: number;
  tls: boolean;
  /** TLS server name (certificate check, SNI): the URL's hostname; undefined for IP literals. */
  servername: string | undefined;
}

/** Opens the socket (tests pass one that refuses anything but 127.0.0.1). */
export type Connector = (target: ConnectTarget) => Duplex;

export type DownloadFailure = 'refused' | 'failed' | 'too_large';

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly kind: DownloadFailure,
    message: string,
    /** The HTTP status, when the server answered with something other than 200 or a redirect. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface DownloadRequest {
  url: string;
  maxBytes: number;
  /** Checked on the first URL and on every redirect target (an origin allow-list). */
  isAllowedUrl: (url: URL) => boolean;
  /**
   * Names the allow-list (for example the app's origins, joined): requests with different
   * scopes never share a download or a remembered failure.
   */
  scope: string;
}

export interface Downloaded {
  body: Buffer;
  /** After redirects: what relative references in the body resolve against. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface DownloaderOptions extends AddressPolicy {
  /** Whole download, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /** How long a failed URL is answered from memory instead of being fetched again. */
  failureTtlMs: number;
  /** Most failed URLs remembered (oldest forgotten first). */
  maxRememberedFailures?: number;
  /**
   * Most downloads at once, all URLs together. Past it a download fails at once (and is not
   * remembered as failed): payloads naming many distinct URLs cannot make Pharos flood an
   * allowed origin, nor pile up waiting requests.
   */
  maxConcurrentDownloads?: number;
  resolve?: HostResolver;
  connect?: Connector;
  clock?: () => number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

const directConnector: Connector = (target) =>
  target.tls
    ? tls.connect({
        host: target.address,
        port: target.port,
        servername: target.servername,
        ALPNProtocols: ['http/1.1'],
      })
    : net.connect({ host: target.address, port: target.port });

/**
 * GETs scripts and source maps named by browser payloads, without becoming a way into the
 * network Pharos runs in (server-side request forgery):
 * - it resolves the hostname itself, checks every address (address-guard.ts), and connects to the
 *   checked address: there is no second lookup that could answer differently (DNS rebinding);
 * - redirects are followed by hand, at most `maxRedirects`, each target checked the same way and
 *   against the caller's allow-list;
 * - the body is capped in bytes (no decompression: it asks for identity) and the whole download in
 *   time;
 * - concurrent requests for one URL share one download; failures are remembered for a while;
 *   at most `maxConcurrentDownloads` run at once.
 */
export class SafeDownloader {
  private readonly options: DownloaderOptions;
  private readonly resolve: HostResolver;
  private readonly connect: Connector;
  private readonly inFlight = new Map<string, Promise<Downloaded>>();
  private readonly failures: TtlCache<DownloadError>;
  private readonly maxConcurrent: number;

  constructor(options: DownloaderOptions) {
    this.options = options;
    this.resolve = options.resolve ?? systemResolver;
    this.connect = options.connect ?? directConnector;
    this.failures = new TtlCache(options.maxRememberedFailures ?? 10_000, options.clock);
    this.maxConcurrent = options.maxConcurrentDownloads ?? 8;
  }

  get(request: DownloadRequest): Promise<Downloaded> {
    const key = `${request.scope}\n${request.maxBytes}\n${request.url}`;
    const failure = this.failures.get(key);
    if (failure) return Promise.reject(failure);
    let pending = this.inFlight.get(key);
    if (!pending) {
      if (this.inFlight.size >= this.maxConcurrent) {
        return Promise.reject(
          new DownloadError('failed', `${this.maxConcurrent} downloads already in progress`),
        );
      }
      pending = this.download(request)
        .catch((error: unknown) => {
          const failed =
            error instanceof DownloadError
              ? error
              : new DownloadError('failed', (error as Error).message);
          this.failures.set(key, failed, this.options.failureTtlMs);
          throw failed;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async download(request: DownloadRequest): Promise<Downloaded> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.timeoutMs);
    try {
      let url = parseHttpUrl(request.url);
      for (let redirects = 0; ; redirects++) {
        if (!request.isAllowedUrl(url))
          throw new DownloadError('refused', `${url.origin} is not on the allow-list`);
        const response = await this.fetchOnce(url, request.maxBytes, abort.signal);
        if (response.location === undefined) return { ...response, url: url.href };
        if (redirects >= this.options.maxRedirects)
          throw new DownloadError('failed', `more than ${this.options.maxRedirects} redirects`);
        url = parseHttpUrl(new URL(response.location, url).href);
      }
    } catch (error) {
      if (abort.signal.aborted && !(error instanceof DownloadError))
        throw new DownloadError('failed', `timed out after ${this.options.timeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves and checks the host, then one GET to the checked address. */
  private async fetchOnce(
    url: URL,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<{ body: Buffer; headers: IncomingHttpHeaders; location?: string }> {
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const literal = net.isIP(hostname);
    const addresses: ResolvedAddress[] =
      literal === 0
        ? await this.resolveHost(hostname, signal)
        : [{ address: hostname, family: literal === 6 ? 6 : 4 }];
    if (addresses.length === 0) throw new DownloadError('failed', `${hostname} has no address`);
    // Every address must pass, not only the one we would use: a name that also points inside is
    // refused whole (its owner controls which answer comes first).
    for (const { address } of addresses) {
      const verdict = checkAddress(address, this.options, literal !== 0);
      if (!verdict.allowed)
        throw new DownloadError('refused', `${url.host}: ${verdict.reason}; not downloaded`);
    }
    const target = addresses[0] as ResolvedAddress;
    const isTls = url.protocol === 'https:';
    const connectTarget: ConnectTarget = {
      address: target.address,
      family: target.family,
      port: url.port === '' ? (isTls ? 443 : 80) : Number(url.port),
      tls: isTls,
      servername: literal === 0 ? hostname : undefined,
    };
    return new Promise((resolve, reject) => {
      const request = http.request({
        method: 'GET',
        path: `${url.pathname}${url.search}`,
        headers: {
          host: url.host,
          accept: '*/*',
          'accept-encoding': 'identity',
          'user-agent': 'pharos-sourcemaps',
        },
        signal,
        // The socket goes to the checked address; http never resolves anything itself.
        createConnection: () => this.connect(connectTarget),
      });
      request.on('error', (error) =>
        reject(error instanceof DownloadError ? error : new DownloadError('failed', error.message)),
      );
      request.on('response', (response) => {
        const location = response.headers.location;
        if (REDIRECTS.has(response.statusCode ?? 0) && location !== undefined) {
          response.resume();
          request.destroy();
          resolve({ body: Buffer.alloc(0), headers: response.headers, location });
          return;
        }
        if (response.statusCode !== 200) {
          response.resume();
          request.destroy();
          reject(
            new DownloadError(
              'failed',
              `${url.href} answered HTTP ${response.statusCode}`,
              response.statusCode,
            ),
          );
          return;
        }
        readCapped(response, maxBytes).then(
          (body) => resolve({ body, headers: response.headers }),
          (error: unknown) => {
            request.destroy();
            reject(
              error instanceof DownloadError ? error : new DownloadError('failed', String(error)),
            );
          },
        );
      });
      request.end();
    });
  }

  private async resolveHost(hostname: string, signal: AbortSignal): Promise<ResolvedAddress[]> {
    try {
      return await Promise.race([
        this.resolve(hostname),
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        ),
      ]);
    } catch (error) {
      throw new DownloadError('failed', `cannot resolve ${hostname}: ${(error as Error).message}`);
    }
  }
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DownloadError('refused', `${JSON.stringify(text.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DownloadError('refused', `only http and https are downloaded (not ${url.protocol})`);
  if (url.username !== '' || url.password !== '')
    throw new DownloadError('refused', 'URLs with credentials are not downloaded');
  url.hash = '';
  return url;
}

function readCapped(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (declared > maxBytes) {
    response.resume();
    return Promise.reject(
      new DownloadError('too_large', `Content-Length ${declared} exceeds ${maxBytes} bytes`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    // Destroying the response emits 'aborted' at once: the first outcome is the one that counts.
    const fail = (error: DownloadError) => {
      if (settled) return;
      settled = true;
      reject(error);
      response.destroy();
    };
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes)
        fail(new DownloadError('too_large', `the body exceeds ${maxBytes} bytes`));
      else chunks.push(chunk);
    });
    response.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, received));
    });
    response.on('error', (error) => fail(new DownloadError('failed', error.message)));
    response.on('aborted', () => fail(new DownloadError('failed', 'the download was cut off')));
  });
}
