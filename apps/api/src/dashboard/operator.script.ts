/**
 * The operator view's script, served at /app/operator.js. Plain ES2020, no build step, no dependency,
 * no template literals (it lives in this TypeScript string). It reads the timeline and the dead letters
 * of a location with the API key typed in, and pages through the timeline with `next`.
 */
export const OPERATOR_SCRIPT = String.raw`(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var KEY_STORAGE = 'operator-api-key';
  var state = { location: '', query: '', next: null };

  $('api-key').value = sessionStorage.getItem(KEY_STORAGE) || '';

  function showError(message, correlationId) {
    var el = $('error');
    el.textContent = message + (correlationId ? ' (reference ' + correlationId + ')' : '');
    el.hidden = false;
  }

  function get(path) {
    return fetch(path, {
      headers: { accept: 'application/json', authorization: 'Bearer ' + $('api-key').value.trim() },
      cache: 'no-store'
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          var err = new Error(body.message || ('request failed (' + res.status + ')'));
          err.correlationId = body.correlationId || res.headers.get('x-correlation-id');
          throw err;
        }
        return body;
      });
    });
  }

  function isoOf(input) {
    if (!input.value) return null;
    var d = new Date(input.value);
    return isNaN(d.getTime()) ? null : d.toISOString();
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function entryRow(entry) {
    var tr = document.createElement('tr');
    tr.setAttribute('data-kind', entry.kind);
    tr.setAttribute('data-type', entry.type);
    var stored = new Date(entry.storedAt);
    cell(tr, stored.toLocaleString([], { dateStyle: 'short', timeStyle: 'medium' }), 'when');
    cell(tr, entry.type, 'type');
    var what = cell(tr, '', 'what');
    var details = document.createElement('details');
    var summary = document.createElement('summary');
    summary.textContent = entry.summary;
    details.appendChild(summary);
    var facts = document.createElement('dl');
    facts.className = 'facts';
    var add = function (label, value) {
      if (value === null || value === undefined || value === '') return;
      var dt = document.createElement('dt');
      dt.textContent = label;
      var dd = document.createElement('dd');
      dd.textContent = String(value);
      facts.appendChild(dt);
      facts.appendChild(dd);
    };
    Object.keys(entry.detail).forEach(function (k) { add(k, entry.detail[k]); });
    add('event id', entry.eventId);
    add('caused by', entry.causationId);
    add('correlation', entry.correlationId);
    add('stream', entry.stream + ' #' + entry.seq);
    details.appendChild(facts);
    what.appendChild(details);
    return tr;
  }

  function loadPage(first) {
    var path = '/api/locations/' + encodeURIComponent(state.location) + '/events?' + state.query +
      (first ? '' : '&cursor=' + encodeURIComponent(state.next));
    $('more').disabled = true;
    return get(path).then(function (page) {
      var body = $('entries');
      if (first) {
        body.textContent = '';
        $('timeline-window').textContent = 'From ' + new Date(page.since).toLocaleString() + ' to ' +
          new Date(page.until).toLocaleString() + ', in the order the bus stored them.';
      }
      page.entries.forEach(function (entry) { body.appendChild(entryRow(entry)); });
      if (first && !page.entries.length) {
        var tr = document.createElement('tr');
        cell(tr, 'Nothing in this window.', 'muted').colSpan = 3;
        body.appendChild(tr);
      }
      state.next = page.next;
      $('more').hidden = !page.next;
      $('more').disabled = false;
    });
  }

  function loadDeadLetters() {
    return get('/api/locations/' + encodeURIComponent(state.location) + '/dead-letters?limit=100').then(function (page) {
      var list = $('dead-letters');
      list.textContent = '';
      if (!page.deadLetters.length) {
        var none = document.createElement('li');
        none.className = 'muted';
        none.textContent = 'No dead letters.';
        list.appendChild(none);
      }
      page.deadLetters.forEach(function (letter) {
        var li = document.createElement('li');
        li.setAttribute('data-seq', String(letter.seq));
        var t = document.createElement('time');
        t.dateTime = letter.storedAt;
        t.textContent = '#' + letter.seq + ' ' + new Date(letter.storedAt).toLocaleString();
        var s = document.createElement('span');
        s.textContent = (letter.eventType || letter.originalSubject) + ' (' + letter.errorKind +
          (letter.consumer ? ' in ' + letter.consumer : '') + '): ' + letter.reason;
        li.appendChild(t);
        li.appendChild(s);
        list.appendChild(li);
      });
      if (page.next) {
        var more = document.createElement('li');
        more.className = 'muted';
        more.textContent = 'More: list them with the replay tool.';
        list.appendChild(more);
      }
    });
  }

  $('query').addEventListener('submit', function (event) {
    event.preventDefault();
    $('error').hidden = true;
    sessionStorage.setItem(KEY_STORAGE, $('api-key').value.trim());
    state.location = $('location').value.trim();
    var params = new URLSearchParams();
    var since = isoOf($('since'));
    var until = isoOf($('until'));
    if (since) params.set('since', since);
    if (until) params.set('until', until);
    var types = $('types').value.replace(/\s+/g, '');
    if (types) params.set('types', types);
    params.set('limit', '100');
    state.query = params.toString();
    history.replaceState(null, '', '/app/operator?locationId=' + encodeURIComponent(state.location));
    Promise.all([loadPage(true), loadDeadLetters()]).catch(function (err) {
      showError(err.message, err.correlationId);
    });
  });

  $('more').addEventListener('click', function () {
    loadPage(false).catch(function (err) { showError(err.message, err.correlationId); });
  });
})();
`;
