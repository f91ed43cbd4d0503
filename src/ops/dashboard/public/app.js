/*
 * Hookstream dashboard: polls the /v1/ops JSON endpoints and draws them. No build step, no framework.
 * The ops token reads everything shown; Replay needs the admin token (403 otherwise, shown on the button).
 */
(function () {
  'use strict';
  const POLL_MS = 1500;
  const HISTORY = 160;
  const TOKEN_KEY = 'hookstream.adminToken';
  const $ = (id) => document.getElementById(id);

  let timer = null;
  const history = { t: [], lag: new Map(), rate: new Map(), p50: [], p99: [] };
  const charts = {};

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(method, path) {
    const response = await fetch(path, { method, headers: { authorization: 'Bearer ' + token() } });
    if (response.status === 401) {
      signOut('The token was refused.');
      throw new Error('unauthorized');
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || method + ' ' + path + ' answered ' + response.status);
    return body;
  }

  function showForm(message) {
    $('main').hidden = true;
    $('sign-out').hidden = true;
    $('token-form').hidden = false;
    $('token-error').textContent = message || '';
    $('status').textContent = 'not connected';
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    timer = null;
    showForm(message);
  }

  function start() {
    $('token-form').hidden = true;
    $('main').hidden = false;
    $('sign-out').hidden = false;
    void poll();
  }

  async function poll() {
    try {
      const [summary, lag, deadLetters] = await Promise.all([
        api('GET', '/v1/ops/summary'),
        api('GET', '/v1/ops/lag'),
        api('GET', '/v1/ops/dead-letters?limit=50'),
      ]);
      render(summary, lag, deadLetters.items);
      $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (error) {
      if (error.message === 'unauthorized') return;
      $('status').textContent = 'error: ' + error.message;
    }
    if (token()) timer = setTimeout(poll, POLL_MS);
  }

  function fmtRate(n) {
    return n >= 100 ? n.toFixed(0) : n.toFixed(1);
  }
  function fmtSeconds(s) {
    if (s === null || s === undefined) return '-';
    return s < 1 ? (s * 1000).toFixed(0) + ' ms' : s.toFixed(2) + ' s';
  }
  function fmtAge(ms) {
    if (ms === null || ms === undefined) return '-';
    return ms < 1000 ? '0 s' : ms < 120000 ? (ms / 1000).toFixed(0) + ' s' : (ms / 60000).toFixed(1) + ' min';
  }

  function render(summary, lag, deadLetters) {
    const rates = summary.deliveries.ratePerSecond;
    const failed = (rates.retried || 0) + (rates.dead_lettered || 0);
    $('rate-delivered').textContent = fmtRate(rates.delivered || 0);
    $('rate-failed').textContent = fmtRate(failed);
    $('delivered-total').textContent = String(summary.deliveries.totals.delivered || 0);
    $('p50').textContent = fmtSeconds(summary.deliveries.attemptLatencySeconds.p50);
    $('p99').textContent = fmtSeconds(summary.deliveries.attemptLatencySeconds.p99);
    $('in-flight').textContent = String(summary.inFlight);
    // A retry tier holds deliveries until they are due, on purpose: its lag is depth, not delay.
    const lagOf = (groups) => groups.reduce((s, g) => s + g.totalLag, 0);
    $('lag-total').textContent = String(lagOf(lag.groups.filter((g) => g.kind !== 'retry')));
    $('retry-depth').textContent = String(lagOf(lag.groups.filter((g) => g.kind === 'retry')));
    $('oldest').textContent = fmtAge(lag.oldestUnfinishedAgeMs);
    $('dlq-size').textContent = String(lag.deadLetters);
    $('circuits-open').textContent = String(summary.circuits.open + summary.circuits.half_open);
    $('endpoint-count').textContent = '(' + summary.endpointCount + ')';

    record(summary, lag);
    drawCharts();
    renderCluster(summary);
    renderEndpoints(summary.endpoints);
    renderDeadLetters(deadLetters);
  }

  function lagSeries(lag) {
    const out = new Map();
    for (const group of lag.groups) {
      if (group.kind === 'retry') {
        out.set(group.group + ' retry tier ' + group.tier + ' (depth)', group.totalLag);
        continue;
      }
      if (group.kind === 'dlq-mirror') {
        out.set(group.group + ' (all)', group.totalLag);
        continue;
      }
      for (const p of group.partitions) out.set(group.group + ' ' + group.topic + '#' + p.partition, p.lag);
    }
    return out;
  }

  function push(map, key, value, length) {
    if (!map.has(key)) map.set(key, new Array(length).fill(null));
    map.get(key).push(value);
  }

  function record(summary, lag) {
    const t = Date.now() / 1000;
    const before = history.t.length;
    history.t.push(t);
    const lagNow = lagSeries(lag);
    for (const [key, value] of lagNow) push(history.lag, key, value, before);
    for (const [key, values] of history.lag) if (!lagNow.has(key)) values.push(null);
    const rates = summary.deliveries.ratePerSecond;
    for (const outcome of new Set([...Object.keys(rates), ...history.rate.keys()])) {
      push(history.rate, outcome, rates[outcome] || 0, before);
    }
    const latency = summary.deliveries.attemptLatencySeconds;
    history.p50.push(latency.p50 === null ? null : latency.p50 * 1000);
    history.p99.push(latency.p99 === null ? null : latency.p99 * 1000);
    if (history.t.length > HISTORY) {
      history.t.shift();
      history.p50.shift();
      history.p99.shift();
      for (const values of history.lag.values()) values.shift();
      for (const values of history.rate.values()) values.shift();
    }
  }

  const PALETTE = [
    '#2563eb',
    '#dc2626',
    '#16a34a',
    '#d97706',
    '#7c3aed',
    '#0891b2',
    '#db2777',
    '#65a30d',
    '#475569',
    '#ea580c',
    '#0d9488',
    '#9333ea',
  ];

  function drawChart(id, names, columns) {
    const el = $(id);
    const key = names.join('|');
    const data = [history.t, ...columns];
    const width = Math.max(300, el.clientWidth || 420);
    if (!charts[id] || charts[id].key !== key) {
      if (charts[id]) charts[id].plot.destroy();
      const series = [
        {},
        ...names.map((name, i) => ({ label: name, stroke: PALETTE[i % PALETTE.length], width: 1.5 })),
      ];
      const plot = new uPlot(
        { width, height: 220, series, scales: { x: { time: true } }, legend: { live: false } },
        data,
        el,
      );
      charts[id] = { key, plot };
    } else {
      charts[id].plot.setData(data);
    }
  }

  function drawCharts() {
    const lagNames = [...history.lag.keys()].sort();
    drawChart(
      'chart-lag',
      lagNames,
      lagNames.map((name) => history.lag.get(name)),
    );
    const rateNames = [...history.rate.keys()].sort();
    drawChart(
      'chart-rate',
      rateNames,
      rateNames.map((name) => history.rate.get(name)),
    );
    drawChart('chart-latency', ['p50', 'p99'], [history.p50, history.p99]);
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '-' : String(text);
    if (className) td.className = className;
    return td;
  }

  function badge(text) {
    const span = document.createElement('span');
    span.className = 'badge';
    span.textContent = text;
    return span;
  }

  function renderCluster(summary) {
    const replicas = summary.replicas;
    const live = replicas.filter((r) => r.live).length;
    const gone = replicas.length - live;
    $('cluster').textContent =
      'answered by ' + summary.answeredBy + ' · ' + live + (live === 1 ? ' replica' : ' replicas') + ' live';
    $('replica-count').textContent = '(' + live + ' live' + (gone ? ', ' + gone + ' gone' : '') + ')';
    // Heartbeats carry PostgreSQL's time; the answering replica's, not the browser's, is compared with them.
    const now = Date.parse(summary.takenAt);
    const rows = replicas.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.replicaId = r.id;
      if (!r.live) tr.className = 'gone';
      const name = cell(r.id, 'mono');
      if (r.id === summary.answeredBy) name.append(' ', badge('answered'));
      const exporter = cell('');
      if (r.exporter) exporter.replaceChildren(badge('exporter'));
      const delivers = r.roles.includes('delivery');
      tr.append(
        name,
        cell(r.host),
        cell(r.roles.join(', ')),
        cell(r.live ? 'yes' : 'gone', r.live ? 'state-closed' : 'state-open'),
        exporter,
        cell(r.partitions.length ? r.partitions.join(', ') : delivers ? 'none' : '-', 'partitions'),
        cell(r.inFlight),
        cell(r.circuits.open + r.circuits.half_open),
        cell(fmtRate(r.deliveredPerSecond)),
        cell(fmtAge(Math.max(0, now - Date.parse(r.heartbeatAt))) + ' ago'),
      );
      return tr;
    });
    $('replicas').replaceChildren(...rows);
  }

  function renderEndpoints(endpoints) {
    const rows = endpoints.map((e) => {
      const tr = document.createElement('tr');
      tr.dataset.endpointId = e.id;
      tr.append(
        cell(e.id.slice(0, 8), 'mono'),
        cell(e.url),
        cell(e.tenantId.slice(0, 8), 'mono'),
        cell(e.enabled ? 'yes' : 'disabled', e.enabled ? '' : 'state-disabled'),
        cell(e.circuitState, 'state-' + e.circuitState),
        cell(e.lastStatus === null ? e.lastOutcome : e.lastStatus),
        cell(e.failureCount),
      );
      return tr;
    });
    $('endpoints').replaceChildren(...rows);
  }

  function renderDeadLetters(items) {
    const rows = items.map((d) => {
      const tr = document.createElement('tr');
      tr.dataset.deadLetterId = d.id;
      const action = document.createElement('td');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'replay';
      button.dataset.id = d.id;
      button.textContent = d.replayedAt ? 'Replay again' : 'Replay';
      button.addEventListener('click', () => void replay(button, d.id));
      action.append(button);
      tr.append(
        cell(new Date(d.createdAt).toLocaleTimeString()),
        cell(d.eventId, 'mono'),
        cell(d.eventType),
        cell(d.endpointId ? d.endpointId.slice(0, 8) : null, 'mono'),
        cell(d.reason),
        cell(d.attempts),
        cell(d.lastError),
        cell(d.replayedAt ? new Date(d.replayedAt).toLocaleTimeString() : null, 'replayed'),
        action,
      );
      return tr;
    });
    $('dead-letters').replaceChildren(...rows);
  }

  async function replay(button, id) {
    button.disabled = true;
    button.textContent = 'Replaying...';
    try {
      await api('POST', '/v1/ops/dead-letters/' + encodeURIComponent(id) + '/replay');
      button.textContent = 'Replayed';
    } catch (error) {
      button.disabled = false;
      button.textContent = 'Replay failed: ' + error.message;
    }
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    start();
  });
  $('sign-out').addEventListener('click', () => signOut(''));

  if (token()) start();
  else showForm('');
})();
