/**
 * The dashboard's browser script, served at /app/app.js. Plain ES2020 with no build step and no
 * dependency (the page must work offline and under a strict CSP). It:
 * - gets a session: from GHL's user context inside the GHL iframe (postMessage → POST /api/session), from
 *   `#session=` after an install, or from `?devToken=` in development;
 * - reads the event stream with fetch (so the token travels in a header, not in the URL) and reconnects;
 * - renders state, the live QR with its countdown, pairing codes and the recent events;
 * - dispatches `dashboard:qr-rendered` on `document` once a QR is painted (used by the benchmark).
 * Written without template literals so it can live in this TypeScript string.
 */
export const DASHBOARD_SCRIPT = String.raw`(function () {
  'use strict';

  var body = document.body;
  var params = new URLSearchParams(window.location.search);
  var hash = new URLSearchParams(window.location.hash.slice(1));
  var ghlOrigins = (body.getAttribute('data-ghl-origins') || '').split(' ').filter(Boolean);
  var devLogin = body.getAttribute('data-dev-login') === 'true';
  var $ = function (id) { return document.getElementById(id); };

  var session = { token: null, expiresAt: 0, locationId: params.get('locationId') || '', mode: null };
  var ui = { status: null, qrDeadline: 0, qrEventId: null, stream: null, retryMs: 1000, fatal: false };

  // ------------------------------------------------------------------ helpers

  function claimsOf(token) {
    try {
      var part = token.split('.')[1];
      var json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
      return JSON.parse(json);
    } catch (e) {
      return null;
    }
  }

  function useToken(token, mode) {
    var claims = claimsOf(token);
    if (!claims || !claims.loc || !claims.exp) throw new Error('the sign-in link is damaged; open the page again');
    session.token = token;
    session.expiresAt = claims.exp * 1000;
    session.locationId = claims.loc;
    session.mode = mode;
    $('location-label').textContent = 'Sub-account ' + claims.loc;
    scheduleRenew();
  }

  function setReference(id) {
    if (id) $('reference').textContent = id;
  }

  function showError(message, correlationId) {
    var el = $('error');
    el.textContent = '';
    var p = document.createElement('p');
    p.textContent = message;
    el.appendChild(p);
    if (correlationId) {
      var q = document.createElement('p');
      q.textContent = 'If this keeps happening, contact support and quote: ' + correlationId;
      el.appendChild(q);
      setReference(correlationId);
    }
    el.hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
  }

  function fatal(headline, detail, nextStep) {
    ui.fatal = true;
    $('headline').textContent = headline;
    $('detail').textContent = detail;
    $('next-step').textContent = nextStep;
    setBadge('bad', 'Not available');
    ['btn-connect', 'btn-restart', 'btn-logout'].forEach(function (id) { $(id).disabled = true; });
  }

  // ------------------------------------------------------------------ sessions

  function requestGhlUserData() {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        window.removeEventListener('message', onMessage);
        reject(new Error('GoHighLevel did not send who you are'));
      }, 8000);
      function onMessage(event) {
        if (ghlOrigins.length && !originAllowed(event.origin)) return;
        var data = event.data || {};
        if (data.message !== 'REQUEST_USER_DATA_RESPONSE') return;
        clearTimeout(timer);
        window.removeEventListener('message', onMessage);
        resolve(data.payload);
      }
      window.addEventListener('message', onMessage);
      window.parent.postMessage({ message: 'REQUEST_USER_DATA' }, '*');
    });
  }

  function originAllowed(origin) {
    return ghlOrigins.some(function (pattern) {
      if (pattern === "'self'") return origin === window.location.origin;
      if (pattern.indexOf('://*.') === -1) return origin === pattern;
      var scheme = pattern.split('://')[0] + '://';
      var suffix = pattern.slice(scheme.length + 1);
      return origin.indexOf(scheme) === 0 && origin.length > scheme.length + suffix.length &&
        origin.slice(-suffix.length) === suffix;
    });
  }

  function exchange(path, payload) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          var err = new Error(body.message || ('sign-in failed (' + res.status + ')'));
          err.code = body.code;
          err.correlationId = body.correlationId || res.headers.get('x-correlation-id');
          throw err;
        }
        return body;
      });
    });
  }

  function signIn() {
    var linkToken = hash.get('session');
    if (linkToken) {
      history.replaceState(null, '', window.location.pathname + window.location.search);
      useToken(linkToken, 'link');
      return Promise.resolve();
    }
    var devToken = params.get('devToken');
    if (devToken) {
      useToken(devToken, 'dev');
      return Promise.resolve();
    }
    if (window.parent !== window) {
      return requestGhlUserData()
        .then(function (payload) { return exchange('/api/session', { payload: payload }); })
        .then(function (minted) { useToken(minted.token, 'ghl'); });
    }
    return Promise.reject(Object.assign(new Error('outside GoHighLevel'), { code: 'outside_ghl' }));
  }

  function renew() {
    if (session.mode === 'ghl') {
      return requestGhlUserData()
        .then(function (payload) { return exchange('/api/session', { payload: payload }); })
        .then(function (minted) { useToken(minted.token, 'ghl'); });
    }
    if (session.mode === 'dev' && devLogin) {
      return exchange('/api/dev/session', { locationId: session.locationId })
        .then(function (minted) { useToken(minted.token, 'dev'); });
    }
    return Promise.reject(new Error('your session ended; open this page again from GoHighLevel'));
  }

  var renewTimer = null;
  function scheduleRenew() {
    clearTimeout(renewTimer);
    // A minute before expiry, so requests and the stream never run on an expired session.
    var wait = Math.max(5000, session.expiresAt - Date.now() - 60000);
    renewTimer = setTimeout(function () {
      renew().catch(function (err) { showError(err.message, err.correlationId); });
    }, wait);
  }

  // ------------------------------------------------------------------ API

  function api(method, path, payload, retried) {
    var headers = { accept: 'application/json', authorization: 'Bearer ' + session.token };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    return fetch('/api/locations/' + encodeURIComponent(session.locationId) + path, {
      method: method,
      headers: headers,
      body: payload === undefined ? undefined : JSON.stringify(payload)
    }).then(function (res) {
      var correlationId = res.headers.get('x-correlation-id');
      setReference(correlationId);
      if (res.status === 401 && !retried) {
        return renew().then(function () { return api(method, path, payload, true); });
      }
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          var err = new Error(body.message || ('request failed (' + res.status + ')'));
          err.code = body.code;
          err.correlationId = body.correlationId || correlationId;
          throw err;
        }
        return body;
      });
    });
  }

  // ------------------------------------------------------------------ event stream

  function connectStream() {
    if (ui.fatal) return;
    var controller = new AbortController();
    ui.stream = controller;
    $('conn').textContent = 'connecting…';
    fetch('/api/locations/' + encodeURIComponent(session.locationId) + '/events/stream', {
      headers: { accept: 'text/event-stream', authorization: 'Bearer ' + session.token },
      signal: controller.signal,
      cache: 'no-store'
    }).then(function (res) {
      setReference(res.headers.get('x-correlation-id'));
      if (res.status === 401) {
        return renew().then(function () { reconnect(0); }, function (err) {
          fatal('Your session ended.', err.message, 'Open this page again from GoHighLevel.');
        });
      }
      if (!res.ok || !res.body) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          var err = new Error(body.message || ('the live connection failed (' + res.status + ')'));
          err.correlationId = body.correlationId;
          err.status = res.status;
          throw err;
        });
      }
      ui.retryMs = 1000;
      $('conn').textContent = 'live';
      return readFrames(res.body.getReader()).then(function () { reconnect(ui.retryMs); });
    }).catch(function (err) {
      if (controller.signal.aborted) return;
      $('conn').textContent = 'reconnecting…';
      if (err.status === 403 || err.status === 404) {
        fatal('This page cannot show this sub-account.', err.message, 'Open WhatsApp from the sub-account in GoHighLevel.');
        showError(err.message, err.correlationId);
        return;
      }
      if (err.correlationId) showError(err.message, err.correlationId);
      reconnect(ui.retryMs);
      ui.retryMs = Math.min(ui.retryMs * 2, 15000);
    });
  }

  function reconnect(delay) {
    setTimeout(connectStream, delay);
  }

  function readFrames(reader) {
    var decoder = new TextDecoder();
    var buffer = '';
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          var raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          dispatch(raw);
        }
        return pump();
      });
    }
    return pump();
  }

  function dispatch(raw) {
    var name = 'message';
    var data = '';
    raw.split('\n').forEach(function (line) {
      if (line.indexOf('event: ') === 0) name = line.slice(7);
      else if (line.indexOf('data: ') === 0) data += line.slice(6);
    });
    if (!data) return;
    var payload;
    try { payload = JSON.parse(data); } catch (e) { return; }
    switch (name) {
      case 'snapshot':
        renderStatus(payload.status);
        if (payload.qr) renderQr(payload.qr); else if (payload.status.whatsapp.state !== 'qr') hideQr();
        renderTimeline(payload.events);
        break;
      case 'status':
        renderStatus(payload);
        break;
      case 'qr':
        renderQr(payload);
        break;
      case 'pairing_code':
        showPairingCode(payload.code);
        break;
      case 'timeline':
        addTimeline(payload);
        break;
      case 'expired':
        renew().then(function () { reconnect(0); }, function (err) { showError(err.message); });
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------ rendering

  var TONES = {
    open: ['ok', 'Connected'], qr: ['act', 'Scan the QR code'], starting: ['wait', 'Starting'],
    connecting: ['wait', 'Connecting'], reconnecting: ['wait', 'Reconnecting'], stopped: ['neutral', 'Not connected'],
    not_started: ['neutral', 'Not connected'], logged_out: ['bad', 'Logged out'], qr_timeout: ['bad', 'QR expired'],
    forbidden: ['bad', 'Refused by WhatsApp'], failed: ['bad', 'Failed']
  };

  function setBadge(tone, text) {
    var badge = $('state-badge');
    badge.setAttribute('data-tone', tone);
    badge.textContent = text;
  }

  function fact(list, label, value) {
    if (value === null || value === undefined || value === '') return;
    var dt = document.createElement('dt');
    dt.textContent = label;
    var dd = document.createElement('dd');
    dd.textContent = value;
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function renderStatus(status) {
    if (ui.fatal) return;
    ui.status = status;
    var w = status.whatsapp;
    var e = status.explanation;
    var tone = TONES[w.state] || ['neutral', w.state];
    if (status.ghl.health !== 'ok') tone = ['bad', 'GoHighLevel needs attention'];
    setBadge(tone[0], tone[1]);
    body.setAttribute('data-state', w.state);
    $('headline').textContent = e.headline;
    $('detail').textContent = e.detail;
    $('next-step').textContent = e.nextStep;

    var running = ['starting', 'connecting', 'reconnecting', 'qr', 'open'].indexOf(w.state) !== -1;
    var installed = status.ghl.health !== 'uninstalled' && status.ghl.health !== 'not_installed';
    $('btn-connect').disabled = !installed || running;
    $('btn-restart').disabled = !installed || !running;
    $('btn-logout').disabled = !installed || (w.state === 'not_started' || w.state === 'logged_out');
    $('btn-reauth').hidden = e.action !== 'reauthorize';

    var facts = $('facts');
    facts.textContent = '';
    fact(facts, 'Number', w.phone ? w.phone + (w.pushName ? ' (' + w.pushName + ')' : '') : null);
    if (w.lastDisconnect && w.state !== 'open') {
      fact(facts, 'Last disconnect', (w.lastDisconnect.code ? w.lastDisconnect.code + ': ' : '') +
        (w.lastDisconnect.meaning || w.lastDisconnect.reason || ''));
    }
    fact(facts, 'Server', w.owner ? w.owner.workerId + (w.owner.live ? '' : ' (not responding)') : null);
    fact(facts, 'GoHighLevel', status.ghl.health === 'ok' ? 'installed' : status.ghl.health.replace(/_/g, ' '));

    $('qr-card').hidden = w.state !== 'qr';
    if (w.state !== 'qr') {
      $('pairing-code').hidden = true;
    } else if (w.qr && w.qr.available && w.qr.expiresInSeconds !== null && !ui.qrEventId) {
      ui.qrDeadline = Date.now() + w.qr.expiresInSeconds * 1000;
    }
  }

  function renderQr(frame) {
    var img = $('qr-img');
    $('qr-card').hidden = false;
    $('qr-frame').classList.remove('expired');
    ui.qrEventId = frame.eventId;
    ui.qrDeadline = Date.now() + frame.lifetimeSeconds * 1000;
    img.setAttribute('data-event-id', frame.eventId || 'snapshot');
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(frame.svg);
    tick();
    var eventId = frame.eventId;
    var done = function () {
      requestAnimationFrame(function () {
        document.dispatchEvent(new CustomEvent('dashboard:qr-rendered', {
          detail: { eventId: eventId, at: Date.now() }
        }));
      });
    };
    if (img.decode) img.decode().then(done, done); else done();
  }

  function hideQr() {
    $('qr-card').hidden = true;
    ui.qrEventId = null;
    ui.qrDeadline = 0;
  }

  function tick() {
    var el = $('qr-countdown');
    if (!ui.qrDeadline) { el.textContent = ''; return; }
    var left = Math.max(0, Math.round((ui.qrDeadline - Date.now()) / 1000));
    if (left > 0) {
      el.textContent = 'This code changes in ' + left + ' s';
    } else {
      el.textContent = 'This code expired — a new one is on its way…';
      $('qr-frame').classList.add('expired');
    }
  }

  function timeOf(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function timelineItem(ev) {
    var li = document.createElement('li');
    li.setAttribute('data-event-id', ev.id);
    var t = document.createElement('time');
    t.dateTime = ev.occurredAt;
    t.textContent = timeOf(ev.occurredAt);
    var s = document.createElement('span');
    s.textContent = ev.summary;
    li.appendChild(t);
    li.appendChild(s);
    return li;
  }

  function renderTimeline(events) {
    var list = $('timeline');
    list.textContent = '';
    if (!events.length) {
      var empty = document.createElement('li');
      empty.className = 'muted';
      empty.textContent = 'Nothing yet.';
      list.appendChild(empty);
      return;
    }
    events.forEach(function (ev) { list.appendChild(timelineItem(ev)); });
  }

  function addTimeline(ev) {
    var list = $('timeline');
    if (list.querySelector('[data-event-id="' + CSS.escape(ev.id) + '"]')) return;
    var empty = list.querySelector('.muted');
    if (empty) empty.remove();
    list.insertBefore(timelineItem(ev), list.firstChild);
    while (list.children.length > 15) list.removeChild(list.lastChild);
  }

  function showPairingCode(code) {
    var el = $('pairing-code');
    el.textContent = code.length === 8 ? code.slice(0, 4) + '-' + code.slice(4) : code;
    el.hidden = false;
    $('pairing').open = true;
  }

  // ------------------------------------------------------------------ actions

  function act(button, path, busyText) {
    var label = button.textContent;
    button.disabled = true;
    button.textContent = busyText;
    clearError();
    return api('POST', path).then(function (result) {
      if (result && result.message) $('detail').textContent = result.message;
    }).catch(function (err) {
      showError(err.message, err.correlationId);
    }).then(function () {
      button.textContent = label;
      if (ui.status) renderStatus(ui.status);
    });
  }

  $('btn-connect').addEventListener('click', function () { act(this, '/whatsapp/connect', 'Connecting…'); });
  $('btn-restart').addEventListener('click', function () { act(this, '/whatsapp/restart', 'Restarting…'); });

  var logoutArmed = null;
  $('btn-logout').addEventListener('click', function () {
    var button = this;
    // Two taps instead of confirm(): dialogs may be blocked inside GHL's iframe.
    if (!logoutArmed) {
      button.classList.add('armed');
      button.textContent = 'Tap again to log out';
      logoutArmed = setTimeout(function () {
        logoutArmed = null;
        button.classList.remove('armed');
        button.textContent = 'Log out';
      }, 4000);
      return;
    }
    clearTimeout(logoutArmed);
    logoutArmed = null;
    button.classList.remove('armed');
    button.textContent = 'Log out';
    act(button, '/whatsapp/logout', 'Logging out…');
  });

  $('pairing-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = $('pairing-phone');
    var digits = input.value.replace(/[^0-9]/g, '');
    var submit = this.querySelector('button');
    submit.disabled = true;
    clearError();
    api('POST', '/whatsapp/pairing-code', { phone: '+' + digits }).then(function (result) {
      showPairingCode(result.code);
    }).catch(function (err) {
      showError(err.message, err.correlationId);
    }).then(function () { submit.disabled = false; });
  });

  setInterval(tick, 250);

  // ------------------------------------------------------------------ start

  signIn().then(function () {
    connectStream();
  }).catch(function (err) {
    if (err.code === 'outside_ghl') {
      fatal(
        'Open this page from GoHighLevel.',
        'This page shows the WhatsApp connection of a GoHighLevel sub-account and needs GoHighLevel to say who you are.',
        devLogin
          ? 'In GoHighLevel open the sub-account and choose WhatsApp in the menu. For local development, use the link npm start prints.'
          : 'In GoHighLevel open the sub-account and choose WhatsApp in the menu.'
      );
      return;
    }
    if (err.code === 'location_not_installed') {
      fatal('The app is not installed for this sub-account.', err.message,
        'Install the app from the GoHighLevel marketplace, then open this page again.');
    } else if (err.code === 'no_active_location') {
      fatal('Open a sub-account first.', err.message, 'Switch to a sub-account in GoHighLevel and open WhatsApp there.');
    } else {
      fatal('We could not sign you in.', err.message, 'Reload the page. If it keeps failing, contact support with the reference below.');
    }
    showError(err.message, err.correlationId);
  });
})();
`;
