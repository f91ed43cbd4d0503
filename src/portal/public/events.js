import { get } from './api.js';
import { actionButton, announce, badge, excerpt, h, ms, outcomeBadge, show, table, when } from './ui.js';

const PAGE = 50;

const eventRow = (event) =>
  h(
    'tr',
    { class: 'event', 'data-event-id': event.id },
    h('td', {}, when(event.receivedAt)),
    h('td', {}, h('a', { href: `#/events/${encodeURIComponent(event.id)}` }, event.id)),
    h('td', {}, event.type),
  );

/** The tenant's events, newest first, and older ones a page at a time (GET /v1/events?order=newest). */
export async function eventsView() {
  const holder = h('div', {});
  const more = h('p', {});
  let cursor = null;
  const load = async () => {
    const feed = await get(
      `/v1/events?order=newest&limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    const rows = feed.data.map(eventRow);
    const body = holder.querySelector('tbody');
    if (body) {
      body.append(...rows);
      announce(`${rows.length} older events shown`);
    } else
      holder.replaceChildren(
        rows.length
          ? table('Latest events, newest first', ['Received', 'Id', 'Type'], rows, { id: 'events' })
          : h('p', {}, 'No events yet.'),
      );
    cursor = feed.nextCursor;
    more.replaceChildren(
      cursor ? actionButton('Older events', load, { class: 'secondary', id: 'older-events' }) : '',
    );
  };
  await load();
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
    h('h2', {}, 'Latest events'),
    holder,
    more,
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
