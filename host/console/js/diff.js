// Side-by-side diffs of JSON documents: a line diff (longest common
// subsequence) of the pretty-printed texts, shown in two aligned columns.
import { h, pretty } from './dom.js';

/** Keys sorted at every level: two documents differing only in key order have no diff. */
export function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

const text = (v) => (v === undefined ? '' : typeof v === 'string' ? v : pretty(canonical(v)));

/** [{op: 'same'|'del'|'add', line}] turning a into b. */
export function lineDiff(a, b) {
  const x = a ? a.split('\n') : [];
  const y = b ? b.split('\n') : [];
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: common length of x[i..] and y[j..]; documents are small.
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ op: 'same', line: x[i] }); i++; j++;
    } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      ops.push({ op: 'add', line: y[j] }); j++;
    } else {
      ops.push({ op: 'del', line: x[i] }); i++;
    }
  }
  return ops;
}

/** Rows [left|null, right|null] with runs of deletions paired with additions. */
function rows(ops) {
  const out = [];
  for (let k = 0; k < ops.length;) {
    if (ops[k].op === 'same') { out.push([ops[k], ops[k]]); k++; continue; }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k].op !== 'same') (ops[k].op === 'del' ? dels : adds).push(ops[k++]);
    for (let r = 0; r < Math.max(dels.length, adds.length); r++) out.push([dels[r] || null, adds[r] || null]);
  }
  return out;
}

/** Two documents side by side, changed lines marked (and announced by text). */
export function sideBySide(leftTitle, left, rightTitle, right, { caption } = {}) {
  const ops = lineDiff(text(left), text(right));
  const changed = ops.filter((o) => o.op !== 'same').length;
  const cell = (o, kind) => h('td', { class: o ? (o.op === 'same' ? 'same' : kind) : 'blank' },
    o && o.op !== 'same' && h('span', { class: 'visually-hidden' }, kind === 'del' ? 'removed: ' : 'added: '),
    o ? o.line : '');
  return h('div', { class: 'diff', dataset: { changedLines: String(changed) } },
    h('p', { class: 'diff-summary' }, changed ? `${changed} line${changed === 1 ? '' : 's'} differ.` : 'No difference.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'diff-table' },
      caption && h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, leftTitle), h('th', { scope: 'col' }, rightTitle))),
      h('tbody', {}, rows(ops).map(([l, r]) => h('tr', {}, cell(l, 'del'), cell(r, 'add')))))));
}

/** One side of a line diff as a <pre>, the lines only on this side marked. */
function marked(ops, side) {
  const keep = side === 'before' ? 'del' : 'add';
  return h('pre', {}, ops.filter((o) => o.op === 'same' || o.op === keep).map((o) =>
    h('span', { class: o.op === 'same' ? 'line' : `line ${o.op}` }, o.line)));
}

/** A field-by-field comparison: [[label, before, after], …]; changed rows and lines marked. */
export function fieldDiff(beforeTitle, afterTitle, fields) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'field-diff' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, beforeTitle),
      h('th', { scope: 'col' }, afterTitle), h('th', { scope: 'col' }, 'Changes'))),
    h('tbody', {}, fields.map(([label, before, after]) => {
      const same = text(before) === text(after);
      const ops = same ? null : lineDiff(text(before), text(after));
      return h('tr', { class: same ? 'same' : 'changed' },
        h('th', { scope: 'row' }, label),
        h('td', {}, same ? h('pre', {}, text(before)) : marked(ops, 'before')),
        h('td', {}, same ? h('pre', {}, text(after)) : marked(ops, 'after')),
        h('td', {}, same ? 'unchanged' : 'changes'));
    }))));
}
