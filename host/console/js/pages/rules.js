// Rules: the bindings; activate, configure, shadow, roll back, delete.
import { api, bindingSpec, hookPath, HOOKS, problemView, versionsOf } from '../api.js';
import { fieldDiff } from '../diff.js';
import {
  action, code, confirmAction, dl, empty, field, fmtTime, h, hashCell, jsonEditor, pageHeader, replace, select, shortHash, table,
} from '../dom.js';

let notice = null; // shown once by the next render (after an action re-renders the page)

export function scopeText(scope) {
  if (!scope) return '—';
  const parts = [];
  if (scope.service_types?.length) parts.push(`service types: ${scope.service_types.join(', ')}`);
  if (scope.product_ids?.length) parts.push(`products: ${scope.product_ids.join(', ')}`);
  if (scope.operations?.length) parts.push(`operations: ${scope.operations.join(', ')}`);
  return parts.length ? parts.join('; ') : 'every call';
}

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

export async function render(root, params, ctx) {
  root.append(pageHeader('Rules',
    'Every binding of a plugin to a hook: where it applies, which plugin version decides, its configuration and what happens when the plugin fails. Open a binding to change it; every change is a new revision you can roll back.',
    [
      'Manage: open the binding below the table.',
      'Activate version: make another uploaded version of the plugin decide from the next call on.',
      'Save settings: check the JSON, then send scope, priority, failure policy and config; the plugin may refuse the config, and then nothing changes.',
      'Start shadow: run another version (or config) next to the active one on every call without affecting answers; compare on the Shadow page. Promote makes the shadow active; Stop ends it.',
      'Compare and roll back: shows what would change (version, config, scope, priority, policy) before you confirm.',
      'New binding: bind an uploaded plugin to a hook under a name.',
    ]));
  if (notice) {
    root.append(h('p', { class: 'notice', role: 'status' }, notice));
    notice = null;
  }
  const done = (text) => { notice = text; ctx.refresh(); };

  const [bindings, plugins] = await Promise.all([api('GET', '/bindings'), api('GET', '/plugins').catch(() => [])]);
  const selected = params.get('binding');

  root.append(h('h2', {}, 'Bindings'));
  if (!bindings.length) {
    root.append(empty('No bindings yet. Upload a plugin on the Plugins page, then bind it with “New binding” below.'));
  } else {
    root.append(table(null,
      ['Hook', 'Binding', 'Scope', 'Priority', 'Plugin', 'Version', 'On failure', 'Shadow', 'Revision', ''],
      bindings.map((b) => h('tr', { dataset: { binding: `${b.hook}/${b.name}` }, class: selected === `${b.hook}/${b.name}` ? 'selected' : null },
        h('td', {}, b.hook), h('th', { scope: 'row' }, b.name), h('td', {}, scopeText(b.scope)), h('td', {}, String(b.priority)),
        h('td', {}, b.plugin), h('td', { class: 'version' }, hashCell(b.version)), h('td', {}, b.on_failure),
        h('td', { class: 'shadow' }, b.shadow ? h('span', { class: 'badge' }, `shadow ${shortHash(b.shadow.version)}`) : b.shadow === null ? 'none' : '—'),
        h('td', {}, String(b.revision)),
        h('td', {}, h('a', { href: `#/rules?binding=${encodeURIComponent(`${b.hook}/${b.name}`)}`, class: 'button', 'aria-label': `Manage ${b.hook}/${b.name}` }, 'Manage'))))));
  }

  if (selected) {
    const section = h('section', { class: 'card', 'aria-labelledby': 'binding-title', id: 'binding-detail' });
    root.append(section);
    const [hook, name] = [selected.slice(0, selected.indexOf('/')), selected.slice(selected.indexOf('/') + 1)];
    try {
      await bindingDetail(section, await api('GET', hookPath({ hook, name })), done, ctx);
    } catch (e) {
      section.append(h('h2', { id: 'binding-title' }, selected), problemView(e));
    }
  }
  root.append(newBinding(plugins, !bindings.length, done));
}

async function bindingDetail(section, b, done, ctx) {
  const id = `${b.hook}/${b.name}`;
  section.append(h('h2', { id: 'binding-title' }, `Binding ${id}`),
    dl([
      ['Plugin', b.plugin], ['Active version', h('code', {}, b.version)], ['Revision', `${b.revision} (content of revision ${b.active_revision})`],
      ['Scope', scopeText(b.scope)], ['Priority', String(b.priority)], ['On failure', b.on_failure],
      ['Updated', `${fmtTime(b.updated_at)} by ${b.updated_by}`],
    ]));
  const versions = await versionsOf(b.plugin).catch(() => []);
  const versionOptions = versions.map((v) => [v.version, `${shortHash(v.version)} · ${fmtTime(v.uploaded_at)}${v.version === b.version ? ' (active)' : ''}`]);

  // Activate a version.
  const versionSelect = select(versionOptions, b.version, { name: 'version' });
  const activateStatus = h('div');
  section.append(h('section', { 'aria-labelledby': 'activate-title' },
    h('h3', { id: 'activate-title' }, 'Activate a version'),
    h('div', { class: 'row' }, field('Plugin version', versionSelect),
      action('Activate version', async () => {
        try {
          const r = await api('PUT', hookPath(b), { json: bindingSpec(b, { version: versionSelect.value }) });
          done(`Activated version ${shortHash(r.version)} on ${id} (revision ${r.revision}).`);
        } catch (e) { replace(activateStatus, problemView(e)); }
      })), activateStatus));

  // Settings and config.
  const types = h('input', { value: (b.scope?.service_types || []).join(', '), name: 'service_types' });
  const products = h('input', { value: (b.scope?.product_ids || []).join(', '), name: 'product_ids' });
  const ops = b.scope && 'operations' in b.scope ? h('input', { value: b.scope.operations.join(', '), name: 'operations' }) : null;
  const priority = h('input', { type: 'number', step: '1', value: String(b.priority), name: 'priority' });
  const policy = select([['reject', 'reject (fail closed)'], ['allow', 'allow (fail open)']], b.on_failure, { name: 'on_failure' });
  const config = jsonEditor(b.config, { label: 'Config (JSON)', rows: 8, name: 'config' });
  const settingsStatus = h('div');
  const settings = h('form', { 'aria-labelledby': 'settings-title', class: 'settings' },
    h('h3', { id: 'settings-title' }, 'Settings and config'),
    h('div', { class: 'row' },
      field('Service types', types, 'comma-separated; empty: any'),
      field('Product ids', products, 'comma-separated; empty: any'),
      ops && field('Operations', ops, 'comma-separated; empty: any'),
      field('Priority', priority), field('On failure', policy)),
    config.el,
    h('button', { type: 'submit', class: 'primary' }, 'Save settings'), settingsStatus);
  settings.addEventListener('submit', async (event) => {
    event.preventDefault();
    const parsed = config.check();
    if (!parsed.ok) {
      replace(settingsStatus, h('p', { class: 'problem', role: 'alert' }, `Not saved: ${parsed.error}`));
      config.area.focus();
      return;
    }
    const scope = { service_types: list(types.value), product_ids: list(products.value) };
    if (ops) scope.operations = list(ops.value);
    try {
      const r = await api('PUT', hookPath(b), {
        json: bindingSpec(b, { scope, priority: Number(priority.value || 0), on_failure: policy.value, config: parsed.value }),
      });
      done(`Saved ${id} (revision ${r.revision}).`);
    } catch (e) { replace(settingsStatus, problemView(e)); }
  });
  section.append(settings);

  section.append(shadowControls(b, versions, done));
  section.append(history(b, done));

  const deleteStatus = h('div');
  section.append(h('section', { 'aria-labelledby': 'delete-title' }, h('h3', { id: 'delete-title' }, 'Delete'),
    confirmAction('Delete binding…', `Delete ${id}? Calls stop using it at once.`, 'Yes, delete the binding', async () => {
      try {
        await api('DELETE', hookPath(b));
        notice = `Deleted binding ${id}.`;
        ctx.go('rules');
      } catch (e) { replace(deleteStatus, problemView(e)); }
    }),
    deleteStatus));
}

function shadowControls(b, versions, done) {
  const id = `${b.hook}/${b.name}`;
  const status = h('div');
  const box = h('section', { 'aria-labelledby': 'shadow-title', class: 'shadow-box' }, h('h3', { id: 'shadow-title' }, 'Shadow'));
  if (b.shadow) {
    box.append(
      dl([['Shadow version', h('code', {}, b.shadow.version)], ['Since', fmtTime(b.shadow.since)], ['Shadow config', code(b.shadow.config)]]),
      h('p', {}, h('a', { href: '#/shadow' }, 'See its agreement with the active version on the Shadow page.')),
      h('div', { class: 'row' },
        action('Promote shadow', async () => {
          try {
            const r = await api('PUT', hookPath(b), { json: bindingSpec(b, { version: b.shadow.version, config: b.shadow.config }) });
            done(`Promoted the shadow of ${id}: version ${shortHash(r.version)} is active (revision ${r.revision}).`);
          } catch (e) { replace(status, problemView(e)); }
        }, { class: 'primary' }),
        action('Stop shadow', async () => {
          try {
            await api('DELETE', `${hookPath(b)}/shadow`);
            done(`Stopped the shadow of ${id}.`);
          } catch (e) { replace(status, problemView(e)); }
        })),
      status);
    return box;
  }
  const other = versions.find((v) => v.version !== b.version);
  const version = select(versions.map((v) => [v.version, `${shortHash(v.version)} · ${fmtTime(v.uploaded_at)}${v.version === b.version ? ' (active)' : ''}`]),
    (other || versions[0] || {}).version, { name: 'shadow_version' });
  const config = jsonEditor(b.config, { label: 'Shadow config (JSON)', rows: 6, name: 'shadow_config' });
  const form = h('form', {}, h('p', {}, b.shadow === undefined ? 'This server does not report shadows for bindings.' : 'No shadow runs for this binding.'),
    h('div', { class: 'row' }, field('Shadow version', version)), config.el, h('button', { type: 'submit' }, 'Start shadow'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const parsed = config.check();
    if (!parsed.ok) return replace(status, h('p', { class: 'problem', role: 'alert' }, `Not started: ${parsed.error}`));
    try {
      await api('PUT', hookPath(b), { json: bindingSpec(b, { shadow: { version: version.value, config: parsed.value } }) });
      done(`Started a shadow of ${id} with version ${shortHash(version.value)}.`);
    } catch (e) { replace(status, problemView(e)); }
  });
  box.append(form);
  return box;
}

function history(b, done) {
  const id = `${b.hook}/${b.name}`;
  const compare = h('div', { id: 'rollback-compare' });
  const rows = (b.history || []).slice().reverse().map((r) => h('tr', { dataset: { revision: String(r.revision) } },
    h('td', {}, String(r.revision), r.revision === b.active_revision ? h('span', { class: 'badge' }, ' active') : null),
    h('td', {}, r.action), h('td', {}, hashCell(r.version)), h('td', {}, r.actor), h('td', {}, fmtTime(r.at)),
    h('td', {}, r.revision === b.active_revision || r.action === 'delete' ? '' :
      h('button', { type: 'button', 'aria-label': `Compare and roll back to revision ${r.revision}`, onclick: () => showRollback(r) }, 'Compare and roll back'))));
  function showRollback(r) {
    const status = h('div');
    replace(compare, h('h4', { tabindex: '-1' }, `Roll back ${id} to revision ${r.revision}`),
      fieldDiff('Now', `After rollback to ${r.revision}`, [
        ['Plugin', b.plugin, r.plugin], ['Version', b.version, r.version], ['Config', b.config, r.config],
        ['Scope', b.scope, r.scope], ['Priority', b.priority, r.priority], ['On failure', b.on_failure, r.on_failure],
      ]),
      h('div', { class: 'row' },
        action(`Roll back to revision ${r.revision}`, async () => {
          try {
            const v = await api('POST', `${hookPath(b)}/rollback`, { json: { revision: r.revision } });
            done(`Rolled ${id} back to revision ${r.revision} (now revision ${v.revision}).`);
          } catch (e) { replace(status, problemView(e)); }
        }, { class: 'primary' }),
        h('button', { type: 'button', onclick: () => compare.replaceChildren() }, 'Cancel')),
      status);
    compare.querySelector('h4').focus();
  }
  return h('section', { 'aria-labelledby': 'history-title' }, h('h3', { id: 'history-title' }, 'History'),
    rows.length ? table(null, ['Revision', 'Action', 'Version', 'By', 'At', ''], rows, { class: 'history' }) : empty('No history.'),
    compare);
}

function newBinding(plugins, open, done) {
  const hook = select(HOOKS, HOOKS[0], { name: 'hook' });
  const name = h('input', { name: 'name', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{0,63}', autocomplete: 'off' });
  const plugin = select([['', 'choose a plugin'], ...plugins.map((p) => [p.name, `${p.name} (${p.hook})`])], '', { name: 'plugin', required: true });
  const version = select([['', 'newest']], '', { name: 'version' });
  const types = h('input', { name: 'service_types' });
  const products = h('input', { name: 'product_ids' });
  const priority = h('input', { type: 'number', step: '1', value: '0', name: 'priority' });
  const policy = select([['reject', 'reject (fail closed)'], ['allow', 'allow (fail open)']], 'reject', { name: 'on_failure' });
  const config = jsonEditor({}, { label: 'Config (JSON)', rows: 6, name: 'config' });
  const status = h('div');
  plugin.addEventListener('change', async () => {
    const p = plugins.find((x) => x.name === plugin.value);
    if (!p) return;
    hook.value = p.hook;
    if (!name.value) name.value = p.name;
    const versions = await versionsOf(p.name).catch(() => []);
    replace(version, h('option', { value: '' }, 'newest'),
      versions.map((v) => h('option', { value: v.version }, `${shortHash(v.version)} · ${fmtTime(v.uploaded_at)}`)));
  });
  const form = h('form', { class: 'new-binding' },
    h('div', { class: 'row' }, field('Hook', hook), field('Binding name', name, 'lower-case letters, digits, . _ -'),
      field('Plugin', plugin), field('Version', version)),
    h('div', { class: 'row' }, field('Service types', types, 'comma-separated; empty: any'),
      field('Product ids', products, 'comma-separated; empty: any'), field('Priority', priority), field('On failure', policy)),
    config.el, h('button', { type: 'submit', class: 'primary' }, 'Create binding'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const parsed = config.check();
    if (!parsed.ok) return replace(status, h('p', { class: 'problem', role: 'alert' }, `Not saved: ${parsed.error}`));
    if (!plugin.value) return replace(status, h('p', { class: 'problem', role: 'alert' }, 'Choose a plugin.'));
    const spec = {
      plugin: plugin.value, scope: { service_types: list(types.value), product_ids: list(products.value) },
      priority: Number(priority.value || 0), config: parsed.value, on_failure: policy.value,
    };
    if (version.value) spec.version = version.value;
    try {
      const r = await api('PUT', hookPath({ hook: hook.value, name: name.value }), { json: spec });
      done(`Bound ${r.plugin} ${shortHash(r.version)} as ${r.hook}/${r.name}.`);
    } catch (e) { replace(status, problemView(e)); }
  });
  return h('details', { class: 'card', open: open || undefined, id: 'new-binding' },
    h('summary', {}, h('h2', { class: 'inline' }, 'New binding')),
    plugins.length ? form : empty('Upload a plugin first (Plugins page).'));
}
