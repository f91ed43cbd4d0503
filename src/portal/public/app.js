import { get, setToken, takeTokenFromFragment, token } from './api.js';
import { h, show } from './ui.js';
import { endpointsView, newEndpointView } from './endpoints.js';
import { endpointView } from './endpoint.js';
import { eventView, eventsView } from './events.js';
import { recoveryView } from './recovery.js';

const ROUTES = [
  [/^#\/endpoints\/new$/, () => newEndpointView()],
  [/^#\/endpoints\/([0-9a-f-]{36})$/, (id) => endpointView(id)],
  [/^#\/events\/(.+)$/, (id) => eventView(decodeURIComponent(id))],
  [/^#\/events$/, () => eventsView()],
  [/^#\/recovery$/, () => recoveryView()],
  [/^/, () => endpointsView()],
];

function signedOut(message = '') {
  setToken(null);
  document.getElementById('nav').hidden = true;
  document.getElementById('view').hidden = true;
  document.getElementById('signin').hidden = false;
  document.getElementById('signin-error').textContent = message;
  document.getElementById('api-key').focus();
}

async function signIn() {
  const link = (token() ?? '').startsWith('hsp_');
  try {
    await get('/v1/endpoints?limit=1');
  } catch (error) {
    signedOut(
      error.status === 401
        ? link
          ? 'This portal link has expired or is not valid. Ask for a new link.'
          : 'That API key is not valid or was revoked.'
        : error.message,
    );
    return;
  }
  document.getElementById('signin').hidden = true;
  document.getElementById('nav').hidden = false;
  await route();
}

async function route() {
  if (!token()) return signedOut();
  const hash = location.hash || '#/endpoints';
  for (const [pattern, view] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) {
      try {
        await view(...match.slice(1));
      } catch (error) {
        if (error.status === 404)
          show(
            h('h1', {}, 'Not found'),
            h('p', { class: 'error' }, `${error.message}.`),
            h('p', {}, h('a', { href: '#/endpoints' }, 'Back to your endpoints')),
          );
        else if (error.status !== 401)
          show(h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, error.message));
      }
      return;
    }
  }
}

window.addEventListener('portal:unauthorized', () =>
  signedOut('You were signed out: the portal link expired or the key was revoked.'),
);
// A portal link opened in a tab already on the portal changes only the fragment: sign in with it.
window.addEventListener('hashchange', () => void (takeTokenFromFragment() ? signIn() : route()));
document.getElementById('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('api-key');
  setToken(input.value.trim());
  input.value = '';
  void signIn();
});
document.getElementById('sign-out').addEventListener('click', () => {
  history.replaceState(null, '', location.pathname);
  signedOut('Signed out.');
});

takeTokenFromFragment();
if (token()) void signIn();
else signedOut();
