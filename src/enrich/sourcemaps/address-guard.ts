import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /**
   * Tests only: allow connecting to exactly 127.0.0.1 when the URL names 127.0.0.1 literally.
   * Nothing else is relaxed: not other loopback addresses, not ::1, not a hostname that resolves
   * to 127.0.0.1, not private ranges. There is deliberately no switch that turns the guard off.
   */
  allowLoopbackForTests?: boolean;
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Cloud metadata and platform endpoints, named even where a range below already covers them, so
 * that a change of library classification can never open them: AWS/GCP/Azure/OpenStack
 * (169.254.169.254), ECS task metadata (169.254.170.2), AWS IPv6 (fd00:ec2::254), Alibaba
 * (100.100.100.200), Oracle (192.0.0.192), Azure WireServer (168.63.129.16, a public address).
 */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254',
  '169.254.170.2',
  'fd00:ec2::254',
  '100.100.100.200',
  '192.0.0.192',
  '168.63.129.16',
]);

/**
 * Whether Pharos may open a connection to this address for a download a browser payload asked
 * for. Only globally routable unicast passes: ipaddr.js classifies the special-purpose ranges
 * (loopback, private 10/8 172.16/12 192.168/16, unique-local fc00::/7, link-local 169.254/16 and
 * fe80::/10, unspecified, multicast, broadcast, carrier-grade NAT, documentation, benchmarking,
 * reserved) and anything not `unicast` is refused. IPv6 forms that embed an IPv4 address
 * (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::, 6to4, Teredo) are refused too: they may lead back
 * to a private IPv4 host.
 */
export function checkAddress(
  address: string,
  policy: AddressPolicy,
  urlNamedTheAddress: boolean,
): AddressVerdict {
  if (!ipaddr.isValid(address))
    return { allowed: false, reason: `${address} is not an IP address` };
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const normalised = parsed.toString();
  if (
    policy.allowLoopbackForTests === true &&
    urlNamedTheAddress &&
    parsed.kind() === 'ipv4' &&
    normalised === '127.0.0.1'
  )
    return { allowed: true };
  if (METADATA_ADDRESSES.has(normalised))
    return { allowed: false, reason: `${address} is a cloud metadata address` };
  const range = parsed.range();
  if (range !== 'unicast')
    return { allowed: false, reason: `${address} is not a public address (${range})` };
  return { allowed: true };
}
