import { get } from './api.js';
import { badge, excerpt, h, ms, outcomeBadge, show, table, when } from './ui.js';

/** The newest events of the last day (the feed is oldest first: read to its end, keep the last 50). */
export async function eventsView() {
  const from = new Date(Date.now() - 86_400_000).toISOString();
  let events = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const feed = await get(
      `/v1/events?limit=100&from=${encodeURIComponent(from)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    events = events.concat(feed.data).slice(-50);
    if (!feed.hasMore) break;
    cursor = feed.nextCursor;
  }
  const rows = events
    .reverse()
    .map((event) =>
      h(
        'tr',
        {},
        h('td', {}, when(event.receivedAt)),
        h('td', {}, h('a', { href: `#/events/${encodeURIComponent(event.id)}` }, event.id)),
        h('td', {}, event.type),
      ),
    );
  const lookup = h('input', { id: 'event-id', type: 'text', required: true, spellcheck: 'false' });
  show(
    h('h1', {}, 'Events'),
    h(
      'form',
      {
        class: 'row',
        onsubmit: (submit) => {
          submit.preventDefault();
          location.hash = `#/events/${encodeURIComponent(lookup.value.trim())}`;
        },
      },
      h('div', {}, h('label', { for: 'event-id' }, 'Find an event by id'), lookup),
      h('div', {}, h('button', { type: 'submit' }, 'Show')),
    ),
    h('h2', {}, 'Latest events (last 24 hours)'),
    rows.length
      ? table('Latest events, newest first', ['Received', 'Id', 'Type'], rows, { id: 'events' })
      : h('p', {}, 'No events in the last 24 hours.'),
  );
}

const STATE_KIND = { delivered: 'ok', dead_lettered: 'bad', failed: 'bad' };

/** One event: its data, and its delivery at each endpoint with every attempt. */
export async function eventView(id) {
  const event = await get(`/v1/events/${encodeURIComponent(id)}`);
  show(
    h('p', {}, h('a', { href: '#/events' }, '← Events')),
    h('h1', {}, `Event ${event.type}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Id'),
      h('dd', {}, h('code', {}, event.id)),
      h('dt', {}, 'Time'),
      h('dd', {}, event.time),
      h('dt', {}, 'Received'),
      h('dd', {}, when(event.receivedAt)),
      h('dt', {}, 'Source'),
      h('dd', {}, event.source),
    ),
    h('h2', {}, 'Data'),
    h(
      'pre',
      { tabindex: 0, role: 'region', 'aria-label': 'Event data' },
      JSON.stringify(event.data, null, 2),
    ),
    h('h2', {}, 'Deliveries'),
    event.deliveries.length
      ? event.deliveries.map((delivery) =>
          h(
            'section',
            {
              class: 'panel delivery',
              'data-endpoint-id': delivery.endpointId,
              'aria-label': `Delivery to ${delivery.url ?? delivery.endpointId}`,
            },
            h(
              'h3',
              {},
              delivery.url
                ? h('a', { href: `#/endpoints/${delivery.endpointId}` }, delivery.url)
                : `${delivery.endpointId} (deleted)`,
              ' ',
              badge(delivery.state.replace('_', ' '), STATE_KIND[delivery.state] ?? 'warn'),
            ),
            delivery.attempts.length
              ? table(
                  `Attempts to ${delivery.url ?? delivery.endpointId}`,
                  ['When', 'Attempt', 'Outcome', 'Latency', 'Response'],
                  delivery.attempts.map((attempt) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, when(attempt.attemptedAt)),
                      h('td', {}, String(attempt.attempt)),
                      h('td', {}, outcomeBadge(attempt.outcome, attempt.statusCode)),
                      h('td', {}, ms(attempt.latencyMs)),
                      h('td', {}, excerpt(attempt.responseBody || attempt.error || '', 120)),
                    ),
                  ),
                )
              : h('p', { class: 'hint' }, 'No attempt yet.'),
            delivery.attemptsLeftOut > 0
              ? h(
                  'p',
                  { class: 'hint' },
                  `${delivery.attemptsLeftOut} older attempts are not shown here; `,
                  h('a', { href: `#/endpoints/${delivery.endpointId}` }, 'the endpoint’s deliveries'),
                  ' list them all.',
                )
              : '',
          ),
        )
      : h('p', {}, 'No endpoint was subscribed to this event.'),
  );
}
