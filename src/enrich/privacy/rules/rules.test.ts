import { describe, expect, it } from 'vitest';
import { creditCardRule, isCardNumber, isCardNumberValue, passesLuhn } from './card.js';
import { emailRule } from './email.js';
import { ipAddressRule } from './ip.js';
import { DEFAULT_QUERY_PARAMS, createQueryParamRule } from './query-params.js';
import { bearerRule, jwtRule } from './tokens.js';
import type { TextRule } from './types.js';

/** What the rule makes of a text, going through its precheck as the policy does. */
const run = (rule: TextRule, text: string) => (rule.mayMatch(text) ? rule.apply(text) : text);

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('the email rule', () => {
  it.each([
    ['alice@example.com', '[email]'],
    ['mail a.b+tag@mail.example.co.uk.', 'mail [email].'],
    ['https://x.example/?next=alice@example.com&a=1', 'https://x.example/?next=[email]&a=1'],
    ['?email=alice%40example.com', '?email=[email]'],
    ['bob@example.com,carol@example.org', '[email],[email]'],
    ['<ALICE@EXAMPLE.COM>', '<[email]>'],
  ])('%j → %j', (input, expected) => expect(run(emailRule, input)).toBe(expected));

  it.each([
    'icon@2x.png',
    'node_modules/@grafana/faro-core/src/x.ts',
    'https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js',
    '@example.com',
    'root@localhost',
    'x@@y',
    'no at sign here',
  ])('leaves %j alone', (input) => expect(run(emailRule, input)).toBe(input));

  it('is linear on hostile input', () => {
    const started = performance.now();
    emailRule.apply(`${'a'.repeat(1_000_000)}@`);
    emailRule.apply('a%40'.repeat(250_000));
    emailRule.apply('a@'.repeat(500_000));
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('the card rule', () => {
  it.each([
    ['4111 1111 1111 1111', '[card]'],
    ['paid with 4111-1111-1111-1111.', 'paid with [card].'],
    ['5500005555555559', '[card]'],
    ['amex 3782 822463 10005', 'amex [card]'],
    ['card=6011111111111117&x=1', 'card=[card]&x=1'],
    ['2223000048400011', '[card]'],
  ])('%j → %j', (input, expected) => expect(run(creditCardRule, input)).toBe(expected));

  it.each([
    // Luhn fails: order and invoice numbers stay.
    'order 4111111111111112',
    'invoice 4111-1111-1111-1112',
    // Luhn passes but no card starts with 1 (or 0, 7, 8, 9): timestamps stay.
    'at 1795573543396',
    'start 1795573543520000000',
    '0000000000000000',
    // Too short, too long, or part of a longer token.
    '411111111111',
    '41111111111111111111',
    'trace f4111111111111111a',
    // Faro web-vitals ids: a timestamp and a random 13-digit number, joined by a dash.
    'v6-1795573534838-2238538939245',
    'v6-1795573534838-4222222222222',
    // A dash or space where no card layout has one.
    '4111-11111111-1111',
  ])('leaves %j alone', (input) => expect(run(creditCardRule, input)).toBe(input));

  it('checks Luhn and the issuer digit', () => {
    expect(passesLuhn('79927398713')).toBe(true);
    expect(passesLuhn('79927398710')).toBe(false);
    expect(isCardNumber('1234 5678 9012 3452')).toBe(false);
    // Prefix and length of a network: 13-digit Visa is no longer issued; Amex has 15 digits.
    expect(isCardNumber('4222222222222')).toBe(false);
    expect(isCardNumber('378282246310005')).toBe(true);
    expect(isCardNumber('3782822463100003')).toBe(false);
    expect(isCardNumber('30569309025904')).toBe(true);
    expect(isCardNumber('2720999999999996')).toBe(true);
    expect(isCardNumber('2721000000000004')).toBe(false);
    expect(isCardNumberValue(4111111111111111)).toBe(true);
    expect(isCardNumberValue('4111111111111111')).toBe(true);
    expect(isCardNumberValue(1795573543396)).toBe(false);
    expect(isCardNumberValue(42)).toBe(false);
  });
});

describe('the JWT and bearer rules', () => {
  it('replaces JSON Web Tokens anywhere in text', () => {
    expect(run(jwtRule, `token=${JWT}&x=1`)).toBe('token=[jwt]&x=1');
    expect(run(jwtRule, `"${JWT}"`)).toBe('"[jwt]"');
    expect(run(jwtRule, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.')).toBe('[jwt]');
    expect(run(jwtRule, 'keyJump.x.y and eyJonly')).toBe('keyJump.x.y and eyJonly');
  });

  it('replaces bearer credentials but not the word', () => {
    expect(run(bearerRule, 'Authorization: Bearer 0a1b2c3d4e5f')).toBe(
      'Authorization: Bearer [token]',
    );
    expect(run(bearerRule, 'bearer abcdefghijklmnopqrstuvwxyz')).toBe('bearer [token]');
    expect(run(bearerRule, 'BEARER ghp_16C7e42F292c6912E7710c838347Ae178B4a')).toBe(
      'BEARER [token]',
    );
    expect(run(bearerRule, 'Bearer authentication failed')).toBe('Bearer authentication failed');
  });

  it('is linear on hostile input', () => {
    const started = performance.now();
    jwtRule.apply('eyJ'.repeat(300_000));
    jwtRule.apply('eyJa.'.repeat(300_000));
    bearerRule.apply('bearer '.repeat(200_000));
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('the query parameter rule', () => {
  const rule = createQueryParamRule(DEFAULT_QUERY_PARAMS);

  it.each([
    ['https://x.example/cb?code=abc&next=%2F', 'https://x.example/cb?next=%2F'],
    ['https://x.example/cb?code=abc', 'https://x.example/cb'],
    [
      'https://x.example/#access_token=xyz&token_type=bearer',
      'https://x.example/#token_type=bearer',
    ],
    ['https://x.example/a?b=2&TOKEN=1&token=2#frag', 'https://x.example/a?b=2#frag'],
    ['GET /api/cart?api_key=k1&id=7 failed', 'GET /api/cart?id=7 failed'],
    ['https://x.example/#/route?sid=1&page=2', 'https://x.example/#/route?page=2'],
    ['https://x.example/a?debug&password', 'https://x.example/a?debug'],
  ])('%j → %j', (input, expected) => expect(run(rule, input)).toBe(expected));

  it.each([
    'Why? Because.',
    'https://x.example/?keyboard=1&monkey=2',
    'https://x.example/?item=book',
    'token=abc without a URL',
  ])('leaves %j alone', (input) => expect(run(rule, input)).toBe(input));

  it('takes its own list, case-insensitively', () => {
    const custom = createQueryParamRule(['Ref']);
    expect(run(custom, 'https://x.example/?ref=mail&token=1')).toBe('https://x.example/?token=1');
  });
});

describe('the IP address rule (off by default)', () => {
  it('replaces valid IPv4 and IPv6 addresses only', () => {
    expect(run(ipAddressRule, 'client 203.0.113.7, ::1 and fe80::1ff:fe23:4567:890a')).toBe(
      'client [ip], [ip] and [ip]',
    );
    expect(run(ipAddressRule, 'http://127.0.0.1:5600/s/main')).toBe('http://[ip]:5600/s/main');
    expect(run(ipAddressRule, 'at 12:30:45, v1.2.3.4.5, 999.1.1.1, std::vector')).toBe(
      'at 12:30:45, v1.2.3.4.5, 999.1.1.1, std::vector',
    );
  });
});
