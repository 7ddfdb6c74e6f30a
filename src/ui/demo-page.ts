/** Settings handed to the demo bundle through `window.__PHAROS_DEMO__`. */
export interface DemoPageConfig {
  collectUrl: string;
}

/** JSON inside a <script> must not be able to close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function demoPageHtml(config: DemoPageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pharos demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; }
  p.lead { color: #4a5568; margin-top: 0; }
  .buttons { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1.5rem 0; }
  button { font: inherit; padding: .55rem 1rem; border-radius: .4rem; border: 1px solid #2b6cb0; background: #ebf4ff; color: #1a365d; cursor: pointer; }
  button:hover { background: #bee3f8; }
  #status { min-height: 1.5rem; color: #2f855a; }
  code, pre { font-family: ui-monospace, monospace; font-size: .9em; background: #f4f5f7; border-radius: .3rem; }
  code { padding: .05rem .3rem; }
  pre { padding: .8rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>Pharos demo</h1>
<p class="lead">This page runs the real Grafana Faro Web SDK with tracing. It sends to
<code id="collect-url"></code>.</p>
<div class="buttons">
  <button id="send-log" data-faro-user-action-name="send-log">Send a log</button>
  <button id="throw-error" data-faro-user-action-name="throw-error">Throw an error</button>
  <button id="push-event" data-faro-user-action-name="push-event">Push an event</button>
  <button id="push-measurement" data-faro-user-action-name="push-measurement">Push a measurement</button>
  <button id="traced-fetch" data-faro-user-action-name="traced-fetch">Make a traced fetch</button>
</div>
<p id="status" role="status"></p>
<p>Page load, web vitals and your clicks arrive within a second or two. Watch them with</p>
<pre>pharos tail --app demo</pre>
<p>or read them through the API, for example
<code>curl -H "Authorization: Bearer $(cat pharos-data/admin-token)" http://127.0.0.1:12348/api/v1/apps/demo/logs</code>.</p>
<script>window.__PHAROS_DEMO__ = ${scriptJson(config)};</script>
<script src="/demo/app.js"></script>
</body>
</html>
`;
}
