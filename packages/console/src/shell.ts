/** The frame every page sits in: the navigation, the page's title, and the live-connection badge. */
import type { Status } from '@data-streaming/client';
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

export function navigation(current: string): HTMLElement {
  const link = (href: string, text: string) =>
    h('a', { href, ...(current === href || (href !== '/' && current.startsWith(href)) ? { 'aria-current': 'page' } : {}) }, text);
  return h(
    'nav',
    { 'aria-label': 'Console' },
    h('a', { href: '/', class: 'brand' }, 'data-streaming-api'),
    link('/', 'Overview'),
    link('/console/streams', 'Streams'),
    link('/console/health', 'Health'),
    h('a', { href: '/docs' }, 'API'),
  );
}
