// Overview: the last hour in numbers and a small SVG chart drawn by hand.
import { api } from '../api.js';
import { empty, fmtNum, h, pageHeader, table } from '../dom.js';

const SERIES = [
  ['calls', 'Calls', 'series-calls'],
  ['rejected', 'Rejected', 'series-rejected'],
  ['failures', 'Plugin failures', 'series-failures'],
  ['limit_hits', 'Limit hits', 'series-limits'],
];

export async function render(root) {
  root.append(pageHeader('Overview',
    'The last hour: platform calls per endpoint and Code, plugin failures by binding and kind, and sandbox limit hits (fuel, deadline, memory), in five-minute buckets.'));
  const o = await api('GET', '/overview', { query: { window: 3600 } });
  const sum = (k) => o.buckets.reduce((n, b) => n + (b[k] || 0), 0);
  root.append(h('ul', { class: 'totals' }, SERIES.map(([k, label, cls]) =>
    h('li', { class: cls, dataset: { total: k } }, h('span', { class: 'total' }, fmtNum(sum(k))), ' ', label))));
  root.append(h('section', { 'aria-labelledby': 'chart-title' }, h('h2', { id: 'chart-title' }, `Per ${Math.round(o.bucket_seconds / 60)} minutes`),
    chart(o), h('details', {}, h('summary', {}, 'The same numbers as a table'),
      table(null, ['Bucket start', ...SERIES.map((s) => s[1])], o.buckets.map((b) =>
        h('tr', {}, h('td', {}, new Date(b.at).toLocaleTimeString()), SERIES.map(([k]) => h('td', {}, fmtNum(b[k])))))))));

  root.append(h('h2', {}, 'Calls per endpoint and Code'),
    o.calls.length
      ? table(null, ['Endpoint', 'Code', 'Calls'], o.calls.map((c) =>
        h('tr', {}, h('td', {}, c.endpoint), h('td', {}, String(c.code)), h('td', {}, fmtNum(c.count)))), { class: 'calls' })
      : empty('No platform calls in this window.'));
  root.append(h('h2', {}, 'Plugin failures'),
    o.plugin_failures.length
      ? table(null, ['Binding', 'Hook', 'Kind', 'Count'], o.plugin_failures.map((f) =>
        h('tr', {}, h('td', {}, f.binding), h('td', {}, f.hook), h('td', {}, f.kind), h('td', {}, fmtNum(f.count)))))
      : empty('No plugin failures in this window.'));
  root.append(h('h2', {}, 'Limit hits'),
    o.limit_hits.length
      ? table(null, ['Binding', 'Kind', 'Count'], o.limit_hits.map((l) =>
        h('tr', {}, h('td', {}, l.binding), h('td', {}, l.kind), h('td', {}, fmtNum(l.count)))))
      : empty('No limit hits in this window.'));
}

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Grouped bars per bucket, one colour per series, with a legend. */
function chart(o) {
  const W = 720;
  const H = 220;
  const pad = { left: 44, right: 8, top: 12, bottom: 28 };
  const buckets = o.buckets;
  const max = Math.max(1, ...buckets.flatMap((b) => SERIES.map(([k]) => b[k] || 0)));
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const bar = Math.max(1, (slot - 6) / SERIES.length);
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-t chart-d', class: 'chart' },
    s('title', { id: 'chart-t' }, 'Calls, rejections, plugin failures and limit hits over time'),
    s('desc', { id: 'chart-d' }, `${buckets.length} buckets of ${o.bucket_seconds} seconds; the highest value is ${max}.`));
  for (const v of [0, max / 2, max]) {
    svg.append(s('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, fmtNum(Math.round(v))));
  }
  buckets.forEach((b, i) => {
    const x0 = pad.left + i * slot + 3;
    SERIES.forEach(([k, label, cls], j) => {
      const v = b[k] || 0;
      svg.append(s('rect', { x: x0 + j * bar, y: y(v), width: Math.max(0.5, bar - 1), height: Math.max(0, pad.top + plotH - y(v)), class: cls },
        s('title', {}, `${label}: ${v} (${new Date(b.at).toLocaleTimeString()})`)));
    });
    if (i % Math.ceil(buckets.length / 6 || 1) === 0) {
      svg.append(s('text', { x: x0, y: H - 8, class: 'axis' }, new Date(b.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    }
  });
  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' }, SERIES.map(([, label, cls]) => h('li', {}, h('span', { class: `swatch ${cls}` }), label)));
  return h('figure', { class: 'chart-box' }, svg, legend);
}
