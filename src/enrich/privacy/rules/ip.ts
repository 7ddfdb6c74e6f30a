import { isIPv4, isIPv6 } from 'node:net';
import type { TextRule } from './types.js';

export const IP_MARKER = '[ip]';

const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)/g;
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:.])/gi;
const MAY_MATCH = /\d\.\d|:[0-9a-f]{0,4}:/i;

/**
 * IPv4 and IPv6 addresses in text become `[ip]` (validated, so `12:30:45` and version numbers
 * stay). Off by default: the addresses in browser telemetry are those of servers (URLs, span
 * `server.address`), which are worth keeping; the client's own address is never in a payload
 * unless the app puts it there.
 */
export const ipAddressRule: TextRule = {
  name: 'ipAddress',
  trigger: '\\d\\.\\d|:[0-9A-Fa-f]{0,4}:',
  mayMatch: (text) => MAY_MATCH.test(text),
  apply: (text) =>
    text
      .replace(IPV4, (match) => (isIPv4(match) ? IP_MARKER : match))
      .replace(IPV6_CANDIDATE, (match) => (isIPv6(match) ? IP_MARKER : match)),
};
