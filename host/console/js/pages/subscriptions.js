// Subscriptions and events: one subscription by external id; the
// provisioning event feed, read by cursor.
import { api, problemView } from '../api.js';
import { action, code, dl, empty, field, fmtTime, h, pageHeader, replace, table } from '../dom.js';

const PAGE = 25;

export async function render(root, params, ctx) {
  root.append(pageHeader('Subscriptions and events',
    'Look up a subscription by the external id Tollgate gave it (the Result of Subscriptions/Create): its state, add-ons, resource plan and history. Below, the provisioning event feed your systems read by cursor.',
    [
      'Look up: shows the subscription with that external id.',
      'Load more: reads the next events after the cursor shown; the feed is in cursor order, oldest first.',
      'Show: looks up the subscription an event belongs to.',
    ]));
  const id = params.get('id') || '';
  const input = h('input', { name: 'external_id', value: id, required: true, autocomplete: 'off', spellcheck: 'false', size: 40 });
  const form = h('form', { class: 'card row', role: 'search', 'aria-label': 'Subscription lookup' },
    field('Subscription external id', input), h('button', { type: 'submit', class: 'primary' }, 'Look up'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.go('subscriptions', { id: input.value.trim() });
  });
  root.append(form);

  if (id) {
    const box = h('section', { class: 'card', id: 'subscription', 'aria-labelledby': 'sub-title' });
    root.append(box);
    try {
      subscription(box, await api('GET', `/subscriptions/${encodeURIComponent(id)}`));
    } catch (e) {
      box.append(h('h2', { id: 'sub-title' }, `Subscription ${id}`), problemView(e));
    }
  }
  root.append(await events(ctx));
}

function subscription(box, s) {
  box.append(
    h('h2', { id: 'sub-title' }, `Subscription ${s.external_id}`),
    dl([
      ['Status', h('span', { class: 'status' }, s.status)], ['Name', s.name], ['Product', `${s.product_id} (${s.service_type})`],
      ['Quantity', String(s.quantity)], ['Trial', s.is_trial ? 'yes' : 'no'], ['Account', s.account_id],
      ['Platform subscription id', s.platform_subscription_id], ['Created', fmtTime(s.created_at)],
    ]),
    h('h3', {}, 'Add-ons'),
    s.addons.length
      ? table(null, ['Product', 'Name', 'Quantity', 'Active'], s.addons.map((a) =>
        h('tr', {}, h('td', {}, a.product_id), h('td', {}, a.name), h('td', {}, String(a.quantity)), h('td', {}, a.active ? 'yes' : 'no'))))
      : empty('No add-ons.'),
    h('h3', {}, 'Resource plan'),
    s.resources ? h('div', {}, h('p', {}, `Version ${s.resources.version} from ${s.resources.source}, ${fmtTime(s.resources.at)}.`), plan(s.resources.resources))
      : empty('No resource plan computed.'),
    h('h3', {}, 'History'),
    s.history.length
      ? table(null, ['Version', 'Operation', 'Status', 'Quantity', 'Product', 'Track id', 'At'], s.history.map((x) =>
        h('tr', {}, h('td', {}, String(x.version)), h('td', {}, x.operation), h('td', {}, x.status), h('td', {}, String(x.quantity)),
          h('td', {}, x.product_id), h('td', {}, h('code', {}, x.track_id)), h('td', {}, fmtTime(x.at)))))
      : empty('No history.'),
    h('h3', {}, 'Attributes'), code(s.attributes));
}

/** A plan [{id, value: {amount|text|feature}}] as a table; anything else as JSON. */
function plan(resources) {
  const rows = Array.isArray(resources) && resources.every((r) => r && typeof r.id === 'string' && r.value && typeof r.value === 'object');
  if (!rows) return code(resources);
  const show = (v) => ('amount' in v ? v.amount : 'text' in v ? v.text : 'feature' in v ? (v.feature ? 'on' : 'off') : JSON.stringify(v));
  return table(null, ['Resource', 'Value'], resources.map((r) => h('tr', {}, h('td', {}, r.id), h('td', {}, String(show(r.value))))), { class: 'plan' });
}

async function events(ctx) {
  const tbody = h('tbody');
  const cursor = h('span', { class: 'cursor' }, '0');
  const more = h('div', { class: 'row' });
  const status = h('div');
  let count = 0;
  const load = async (after) => {
    const page = await api('GET', '/events', { query: { after, limit: PAGE } });
    for (const e of page.events) {
      tbody.append(h('tr', { dataset: { cursor: String(e.cursor) } },
        h('td', {}, String(e.cursor)), h('td', {}, e.kind),
        h('td', {}, e.subscription_id
          ? h('button', { type: 'button', class: 'link', 'aria-label': `Show subscription ${e.subscription_id}`, onclick: () => ctx.go('subscriptions', { id: e.subscription_id }) }, e.subscription_id)
          : ''),
        h('td', {}, e.account_id || ''), h('td', {}, fmtTime(e.at)), h('td', {}, h('code', {}, e.track_id)),
        h('td', {}, h('details', {}, h('summary', {}, 'Payload'), code(e.payload)))));
    }
    count += page.events.length;
    cursor.textContent = String(page.next);
    if (!count) replace(status, empty('No events yet. Provisioning calls (Subscriptions/Create in real mode, add-ons, cancellations) add events.'));
    else status.replaceChildren();
    replace(more, action('Load more', async () => {
      try { await load(page.next); } catch (e) { replace(status, problemView(e)); }
    }), page.events.length < PAGE ? h('span', { class: 'muted' }, ' No more events for now; load more later to read new ones.') : null);
  };
  const section = h('section', { class: 'events', 'aria-labelledby': 'events-title' },
    h('h2', { id: 'events-title' }, 'Event feed'),
    h('p', {}, 'Cursor: ', cursor),
    table(null, ['Cursor', 'Kind', 'Subscription', 'Account', 'At', 'Track id', ''], tbody), status, more);
  try {
    await load(0);
  } catch (e) {
    status.append(problemView(e));
  }
  return section;
}
