import type { Sender } from '../../src/model/index.js';
import { FIXTURE_APP, startTestPharos, type TestPharos } from '../helpers/pharos.js';

export interface MetricsHarness {
  /** `127.0.0.1:<port>`: Pharos's internal listener, the scrape target serving `/metrics`. */
  readonly target: string;
  readonly pharos: TestPharos;
  /** POSTs a Faro payload to the public listener with the key of `sender`'s app. */
  send(body: unknown, sender: Sender): Promise<void>;
  close(): Promise<void>;
}

/** App keys of the senders the Prometheus test uses. */
const KEYS: Record<string, string> = {
  [`${FIXTURE_APP.tenant}/${FIXTURE_APP.app}`]: FIXTURE_APP.key,
  'acme/shop': 'acme-shop-key-0123456789',
};

/**
 * A real Pharos whose internal /metrics a real Prometheus scrapes: the web vitals go in through
 * the public listener exactly as the SDK sends them, and come out as Pharos serves them.
 */
export async function startMetricsHarness(options: { routes: string[] }): Promise<MetricsHarness> {
  const pharos = await startTestPharos({
    sinks: { metrics: { routes: options.routes } },
    store: { enabled: false },
    demo: { enabled: false },
    tenants: [
      { id: FIXTURE_APP.tenant, apps: [{ id: FIXTURE_APP.app, keys: [FIXTURE_APP.key] }] },
      { id: 'acme', apps: [{ id: 'shop', keys: [KEYS['acme/shop']] }] },
    ],
  });
  return {
    target: new URL(pharos.internalUrl).host,
    pharos,
    send: async (body, sender) => {
      const key = KEYS[`${sender.tenantId}/${sender.appId}`];
      if (key === undefined) throw new Error(`no app key for ${sender.tenantId}/${sender.appId}`);
      const response = await fetch(`${pharos.publicUrl}/collect/${key}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 202)
        throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    },
    close: () => pharos.stop(),
  };
}
