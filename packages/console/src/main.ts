/**
 * The console's entry: a router over `location.pathname` (`/`, `/console/dashboards/<type>`, `/console/streams`,
 * `/console/notifications`, `/console/health`, `/console/sign-in`), links handled in the page without reloading it,
 * the previous page's subscriptions released on every change, and the sign-in page instead of a page refused with 401.
 */
import './style.css';
import { ApiFailure } from './api';
import { clear, h } from './dom';
import { dashboardPage } from './pages/dashboard';
import { healthPage } from './pages/health';
import { notificationsPage } from './pages/notifications';
import { overviewPage } from './pages/overview';
import { signInPage } from './pages/sign-in';
import { streamsPage } from './pages/streams';
import { navigation, type Page } from './shell';

let current: Page | undefined;
/** Whether a page has been shown: after the first, a navigation moves the keyboard focus to the new page. */
let navigated = false;
const main = h('main', { id: 'main', tabindex: '-1' });

function notFound(path: string): Page {
  return {
    title: 'Not found',
    element: h(
      'div',
      { class: 'page not-found' },
      h('h1', {}, 'Not found'),
      h('p', {}, `Nothing in the console at ${path}.`),
      h('p', {}, h('a', { href: '/' }, 'Overview')),
    ),
    dispose: () => undefined,
  };
}

function failurePage(error: Error): Page {
  return {
    title: 'Error',
    element: h('div', { class: 'page error' }, h('h1', {}, 'The service did not answer'), h('p', {}, error.message)),
    dispose: () => undefined,
  };
}

async function pageFor(path: string): Promise<Page> {
  if (path === '/' || path === '/console' || path === '/console/') return overviewPage();
  const dashboard = /^\/console\/dashboards\/([^/]+)\/?$/.exec(path);
  if (dashboard) return dashboardPage(decodeURIComponent(dashboard[1] as string));
  if (path === '/console/health') return healthPage();
  if (path === '/console/streams') return streamsPage();
  if (path === '/console/notifications') return notificationsPage();
  if (path === '/console/sign-in') return signInPage();
  return notFound(path);
}

async function render(): Promise<void> {
  const path = location.pathname;
  current?.dispose();
  current = undefined;
  let page: Page;
  try {
    page = await pageFor(path);
  } catch (error) {
    page =
      error instanceof ApiFailure && error.status === 401
        ? await signInPage(error).catch(() => failurePage(error as Error))
        : failurePage(error as Error);
  }
  if (location.pathname !== path) {
    page.dispose(); // another navigation came first
    return;
  }
  current = page;
  document.title = `${page.title} · data-streaming-api`;
  const nav = document.querySelector('nav');
  nav?.replaceWith(navigation(path));
  clear(main);
  main.append(page.element);
  // The focus goes where a keyboard user needs it: the page's own first field, else (after a navigation, whose link
  // went away with the old navigation bar) the page's heading, so that Tab continues from the new page.
  const focus = main.querySelector<HTMLElement>('[autofocus]') ?? (navigated ? main.querySelector<HTMLElement>('h1') : null);
  if (focus?.tagName === 'H1') focus.tabIndex = -1;
  focus?.focus();
  navigated = true;
}

document.body.append(h('a', { href: '#main', class: 'skip-link' }, 'Skip to content'), navigation(location.pathname), main);
document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest('a');
  if (!link || link.origin !== location.origin || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  if (!(link.pathname === '/' || link.pathname.startsWith('/console'))) return;
  event.preventDefault();
  if (link.classList.contains('skip-link')) {
    // Focus the content in place: following the fragment would change the URL and fire popstate, which re-renders.
    main.focus();
    return;
  }
  history.pushState(null, '', link.pathname + link.search);
  void render();
});
window.addEventListener('popstate', () => void render());
void render();
