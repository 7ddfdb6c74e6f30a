import { compareGoStrings, goJsonNumber, goString } from './go-format.js';

/**
 * Alloy's `json` line: `json.Marshal(map[string]any)` of the line's key/values. Go sorts map keys
 * (byte-wise), escapes `<`, `>`, `&`, U+2028 and U+2029 (HTML-safe), uses `\b` and `\f` (Go 1.22
 * and later), and writes the `value_*` float64s as numbers; every other value is a string.
 */
export function goJsonObject(keyVals: ReadonlyMap<string, string | number>): string {
  return goJsonObjectOfSorted([goJsonPairs(keyVals)]);
}

/** A key and its encoded `"key":value` member. */
export type JsonMember = readonly [key: string, member: string];

/** The members of a map, encoded and in Go's key order. */
export function goJsonPairs(keyVals: ReadonlyMap<string, string | number>): JsonMember[] {
  const members: JsonMember[] = [];
  for (const [key, value] of keyVals) {
    const encoded = typeof value === 'number' ? goJsonNumber(value) : goJsonString(value);
    members.push([key, `${goJsonString(key)}:${encoded}`]);
  }
  return members.sort((a, b) => compareGoStrings(a[0], b[0]));
}

/**
 * One object from several lists of members, each already in key order and with no key in two
 * lists: a merge, so a list shared by many objects (the meta) is encoded and sorted only once.
 */
export function goJsonObjectOfSorted(lists: readonly (readonly JsonMember[])[]): string {
  const next = lists.map(() => 0);
  let out = '{';
  for (;;) {
    let pick = -1;
    let pickKey = '';
    for (let i = 0; i < lists.length; i++) {
      const member = lists[i]?.[next[i] ?? 0];
      if (member && (pick < 0 || compareGoStrings(member[0], pickKey) < 0)) {
        pick = i;
        pickKey = member[0];
      }
    }
    if (pick < 0) return `${out}}`;
    const index = next[pick] ?? 0;
    if (out.length > 1) out += ',';
    out += lists[pick]?.[index]?.[1] ?? '';
    next[pick] = index + 1;
  }
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * A string as Go's encoder writes it. `JSON.stringify` already escapes exactly what Go escapes
 * below U+0020 (short forms for \b \f \n \r \t, lowercase `\u00xx` otherwise) plus `"` and `\`;
 * the HTML-unsafe characters never occur inside those escapes, so replacing them afterwards is
 * safe. Lone surrogates are U+FFFD in Go's string, which it writes raw.
 */
export function goJsonString(value: string): string {
  return JSON.stringify(goString(value)).replace(HTML_UNSAFE, (char) => HTML_ESCAPES[char] ?? char);
}
