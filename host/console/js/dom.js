// DOM helpers. Everything is built with createElement and textContent, never
// innerHTML: plugin logs, outputs and configs are tenant data.

/** h('button', {class: 'x', onclick: f}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'for') {
      el.htmlFor = value;
    } else if (key === 'value' || key === 'checked' || key === 'selected') {
      el[key] = value; // properties, so they stay right after user edits
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique id for label/aria wiring. */
export const uid = (prefix = 'f') => `${prefix}-${++ids}`;

/** A labelled control: field('Name', h('input', …), 'optional hint'). */
export function field(label, control, hint) {
  control.id ||= uid();
  const hintEl = hint ? h('span', { class: 'hint', id: uid('hint') }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A <select> from [value, label] pairs (or plain strings). */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, label);
  }));
}

/** The page heading with its help text (what it shows, what the buttons do). */
export function pageHeader(title, summary, buttonsHelp) {
  return h('header', { class: 'page-head' },
    h('h1', { tabindex: '-1' }, title),
    h('p', { class: 'lead' }, summary),
    buttonsHelp && h('details', { class: 'help' },
      h('summary', {}, 'Help: what the buttons do'),
      h('ul', {}, buttonsHelp.map((line) => h('li', {}, line)))));
}

export const pretty = (value) => JSON.stringify(value, null, 2);

export function code(value) {
  return h('pre', { class: 'code' }, typeof value === 'string' ? value : pretty(value));
}

export const shortHash = (v) => (v ? String(v).slice(0, 12) : '—');

export function hashCell(version) {
  return h('code', { title: version || '' }, shortHash(version));
}

export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toLocaleString();
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString() : '—');

/** A definition list from [term, value] pairs. */
export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** A table: columns [header, …], rows of cells. */
export function table(caption, columns, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      caption && h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      rows instanceof HTMLTableSectionElement ? rows : h('tbody', {}, rows)));
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/** A JSON textarea that says whether its content parses, as the user types. */
export function jsonEditor(value, { label, rows = 10, optional = false, name } = {}) {
  const area = h('textarea', { rows, spellcheck: 'false', class: 'json', name, autocomplete: 'off' });
  area.value = value === undefined ? '' : typeof value === 'string' ? value : pretty(value);
  const status = h('span', { class: 'json-status', 'aria-live': 'polite', id: uid('json') });
  area.setAttribute('aria-describedby', status.id);
  const check = () => {
    const result = parseJson(area.value, optional);
    area.setAttribute('aria-invalid', result.ok ? 'false' : 'true');
    status.textContent = result.ok ? (result.empty ? '' : 'Valid JSON') : result.error;
    status.className = `json-status ${result.ok ? 'ok' : 'bad'}`;
    return result;
  };
  area.addEventListener('input', check);
  check();
  const wrap = h('div', { class: 'field' }, h('label', { for: (area.id = uid('json-area')) }, label), area, status);
  return { el: wrap, area, check, value: () => check() };
}

/** {ok, value, empty} or {ok: false, error}: a message with the line when JSON.parse gives a position. */
export function parseJson(text, optional = false) {
  if (!text.trim()) return optional ? { ok: true, empty: true, value: undefined } : { ok: false, error: 'Enter a JSON value.' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const m = /position (\d+)/.exec(e.message);
    const where = m ? ` (line ${text.slice(0, Number(m[1])).split('\n').length})` : '';
    return { ok: false, error: `Invalid JSON${where}: ${e.message}` };
  }
}

/** Offer a JSON document as a file download (nothing is sent anywhere). */
export function download(filename, value) {
  const blob = new Blob([pretty(value) + '\n'], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A button that asks before an irreversible action: the first click shows
 * the question with "Yes, …" and "Cancel" in its place.
 */
export function confirmAction(label, question, yesLabel, run, attrs = {}) {
  const box = h('span', { class: 'confirm' });
  const ask = h('button', { type: 'button', class: 'danger', ...attrs, onclick: () => {
    replace(box, h('span', { role: 'status' }, question, ' '),
      action(yesLabel, run, { class: 'danger' }),
      h('button', { type: 'button', onclick: () => { replace(box, ask); ask.focus(); } }, 'Cancel'));
    box.querySelector('button').focus();
  } }, label);
  box.append(ask);
  return box;
}

/** A button that disables itself while its async action runs. */
export function action(label, run, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await run(button);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  return button;
}
