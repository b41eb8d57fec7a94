/** The frame every page sits in: the navigation (with who is signed in), the page's title, and the live-connection badge. */
import type { Status } from '@data-streaming/client';
import { currentSession, signOut, type Session } from './api';
import { h } from './dom';

export interface Page {
  title: string;
  element: HTMLElement;
  /** Releases the page's subscriptions and timers when another page opens. */
  dispose(): void;
}

const STATUS_TEXT: Record<Status, string> = {
  connecting: 'connecting',
  open: 'live',
  reconnecting: 'reconnecting',
  closed: 'offline',
};

/** A badge that shows a subscription's state (live, reconnecting, offline). */
export function liveBadge(): { element: HTMLElement; set: (status: Status) => void } {
  const element = h('span', { class: 'badge connecting', role: 'status', 'aria-live': 'polite' }, STATUS_TEXT.connecting);
  return {
    element,
    set: (status) => {
      element.className = `badge ${status}`;
      element.textContent = STATUS_TEXT[status];
    },
  };
}

/** Opens a console page without reloading (main.ts renders on popstate). */
export function navigate(path: string): void {
  history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** Signed in with which scopes and a way out, or a way in; nothing when the service needs no key. */
function account(session: Session, current: string): HTMLElement[] {
  if (session.state === 'open') return [];
  if (session.state === 'signedOut')
    return [h('a', { href: `/console/sign-in?next=${encodeURIComponent(current)}`, 'data-account': 'signed-out' }, 'Sign in')];
  return [
    h('span', { class: 'muted', 'data-account': 'signed-in' }, `signed in · ${session.verify.scopes.join(', ')}`),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          signOut();
          navigate(`/console/sign-in?next=${encodeURIComponent(current)}`);
        },
      },
      'Sign out',
    ),
  ];
}

export function navigation(current: string): HTMLElement {
  const link = (href: string, text: string) =>
    h('a', { href, ...(current === href || (href !== '/' && current.startsWith(href)) ? { 'aria-current': 'page' } : {}) }, text);
  const session = h('span', { class: 'account' });
  currentSession().then(
    (state) => session.append(...account(state, current === '/console/sign-in' ? '/' : current + location.search)),
    () => undefined, // the page says when the service does not answer
  );
  return h(
    'nav',
    { 'aria-label': 'Console' },
    h('a', { href: '/', class: 'brand' }, 'data-streaming-api'),
    link('/', 'Overview'),
    link('/console/streams', 'Streams'),
    link('/console/notifications', 'Notifications'),
    link('/console/health', 'Health'),
    h('a', { href: '/docs' }, 'API'),
    session,
  );
}
