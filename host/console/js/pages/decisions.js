// Decisions: the decision log with filters; one invocation in full; replay
// against any version (and config) with a diff; save as fixture; dry run.
import { api, HOOKS, problemView, versionsOf } from '../api.js';
import { sideBySide } from '../diff.js';
import {
  action, code, dl, download, empty, field, fmtNum, fmtTime, h, hashCell, jsonEditor, pageHeader, replace, select, shortHash, table,
} from '../dom.js';

const OUTCOMES = ['accept', 'reject', 'limits', 'no-limits', 'plan', 'plan-error', 'refuse', 'error'];
const ERROR_KINDS = ['fuel-exhausted', 'deadline-exceeded', 'memory-limit', 'stack-overflow', 'trap', 'invalid-output',
  'oversize-output', 'oversize-input', 'bad-input', 'instantiate', 'invalid-config'];
const FILTERS = ['binding', 'hook', 'outcome', 'error_kind', 'shadow', 'since', 'before'];
const PAGE = 50;

// datetime-local values are local time; the API takes epoch milliseconds.
const toMs = (local) => (local ? String(new Date(local).getTime()) : '');
function toLocal(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The server filters; this re-checks what the rows show, so a server that
 * ignores a filter it does not know yet never shows rows that do not match.
 */
function matches(inv, f) {
  if (f.binding && inv.binding !== f.binding) return false;
  if (f.hook && inv.hook !== f.hook) return false;
  if (f.outcome && inv.outcome !== f.outcome) return false;
  if (f.error_kind && inv.error?.kind !== f.error_kind) return false;
  if (f.shadow && String(Boolean(inv.shadow)) !== f.shadow) return false;
  if (f.since && inv.at < Number(f.since)) return false;
  if (f.before && inv.at >= Number(f.before)) return false;
  return true;
}

export async function render(root, params, ctx) {
  root.append(pageHeader('Decisions',
    'The decision log: every plugin invocation with its input, output, logs, fuel, memory and duration, newest first. Any decision can be replayed against another version or config, saved as a test fixture, or edited and dry-run. Nothing here changes what is active.',
    [
      'Apply filters: narrow the log by binding, hook, outcome, error kind, time range and shadow; the filters stay in the address, so you can bookmark them.',
      'Open: shows one invocation in full. Load older: the next page of the log.',
      'Replay: runs the logged input again against the version you choose (optionally with another config) and shows original and replayed side by side.',
      'Save as fixture: downloads the case as a fixture file for `tollgate plugin test`.',
      'Dry run: runs any version on an input you paste or edit; nothing is written.',
    ]));
  const [bindings, plugins] = await Promise.all([api('GET', '/bindings').catch(() => []), api('GET', '/plugins').catch(() => [])]);
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const id = params.get('id');

  if (id) {
    const section = h('section', { class: 'card', id: 'invocation', 'aria-labelledby': 'invocation-title' });
    root.append(section);
    try {
      invocationDetail(section, await api('GET', `/invocations/${encodeURIComponent(id)}`), plugins, f, ctx);
    } catch (e) {
      section.append(h('h2', { id: 'invocation-title' }, `Invocation ${id}`), problemView(e));
    }
  }

  root.append(filterForm(f, bindings, ctx));
  const listBox = h('section', { 'aria-labelledby': 'log-title', id: 'log' }, h('h2', { id: 'log-title' }, 'Log'));
  root.append(listBox);
  await logList(listBox, f);

  if (!id) {
    root.append(h('section', { class: 'card', 'aria-labelledby': 'dry-title' }, h('h2', { id: 'dry-title' }, 'Dry run'),
      dryRun(plugins, { plugin: plugins[0]?.name, input: '' })));
  }
}

function filterForm(f, bindings, ctx) {
  const names = [...new Set(bindings.map((b) => b.name))];
  const controls = {
    binding: select([['', 'any'], ...names], f.binding, { name: 'binding' }),
    hook: select([['', 'any'], ...HOOKS], f.hook, { name: 'hook' }),
    outcome: select([['', 'any'], ...OUTCOMES], f.outcome, { name: 'outcome' }),
    error_kind: h('input', { name: 'error_kind', list: 'error-kinds', value: f.error_kind, autocomplete: 'off' }),
    since: h('input', { type: 'datetime-local', name: 'since', value: toLocal(f.since) }),
    before: h('input', { type: 'datetime-local', name: 'before', value: toLocal(f.before) }),
    shadow: select([['', 'active and shadow'], ['false', 'active only'], ['true', 'shadow only']], f.shadow, { name: 'shadow' }),
  };
  const form = h('form', { class: 'filters card', 'aria-labelledby': 'filters-title' },
    h('h2', { id: 'filters-title' }, 'Filters'),
    h('datalist', { id: 'error-kinds' }, ERROR_KINDS.map((k) => h('option', { value: k }))),
    h('div', { class: 'row' },
      field('Binding', controls.binding), field('Hook', controls.hook), field('Outcome', controls.outcome),
      field('Error kind', controls.error_kind), field('From', controls.since), field('To', controls.before), field('Shadow', controls.shadow)),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      h('button', { type: 'button', onclick: () => ctx.go('decisions') }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = {};
    for (const [k, el] of Object.entries(controls)) next[k] = k === 'since' || k === 'before' ? toMs(el.value) : el.value.trim();
    ctx.go('decisions', next);
  });
  return form;
}

async function logList(box, f) {
  const tbody = h('tbody');
  const more = h('div', { class: 'row' });
  const status = h('div');
  let shown = 0;
  const query = { ...f, limit: PAGE };
  const load = async (before) => {
    const page = await api('GET', '/invocations', { query: { ...query, before: before ?? f.before } });
    const rows = page.filter((inv) => matches(inv, f));
    shown += rows.length;
    for (const inv of rows) tbody.append(logRow(inv, f));
    if (!shown) replace(status, empty('No decisions match. Decisions appear here as soon as the platform calls a bound hook.'));
    else status.replaceChildren();
    const last = page[page.length - 1];
    replace(more, page.length === PAGE && last
      ? action('Load older', async () => {
        try { await load(last.at); } catch (e) { replace(status, problemView(e)); }
      })
      : h('span', { class: 'muted' }, shown ? 'End of the log.' : ''));
  };
  box.append(h('div', { class: 'table-wrap' }, h('table', { class: 'log' },
    h('thead', {}, h('tr', {}, ['At', 'Binding', 'Hook', 'Outcome', 'Error', 'Version', 'Duration', 'Shadow', ''].map((c) => h('th', { scope: 'col' }, c)))),
    tbody)), status, more);
  await load();
}

function logRow(inv, f) {
  const href = `#/decisions?${new URLSearchParams({ ...Object.fromEntries(Object.entries(f).filter(([, v]) => v)), id: inv.id })}`;
  return h('tr', { dataset: { id: inv.id, outcome: inv.outcome, binding: inv.binding } },
    h('td', {}, fmtTime(inv.at)), h('td', {}, inv.binding), h('td', {}, inv.hook),
    h('td', {}, h('span', { class: `outcome outcome-${inv.outcome}` }, inv.outcome)),
    h('td', {}, inv.error?.kind || ''), h('td', {}, hashCell(inv.version)), h('td', {}, `${fmtNum(inv.duration_us)} µs`),
    h('td', {}, inv.shadow ? `shadow${inv.agreed === false ? ', disagreed' : inv.agreed ? ', agreed' : ''}` : ''),
    h('td', {}, h('a', { href, class: 'button', 'aria-label': `Open invocation ${inv.id}` }, 'Open')));
}

function invocationDetail(section, inv, plugins, f, ctx) {
  const openLink = (other) => h('a', { href: `#/decisions?id=${encodeURIComponent(other)}` }, other);
  section.append(
    h('h2', { id: 'invocation-title', tabindex: '-1' }, `Invocation ${inv.id}`),
    h('p', {}, h('a', { href: '#', onclick: (e) => { e.preventDefault(); ctx.go('decisions', f); } }, 'Close and back to the log')),
    dl([
      ['Binding', `${inv.hook}/${inv.binding}`], ['Plugin', inv.plugin], ['Version', h('code', {}, inv.version)],
      ['Outcome', h('span', { class: `outcome outcome-${inv.outcome}` }, inv.outcome)],
      ['Error', inv.error ? `${inv.error.kind}: ${inv.error.message}` : 'none'],
      ['At', fmtTime(inv.at)], ['Track id', inv.track_id],
      ['Fuel', fmtNum(inv.fuel)], ['Peak memory', `${fmtNum(inv.peak_memory)} bytes`], ['Duration', `${fmtNum(inv.duration_us)} µs`],
      inv.shadow !== undefined && ['Shadow', inv.shadow ? h('span', {}, 'yes, shadow of ', inv.shadow_of ? openLink(inv.shadow_of) : '—',
        inv.agreed === null || inv.agreed === undefined ? '' : inv.agreed ? ' (agreed)' : ' (disagreed)') : 'no'],
    ]),
    h('div', { class: 'two-col' },
      h('div', {}, h('h3', {}, 'Input'), code(inv.input)),
      h('div', {}, h('h3', {}, 'Output'), inv.output === null || inv.output === undefined ? h('p', { class: 'muted' }, 'No output.') : code(inv.output))),
    h('h3', {}, 'Plugin logs'), inv.logs ? code(inv.logs) : h('p', { class: 'muted' }, 'No logs.'),
    h('div', { class: 'row' },
      h('button', { type: 'button', onclick: () => download(`fixture-${inv.binding}-${inv.id}.json`, inv.fixture) }, 'Save as fixture')));

  const samePlugins = plugins.filter((p) => p.hook === inv.hook);
  section.append(h('section', { 'aria-labelledby': 'replay-title', class: 'replay' }, h('h3', { id: 'replay-title' }, 'Replay'),
    replayForm(inv, samePlugins.length ? samePlugins : [{ name: inv.plugin }])));
  section.append(h('section', { 'aria-labelledby': 'dry-title' }, h('h3', { id: 'dry-title' }, 'Dry run with this input'),
    dryRun(plugins, { plugin: inv.plugin, input: inv.input })));
  section.querySelector('h2').focus({ preventScroll: false });
}

/** A plugin select and a version select that follows it. */
function versionPicker(plugins, plugin, { preferOtherThan, defaultLabel } = {}) {
  const pluginSelect = select(plugins.map((p) => p.name), plugin, { name: 'plugin' });
  const versionSelect = select(defaultLabel ? [['', defaultLabel]] : [], '', { name: 'version' });
  const load = async () => {
    const versions = await versionsOf(pluginSelect.value).catch(() => []);
    const pick = versions.find((v) => v.version !== preferOtherThan) || versions[0];
    replace(versionSelect, defaultLabel && h('option', { value: '' }, defaultLabel),
      versions.map((v) => h('option', { value: v.version, selected: !defaultLabel && v === pick },
        `${shortHash(v.version)} · ${fmtTime(v.uploaded_at)}${v.version === preferOtherThan ? ' (logged)' : ''}`)));
  };
  pluginSelect.addEventListener('change', load);
  return { pluginSelect, versionSelect, ready: load() };
}

function replayForm(inv, plugins) {
  const { pluginSelect, versionSelect } = versionPicker(plugins, inv.plugin, { preferOtherThan: inv.version });
  const config = jsonEditor('', { label: 'Config (JSON, optional: empty keeps the logged config)', rows: 5, optional: true, name: 'replay_config' });
  const result = h('div', { class: 'replay-result', 'aria-live': 'polite' });
  const form = h('form', {},
    h('div', { class: 'row' }, field('Plugin', pluginSelect), field('Version', versionSelect)), config.el,
    h('button', { type: 'submit', class: 'primary' }, 'Replay'), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const parsed = config.check();
    if (!parsed.ok) return replace(result, h('p', { class: 'problem', role: 'alert' }, `Not replayed: ${parsed.error}`));
    const body = { plugin: pluginSelect.value, version: versionSelect.value || undefined };
    if (!parsed.empty) body.config = parsed.value; // only when given: older servers refuse the field
    replace(result, h('p', { role: 'status' }, 'Replaying…'));
    try {
      const r = await api('POST', `/invocations/${encodeURIComponent(inv.id)}/replay`, { json: body });
      replace(result,
        h('p', { class: r.changed ? 'verdict changed' : 'verdict same', dataset: { changed: String(r.changed) } },
          r.changed ? `Decides differently: ${r.original.outcome} → ${r.replayed.outcome}.` : `Same decision (${r.replayed.outcome}).`),
        sideBySide(`Original (${shortHash(inv.version)})`, r.original, `Replayed (${r.plugin} ${shortHash(r.version)})`, r.replayed,
          { caption: 'Original and replayed decision' }),
        dl([['Fuel', fmtNum(r.fuel)], ['Duration', `${fmtNum(r.duration_us)} µs`], ['Logs', r.logs ? code(r.logs) : 'none']]));
    } catch (e) { replace(result, problemView(e)); }
  });
  return form;
}

function dryRun(plugins, { plugin, input }) {
  if (!plugins.length) return empty('Upload a plugin to dry-run it.');
  const { pluginSelect, versionSelect } = versionPicker(plugins, plugin, { defaultLabel: 'bound version, else newest' });
  const inputEditor = jsonEditor(input, { label: 'Input (JSON: request, target, now, config, subscriptions…)', rows: 12, name: 'dry_input' });
  const config = jsonEditor('', { label: 'Config (JSON, optional: overrides the input\'s config)', rows: 4, optional: true, name: 'dry_config' });
  const result = h('div', { class: 'dry-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'dry-run' },
    h('p', { class: 'muted' }, 'Paste a decision\'s input or edit it; the plugin runs in the sandbox and nothing is stored.'),
    h('div', { class: 'row' }, field('Plugin', pluginSelect), field('Version', versionSelect)),
    inputEditor.el, config.el, h('button', { type: 'submit' }, 'Dry run'), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const i = inputEditor.check();
    const c = config.check();
    if (!i.ok || !c.ok) return replace(result, h('p', { class: 'problem', role: 'alert' }, `Not run: ${(i.ok ? c : i).error}`));
    const body = { plugin: pluginSelect.value, input: i.value };
    if (versionSelect.value) body.version = versionSelect.value;
    if (!c.empty) body.config = c.value;
    try {
      const r = await api('POST', '/dry-run', { json: body });
      replace(result, h('div', { class: 'card inner', dataset: { outcome: r.error ? 'error' : 'ok' } },
        h('h4', {}, `Result of ${r.plugin} ${shortHash(r.version)} (${r.hook})`),
        r.error ? h('p', { class: 'problem' }, `Plugin failed: ${r.error.kind}: ${r.error.message}`) : code(r.output),
        dl([['Fuel', fmtNum(r.fuel)], ['Peak memory', `${fmtNum(r.peak_memory)} bytes`], ['Duration', `${fmtNum(r.duration_us)} µs`],
          ['Read subscriptions', r.read_subscriptions ? 'yes' : 'no'], ['Logs', r.logs ? code(r.logs) : 'none']])));
    } catch (e) { replace(result, problemView(e)); }
  });
  return form;
}
