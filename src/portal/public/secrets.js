import { api } from './api.js';
import { actionButton, announce, copyButton, h } from './ui.js';

const GRACE = [
  [0, 'none: the old secret stops at once (it leaked)'],
  [3600, '1 hour'],
  [86_400, '1 day (default)'],
  [604_800, '7 days'],
];

function nodeSnippet(secret) {
  return `// npm i standardwebhooks express
import express from 'express';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.HOOKSTREAM_SECRET); // ${secret}
const app = express();

app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  let event;
  try {
    event = webhook.verify(req.body.toString('utf8'), req.headers);
  } catch {
    return res.status(400).send('bad signature');
  }
  queue.push(event); // work asynchronously
  res.status(204).end(); // answer fast
});`;
}

function pythonSnippet(secret) {
  return `# pip install standardwebhooks
import os
from standardwebhooks.webhooks import Webhook

wh = Webhook(os.environ["HOOKSTREAM_SECRET"])  # ${secret}

@app.post("/webhooks")
def receive(request):
    try:
        event = wh.verify(request.body, dict(request.headers))
    except Exception:
        return Response(status=400)
    queue.put(event)
    return Response(status=204)`;
}

/** Reveal the signing secret, rotate it with a grace period, and copy a receiver that verifies it. */
export async function secretSection(endpoint) {
  let secret = null;
  const shown = h('code', { id: 'secret-value' }, '••••••••••••');
  const node = h('pre', {
    id: 'snippet-node',
    tabindex: 0,
    role: 'region',
    'aria-label': 'Node.js receiver',
  });
  const python = h('pre', {
    id: 'snippet-python',
    tabindex: 0,
    role: 'region',
    'aria-label': 'Python receiver',
  });
  const render = () => {
    const placeholder = secret ?? 'whsec_... (reveal the secret to fill it in)';
    node.textContent = nodeSnippet(placeholder);
    python.textContent = pythonSnippet(placeholder);
  };
  render();
  const reveal = async () => {
    secret = (await api('GET', `/v1/endpoints/${endpoint.id}/secret`)).body.key;
    shown.textContent = secret;
    render();
  };
  const grace = h(
    'select',
    { id: 'grace-period' },
    GRACE.map(([seconds, label]) => h('option', { value: seconds, selected: seconds === 86_400 }, label)),
  );
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title' }, 'Signing secret'),
    h(
      'p',
      {},
      'Secret: ',
      shown,
      ' ',
      actionButton('Reveal', reveal, { class: 'secondary', id: 'reveal-secret' }),
      copyButton(() => secret ?? '', 'Copy secret'),
    ),
    h('label', { for: 'grace-period' }, 'Keep the old secret signing for'),
    grace,
    ' ',
    actionButton(
      'Rotate secret',
      async () => {
        secret = (
          await api('POST', `/v1/endpoints/${endpoint.id}/secret/rotate`, {
            gracePeriodSeconds: Number(grace.value),
          })
        ).body.key;
        shown.textContent = secret;
        render();
        announce('Secret rotated');
      },
      { id: 'rotate-secret' },
    ),
    h(
      'p',
      { class: 'hint' },
      'During the grace period every delivery carries a signature with each secret, so receivers can switch at their pace.',
    ),
    h('h3', {}, 'Verify deliveries: Node.js'),
    node,
    copyButton(() => node.textContent, 'Copy Node.js snippet'),
    h('h3', {}, 'Verify deliveries: Python'),
    python,
    copyButton(() => python.textContent, 'Copy Python snippet'),
  );
}
