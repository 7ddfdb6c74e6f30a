import { describe, expect, it } from 'vitest';
import { checkAddress } from './address-guard.js';

describe('checkAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '::1',
    '::ffff:127.0.0.1',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    'fc00::1',
    'fdff:ffff::1',
    '169.254.0.1',
    'fe80::1',
    'fe80::1%eth0',
    '169.254.169.254',
    'fd00:ec2::254',
    '168.63.129.16',
    '0.0.0.0',
    '::',
    '224.0.0.1',
    'ff02::1',
    '255.255.255.255',
    '100.64.0.1',
    '198.18.0.1',
    '192.0.2.1',
    '64:ff9b::a00:1',
    '2002:a00:1::',
    '2001:0:4136:e378::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(checkAddress(address, {}, true).allowed).toBe(false);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public %s',
    (address) => {
      expect(checkAddress(address, {}, false)).toEqual({ allowed: true });
    },
  );

  it('the test allowance opens exactly 127.0.0.1, and only when the URL named it', () => {
    const policy = { allowLoopbackForTests: true };
    expect(checkAddress('127.0.0.1', policy, true)).toEqual({ allowed: true });
    expect(checkAddress('127.0.0.1', policy, false).allowed).toBe(false);
    expect(checkAddress('127.0.0.2', policy, true).allowed).toBe(false);
    expect(checkAddress('::1', policy, true).allowed).toBe(false);
    expect(checkAddress('10.0.0.1', policy, true).allowed).toBe(false);
    expect(checkAddress('169.254.169.254', policy, true).allowed).toBe(false);
  });
});
