import { escapeHtml } from '../oauth/oauth-pages';

/**
 * The dashboard's HTML shell. It holds no tenant data (everything arrives over the authenticated
 * stream), so it is public and the same for everyone; script and styles are separate same-origin files,
 * which keeps the CSP strict (`script-src 'self'`, no inline code).
 */
export function renderDashboard(input: {
  locationId: string;
  ghlOrigins: string;
  devLogin: boolean;
}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WhatsApp – GoHighLevel</title>
<link rel="stylesheet" href="/app/app.css">
<script src="/app/app.js" defer></script>
</head>
<body data-state="loading" data-location-id="${escapeHtml(input.locationId)}" data-ghl-origins="${escapeHtml(input.ghlOrigins)}" data-dev-login="${input.devLogin ? 'true' : 'false'}">
<main>
  <header class="top">
    <div><h1>WhatsApp</h1><p class="sub" id="location-label">${input.locationId ? `Sub-account ${escapeHtml(input.locationId)}` : ''}</p></div>
    <span class="badge" id="state-badge" data-tone="neutral" aria-live="polite">Loading…</span>
  </header>
  <div class="banner error" id="error" role="alert" hidden></div>
  <section class="card" id="status-card" aria-live="polite">
    <h2 id="headline">Loading…</h2>
    <p id="detail">Checking the WhatsApp connection of this sub-account.</p>
    <p class="next"><strong>Next:</strong> <span id="next-step">wait a moment.</span></p>
    <div class="actions">
      <button id="btn-connect" type="button" disabled>Connect</button>
      <button id="btn-restart" type="button" class="secondary" disabled>Restart</button>
      <button id="btn-logout" type="button" class="danger" disabled>Log out</button>
      <a id="btn-reauth" class="button" href="/oauth/authorize" target="_blank" rel="noopener" hidden>Re-authorise GoHighLevel</a>
    </div>
    <dl class="facts" id="facts"></dl>
  </section>
  <section class="card" id="qr-card" hidden>
    <h2>Scan with WhatsApp</h2>
    <div class="qr-frame" id="qr-frame"><img id="qr-img" alt="WhatsApp QR code to scan" width="296" height="296"></div>
    <p class="countdown" id="qr-countdown" aria-live="off"></p>
    <ol class="howto">
      <li>Open WhatsApp on your phone.</li>
      <li>Go to Settings → Linked devices → Link a device.</li>
      <li>Point the phone at this code.</li>
    </ol>
    <details id="pairing">
      <summary>Link with a phone number instead</summary>
      <form id="pairing-form">
        <label for="pairing-phone">The WhatsApp number, with its country code</label>
        <div class="row">
          <input id="pairing-phone" type="tel" inputmode="tel" placeholder="+1 555 123 4567" autocomplete="tel" required>
          <button type="submit">Get code</button>
        </div>
      </form>
      <p class="pairing-code" id="pairing-code" hidden></p>
      <p class="muted">On the phone: Linked devices → Link a device → Link with phone number instead, then type the code.</p>
    </details>
  </section>
  <section class="card" id="timeline-card">
    <h2>Recent activity</h2>
    <ol class="timeline" id="timeline"><li class="muted">Nothing yet.</li></ol>
  </section>
  <footer class="muted">Support reference: <code id="reference">–</code> · <span id="conn">starting…</span></footer>
</main>
</body>
</html>`;
}
