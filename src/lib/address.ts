/** A listen address, `host:port`. IPv6 hosts are written in brackets: `[::1]:12347`. */
export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(value: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? (match[2] || '0.0.0.0');
  return { host, port };
}

export function formatListenAddress({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The URL a browser on this machine would use to reach a listener bound to `address`. */
export function localUrl(address: ListenAddress): string {
  const wildcard = address.host === '0.0.0.0' || address.host === '::' || address.host === '';
  const host = wildcard ? '127.0.0.1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
