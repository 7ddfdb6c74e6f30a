import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that the analysis reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Frame {
  readonly name: string;
  readonly url: string;
  readonly line: number;
  readonly parent: number | undefined;
}

/**
 * Pipeline stages by the build file a sample's innermost Pharos frame belongs to. First match wins.
 * A sample inside a library (Ajv's generated code, snappy, prom-client) counts for the Pharos
 * stage that called it; the library is reported separately as well.
 */
const STAGES: readonly (readonly [RegExp, string])[] = [
  [/\/ingest\//, 'http handler: routing, answers, request metrics'],
  [/\/admission\/limits\//, 'limits (rate limiter)'],
  [/\/admission\/idempotency\//, 'idempotency keys'],
  [/\/admission\/(sampling|shedding)/, 'sampling, load shedding'],
  [/\/admission\//, 'admission: key, origin'],
  [/\/decode\/headers/, 'decode: header checks'],
  [/\/decode\/body/, 'decode: body read, inflate'],
  [/\/decode\/json/, 'decode: UTF-8, depth, JSON.parse'],
  [/\/decode\/validate/, 'decode: Faro model validation (Ajv)'],
  [/\/enrich\/sourcemaps\//, 'enrich: symbolication'],
  [/\/enrich\/privacy\//, 'enrich: privacy rules'],
  [/\/enrich\/fingerprint\//, 'enrich: fingerprints'],
  [/\/sinks\/loki\/(push|http|protocol)/, 'Loki: push encoding (protobuf, snappy) and send'],
  [/\/sinks\/loki\//, 'Loki: lines, labels, metadata (at accept)'],
  [
    /\/sinks\/otlp\/(traces-protocol|codec|proto|to-wire|wire|merge|http)/,
    'OTLP: select, encode, send',
  ],
  [/\/sinks\/otlp\//, 'OTLP: resource attributes (at accept)'],
  [/\/sinks\/metrics\//, 'web-vitals metrics sink'],
  [/\/sinks\/delivery\//, 'delivery: queue, batching, sender'],
  [/\/sinks\//, 'fan-out and routing'],
  [/\/pipeline\//, 'pipeline: glue, item counters'],
  [/\/metrics\//, "Pharos's own metrics"],
  [/\/model\//, 'model helpers (item counts)'],
  [/\/registry\//, 'registry'],
];

/** Samples with no Pharos frame, by where they are. */
const RUNTIME: readonly (readonly [(frame: Frame) => boolean, string])[] = [
  [(frame) => frame.name === '(garbage collector)', 'runtime: garbage collection'],
  [(frame) => frame.name === '(program)', 'runtime: V8 and native (program)'],
  [(frame) => /_http_|node:http/.test(frame.url), 'runtime: Node http (parser, writes)'],
  [
    (frame) => /node:(net|stream|internal\/stream|internal\/streams)/.test(frame.url),
    'runtime: sockets and streams',
  ],
  [
    (frame) => /node:internal\/(timers|process\/task_queues)|node:timers/.test(frame.url),
    'runtime: timers, microtasks',
  ],
];

export interface ProfileBreakdown {
  /** Sampled milliseconds in the window, idle excluded. */
  readonly busyMs: number;
  readonly idleMs: number;
  readonly stages: readonly {
    readonly stage: string;
    readonly ms: number;
    readonly share: number;
  }[];
  readonly libraries: readonly {
    readonly library: string;
    readonly ms: number;
    readonly share: number;
  }[];
  /** Self time by function (top 40). */
  readonly functions: readonly {
    readonly fn: string;
    readonly ms: number;
    readonly share: number;
  }[];
  /** Collapsed stacks (`a;b;c <microseconds>`) for flame graph tools (speedscope, flamegraph.pl). */
  readonly folded: string;
}

/**
 * Reads a `.cpuprofile` and attributes every sample in the window to a pipeline stage, a library
 * and a function. The window skips start-up and warm-up: it starts `skipMs` after the first
 * sample that ran the ingest handler and ends at the last one.
 */
export function analyseProfile(file: string, skipMs: number): ProfileBreakdown {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map<number, Frame>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  for (const node of profile.nodes) {
    frames.set(node.id, {
      name: node.callFrame.functionName || '(anonymous)',
      url: node.callFrame.url,
      line: node.callFrame.lineNumber + 1,
      parent: parentOf.get(node.id),
    });
  }
  const stackOf = (id: number): Frame[] => {
    const stack: Frame[] = [];
    for (
      let frame = frames.get(id);
      frame;
      frame = frame.parent === undefined ? undefined : frames.get(frame.parent)
    )
      stack.push(frame);
    return stack; // leaf first
  };

  // Sample times, and the window where the ingest handler ran.
  const times: number[] = [];
  let time = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((time += delta));
  const handlerIds = new Set<number>();
  for (const [id] of frames)
    if (stackOf(id).some((frame) => /\/ingest\//.test(frame.url))) handlerIds.add(id);
  let first = Infinity;
  let last = -Infinity;
  profile.samples.forEach((id, index) => {
    if (!handlerIds.has(id)) return;
    first = Math.min(first, times[index] as number);
    last = Math.max(last, times[index] as number);
  });
  const from = first + skipMs * 1000;

  const stages = new Map<string, number>();
  const libraries = new Map<string, number>();
  const functions = new Map<string, number>();
  const folded = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, index) => {
    const at = times[index] as number;
    if (at < from || at > last) return;
    // A sample stands for the time until the next one.
    const us = (times[index + 1] ?? at) - at;
    const stack = stackOf(id);
    const leaf = stack[0] as Frame;
    if (leaf.name === '(idle)') {
      idleUs += us;
      return;
    }
    busyUs += us;
    add(stages, stageOf(stack), us);
    add(libraries, libraryOf(stack), us);
    add(functions, `${leaf.name} ${shortUrl(leaf.url)}:${leaf.line}`, us);
    add(
      folded,
      stack
        .slice()
        .reverse()
        .map((frame) => `${frame.name} ${shortUrl(frame.url)}`.trim())
        .join(';'),
      us,
    );
  });

  const ms = (us: number) => Math.round(us / 10) / 100;
  const share = (us: number) => Math.round((us / busyUs) * 1000) / 1000;
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: ms(busyUs),
    idleMs: ms(idleUs),
    stages: sorted(stages).map(([stage, us]) => ({ stage, ms: ms(us), share: share(us) })),
    libraries: sorted(libraries).map(([library, us]) => ({
      library,
      ms: ms(us),
      share: share(us),
    })),
    functions: sorted(functions)
      .slice(0, 40)
      .map(([fn, us]) => ({ fn, ms: ms(us), share: share(us) })),
    folded: [...folded].map(([stack, us]) => `${stack} ${Math.round(us)}`).join('\n'),
  };
}

/** Pharos's build (libraries ship their own `dist/` folders inside node_modules). */
function isPharos(url: string): boolean {
  return url.includes('/dist/') && !url.includes('/node_modules/');
}

function stageOf(stack: readonly Frame[]): string {
  for (const frame of stack) {
    if (!isPharos(frame.url)) continue;
    for (const [pattern, stage] of STAGES) if (pattern.test(frame.url)) return stage;
    return 'other Pharos code';
  }
  const leaf = stack[0] as Frame;
  for (const [test, stage] of RUNTIME) if (test(leaf)) return stage;
  // Innermost Node frame, if any: a native leaf called from Node internals.
  for (const frame of stack)
    for (const [test, stage] of RUNTIME) if (frame.url !== '' && test(frame)) return stage;
  return 'runtime: other';
}

/** The package of the innermost node_modules frame, or where the leaf is. */
function libraryOf(stack: readonly Frame[]): string {
  for (const frame of stack) {
    if (isPharos(frame.url)) break;
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
    if (match) return match[1] as string;
  }
  const leaf = stack[0] as Frame;
  if (isPharos(leaf.url)) return 'Pharos code';
  if (leaf.url.startsWith('node:')) return 'Node core (JS)';
  if (leaf.url === '') return `V8/native: ${leaf.name}`;
  return 'other';
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  return url;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}
