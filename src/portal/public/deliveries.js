import { api, get } from './api.js';
import { actionButton, announce, excerpt, h, ms, outcomeBadge, table, when } from './ui.js';

const PAGE = 50;

/**
 * Event ids of the given type patterns over the last week, newest first like the attempts they
 * filter (the attempt log does not keep the type): the newest 1,000 of a busy week.
 */
async function eventIdsOfTypes(types) {
  const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const ids = new Set();
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const feed = await get(
      `/v1/events?order=newest&limit=100&types=${encodeURIComponent(types)}&from=${encodeURIComponent(from)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const event of feed.data) ids.add(event.id);
    if (!feed.hasMore) break;
    cursor = feed.nextCursor;
  }
  return ids;
}

/** The request an attempt sent: its body rebuilt from the events feed, its signature headers as logged. */
async function requestAsSent(endpoint, attempt) {
  const event = await get(`/v1/events/${encodeURIComponent(attempt.eventId)}`);
  const body = JSON.stringify({ id: event.id, type: event.type, timestamp: event.time, data: event.data });
  const headers = {
    'content-type': 'application/json',
    ...endpoint.headers,
    'webhook-id': attempt.eventId,
    'webhook-timestamp':
      attempt.webhookTimestamp === null ? '(not kept for this attempt)' : String(attempt.webhookTimestamp),
    'webhook-signature': attempt.webhookSignature ?? '(not kept for this attempt)',
  };
  return { headers, body };
}

/** The response body as kept: the list gives an excerpt, and the attempt itself the whole of it. */
async function wholeResponseBody(endpoint, attempt) {
  if (!attempt.responseBodyTruncated) return attempt.responseBody;
  const whole = await get(`/v1/endpoints/${endpoint.id}/attempts/${encodeURIComponent(attempt.id)}`).catch(
    () => null,
  );
  return whole === null ? `${attempt.responseBody}… (the rest could not be loaded)` : whole.responseBody;
}

function detailsRow(endpoint, attempt, columns) {
  const holder = h('div', {});
  const row = h('tr', { class: 'attempt-details', hidden: true }, h('td', { colspan: columns }, holder));
  let loaded = false;
  const toggle = async () => {
    row.hidden = !row.hidden;
    if (row.hidden || loaded) return;
    loaded = true;
    const [request, responseBody] = await Promise.all([
      requestAsSent(endpoint, attempt).catch((error) => ({ error })),
      wholeResponseBody(endpoint, attempt),
    ]);
    holder.replaceChildren(
      ...[
        h('h3', {}, 'Request as sent'),
        request.error
          ? h(
              'p',
              { class: 'warn' },
              `The body is not in the events feed (a test event, or past retention): ${request.error.message}.`,
            )
          : [
              h(
                'pre',
                { class: 'request-headers', tabindex: 0, role: 'region', 'aria-label': 'Request headers' },
                `POST ${endpoint.url}\n${Object.entries(request.headers)
                  .map(([name, value]) => `${name}: ${value}`)
                  .join('\n')}`,
              ),
              h(
                'pre',
                { class: 'request-body', tabindex: 0, role: 'region', 'aria-label': 'Request body' },
                request.body,
              ),
            ],
        h('h3', {}, 'Response'),
        h('p', {}, attempt.error ? `Error: ${attempt.error}` : `Status ${attempt.statusCode}`),
        h(
          'pre',
          { class: 'response-body', tabindex: 0, role: 'region', 'aria-label': 'Response body' },
          responseBody ?? '(no body)',
        ),
      ].flat(),
    );
  };
  return { row, toggle };
}

/** One endpoint's recent attempts, newest first, filterable by outcome and event type. */
export async function deliveriesSection(endpoint) {
  const outcome = h(
    'select',
    { id: 'filter-outcome' },
    h('option', { value: '' }, 'All'),
    h('option', { value: 'failed' }, 'Failed'),
    h('option', { value: 'delivered' }, 'Delivered'),
  );
  const type = h('input', {
    id: 'filter-type',
    type: 'text',
    placeholder: 'record.*',
    'aria-describedby': 'filter-type-hint',
  });
  const holder = h('div', { id: 'deliveries' });
  const more = h('p', {});
  let cursor = null;
  let wanted = null;
  let deadLetters = new Map();
  const columns = 8;

  const render = (attempts, append) => {
    const rows = attempts
      .filter((attempt) => wanted === null || wanted.has(attempt.eventId))
      .flatMap((attempt) => {
        const details = detailsRow(endpoint, attempt, columns);
        const deadLetter = attempt.outcome === 'failed' ? deadLetters.get(attempt.eventId) : undefined;
        return [
          h(
            'tr',
            { class: 'attempt', 'data-event-id': attempt.eventId, 'data-outcome': attempt.outcome },
            h('td', {}, when(attempt.attemptedAt)),
            h(
              'td',
              {},
              h(
                'a',
                { href: `#/events/${encodeURIComponent(attempt.eventId)}` },
                excerpt(attempt.eventId, 14),
              ),
            ),
            h('td', {}, String(attempt.attempt)),
            h('td', {}, outcomeBadge(attempt.outcome, attempt.statusCode)),
            h('td', {}, ms(attempt.latencyMs)),
            h('td', { class: 'response-excerpt' }, excerpt(attempt.responseBody || attempt.error || '', 80)),
            h(
              'td',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary show-details',
                  'aria-label': `Details of attempt ${attempt.attempt} of ${attempt.eventId}`,
                  onclick: details.toggle,
                },
                'Details',
              ),
            ),
            h(
              'td',
              {},
              deadLetter
                ? actionButton(
                    'Replay',
                    async () => {
                      await api('POST', `/v1/dead-letters/${deadLetter.id}/replay`);
                      deadLetters.delete(attempt.eventId);
                      announce(`Replayed ${attempt.eventId}`);
                      await load(false);
                    },
                    { class: 'replay', 'aria-label': `Replay ${attempt.eventId}` },
                  )
                : attempt.outcome === 'failed'
                  ? h('span', { class: 'hint' }, 'retrying or replayed')
                  : '',
            ),
          ),
          details.row,
        ];
      });
    const body = holder.querySelector('tbody');
    if (append && body) body.append(...rows);
    else
      holder.replaceChildren(
        rows.length
          ? table(
              'Delivery attempts, newest first',
              ['When', 'Event', 'Attempt', 'Outcome', 'Latency', 'Response', 'Request', 'Recovery'],
              rows,
              { id: 'attempts' },
            )
          : h('p', {}, 'No attempts match.'),
      );
  };

  const load = async (append) => {
    if (!append) {
      cursor = null;
      const letters = await get(`/v1/dead-letters?endpointId=${endpoint.id}&limit=100`);
      deadLetters = new Map(
        letters.data
          .filter((letter) => !letter.replayedAt && letter.eventId)
          .map((letter) => [letter.eventId, letter]),
      );
      wanted = type.value.trim() ? await eventIdsOfTypes(type.value.trim()) : null;
    }
    const query = `limit=${PAGE}${outcome.value ? `&outcome=${outcome.value}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await get(`/v1/endpoints/${endpoint.id}/attempts?${query}`);
    cursor = page.nextCursor;
    render(page.data, append);
    more.replaceChildren(
      cursor ? actionButton('Older attempts', () => load(true), { class: 'secondary' }) : '',
    );
  };

  const section = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'deliveries-title' },
    h('h2', { id: 'deliveries-title' }, 'Deliveries'),
    h(
      'form',
      {
        class: 'row',
        onsubmit: async (event) => {
          event.preventDefault();
          await load(false);
        },
      },
      h('div', {}, h('label', { for: 'filter-outcome' }, 'Status'), outcome),
      h(
        'div',
        {},
        h('label', { for: 'filter-type' }, 'Event type'),
        type,
        h('p', { class: 'hint', id: 'filter-type-hint' }, 'Exact, or a prefix like record.*'),
      ),
      h(
        'div',
        {},
        h('button', { type: 'submit', id: 'apply-filter' }, 'Filter'),
        h(
          'button',
          { type: 'button', class: 'secondary', id: 'refresh-deliveries', onclick: () => load(false) },
          'Refresh',
        ),
      ),
    ),
    holder,
    more,
  );
  await load(false);
  return section;
}
