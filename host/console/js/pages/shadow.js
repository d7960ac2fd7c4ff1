// Shadow: agreement of each shadowed binding with its active version, and
// the disagreements with both outputs side by side.
import { api, bindingSpec, hookPath, problemView } from '../api.js';
import { sideBySide } from '../diff.js';
import { action, dl, empty, fmtNum, fmtTime, h, pageHeader, replace, shortHash } from '../dom.js';

const SAMPLES = 10;

export async function render(root, params, ctx) {
  root.append(pageHeader('Shadow',
    'A shadow runs another version (or config) of a binding on every call next to the active one; only the active one decides. Here: how often they agree, and the calls where they did not.',
    [
      'Promote: the shadow becomes the active version and config of the binding (a new revision); the shadow ends.',
      'Stop: ends the shadow; nothing else changes.',
      'Start a shadow from a binding on the Rules page.',
    ]));
  const bindings = await api('GET', '/bindings');
  const shadowed = bindings.filter((b) => b.shadow);
  if (!shadowed.length) {
    root.append(empty('No binding has a shadow. Start one from a binding on the Rules page.'));
    return;
  }
  for (const b of shadowed) {
    const card = h('section', { class: 'card shadowed', dataset: { binding: `${b.hook}/${b.name}` }, 'aria-labelledby': `shadow-${b.name}` },
      h('h2', { id: `shadow-${b.name}` }, `${b.hook}/${b.name}`));
    root.append(card);
    try {
      await shadowCard(card, b, ctx);
    } catch (e) {
      card.append(problemView(e));
    }
  }
}

async function shadowCard(card, b, ctx) {
  const s = await api('GET', `${hookPath(b)}/shadow`);
  const compared = s.agreed + s.disagreed;
  const rate = compared ? s.agreed / compared : null;
  const status = h('div');
  card.append(
    dl([
      ['Active', `${b.plugin} ${shortHash(b.version)}`], ['Shadow', `${b.plugin} ${shortHash(s.version)} since ${fmtTime(s.since)}`],
      ['Calls', fmtNum(s.calls)], ['Agreed', fmtNum(s.agreed)], ['Disagreed', fmtNum(s.disagreed)], ['Shadow failed', fmtNum(s.failed)],
    ]),
    h('p', { class: 'rate' }, 'Agreement rate: ',
      h('strong', { class: 'agreement' }, rate === null ? 'no calls compared yet' : `${(rate * 100).toFixed(1)}%`),
      rate !== null && h('meter', { min: '0', max: '1', value: String(rate), 'aria-label': 'Agreement rate' })),
    h('div', { class: 'row' },
      action('Promote shadow', async () => {
        try {
          const r = await api('PUT', hookPath(b), { json: bindingSpec(b, { version: s.version, config: s.config }) });
          replace(status, h('p', { class: 'notice', role: 'status' }, `Promoted: version ${shortHash(r.version)} is active (revision ${r.revision}).`));
          ctx.go('rules', { binding: `${b.hook}/${b.name}` });
        } catch (e) { replace(status, problemView(e)); }
      }, { class: 'primary' }),
      action('Stop shadow', async () => {
        try {
          await api('DELETE', `${hookPath(b)}/shadow`);
          ctx.refresh();
        } catch (e) { replace(status, problemView(e)); }
      })),
    status);

  card.append(h('h3', {}, 'Disagreements'));
  const ids = (s.samples || []).slice(0, SAMPLES);
  if (!ids.length) {
    card.append(empty('No disagreement so far.'));
    return;
  }
  for (const id of ids) {
    const box = h('div', { class: 'disagreement', dataset: { id } });
    card.append(box);
    try {
      const { active, shadow } = await pair(id, b);
      box.append(
        h('p', {}, 'Call ', h('code', {}, active?.track_id || shadow?.track_id || ''), ' at ', fmtTime((active || shadow).at), ' · ',
          active && h('a', { href: `#/decisions?id=${encodeURIComponent(active.id)}` }, 'open the active decision'),
          shadow && active && ' · ',
          shadow && h('a', { href: `#/decisions?id=${encodeURIComponent(shadow.id)}` }, 'open the shadow decision')),
        sideBySide(`Active (${shortHash(active?.version)})`, summary(active), `Shadow (${shortHash(shadow?.version)})`, summary(shadow)));
    } catch (e) {
      box.append(problemView(e));
    }
  }
}

const summary = (inv) => (inv ? { outcome: inv.outcome, output: inv.output, error: inv.error } : 'not found');

/** The active and the shadow invocation of one call, from either id. */
async function pair(id, b) {
  const first = await api('GET', `/invocations/${encodeURIComponent(id)}`);
  if (first.shadow) {
    const active = first.shadow_of ? await api('GET', `/invocations/${encodeURIComponent(first.shadow_of)}`).catch(() => null) : null;
    return { active, shadow: first };
  }
  const shadows = await api('GET', '/invocations', { query: { binding: b.name, hook: b.hook, shadow: 'true', limit: 200 } });
  return { active: first, shadow: shadows.find((s) => s.shadow_of === first.id) || null };
}
