import { faro, getWebInstrumentations, initializeFaro } from '@grafana/faro-web-sdk';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';

/**
 * The demo page's script, bundled by scripts/build-demo.mjs with the real SDK from npm. Settings
 * come from the page (`window.__PHAROS_DEMO__`), so the same bundle serves /demo and the
 * browser tests, which load it from a page of their own on another origin.
 */
interface DemoSettings {
  collectUrl: string;
  app?: { name?: string; version?: string; environment?: string };
  requestCompression?: boolean;
  /** Regular expressions (as strings) of cross-origin URLs that get a traceparent header. */
  propagateTraceHeaderCorsUrls?: string[];
  /** URL of the traced fetch; default: the demo backend on this page's origin. */
  fetchUrl?: string;
}

declare global {
  interface Window {
    __PHAROS_DEMO__: DemoSettings;
  }
}

const settings = window.__PHAROS_DEMO__;

initializeFaro({
  url: settings.collectUrl,
  app: { name: 'pharos-demo', version: '1.0.0', environment: 'demo', ...settings.app },
  requestCompression: settings.requestCompression ?? false,
  instrumentations: [
    ...getWebInstrumentations(),
    new TracingInstrumentation({
      instrumentationOptions: {
        propagateTraceHeaderCorsUrls: (settings.propagateTraceHeaderCorsUrls ?? []).map(
          (source) => new RegExp(source),
        ),
      },
    }),
  ],
});
// initializeFaro itself exposes the instance as `window.faro` (read-only: assigning to it throws),
// which is what the browser tests use.

const status = (text: string) => {
  const element = document.getElementById('status');
  if (element) element.textContent = text;
};
const on = (id: string, handler: () => void) =>
  document.getElementById(id)?.addEventListener('click', handler);

const collectUrl = document.getElementById('collect-url');
if (collectUrl) collectUrl.textContent = settings.collectUrl;

on('send-log', () => {
  faro.api.pushLog(['Hello from the Pharos demo'], {
    level: 'info' as never,
    context: { button: 'send-log' },
  });
  status('Log sent.');
});
on('throw-error', () => {
  status('Error thrown (uncaught) — Faro reports it.');
  setTimeout(() => {
    throw new Error('Demo error: the checkout total is negative');
  });
});
on('push-event', () => {
  faro.api.pushEvent('demo_button_clicked', { button: 'push-event' }, 'demo');
  status('Event pushed.');
});
on('push-measurement', () => {
  faro.api.pushMeasurement({ type: 'demo_cart', values: { items: 3, total: 42.5 } });
  status('Measurement pushed.');
});
on('traced-fetch', () => {
  void fetch(settings.fetchUrl ?? '/demo/api/checkout')
    .then((response) => response.json() as Promise<{ traceparent: string | null }>)
    .then((body) =>
      status(`Traced fetch done; the backend saw traceparent ${body.traceparent ?? '(none)'}.`),
    )
    .catch((error: unknown) => status(`Fetch failed: ${String(error)}`));
});
