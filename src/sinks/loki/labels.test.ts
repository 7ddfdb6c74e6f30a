import { describe, expect, it } from 'vitest';
import { parseLabels } from '../../../test/helpers/loki-receiver.js';
import {
  compileLabelRules,
  entryLabels,
  labelsText,
  levelLabel,
  quoteLabelValue,
} from './labels.js';

const DEFAULTS = { serviceName: 'shop', appName: 'shop', appEnvironment: 'prod' };

describe('compileLabelRules', () => {
  it('splits static labels from copied ones ("" value), sorted by name', () => {
    expect(compileLabelRules({ team: 'web', kind: '', cluster: 'eu-1', app_version: '' })).toEqual({
      static: [
        ['cluster', 'eu-1'],
        ['team', 'web'],
      ],
      copied: ['app_version', 'kind'],
    });
    expect(compileLabelRules()).toEqual({ static: [], copied: [] });
  });

  it('refuses invalid and reserved label names, naming each', () => {
    expect(() => compileLabelRules({ 'bad-name': 'x', '1st': 'y', ok: 'z' })).toThrow(
      /"bad-name" is not a valid label name.*"1st" is not a valid label name/,
    );
    expect(() => compileLabelRules({ __name__: 'x' })).toThrow(/reserved/);
    expect(() => compileLabelRules({ 'a b': '' })).toThrow(/not a valid label name/);
  });

  it('refuses copying per-visitor ids into labels', () => {
    for (const name of [
      'session_id',
      'user_id',
      'user_email',
      'session_attr_x',
      'traceID',
      'page_url',
    ]) {
      expect(() => compileLabelRules({ [name]: '' }), name).toThrow(/structured metadata/);
    }
    // A static value under such a name is not per visitor, so it is allowed.
    expect(compileLabelRules({ user_segment: 'beta' }).static).toEqual([['user_segment', 'beta']]);
  });
});

describe('levelLabel', () => {
  it('is the log level for logs, error for exceptions, info otherwise', () => {
    expect(levelLabel('log', 'warn')).toBe('warn');
    expect(levelLabel('log', 'log')).toBe('log');
    expect(levelLabel('log', undefined)).toBeUndefined();
    expect(levelLabel('log', '')).toBeUndefined();
    expect(levelLabel('exception', undefined)).toBe('error');
    expect(levelLabel('measurement', undefined)).toBe('info');
    expect(levelLabel('event', undefined)).toBe('info');
  });
  it('maps levels outside the known set to unknown, so clients cannot mint streams', () => {
    expect(levelLabel('log', 'WARN')).toBe('unknown');
    expect(levelLabel('log', 'x'.repeat(100))).toBe('unknown');
  });
});

describe('entryLabels', () => {
  const keyVals = new Map<string, string | number>([
    ['kind', 'log'],
    ['app_version', '1.2.3'],
    ['value_lcp', 2345.6],
    ['value_big', 1234567],
  ]);

  it('has the default set, omits empty values, sorted by name', () => {
    const rules = compileLabelRules({});
    expect(entryLabels(rules, DEFAULTS, 'log', 'info', (key) => keyVals.get(key))).toEqual([
      ['app_environment', 'prod'],
      ['app_name', 'shop'],
      ['kind', 'log'],
      ['level', 'info'],
      ['service_name', 'shop'],
    ]);
    expect(
      entryLabels(
        rules,
        { serviceName: 'app-1', appName: undefined, appEnvironment: '' },
        'log',
        undefined,
        (key) => keyVals.get(key),
      ),
    ).toEqual([
      ['kind', 'log'],
      ['service_name', 'app-1'],
    ]);
  });

  it('adds static labels and copies line keys (floats with %v); configured labels win', () => {
    const rules = compileLabelRules({
      team: 'web',
      app_version: '',
      value_lcp: '',
      value_big: '',
      missing: '',
      service_name: 'override',
    });
    expect(entryLabels(rules, DEFAULTS, 'measurement', 'info', (key) => keyVals.get(key))).toEqual([
      ['app_environment', 'prod'],
      ['app_name', 'shop'],
      ['app_version', '1.2.3'],
      ['kind', 'measurement'],
      ['level', 'info'],
      ['service_name', 'override'],
      ['team', 'web'],
      ['value_big', '1.234567e+06'],
      ['value_lcp', '2345.6'],
    ]);
  });
});

describe('labelsText', () => {
  it('writes the Prometheus text form', () => {
    expect(
      labelsText([
        ['app_name', 'shop'],
        ['kind', 'log'],
      ]),
    ).toBe('{app_name="shop", kind="log"}');
  });

  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['nl\ncr\rtab\t', '"nl\\ncr\\rtab\\t"'],
    ['bell\u0007nul\u0000del\u007f', '"bell\\anul\\x00del\\x7f"'],
    ['c1\u0085', '"c1\\u0085"'],
    ['sep\u2028', '"sep\\u2028"'],
    ['é ✓ 😀', '"é ✓ 😀"'],
    ['lone\ud800', '"lone\ufffd"'],
  ])('quotes %j as %s', (value, expected) => {
    expect(quoteLabelValue(value)).toBe(expected);
  });

  it("round-trips through a parser of Loki's label syntax", () => {
    const nasty = 'a "quoted" \\ value\nwith\ttabs, commas}, {braces} and = signs \u0001 é 😀';
    const text = labelsText([
      ['app_name', nasty],
      ['kind', 'log'],
    ]);
    const problems: string[] = [];
    expect(parseLabels(text, 'test', problems)).toEqual({ app_name: nasty, kind: 'log' });
    expect(problems).toEqual([]);
  });
});
