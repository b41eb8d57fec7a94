/**
 * Sign in with an API key: checked with GET /auth/verify before it is kept (sessionStorage of this tab only, never a
 * URL), then the page the person came from opens (`?next=`). Opened by the navigation's link, and instead of any page
 * the service refused with 401.
 */
import { ApiFailure, currentSession, signIn, signOut } from '../api';
import { h } from '../dom';
import { navigate, type Page } from '../shell';

/** Only a path of the console itself, never another origin (`//host`) or a scheme. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  return /^\/(?!\/)/.test(next) && !next.startsWith('/console/sign-in') ? next : '/';
}

export async function signInPage(refusal?: ApiFailure): Promise<Page> {
  const session = await currentSession();
  // No name attribute: the key is never part of a form submission, whatever happens to the script.
  const key = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', autofocus: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const result = h('p', { class: 'send-result', role: 'alert' });
  const form = h(
    'form',
    { id: 'sign-in', class: 'send-form' },
    h('label', { class: 'field' }, h('span', {}, 'API key'), key),
    submit,
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    result.className = 'send-result';
    result.textContent = 'checking…';
    signIn(key.value.trim()).then(
      () => navigate(nextPath()),
      (error: unknown) => {
        submit.disabled = false;
        result.className = 'send-result bad';
        result.textContent =
          error instanceof ApiFailure && error.status === 401
            ? `The service refused this key: ${error.message}`
            : `The key could not be checked: ${(error as Error).message}`;
        key.select();
      },
    );
  });
  const intro =
    session.state === 'open'
      ? h('p', {}, 'This service needs no API key (auth.api_keys is empty): everything is open to this browser.')
      : session.state === 'signedIn'
        ? h(
            'p',
            {},
            `Signed in (${session.verify.scopes.join(', ')}). `,
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: () => {
                  signOut();
                  navigate(location.pathname + location.search);
                },
              },
              'Sign out',
            ),
          )
        : h('p', {}, refusal ? `This page needs an API key: ${refusal.message}` : 'This service needs an API key with the read scope.');
  return {
    title: 'Sign in',
    element: h(
      'div',
      { class: 'page sign-in' },
      h('h1', {}, 'Sign in'),
      intro,
      session.state === 'open' ? null : form,
      h(
        'p',
        { class: 'muted' },
        'The key stays in this tab (session storage) until you sign out or close it; live sockets use short-lived tokens the key grants.',
      ),
    ),
    dispose: () => undefined,
  };
}
