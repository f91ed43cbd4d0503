import { api, get } from './api.js';
import { announce, badge, circuitBadge, h, ms, percent, show, sparkline, table } from './ui.js';

/** Endpoints with their health over the last hour: the portal's home. */
export async function endpointsView() {
  const stats = await get('/v1/endpoint-stats');
  const rows = stats.data.map((endpoint) =>
    h(
      'tr',
      { 'data-endpoint-id': endpoint.endpointId },
      h('td', {}, h('a', { href: `#/endpoints/${endpoint.endpointId}` }, endpoint.url)),
      h(
        'td',
        {},
        endpoint.enabled ? badge('enabled', 'ok') : badge('disabled', 'bad'),
        endpoint.disabledReason ? h('div', { class: 'hint' }, endpoint.disabledReason) : null,
      ),
      h('td', {}, circuitBadge(endpoint.circuitState)),
      h(
        'td',
        { class: 'success-rate' },
        percent(endpoint.successRate),
        h('div', { class: 'hint' }, `${endpoint.attempts} attempts`),
      ),
      h('td', { class: 'p95' }, ms(endpoint.p95LatencyMs)),
      h('td', { class: 'held' }, String(endpoint.held)),
      h('td', { class: 'dead-letters' }, String(endpoint.deadLetters)),
      h(
        'td',
        { class: 'hide-narrow' },
        sparkline(
          endpoint.buckets,
          `Last hour for ${endpoint.url}: ${endpoint.delivered} delivered, ${endpoint.failed} failed, p95 ${ms(endpoint.p95LatencyMs)}`,
        ),
      ),
    ),
  );
  show(
    h('h1', {}, 'Endpoints'),
    h('p', {}, h('a', { href: '#/endpoints/new', class: 'new-endpoint' }, 'Add an endpoint')),
    h('h2', {}, 'Health over the last hour'),
    rows.length
      ? table(
          'Endpoints and their health over the last hour',
          ['URL', 'Status', 'Circuit', 'Success', 'p95 latency', 'Held', 'Dead letters', 'Last hour'],
          rows,
          { id: 'endpoints' },
        )
      : h('p', {}, 'No endpoints yet.'),
    h(
      'p',
      { class: 'hint' },
      'Bars: attempts per 5 minutes, green delivered, red failed; the line is the p95 latency.',
    ),
  );
}

/** Event types to offer: those of the newest 500 events of the last week, and any already chosen. */
async function knownEventTypes() {
  const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const types = new Set();
  let cursor = null;
  for (let page = 0; page < 5; page++) {
    const query = `/v1/events?order=newest&limit=100&from=${encodeURIComponent(from)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const feed = await get(query);
    for (const event of feed.data) types.add(event.type);
    if (!feed.hasMore) break;
    cursor = feed.nextCursor;
  }
  return [...types].sort();
}

/** The create and edit form; `endpoint` is the current state when editing. */
export async function endpointForm(endpoint, onSaved) {
  const chosen = new Set(endpoint?.eventTypes ?? []);
  const known = await knownEventTypes();
  const offered = [...new Set([...known, ...chosen].filter((type) => type !== '*'))].sort();
  const error = h('p', { class: 'error', role: 'alert' });
  const field = (id, label, input, hint) =>
    h(
      'div',
      {},
      h('label', { for: id }, label),
      input,
      hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    );
  const url = h('input', {
    id: 'endpoint-url',
    type: 'url',
    required: true,
    value: endpoint?.url ?? '',
    'aria-describedby': 'endpoint-url-hint',
  });
  const description = h('input', {
    id: 'endpoint-description',
    type: 'text',
    value: endpoint?.description ?? '',
  });
  const all = h('input', {
    type: 'checkbox',
    name: 'all-types',
    checked: chosen.size === 0 || chosen.has('*'),
  });
  const boxes = offered.map((type) =>
    h(
      'label',
      {},
      h('input', { type: 'checkbox', name: 'event-type', value: type, checked: chosen.has(type) }),
      type,
    ),
  );
  const pattern = h('input', {
    id: 'endpoint-pattern',
    type: 'text',
    placeholder: 'record.*',
    'aria-describedby': 'endpoint-pattern-hint',
  });
  const ordering = h(
    'select',
    { id: 'endpoint-ordering' },
    ['none', 'strict'].map((mode) =>
      h(
        'option',
        { value: mode, selected: endpoint?.ordering === mode },
        mode === 'none'
          ? 'none: best effort after a retry'
          : 'strict: later deliveries wait for a retried one',
      ),
    ),
  );
  // max: the API's (MAX_ENDPOINT_CONCURRENCY). Left empty on a new endpoint, so the server's
  // configured default (HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY) applies unless the user picks one.
  const concurrency = h('input', {
    id: 'endpoint-concurrency',
    type: 'number',
    min: 1,
    max: 100,
    value: endpoint?.maxConcurrency,
    placeholder: endpoint ? undefined : 'server default',
  });
  const form = h(
    'form',
    {
      id: 'endpoint-form',
      onsubmit: async (event) => {
        event.preventDefault();
        const types = boxes
          .map((label) => label.querySelector('input'))
          .filter((box) => box.checked)
          .map((box) => box.value);
        for (const extra of pattern.value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean))
          types.push(extra);
        const body = {
          url: url.value.trim(),
          description: description.value.trim() || null,
          eventTypes: all.checked || types.length === 0 ? ['*'] : types,
          ordering: ordering.value,
          ...(concurrency.value === '' ? {} : { maxConcurrency: Number(concurrency.value) }),
        };
        try {
          const saved = endpoint
            ? await api('PATCH', `/v1/endpoints/${endpoint.id}`, body)
            : await api('POST', '/v1/endpoints', body);
          announce('Endpoint saved');
          await onSaved(saved.body);
        } catch (failure) {
          error.textContent = failure.message;
        }
      },
    },
    error,
    field('endpoint-url', 'URL', url, 'Where Hookstream POSTs signed deliveries (https in production).'),
    field('endpoint-description', 'Description (optional)', description),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Event types'),
      h('label', {}, all, 'All event types'),
      boxes,
      h('label', { for: 'endpoint-pattern' }, 'Other types or patterns, comma-separated'),
      pattern,
      h('p', { class: 'hint', id: 'endpoint-pattern-hint' }, 'Exact types, or prefixes like record.*'),
    ),
    field('endpoint-ordering', 'Ordering', ordering),
    field(
      'endpoint-concurrency',
      'Concurrent requests',
      concurrency,
      endpoint
        ? 'More than 1 gives up the order of deliveries.'
        : "More than 1 gives up the order of deliveries. Empty: the server's default.",
    ),
    h('button', { type: 'submit' }, endpoint ? 'Save changes' : 'Create endpoint'),
  );
  return form;
}

export async function newEndpointView() {
  show(
    h('h1', {}, 'Add an endpoint'),
    await endpointForm(null, async (created) => {
      location.hash = `#/endpoints/${created.id}`;
    }),
  );
}
