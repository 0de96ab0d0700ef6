import { escapeHtml } from '../oauth/oauth-pages';

/**
 * The operators' view (`/app/operator?locationId=…`): a location's session story and dead letters, read
 * with an operator API key typed into the page (kept in the tab's session storage, sent in a header).
 * A shell with no data, like the dashboard; the script fills it in.
 */
export function renderOperatorPage(input: { locationId: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Operator view – WhatsApp – GoHighLevel</title>
<link rel="stylesheet" href="/app/app.css">
<script src="/app/operator.js" defer></script>
</head>
<body class="operator">
<main>
  <header class="top">
    <div><h1>Operator view</h1><p class="sub">A location's session story and dead letters, from the event stream</p></div>
  </header>
  <div class="banner error" id="error" role="alert" hidden></div>
  <section class="card" id="query-card">
    <form id="query">
      <label for="api-key">Operator API key (admin, or of this location; kept in this tab only)</label>
      <input id="api-key" type="password" autocomplete="off" required>
      <label for="location">Location id</label>
      <input id="location" required value="${escapeHtml(input.locationId)}">
      <div class="row">
        <div class="grow"><label for="since">Since (your time)</label><input id="since" type="datetime-local" step="1"></div>
        <div class="grow"><label for="until">Until (your time)</label><input id="until" type="datetime-local" step="1"></div>
      </div>
      <label for="types">Types, comma separated (empty: everything; e.g. session.disconnected,dead_letter)</label>
      <input id="types" autocomplete="off">
      <div class="actions"><button type="submit">Show</button></div>
    </form>
  </section>
  <section class="card" id="timeline-panel">
    <h2>Timeline</h2>
    <p class="muted" id="timeline-window">Enter a key and a location, then Show. Default window: the last 24 hours.</p>
    <table class="entries">
      <thead><tr><th>Stored</th><th>Type</th><th>What happened</th></tr></thead>
      <tbody id="entries"></tbody>
    </table>
    <div class="actions"><button id="more" type="button" class="secondary" hidden>Load more</button></div>
  </section>
  <section class="card" id="dead-letters-panel">
    <h2>Dead letters</h2>
    <ol class="timeline" id="dead-letters"><li class="muted">–</li></ol>
    <p class="muted">Replay, redrive or purge them with the replay tool: <code>npm run replay -- dead-letters --help</code></p>
  </section>
</main>
</body>
</html>`;
}
