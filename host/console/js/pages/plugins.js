// Plugins: names and versions; upload (file picker or drop); delete a version.
import { api, problemView, versionsOf } from '../api.js';
import { confirmAction, empty, field, fmtBytes, fmtTime, h, pageHeader, replace, shortHash, table } from '../dom.js';

let notice = null;

/** A plugin name from a file name: min_max.wasm → min-max. */
const nameFromFile = (file) => file.replace(/\.wasm$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);

export async function render(root, params, ctx) {
  root.append(pageHeader('Plugins',
    'The WebAssembly components you uploaded, by name, each with its immutable versions (a version is the SHA-256 of the bytes). A new version is checked before it is stored: it must be a component implementing exactly one hook.',
    [
      'Upload: choose a .wasm file or drop it on the drop zone, give it a name, and upload. Uploading the same bytes again changes nothing.',
      'Delete: removes a version no binding uses (active, shadow, or as a rollback target); the server refuses otherwise and says why.',
    ]));
  if (notice) {
    root.append(h('p', { class: 'notice', role: 'status' }, notice));
    notice = null;
  }
  const done = (text) => { notice = text; ctx.refresh(); };
  root.append(uploadForm(done));

  const plugins = await api('GET', '/plugins');
  root.append(h('h2', {}, 'Uploaded plugins'));
  if (!plugins.length) {
    root.append(empty('No plugins yet. Upload a .wasm component above.'));
    return;
  }
  const all = await Promise.all(plugins.map((p) => versionsOf(p.name).then((v) => [p, v], (e) => [p, e])));
  for (const [p, versions] of all) {
    const section = h('section', { class: 'card plugin', dataset: { plugin: p.name }, 'aria-labelledby': `plugin-${p.name}` },
      h('h3', { id: `plugin-${p.name}` }, p.name, ' ', h('span', { class: 'badge' }, p.hook)),
      h('p', { class: 'muted' }, `${p.versions} version${p.versions === 1 ? '' : 's'}; newest uploaded ${fmtTime(p.latest_uploaded_at)}.`));
    if (versions instanceof Error) {
      section.append(problemView(versions));
    } else {
      const status = h('div');
      section.append(table(null,
        ['Version', 'Size', 'Hook', 'Language', 'Contract', 'Uploaded', 'Bound by', ''],
        versions.map((v) => h('tr', { dataset: { version: v.version } },
          h('td', {}, h('code', { title: v.version }, shortHash(v.version))), h('td', {}, fmtBytes(v.size)), h('td', {}, v.hook),
          h('td', {}, v.language ?? '—'), h('td', {}, v.contract ?? '—'),
          h('td', {}, `${fmtTime(v.uploaded_at)} by ${v.uploaded_by}`),
          h('td', {}, v.bound_by ? (v.bound_by.length ? v.bound_by.join(', ') : 'unused') : '—'),
          h('td', {}, v.bound_by?.length ? '' : confirmAction('Delete…', `Delete version ${shortHash(v.version)} of ${p.name}? This cannot be undone.`, 'Yes, delete', async () => {
            try {
              await api('DELETE', `/plugins/${encodeURIComponent(p.name)}/versions/${encodeURIComponent(v.version)}`);
              done(`Deleted ${p.name} version ${shortHash(v.version)}.`);
            } catch (e) { replace(status, problemView(e)); }
          }, { 'aria-label': `Delete ${p.name} version ${shortHash(v.version)}` }))))),
      status);
    }
    root.append(section);
  }
}

function uploadForm(done) {
  let chosen = null;
  const file = h('input', { type: 'file', accept: '.wasm,application/wasm', name: 'file' });
  const name = h('input', { name: 'name', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{0,63}', autocomplete: 'off' });
  const picked = h('span', { class: 'muted', 'aria-live': 'polite' }, 'No file chosen.');
  const status = h('div');
  const choose = (f) => {
    chosen = f;
    picked.textContent = f ? `${f.name} (${fmtBytes(f.size)})` : 'No file chosen.';
    if (f && !name.value) name.value = nameFromFile(f.name);
  };
  file.addEventListener('change', () => choose(file.files[0] || null));
  // Drag-and-drop is a shortcut; the file input stays the keyboard way.
  const zone = h('div', { class: 'drop-zone', id: 'drop-zone' }, 'Drop a .wasm file here, or use “Component file”.');
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer?.files?.length) choose(e.dataTransfer.files[0]);
  });
  const form = h('form', { class: 'card upload', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload a version'),
    h('div', { class: 'row' }, field('Component file', file), field('Plugin name', name, 'lower-case letters, digits, . _ -')),
    zone, h('p', {}, 'Selected: ', picked),
    h('button', { type: 'submit', class: 'primary' }, 'Upload'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!chosen) return replace(status, h('p', { class: 'problem', role: 'alert' }, 'Choose a .wasm file first.'));
    replace(status, h('p', { role: 'status' }, `Uploading ${chosen.name}…`));
    try {
      const r = await api('POST', '/plugins', { query: { name: name.value.trim() }, body: chosen, type: 'application/wasm' });
      done(r.created === false
        ? `${r.name} already has these bytes as version ${shortHash(r.version)}; nothing changed.`
        : `Uploaded ${r.name} version ${shortHash(r.version)} (${r.hook}, ${fmtBytes(r.size)}).`);
    } catch (e) {
      replace(status, h('div', { class: 'refusal' }, h('p', {}, 'The upload was refused:'), problemView(e)));
    }
  });
  return form;
}
