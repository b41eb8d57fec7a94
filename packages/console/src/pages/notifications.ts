/**
 * Notifications: the live feed (the WebSocket channel `system_alerts` and the SSE stream `notifications`, which carry
 * every notification routed to `websocket` or `sse`, backfilled from the last hour's history and joined by notification
 * id), filtered by priority and status; the rules with their state and each comparison's current value against its
 * threshold (GET /notifications/status); the outbox per delivery channel (GET /notifications/channels); and a form
 * that sends a test notification (POST /notifications/send, which needs the publish scope).
 */
import type {
  DeliveryChannelsReport,
  InvalidBodyDetails,
  Notification,
  NotificationDetail,
  NotificationsStatus,
  RuleComparison,
  RuleStatus,
  SendNotificationResponse,
  WireEvent,
} from '@data-streaming/protocol';
import { DELIVERY_CHANNELS, NOTIFICATION_STATUSES, PRIORITIES } from '@data-streaming/protocol/vocabulary';
import { ApiFailure, currentSession, getJson, liveClient, postJson } from '../api';
import { clear, h } from '../dom';
import { age } from '../format';
import { liveBadge, type Page } from '../shell';

const POLL_MS = 2000;
/** Notifications kept in the feed, newest first. */
const KEPT = 200;
const BACKFILL_MS = 60 * 60 * 1000;
const FEED_SOURCES = [
  { channel: 'system_alerts', transport: 'websocket' },
  { channel: 'notifications', transport: 'sse' },
] as const;

const number = (value: number | null): string => (value === null ? 'no data' : String(Number(value.toPrecision(4))));
const ago = (at: string | null): string => (at === null ? '' : `${age(Date.parse(at))} ago`);

function comparisonText(comparison: RuleComparison): string {
  const threshold = comparison.threshold_metric
    ? `${comparison.threshold_metric} (${number(comparison.threshold)})`
    : number(comparison.threshold);
  return `${comparison.metric} ${number(comparison.value)} ${comparison.op} ${threshold}`;
}

function ruleRow(rule: RuleStatus): HTMLElement {
  const held =
    rule.state === 'inactive'
      ? rule.last_fired_at
        ? `last fired ${ago(rule.last_fired_at)}`
        : 'never fired'
      : `${rule.state} for ${age(Date.parse(rule.since ?? ''))}${rule.state === 'pending' ? ` (fires after ${rule.for_seconds} s)` : ''}`;
  return h(
    'tr',
    { 'data-rule': rule.name, 'data-state': rule.state },
    h('th', { scope: 'row' }, rule.name),
    h('td', {}, h('span', { class: `pill state-${rule.state}` }, rule.state), h('div', { class: 'muted' }, held)),
    h('td', {}, h('span', { class: `pill priority-${rule.priority}` }, rule.priority)),
    h(
      'td',
      {},
      h('code', {}, rule.condition),
      h(
        'ul',
        { class: 'comparisons' },
        ...rule.comparisons.map((comparison) =>
          h(
            'li',
            { class: comparison.holds ? 'holds' : 'clear', 'data-metric': comparison.metric },
            `${comparisonText(comparison)} ${comparison.holds ? '(holds)' : '(does not hold)'}`,
          ),
        ),
      ),
    ),
    h('td', {}, rule.channel, h('div', { class: 'muted' }, `cooldown ${rule.cooldown_seconds} s`)),
  );
}

function outboxRow(channel: DeliveryChannelsReport['channels'][number]): HTMLElement {
  const state = !channel.enabled ? 'switched off' : !channel.configured ? 'not configured' : 'delivering';
  return h(
    'tr',
    { 'data-channel': channel.channel },
    h('th', { scope: 'row' }, channel.channel),
    h('td', {}, state, channel.reason ? h('div', { class: 'muted' }, channel.reason) : null),
    h('td', { class: 'num', 'data-figure': 'pending' }, String(channel.queue_depth)),
    h('td', { class: 'num', 'data-figure': 'delivered' }, String(channel.delivered)),
    h('td', { class: 'num', 'data-figure': 'failed' }, String(channel.failed)),
    h('td', {}, channel.last_success ? ago(channel.last_success) : 'never'),
    h(
      'td',
      { 'data-figure': 'last-error' },
      channel.last_failure ? `${channel.last_failure.reason} (${ago(channel.last_failure.at)})` : 'none',
    ),
  );
}

function deliveriesOf(detail: NotificationDetail): HTMLElement {
  return h(
    'table',
    { class: 'deliveries' },
    h(
      'thead',
      {},
      h('tr', {}, ...['channel', 'state', 'attempts', 'delivered', 'last error'].map((name) => h('th', { scope: 'col' }, name))),
    ),
    h(
      'tbody',
      {},
      ...detail.deliveries.map((delivery) =>
        h(
          'tr',
          {},
          h('td', {}, delivery.channel),
          h('td', {}, delivery.state),
          h('td', { class: 'num' }, String(delivery.attempts)),
          h('td', {}, delivery.delivered_at ? ago(delivery.delivered_at) : ''),
          h('td', {}, delivery.last_error ?? ''),
        ),
      ),
    ),
  );
}

function feedItem(notification: Notification): HTMLElement {
  const details = h('div', { class: 'details', hidden: true });
  const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false' }, 'Deliveries');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    details.hidden = !open;
    if (!open) return;
    details.textContent = 'loading…';
    getJson<NotificationDetail>(`/notifications/${encodeURIComponent(notification.id)}`).then(
      (detail) => {
        clear(details);
        details.append(deliveriesOf(detail));
      },
      (error: Error) => {
        details.textContent = `the deliveries could not be read: ${error.message}`;
      },
    );
  });
  const values = notification.rule
    ? Object.entries(notification.rule.values)
        .map(([metric, value]) => `${metric} = ${number(value)}`)
        .join(', ')
    : '';
  return h(
    'li',
    {
      class: `notification priority-${notification.priority}`,
      'data-id': notification.id,
      'data-priority': notification.priority,
      'data-status': notification.status,
    },
    h(
      'div',
      { class: 'event-head' },
      h('span', { class: `pill priority-${notification.priority}` }, notification.priority),
      h('span', { class: `pill state-${notification.status}` }, notification.status),
      h('strong', {}, notification.title),
      h('time', { datetime: notification.created_at }, new Date(notification.created_at).toLocaleString()),
    ),
    h('p', { class: 'message' }, notification.message),
    notification.rule ? h('p', { class: 'muted' }, `rule ${notification.rule.name}: ${notification.rule.condition} · ${values}`) : null,
    h('p', { class: 'muted' }, `${notification.type} · via ${notification.channels.join(', ')} · `, toggle),
    details,
  );
}

function checkboxes(name: string, values: readonly string[], onChange: () => void): { element: HTMLElement; chosen: () => Set<string> } {
  const boxes = values.map((value) => h('input', { type: 'checkbox', value, checked: true, 'data-filter': name }));
  for (const box of boxes) box.addEventListener('change', onChange);
  return {
    element: h('fieldset', { class: 'filter' }, h('legend', {}, name), ...boxes.map((box) => h('label', {}, box, ` ${box.value}`))),
    chosen: () => new Set(boxes.filter((box) => box.checked).map((box) => box.value)),
  };
}

/** The test form: POST /notifications/send with the tab's credential, the answer (or the refusal) said beside it. */
function sendForm(canPublish: boolean): HTMLElement {
  const type = h('input', { id: 'send-type', value: 'console.test', required: true, maxlength: 64, pattern: '[A-Za-z0-9_.:\\-]+' });
  const title = h('input', { id: 'send-title', maxlength: 200, placeholder: 'optional' });
  const message = h('textarea', { id: 'send-message', required: true, maxlength: 4000, rows: 2 }, 'A test notification from the console');
  const priority = h(
    'select',
    { id: 'send-priority' },
    ...PRIORITIES.map((value) => h('option', { value, selected: value === 'info' }, value)),
  );
  const channel = h(
    'select',
    { id: 'send-channel' },
    ...[...DELIVERY_CHANNELS, 'all'].map((value) => h('option', { value, selected: value === 'websocket' }, value)),
  );
  const submit = h('button', { type: 'submit', disabled: !canPublish }, 'Send');
  const result = h(
    'p',
    { class: 'send-result', role: 'status', 'aria-live': 'polite' },
    canPublish ? '' : 'Sending needs an API key with the publish scope: sign in with one.',
  );
  const field = (label: string, control: HTMLElement) => h('label', { class: 'field' }, h('span', {}, label), control);
  const form = h(
    'form',
    { id: 'send-form', class: 'send-form' },
    field('Type', type),
    field('Title', title),
    field('Message', message),
    field('Priority', priority),
    field('Channel', channel),
    submit,
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    result.className = 'send-result';
    result.textContent = 'sending…';
    postJson<SendNotificationResponse>('/notifications/send', {
      type: type.value.trim(),
      message: message.value,
      priority: priority.value,
      channel: channel.value,
      ...(title.value.trim() ? { title: title.value.trim() } : {}),
    })
      .then((answer) => {
        result.className = 'send-result ok';
        result.textContent = answer.id === null ? `Not sent: ${answer.reason}` : `Accepted: ${answer.id} for ${answer.channels.join(', ')}`;
      })
      .catch((error: unknown) => {
        result.className = 'send-result bad';
        const failure = error instanceof ApiFailure ? error : undefined;
        const details = failure?.body?.details as Partial<InvalidBodyDetails> | undefined;
        const issues = details?.problems?.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
        result.textContent =
          failure?.status === 403
            ? 'Refused: the key lacks the publish scope.'
            : `Refused${failure ? ` (${failure.status} ${failure.body?.error ?? ''})` : ''}: ${(error as Error).message}${issues ? ` (${issues})` : ''}`;
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}

function table(headings: string[], body: HTMLElement, id: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...headings.map((name) => h('th', { scope: 'col', class: /^(pending|delivered|failed)$/.test(name) ? 'num' : undefined }, name)),
        ),
      ),
      body,
    ),
  );
}

export async function notificationsPage(): Promise<Page> {
  const [session, first] = await Promise.all([currentSession(), getJson<NotificationsStatus>('/notifications/status')]);
  const canPublish = session.state === 'open' || (session.state === 'signedIn' && session.verify.scopes.includes('publish'));
  const badge = liveBadge();
  const list = h('ol', { class: 'events feed', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const counts = h('span', { class: 'muted', 'data-figure': 'counts' });
  const summary = h('p', { class: 'muted', 'data-figure': 'summary' });
  const rules = h('tbody');
  const outbox = h('tbody');

  let feed: Notification[] = [];
  const seen = new Set<string>();
  const matches = (notification: Notification): boolean =>
    priorities.chosen().has(notification.priority) && statuses.chosen().has(notification.status);
  const showCounts = (): void => {
    const by = PRIORITIES.map((priority) => `${priority} ${feed.filter((item) => item.priority === priority).length}`);
    counts.textContent = `${feed.length} in the feed · ${by.join(' · ')}`;
  };
  const redraw = (): void => {
    clear(list);
    list.append(...feed.filter(matches).map(feedItem));
    showCounts();
  };
  const priorities = checkboxes('Priority', PRIORITIES, redraw);
  const statuses = checkboxes('Status', NOTIFICATION_STATUSES, redraw);
  const receive = (events: readonly WireEvent[]): void => {
    const fresh = events
      .filter((event) => event.type.startsWith('notification.'))
      .map((event) => event.data as Notification)
      .filter((notification) => typeof notification?.id === 'string' && !seen.has(notification.id));
    if (fresh.length === 0) return;
    for (const notification of fresh) seen.add(notification.id);
    // Both sources replay history in order; keep the feed newest first by creation time.
    feed = [...fresh, ...feed].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)).slice(0, KEPT);
    redraw();
  };
  const statusOf = new Map<string, string>();
  const subscriptions = FEED_SOURCES.map((source) =>
    liveClient(source.transport).subscribe(source.channel, {
      from: Date.now() - BACKFILL_MS,
      onEvents: receive,
      onStatus: (status) => {
        statusOf.set(source.channel, status);
        // Live when both are: the weaker of the two states shows.
        const states = [...statusOf.values()];
        badge.set(
          states.length === FEED_SOURCES.length && states.every((state) => state === 'open')
            ? 'open'
            : status === 'open'
              ? 'connecting'
              : status,
        );
      },
    }),
  );

  const renderStatus = (status: NotificationsStatus): void => {
    summary.textContent = `${status.notifications_enabled ? 'enabled' : 'switched off (real_time_notifications.enabled)'} · delivering on ${
      status.delivery_channels.join(', ') || 'nothing'
    } · ${status.pending} pending, ${status.delivered} delivered, ${status.failed} failed`;
    clear(rules);
    if (status.rules.length === 0) rules.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No rules (notification_rules).')));
    rules.append(...status.rules.map(ruleRow));
  };
  const refresh = async (): Promise<void> => {
    try {
      const [status, channels] = await Promise.all([
        getJson<NotificationsStatus>('/notifications/status'),
        getJson<DeliveryChannelsReport>('/notifications/channels'),
      ]);
      renderStatus(status);
      clear(outbox);
      outbox.append(...channels.channels.map(outboxRow));
    } catch (error) {
      summary.textContent = `status unavailable: ${(error as Error).message}`;
    }
  };
  renderStatus(first);
  void refresh();
  const timer = setInterval(() => void refresh(), POLL_MS);
  showCounts();

  return {
    title: 'Notifications',
    element: h(
      'div',
      { class: 'page notifications' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Notifications'), badge.element),
      summary,
      h('h2', {}, 'Rules'),
      table(['rule', 'state', 'priority', 'condition: value against threshold', 'channel'], rules, 'rules'),
      h('h2', {}, 'Outbox by delivery channel'),
      table(['channel', 'state', 'pending', 'delivered', 'failed', 'last delivery', 'last error'], outbox, 'outbox'),
      h('h2', {}, 'Send a test notification'),
      sendForm(canPublish),
      h('h2', {}, 'Live feed'),
      h('p', { class: 'muted' }, 'Notifications routed to websocket or sse, from the last hour and live.'),
      h('div', { class: 'controls' }, priorities.element, statuses.element, counts),
      list,
    ),
    dispose: () => {
      clearInterval(timer);
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
