import { api, get } from './api.js';
import { deliveriesSection } from './deliveries.js';
import { endpointForm } from './endpoints.js';
import { endpointRecovery } from './recovery.js';
import { secretSection } from './secrets.js';
import { actionButton, announce, badge, circuitBadge, h, ms, outcomeBadge, show } from './ui.js';

/** One endpoint: its settings, the actions on it, a test event, its secret, deliveries and recovery. */
export async function endpointView(id) {
  const endpoint = await get(`/v1/endpoints/${id}`);
  const reload = () => endpointView(id);
  show(
    h('p', {}, h('a', { href: '#/endpoints' }, '← All endpoints')),
    h('h1', {}, 'Endpoint'),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'summary-title' },
      h('h2', { id: 'summary-title' }, 'Summary'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'URL'),
        h('dd', { id: 'endpoint-url-shown' }, endpoint.url),
        h('dt', {}, 'Id'),
        h('dd', {}, h('code', {}, endpoint.id)),
        h('dt', {}, 'Status'),
        h(
          'dd',
          { id: 'endpoint-status' },
          endpoint.enabled ? badge('enabled', 'ok') : badge('disabled', 'bad'),
          endpoint.disabledReason ? ` ${endpoint.disabledReason}` : '',
        ),
        h('dt', {}, 'Circuit'),
        h('dd', {}, circuitBadge(endpoint.circuitState), ` ${endpoint.failureCount} consecutive failures`),
        h('dt', {}, 'Event types'),
        h('dd', {}, endpoint.eventTypes.join(', ')),
        h('dt', {}, 'Ordering'),
        h('dd', {}, endpoint.ordering),
        h('dt', {}, 'Concurrent requests'),
        h('dd', {}, String(endpoint.maxConcurrency)),
        endpoint.problem ? [h('dt', {}, 'Problem'), h('dd', { class: 'error' }, endpoint.problem)] : null,
      ),
      h(
        'p',
        {},
        endpoint.enabled
          ? disableControl(id, reload)
          : actionButton(
              'Enable',
              async () => {
                await api('PATCH', `/v1/endpoints/${id}`, { enabled: true });
                announce('Endpoint enabled');
                await reload();
              },
              { id: 'enable' },
            ),
        deleteControl(endpoint),
      ),
    ),
    testSection(endpoint),
    await secretSection(endpoint),
    await deliveriesSection(endpoint),
    endpointRecovery(endpoint),
    h(
      'details',
      { class: 'panel' },
      h('summary', {}, 'Edit settings'),
      await endpointForm(endpoint, async () => reload()),
    ),
  );
}

/** Disabling stops deliveries (they are dead-lettered, replayable); the reason is shown to whoever looks next. */
function disableControl(id, reload) {
  const reason = h('input', {
    id: 'disable-reason',
    type: 'text',
    maxlength: 500,
    placeholder: 'receiver under maintenance',
  });
  return h(
    'div',
    {},
    h('label', { for: 'disable-reason' }, 'Reason for disabling (optional)'),
    reason,
    ' ',
    actionButton(
      'Disable',
      async () => {
        const body = { enabled: false };
        if (reason.value.trim()) body.disabledReason = reason.value.trim();
        await api('PATCH', `/v1/endpoints/${id}`, body);
        announce('Endpoint disabled');
        await reload();
      },
      { class: 'secondary', id: 'disable' },
    ),
  );
}

/** Delete asks first, naming the URL; the confirmation is a second, explicit button. */
function deleteControl(endpoint) {
  const confirmBox = h(
    'div',
    { hidden: true, role: 'group', 'aria-labelledby': 'delete-question' },
    h(
      'p',
      { id: 'delete-question', class: 'warn' },
      `Delete ${endpoint.url}? Deliveries to it stop at once; this cannot be undone.`,
    ),
    actionButton(
      'Yes, delete it',
      async () => {
        await api('DELETE', `/v1/endpoints/${endpoint.id}`);
        announce('Endpoint deleted');
        location.hash = '#/endpoints';
      },
      { class: 'danger', id: 'confirm-delete' },
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: () => {
          confirmBox.hidden = true;
        },
      },
      'Cancel',
    ),
  );
  return h(
    'span',
    {},
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        id: 'delete',
        onclick: () => {
          confirmBox.hidden = false;
          confirmBox.querySelector('button').focus();
        },
      },
      'Delete…',
    ),
    confirmBox,
  );
}

/** Sends a `hookstream.test` event to this endpoint and follows it until it arrives or fails. */
function testSection(endpoint) {
  const result = h('p', { id: 'test-result', 'aria-live': 'polite' });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'test-title' },
    h('h2', { id: 'test-title' }, 'Send a test event'),
    h('p', { class: 'hint' }, 'A signed hookstream.test event goes to this endpoint alone.'),
    actionButton(
      'Send test event',
      async () => {
        const { body } = await api('POST', `/v1/endpoints/${endpoint.id}/test`);
        result.replaceChildren(`Sent ${body.eventId}; waiting for it to arrive…`);
        result.replaceChildren(await followEvent(body.eventId, endpoint.id));
      },
      { id: 'send-test' },
    ),
    result,
  );
}

/**
 * Polls the endpoint's attempts until one of `eventId` is logged (or 60 s pass). The attempt log, not
 * the events feed: a test event goes straight to the endpoint and is not in the feed.
 */
export async function followEvent(eventId, endpointId) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const page = await get(`/v1/endpoints/${endpointId}/attempts?limit=20`).catch(() => ({ data: [] }));
    const last = page.data.find((attempt) => attempt.eventId === eventId);
    if (last) {
      return h(
        'span',
        {},
        outcomeBadge(last.outcome, last.statusCode),
        ` in ${ms(last.latencyMs)} (event ${eventId})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return h('span', { class: 'warn' }, `No attempt of ${eventId} yet; see the deliveries below.`);
}
