import { describe, expect, it } from 'vitest';
import type { FaroMeta, FaroPayload } from '../../model/index.js';
import { readFixtureJson } from '../../../test/helpers/fixtures.js';
import { collectRequests, fixtureBody } from '../../../test/helpers/fixtures.js';
import { exceptionHash, mergeKeyVals, metaKeyVals } from './keyvals.js';
import {
  formatPayloadLines,
  itemKeyVals,
  lokiItems,
  renderLine,
  type LokiLineFormat,
  type TrailingKeys,
} from './lines.js';

/**
 * Golden lines. The expected strings are Alloy's own test expectations (`exporters_test.go`,
 * reference §4.5) and lines of the real SDK captures checked by hand against the reference and
 * cross-checked with Go's fmt, time, encoding/json and go-logfmt.
 */

const lines = (payload: FaroPayload, format: LokiLineFormat = 'logfmt'): string[] =>
  formatPayloadLines(payload, format).map((line) => line.line);

const fixture = (name: string): FaroPayload => readFixtureJson(name) as FaroPayload;

const NOW = '2021-09-30T10:46:17.680Z';
const TRACE = { trace_id: 'a363d4f4417aa83158c437febd2d8838', span_id: '42876ecc4c1feafa' };
const FRAMES = [
  {
    function: '?',
    filename: 'http://fe:3002/static/js/vendors~main.chunk.js',
    lineno: 8639,
    colno: 42,
    in_app: true,
  },
  {
    function: 'dispatchAction',
    filename: 'http://fe:3002/static/js/vendors~main.chunk.js',
    lineno: 268095,
    colno: 9,
    in_app: true,
  },
];

/** `testdata/payload.json` of Alloy's receiver tests. */
const ALLOY_TEST_META: FaroMeta = {
  sdk: { name: 'grafana-frontend-agent', version: '1.0.0' },
  app: { name: 'testapp', release: '0.8.2', version: 'abcdefg', environment: 'production' },
  user: {
    username: 'domasx2',
    id: '123',
    email: 'geralt@kaermorhen.org',
    attributes: { foo: 'bar' },
  },
  session: { id: 'abcd', attributes: { time_elapsed: '100s' } },
  page: { url: 'https://example.com/page' },
  browser: {
    name: 'chrome',
    version: '88.12.1',
    os: 'linux',
    mobile: false,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    language: 'en-US',
    viewportWidth: '1920',
    viewportHeight: '1080',
  },
  view: { name: 'foobar' },
};
const ALLOY_TEST_META_SUFFIX =
  'sdk_name=grafana-frontend-agent sdk_version=1.0.0 app_name=testapp app_release=0.8.2 app_version=abcdefg app_environment=production user_email=geralt@kaermorhen.org user_id=123 user_username=domasx2 user_attr_foo=bar session_id=abcd session_attr_time_elapsed=100s page_url=https://example.com/page browser_name=chrome browser_version=88.12.1 browser_os=linux browser_mobile=false browser_userAgent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" browser_language=en-US browser_viewportWidth=1920 browser_viewportHeight=1080 view_name=foobar';

describe('Alloy worked examples (reference §4.5, exporters_test.go)', () => {
  it('log, with the meta suffix of Alloy testdata', () => {
    const payload: FaroPayload = {
      meta: ALLOY_TEST_META,
      logs: [
        {
          message: 'opened pricing page',
          level: 'info',
          context: { component: 'AppRoot', page: 'Pricing' },
          timestamp: NOW,
          trace: { trace_id: 'abcd', span_id: 'def' },
        },
      ],
    };
    expect(lines(payload)).toEqual([
      `timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=log message="opened pricing page" level=info context_component=AppRoot context_page=Pricing traceID=abcd spanID=def ${ALLOY_TEST_META_SUFFIX}`,
    ]);
  });

  it('exception, with context sorted byte-wise (uppercase first) and the XXH3 hash', () => {
    const payload: FaroPayload = {
      meta: ALLOY_TEST_META,
      exceptions: [
        {
          type: 'Error',
          value: "Cannot read property 'find' of undefined",
          stacktrace: { frames: FRAMES },
          timestamp: NOW,
          trace: { trace_id: 'abcd', span_id: 'def' },
          context: { component: 'ReactErrorBoundary', ReactError: 'Annoying Error' },
        },
      ],
    };
    expect(lines(payload)).toEqual([
      `timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=exception type=Error value="Cannot read property 'find' of undefined" stacktrace="Error: Cannot read property 'find' of undefined\\n  at ? (http://fe:3002/static/js/vendors~main.chunk.js:8639:42)\\n  at dispatchAction (http://fe:3002/static/js/vendors~main.chunk.js:268095:9)" hash=2735541995122471342 context_ReactError="Annoying Error" context_component=ReactErrorBoundary traceID=abcd spanID=def ${ALLOY_TEST_META_SUFFIX}`,
    ]);
  });

  it('log, logfmt and json, with meta {} (browser_mobile is always there)', () => {
    const payload: FaroPayload = {
      logs: [
        {
          message: 'React Router Future Flag Warning',
          level: 'info',
          timestamp: NOW,
          trace: TRACE,
        },
      ],
    };
    expect(lines(payload)).toEqual([
      'timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=log message="React Router Future Flag Warning" level=info traceID=a363d4f4417aa83158c437febd2d8838 spanID=42876ecc4c1feafa browser_mobile=false',
    ]);
    expect(lines(payload, 'json')).toEqual([
      '{"browser_mobile":"false","kind":"log","level":"info","message":"React Router Future Flag Warning","spanID":"42876ecc4c1feafa","timestamp":"2021-09-30 10:46:17.68 +0000 UTC","traceID":"a363d4f4417aa83158c437febd2d8838"}',
    ]);
  });

  it('exception, logfmt and json', () => {
    const payload: FaroPayload = {
      exceptions: [
        {
          type: 'Error',
          value: "Cannot read property 'find' of undefined",
          timestamp: NOW,
          stacktrace: { frames: FRAMES },
        },
      ],
    };
    expect(lines(payload)).toEqual([
      `timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=exception type=Error value="Cannot read property 'find' of undefined" stacktrace="Error: Cannot read property 'find' of undefined\\n  at ? (http://fe:3002/static/js/vendors~main.chunk.js:8639:42)\\n  at dispatchAction (http://fe:3002/static/js/vendors~main.chunk.js:268095:9)" hash=2735541995122471342 browser_mobile=false`,
    ]);
    expect(lines(payload, 'json')).toEqual([
      `{"browser_mobile":"false","hash":"2735541995122471342","kind":"exception","stacktrace":"Error: Cannot read property 'find' of undefined\\n  at ? (http://fe:3002/static/js/vendors~main.chunk.js:8639:42)\\n  at dispatchAction (http://fe:3002/static/js/vendors~main.chunk.js:268095:9)","timestamp":"2021-09-30 10:46:17.68 +0000 UTC","type":"Error","value":"Cannot read property 'find' of undefined"}`,
    ]);
  });

  it('measurement, logfmt and json: each value as %f and as value_* (shortest)', () => {
    const payload: FaroPayload = {
      measurements: [
        {
          type: 'sum',
          values: { ttfp: 20.12, ttfcp: 22.12, ttfb: 14 },
          timestamp: NOW,
          trace: TRACE,
          context: { host: 'localhost' },
        },
      ],
    };
    expect(lines(payload)).toEqual([
      'timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=measurement type=sum ttfb=14.000000 ttfcp=22.120000 ttfp=20.120000 traceID=a363d4f4417aa83158c437febd2d8838 spanID=42876ecc4c1feafa context_host=localhost value_ttfb=14 value_ttfcp=22.12 value_ttfp=20.12 browser_mobile=false',
    ]);
    expect(lines(payload, 'json')).toEqual([
      '{"browser_mobile":"false","context_host":"localhost","kind":"measurement","spanID":"42876ecc4c1feafa","timestamp":"2021-09-30 10:46:17.68 +0000 UTC","traceID":"a363d4f4417aa83158c437febd2d8838","ttfb":"14.000000","ttfcp":"22.120000","ttfp":"20.120000","type":"sum","value_ttfb":14,"value_ttfcp":22.12,"value_ttfp":20.12}',
    ]);
  });

  it('event, logfmt and json', () => {
    const payload: FaroPayload = {
      events: [
        {
          name: 'click_login_button',
          domain: 'frontend',
          attributes: { button_name: 'login' },
          timestamp: NOW,
          trace: TRACE,
        },
      ],
    };
    expect(lines(payload)).toEqual([
      'timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=event event_name=click_login_button event_domain=frontend event_data_button_name=login traceID=a363d4f4417aa83158c437febd2d8838 spanID=42876ecc4c1feafa browser_mobile=false',
    ]);
    expect(lines(payload, 'json')).toEqual([
      '{"browser_mobile":"false","event_data_button_name":"login","event_domain":"frontend","event_name":"click_login_button","kind":"event","spanID":"42876ecc4c1feafa","timestamp":"2021-09-30 10:46:17.68 +0000 UTC","traceID":"a363d4f4417aa83158c437febd2d8838"}',
    ]);
  });
});

describe('XXH3 hash of the exception value', () => {
  it("reproduces Alloy's test vector", () => {
    expect(exceptionHash("Cannot read property 'find' of undefined")).toBe('2735541995122471342');
  });
  it('hashes the empty string too (Alloy always writes hash)', () => {
    expect(exceptionHash('')).toBe('3244421341483603138');
  });
});

/** The meta suffix of every line of the real SDK 2.12 captures (the main scenario). */
const CAPTURE_META_SUFFIX =
  'sdk_name=faro-web sdk_version=2.12.1 app_name=capture-app app_namespace=faro-capture app_release=r42 app_version=1.2.3 app_environment=test user_email=alice@example.com user_id=u-123 user_username=alice user_attr_plan=pro session_id=69tcByp4Jx session_attr_tenant=acme page_url=http://127.0.0.1:5600/s/main page_attr_section=shop browser_name="Chrome Headless" browser_version=156.0.0.0 browser_os="Linux unknown" browser_mobile=false browser_userAgent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36" browser_language=en-US browser_viewportWidth=1280 browser_viewportHeight=720 view_name=home';

describe('lines of the real Faro SDK 2.12 captures', () => {
  it('fixture 02: two logs, then the exception with its rendered stacktrace', () => {
    expect(lines(fixture('02-main-console--log_info+log_warn+exc_Error.json'))).toEqual([
      `timestamp="2026-11-25 02:25:37.597 +0000 UTC" kind=log message="console.info message 42" level=info ${CAPTURE_META_SUFFIX}`,
      `timestamp="2026-11-25 02:25:37.598 +0000 UTC" kind=log message="console.warn message [object Object]" level=warn ${CAPTURE_META_SUFFIX}`,
      `timestamp="2026-11-25 02:25:37.598 +0000 UTC" kind=exception type=Error value="console.error: console.error message second-arg" stacktrace="Error: console.error: console.error message second-arg\\n  at ? (http://127.0.0.1:5600/dist/app.min.js:31:2613)\\n  at ? (http://127.0.0.1:5600/dist/app.min.js:2:153104)\\n  at Array.forEach (<anonymous>:0:0)\\n  at Yn.notify (http://127.0.0.1:5600/dist/app.min.js:2:153093)\\n  at console.<computed> [as error] (http://127.0.0.1:5600/dist/app.min.js:31:833)\\n  at Object.NK [as consoleCalls] (http://127.0.0.1:5600/dist/app.min.js:32:1676)\\n  at eval (http://127.0.0.1:5600/s/main:370:30)\\n  at UtilityScript.evaluate (<anonymous>:372:16)\\n  at UtilityScript.<anonymous> (<anonymous>:1:44)" hash=12202521988264353129 ${CAPTURE_META_SUFFIX}`,
    ]);
  });

  it('fixture 01: web-vitals measurements (sorted values, %f, shortest value_*, sorted context) before events', () => {
    const all = lines(
      fixture(
        '01-main-page-load--ev_session_start+ev_faro.performance.navigation+webvital_fcp+webvital_ttfb.json',
      ),
    );
    expect(all).toHaveLength(4);
    expect(all[0]).toBe(
      `timestamp="2026-11-25 02:25:35.046 +0000 UTC" kind=measurement type=web-vitals delta=284.000000 fcp=284.000000 first_byte_to_fcp=232.300000 time_to_first_byte=51.700000 context_id=v6-1795573534835-7907874007323 context_load_state=loading context_navigation_entry_id=unknown context_navigation_type=navigate context_rating=good value_delta=284 value_fcp=284 value_first_byte_to_fcp=232.30000000004657 value_time_to_first_byte=51.699999999953434 ${CAPTURE_META_SUFFIX}`,
    );
    expect(all[2]).toBe(
      `timestamp="2026-11-25 02:25:34.866 +0000 UTC" kind=event event_name=session_start event_domain=browser ${CAPTURE_META_SUFFIX}`,
    );
    // The navigation event: attributes sorted byte-wise (uppercase-insensitive order would differ), then the trace.
    expect(all[3]).toMatch(
      /^timestamp="2026-11-25 02:25:34.439 \+0000 UTC" kind=event event_name=faro\.performance\.navigation event_domain=browser event_data_cacheHitStatus=fullLoad event_data_decodedBodySize=1112 event_data_dnsLookupTime=0 .* event_data_visibilityState=visible traceID=4bf92f3577b34da6a3ce929d0e0e4736 spanID=00f067aa0ba902b7 sdk_name=faro-web /,
    );
  });

  it('fixture 04: a log with context (context keys sorted, values unquoted)', () => {
    expect(lines(fixture('04-main-pushLog--log_log+log_info.json'))[1]).toBe(
      `timestamp="2026-11-25 02:25:39.026 +0000 UTC" kind=log message="pushLog with context and level" level=info context_items=3 context_orderId=o-1 ${CAPTURE_META_SUFFIX}`,
    );
  });

  it('fixture 09: a custom measurement, logfmt and json', () => {
    const payload = fixture('09-main-pushMeasurement--meas_cart_metrics.json');
    expect(lines(payload)).toEqual([
      `timestamp="2026-11-25 02:25:42.564 +0000 UTC" kind=measurement type=cart_metrics cart_value=123.450000 item_count=3.000000 context_currency=EUR context_route=/checkout value_cart_value=123.45 value_item_count=3 ${CAPTURE_META_SUFFIX}`,
    ]);
    expect(lines(payload, 'json')).toEqual([
      '{"app_environment":"test","app_name":"capture-app","app_namespace":"faro-capture","app_release":"r42","app_version":"1.2.3","browser_language":"en-US","browser_mobile":"false","browser_name":"Chrome Headless","browser_os":"Linux unknown","browser_userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36","browser_version":"156.0.0.0","browser_viewportHeight":"720","browser_viewportWidth":"1280","cart_value":"123.450000","context_currency":"EUR","context_route":"/checkout","item_count":"3.000000","kind":"measurement","page_attr_section":"shop","page_url":"http://127.0.0.1:5600/s/main","sdk_name":"faro-web","sdk_version":"2.12.1","session_attr_tenant":"acme","session_id":"69tcByp4Jx","timestamp":"2026-11-25 02:25:42.564 +0000 UTC","type":"cart_metrics","user_attr_plan":"pro","user_email":"alice@example.com","user_id":"u-123","user_username":"alice","value_cart_value":123.45,"value_item_count":3,"view_name":"home"}',
    ]);
  });

  it('leaves out the meta fields Alloy lacks (bundleId, gitHash, os, brands)', () => {
    const line = lines(fixture('08-main-pushEvent--ev_checkout_started.json'))[0] ?? '';
    expect(line).not.toMatch(/bundleId|gitHash|os_name|brands|Not:A-Brand/);
    expect(line).toContain('event_data_item=book event_data_premium=true event_data_qty=2 ');
  });
});

describe('Alloy KeyVal rules', () => {
  it('emits all logs, then exceptions, then measurements, then events', () => {
    const payload: FaroPayload = {
      events: [{ name: 'e' }],
      measurements: [{ type: 'm', values: { v: 1 } }],
      exceptions: [{ type: 'X', value: 'x' }],
      logs: [{ message: 'l1' }, { message: 'l2' }],
    };
    expect(formatPayloadLines(payload, 'logfmt').map((line) => line.item.kind)).toEqual([
      'log',
      'log',
      'exception',
      'measurement',
      'event',
    ]);
  });

  it('skips empty strings, also in maps, and prints the zero time when there is no timestamp', () => {
    const payload: FaroPayload = {
      meta: { app: { name: '', environment: 'prod' }, page: { url: '' } },
      logs: [
        {
          message: '',
          level: 'info',
          context: { a: '', b: 'x' },
          trace: { trace_id: '', span_id: 's' },
        },
      ],
    };
    expect(lines(payload)).toEqual([
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=log level=info context_b=x spanID=s app_environment=prod browser_mobile=false',
    ]);
  });

  it('a measurement value named like an earlier key overwrites it in place; a meta key overwrites in place too', () => {
    const payload: FaroPayload = {
      meta: { browser: { mobile: true } },
      measurements: [
        {
          type: 'custom',
          values: { type: 1, kind: 2, browser_mobile: 3, zeta: 0.5 },
          trace: { trace_id: 't', span_id: 's' },
        },
      ],
    };
    expect(lines(payload)).toEqual([
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=2.000000 type=1.000000 browser_mobile=true zeta=0.500000 traceID=t spanID=s value_browser_mobile=3 value_kind=2 value_type=1 value_zeta=0.5',
    ]);
    expect(lines(payload, 'json')).toEqual([
      '{"browser_mobile":"true","kind":"2.000000","spanID":"s","timestamp":"0001-01-01 00:00:00 +0000 UTC","traceID":"t","type":"1.000000","value_browser_mobile":3,"value_kind":2,"value_type":1,"value_zeta":0.5,"zeta":"0.500000"}',
    ]);
  });

  it('sorts map keys byte-wise: uppercase before lowercase, astral after U+FFxx', () => {
    const payload: FaroPayload = {
      events: [
        {
          name: 'sort',
          attributes: { b: '1', B: '2', a: '3', _: '4', '\uffee': '5', '\u{1d538}': '6', é: '7' },
        },
      ],
    };
    expect(lines(payload)[0]).toBe(
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=event event_name=sort event_data_B=2 event_data__=4 event_data_a=3 event_data_b=1 event_data_é=7 event_data_\uffee=5 event_data_\u{1d538}=6 browser_mobile=false',
    );
  });

  it('stacktrace: module prefix, missing numbers as 0, empty function, and ": " with no type or value', () => {
    const payload: FaroPayload = {
      exceptions: [
        {
          stacktrace: {
            frames: [{}, { module: 'mod', function: 'f', filename: 'x.js', lineno: -1, colno: 7 }],
          },
        },
      ],
    };
    expect(lines(payload)[0]).toBe(
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=exception stacktrace=": \\n  at  (:0:0)\\n  at f (mod|x.js:-1:7)" hash=3244421341483603138 browser_mobile=false',
    );
  });

  it('meta: integrations joined, attributes sorted, viewport numbers in string form, view last', () => {
    const payload: FaroPayload = {
      meta: {
        sdk: {
          name: 'faro',
          version: '2',
          integrations: [
            { name: '@grafana/faro-web-sdk:instrumentation-errors', version: '1.2.3' },
            { name: 'x' },
          ],
        },
        user: { attributes: { z: '1', a: '2' } },
        session: { id: 's1', attributes: { k: 'v' } },
        page: { id: 'p1', url: 'https://e.com/a?b=c&d=<e>', attributes: { q: 'r' } },
        browser: { viewportWidth: 1280, viewportHeight: '720', mobile: false },
        view: { name: 'home' },
        os: { name: 'Linux' },
      },
      events: [{ name: 'm' }],
    };
    expect(lines(payload)[0]).toBe(
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=event event_name=m sdk_name=faro sdk_version=2 sdk_integrations=@grafana/faro-web-sdk:instrumentation-errors:1.2.3,x: user_attr_a=2 user_attr_z=1 session_id=s1 session_attr_k=v page_id=p1 page_url="https://e.com/a?b=c&d=<e>" page_attr_q=r browser_mobile=false browser_viewportWidth=1280 browser_viewportHeight=720 view_name=home',
    );
    // JSON escapes & < > in page_url (HTML-safe).
    expect(lines(payload, 'json')[0]).toContain(
      '"page_url":"https://e.com/a?b=c\\u0026d=\\u003ce\\u003e"',
    );
  });

  it('quotes and escapes values and sanitises keys as go-logfmt does', () => {
    const payload: FaroPayload = {
      logs: [
        {
          message: 'say "hi"\n\tnow',
          level: 'null',
          context: { 'my key': 'a=b', 'q"': 'back\\slash', del: 'x\u007f' },
        },
      ],
    };
    expect(lines(payload)[0]).toBe(
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=log message="say \\"hi\\"\\n\\tnow" level="null" context_del="x\\u007f" context_mykey="a=b" context_q=back\\slash browser_mobile=false',
    );
  });

  it('appends trailing keys after the meta, skipping empty values and setting existing keys in place', () => {
    const payload: FaroPayload = {
      meta: { app: { name: 'shop' } },
      exceptions: [{ type: 'E', value: 'v' }],
      logs: [{ message: 'm' }],
    };
    const formatted = formatPayloadLines(payload, 'logfmt', (item) =>
      item.kind === 'exception'
        ? [
            ['fingerprint', 'abc123'],
            ['empty', ''],
            ['kind', 'exception'],
          ]
        : undefined,
    );
    expect(formatted.map((line) => line.line)).toEqual([
      'timestamp="0001-01-01 00:00:00 +0000 UTC" kind=log message=m app_name=shop browser_mobile=false',
      `timestamp="0001-01-01 00:00:00 +0000 UTC" kind=exception type=E value=v stacktrace="E: v" hash=${exceptionHash('v')} app_name=shop browser_mobile=false fingerprint=abc123`,
    ]);
  });
});

describe('the meta part encoded once per payload', () => {
  /** Alloy's way, key by key: item keys, meta merged in place, trailing keys merged in place. */
  function alloyLines(payload: FaroPayload, format: LokiLineFormat, trailing?: TrailingKeys) {
    const meta = metaKeyVals(payload.meta);
    return [...lokiItems(payload)].map((item) => {
      const keyVals = itemKeyVals(item);
      mergeKeyVals(keyVals, meta);
      for (const [key, value] of trailing?.(item) ?? []) if (value !== '') keyVals.set(key, value);
      return renderLine(keyVals, format);
    });
  }

  const payloads = collectRequests.map((request) => fixtureBody(request).json as FaroPayload);
  const colliding: FaroPayload = {
    meta: { app: { name: 'shop' }, browser: { name: 'x' } },
    measurements: [{ type: 't', values: { app_name: 1, browser_name: 2, lcp: 3 } }],
    logs: [{ message: 'plain' }],
  };
  const trailingHooks: [string, TrailingKeys | undefined][] = [
    ['no trailing keys', undefined],
    ['a new trailing key', () => [['fingerprint', 'f1']]],
    ['a trailing key that is a meta key', () => [['app_name', 'renamed']]],
    [
      'a trailing key that is an item key',
      (item) => (item.kind === 'log' ? [['message', 'x']] : []),
    ],
  ];

  it.each(trailingHooks)('gives the same lines as the key-by-key merge, with %s', (_name, hook) => {
    for (const format of ['logfmt', 'json'] as const) {
      for (const payload of [...payloads, colliding]) {
        expect(formatPayloadLines(payload, format, hook).map((line) => line.line)).toEqual(
          alloyLines(payload, format, hook),
        );
      }
    }
  });

  it('reads line values after the merges (for copied labels)', () => {
    const [log, measurement] = formatPayloadLines(colliding, 'logfmt', () => [
      ['fingerprint', 'f1'],
    ]);
    expect(log?.value('message')).toBe('plain');
    expect(log?.value('app_name')).toBe('shop');
    expect(log?.value('fingerprint')).toBe('f1');
    expect(log?.value('nope')).toBeUndefined();
    expect(measurement?.value('app_name')).toBe('shop'); // the meta overwrote the value's %f
    expect(measurement?.value('value_app_name')).toBe(1);
  });
});

describe('meta part cache', () => {
  const base: FaroMeta = {
    sdk: { name: 'faro', version: '2.12.0', integrations: [{ name: 'a', version: '1' }] },
    app: { name: 'shop', version: '1.0', environment: 'production' },
    user: { id: 'u1', attributes: { plan: 'pro', team: 'x' } },
    session: { id: 's1', attributes: { previousSession: 'p' } },
    page: { id: 'p1', url: 'https://shop.example/a', attributes: { k: 'v' } },
    browser: { name: 'Chrome', mobile: false, userAgent: 'UA', viewportWidth: '1280' },
    view: { name: 'default' },
  };
  const changed: [string, FaroMeta][] = [
    ['sdk version', { ...base, sdk: { ...base.sdk, version: '2.12.1' } }],
    [
      'an integration',
      { ...base, sdk: { ...base.sdk, integrations: [{ name: 'a', version: '2' }] } },
    ],
    ['app environment', { ...base, app: { ...base.app, environment: 'staging' } }],
    [
      'a user attribute value',
      { ...base, user: { ...base.user, attributes: { plan: 'free', team: 'x' } } },
    ],
    [
      'a user attribute moved to another key',
      { ...base, user: { ...base.user, attributes: { plan: 'pro', teamx: '' } } },
    ],
    ['session id', { ...base, session: { ...base.session, id: 's2' } }],
    ['page url', { ...base, page: { ...base.page, url: 'https://shop.example/b' } }],
    ['browser mobile', { ...base, browser: { ...base.browser, mobile: true } }],
    ['viewport width', { ...base, browser: { ...base.browser, viewportWidth: '1281' } }],
    [
      'a value that imitates a separator',
      { ...base, app: { ...base.app, name: 'shop1:', version: '.0' } },
    ],
    ['view name', { ...base, view: { name: 'checkout' } }],
  ];
  const payloadOf = (meta: FaroMeta): FaroPayload => ({
    meta,
    logs: [{ message: 'hi', level: 'info', timestamp: NOW }],
  });

  it('never gives a payload the meta part of another whose meta differs in a field the line shows', () => {
    const expected = (meta: FaroMeta) => renderLine(mergeKeyValsOf(meta), 'logfmt');
    const mergeKeyValsOf = (meta: FaroMeta) => {
      const own = itemKeyVals({
        kind: 'log',
        item: { message: 'hi', level: 'info', timestamp: NOW },
      });
      mergeKeyVals(own, metaKeyVals(meta));
      return own;
    };
    // The base first, so that every other is formatted after a cached, almost equal meta.
    expect(lines(payloadOf(base))).toEqual([expected(base)]);
    for (const [what, meta] of changed) {
      expect(lines(payloadOf(meta)), what).toEqual([expected(meta)]);
      expect(lines(payloadOf(meta)), what).not.toEqual(lines(payloadOf(base)));
    }
  });

  it('shares the meta part between metas that make the same line', () => {
    const numberViewport = { ...base, browser: { ...base.browser, viewportWidth: 1280 } };
    expect(lines(payloadOf(numberViewport))).toEqual(lines(payloadOf(base)));
    expect(lines(payloadOf(base), 'json')).not.toEqual(lines(payloadOf(base)));
  });
});
