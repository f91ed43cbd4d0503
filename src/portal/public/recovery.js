import { api, get } from './api.js';
import { actionButton, announce, h, show, table, when } from './ui.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A replay answered as a job (202 with `id` and `state`) is polled at GET /v1/replay-jobs/:id until it ends. */
function jobIdOf(body) {
  return typeof body?.state === 'string' && body?.id ? body.id : null;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

/** Follows the job until it ends and answers it; the bar shows its share of the window read. */
async function followJob(jobId, progress, text) {
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    const job = await get(`/v1/replay-jobs/${encodeURIComponent(jobId)}`);
    const replayed = job.counts?.replayed ?? 0;
    if (typeof job.progress === 'number') {
      progress.max = 1;
      progress.value = job.progress;
    }
    const share = typeof job.progress === 'number' ? ` (${Math.round(job.progress * 100)} % read)` : '';
    text.textContent = `Replay ${job.state}: ${replayed} re-sent${share}`;
    if (FINISHED.includes(job.state)) return job;
    await sleep(1000);
  }
  return null;
}

/** Without a job: counts deliveries to the endpoint since the replay started, up to what was re-sent. */
async function followDeliveries(endpointId, count, startedAt, progress, text) {
  progress.max = Math.max(count, 1);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const page = await get(`/v1/endpoints/${endpointId}/attempts?limit=100&outcome=delivered`);
    const delivered = page.data.filter((attempt) => new Date(attempt.attemptedAt) >= startedAt).length;
    progress.value = Math.min(delivered, count);
    text.textContent = `${Math.min(delivered, count)} of ${count} re-sent deliveries arrived`;
    if (delivered >= count) return;
    await sleep(1000);
  }
  text.textContent += ' (still going: see the deliveries)';
}

function progressOf(id) {
  const progress = h('progress', { id: `${id}-progress`, max: 1, value: 0, 'aria-label': 'Replay progress' });
  const text = h('span', { id: `${id}-text`, 'aria-live': 'polite' });
  return { progress, text, node: h('p', {}, progress, ' ', text) };
}

async function startReplay(endpointId, request, status) {
  const startedAt = new Date(Date.now() - 1000);
  const { body } = await request();
  const jobId = jobIdOf(body);
  let count = body?.replayed ?? 0;
  if (jobId) {
    const job = await followJob(jobId, status.progress, status.text);
    if (job?.state !== 'succeeded') {
      if (job?.error) status.text.textContent += `: ${job.error}`;
      return;
    }
    count = job.counts.replayed;
  }
  announce(`${count} deliveries re-sent`);
  if (count === 0) {
    status.text.textContent = 'Nothing to replay.';
    return;
  }
  await followDeliveries(endpointId, count, startedAt, status.progress, status.text);
}

/** On an endpoint's page: replay its dead letters, or a time window read back from Kafka. */
export function endpointRecovery(endpoint) {
  const letters = progressOf('dead-letter-replay');
  const window = progressOf('window-replay');
  const hourAgo = new Date(Date.now() - 3_600_000 - new Date().getTimezoneOffset() * 60_000)
    .toISOString()
    .slice(0, 16);
  const since = h('input', { id: 'replay-since', type: 'datetime-local', value: hourAgo, required: true });
  const until = h('input', { id: 'replay-until', type: 'datetime-local' });
  const error = h('p', { class: 'error', role: 'alert' });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'recovery-title' },
    h('h2', { id: 'recovery-title' }, 'Recovery'),
    h('h3', {}, 'Dead letters'),
    h(
      'p',
      { class: 'hint' },
      'Deliveries whose retries ran out. Replaying sends each again with the same webhook-id.',
    ),
    actionButton(
      'Replay all dead letters of this endpoint',
      () =>
        startReplay(
          endpoint.id,
          () => api('POST', `/v1/endpoints/${endpoint.id}/dead-letters/replay`),
          letters,
        ),
      { id: 'replay-dead-letters' },
    ),
    letters.node,
    h('h3', {}, 'A time window'),
    h(
      'form',
      {
        class: 'row',
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          const body = { since: new Date(since.value).toISOString() };
          if (until.value) body.until = new Date(until.value).toISOString();
          await startReplay(
            endpoint.id,
            () => api('POST', `/v1/endpoints/${endpoint.id}/replay`, body),
            window,
          ).catch((failure) => {
            error.textContent = failure.message;
          });
        },
      },
      h('div', {}, h('label', { for: 'replay-since' }, 'From (your time)'), since),
      h('div', {}, h('label', { for: 'replay-until' }, 'Until (empty: now)'), until),
      h('div', {}, h('button', { type: 'submit', id: 'replay-window' }, 'Replay window')),
    ),
    error,
    window.node,
  );
}

/** Every dead letter of the tenant, newest first, each with a Replay button. */
export async function recoveryView() {
  const page = await get('/v1/dead-letters?limit=100');
  const rows = page.data.map((letter) =>
    h(
      'tr',
      { 'data-dead-letter-id': letter.id },
      h('td', {}, when(letter.createdAt)),
      h(
        'td',
        {},
        letter.endpointId
          ? h('a', { href: `#/endpoints/${letter.endpointId}` }, letter.endpointId.slice(0, 8))
          : '-',
      ),
      h(
        'td',
        {},
        letter.eventId
          ? h('a', { href: `#/events/${encodeURIComponent(letter.eventId)}` }, letter.eventId)
          : '-',
      ),
      h('td', {}, letter.eventType ?? '-'),
      h('td', {}, letter.reason, letter.lastError ? h('div', { class: 'hint' }, letter.lastError) : null),
      h('td', {}, String(letter.attempts)),
      h(
        'td',
        { class: 'replayed' },
        letter.replayedAt
          ? `replayed ${when(letter.replayedAt)}`
          : actionButton(
              'Replay',
              async () => {
                await api('POST', `/v1/dead-letters/${letter.id}/replay`);
                announce('Replayed');
                await recoveryView();
              },
              { class: 'replay', 'aria-label': `Replay dead letter ${letter.eventId ?? letter.id}` },
            ),
      ),
    ),
  );
  show(
    h('h1', {}, 'Dead letters'),
    h(
      'p',
      { class: 'hint' },
      'Replay one here, or all of an endpoint’s (and a time window) from the endpoint’s page.',
    ),
    rows.length
      ? table(
          'Dead letters, newest first',
          ['When', 'Endpoint', 'Event', 'Type', 'Reason', 'Attempts', 'Replay'],
          rows,
          { id: 'dead-letters' },
        )
      : h('p', {}, 'No dead letters.'),
  );
}
