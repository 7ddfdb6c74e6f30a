/** The IPC messages between the cluster primary and its Pharos workers. */
export type ClusterMessage =
  /** Worker → primary, once it listens for messages: which slot am I? */
  | { readonly type: 'pharos:hello' }
  /** Primary → worker: its slot (1..count), stable across restarts of that slot. */
  | { readonly type: 'pharos:slot'; readonly slot: number; readonly count: number }
  /** Worker → primary: Pharos is up and listening. */
  | { readonly type: 'pharos:ready' }
  /** Primary → worker: drain and exit (the primary got SIGTERM or SIGINT). */
  | { readonly type: 'pharos:shutdown' }
  /** Worker → primary: `/metrics` was asked of this worker; the answer must cover all of them. */
  | { readonly type: 'pharos:metrics-request'; readonly id: number }
  /** Primary → worker: the aggregated exposition text, or why there is none. */
  | {
      readonly type: 'pharos:metrics-response';
      readonly id: number;
      readonly text?: string;
      readonly error?: string;
    };

const TYPES = new Set<string>([
  'pharos:hello',
  'pharos:slot',
  'pharos:ready',
  'pharos:shutdown',
  'pharos:metrics-request',
  'pharos:metrics-response',
]);

/** Other libraries (prom-client's own aggregation) share the channel: only ours pass. */
export function isClusterMessage(message: unknown): message is ClusterMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    TYPES.has((message as { type: string }).type)
  );
}
