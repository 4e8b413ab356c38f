// The compare page: accuracy against remaining weights of two or more jobs on one chart. Each
// job contributes its pruning events (accuracy right after pruning) and its final test accuracy.
import { api } from './api.js';
import { lineChart, palette, widthOf } from './charts.js';
import { h, pct, problemBox, specSummary, statusBadge } from './util.js';

/** A job's curve: (fraction remaining, accuracy) for each pruning event, then the final result. */
export function curveOf(job) {
  const pts = (job.pruning_events || []).map((e) => [1 - e.sparsity, e.accuracy_after]);
  if (job.result && job.result.test_accuracy !== undefined) pts.push([1 - job.result.sparsity, job.result.test_accuracy]);
  return pts.sort((a, b) => b[0] - a[0]);
}

export async function comparePage(main, signal, query) {
  const preset = (query.get('ids') || '').split(',').filter(Boolean);
  const { jobs } = await api('/v1/jobs?limit=200&status=succeeded');
  const chosen = new Set(preset.length ? preset : jobs.slice(0, 2).map((j) => j.id));
  const details = new Map();
  const chart = h('div', { id: 'compare-chart' });
  const summary = h('div', { id: 'compare-table' });
  const list = h('fieldset', { id: 'compare-jobs' }, h('legend', {}, 'Jobs to compare (succeeded)'));
  main.replaceChildren(h('h1', {}, 'Compare jobs'),
    h('div', { class: 'grid' }, h('section', { class: 'card' }, list), h('section', { class: 'card' }, chart, summary)));
  if (jobs.length === 0) list.append(h('p', { class: 'muted' }, 'No succeeded job yet.'));

  async function load(id) {
    if (!details.has(id)) details.set(id, await api(`/v1/jobs/${id}`));
    return details.get(id);
  }
  async function draw() {
    try {
      const selected = await Promise.all([...chosen].map(load));
      const series = selected.map((j, i) => {
        const s = specSummary(j.spec);
        return { name: `${j.id.slice(4, 12)} ${s.method}`, points: curveOf(j), markers: true, color: palette[i % palette.length] };
      });
      chart.replaceChildren(lineChart({ title: 'Accuracy vs remaining weights', kind: 'compare', width: widthOf(chart), xLog: true,
        xLabel: 'fraction of prunable weights remaining (log)', yLabel: 'accuracy', yMin: 0, yMax: 1, legend: true,
        xFormat: (v) => `${+(100 * v).toPrecision(3)}%`, series, empty: 'choose two or more jobs' }));
      summary.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['job', 'method', 'model', 'sparsity', 'accuracy'].map((c, i) => h('th', { scope: 'col', class: i === 2 ? 'hide-narrow' : (i > 2 ? 'num' : null) }, c)))),
        h('tbody', {}, selected.map((j) => {
          const s = specSummary(j.spec);
          return h('tr', {}, h('td', {}, h('a', { href: `#/job/${j.id}`, 'aria-label': j.id, title: j.id }, j.id.slice(4, 12))), h('td', {}, s.method), h('td', { class: 'hide-narrow' }, s.model),
            h('td', { class: 'num' }, pct(j.result && j.result.sparsity)), h('td', { class: 'num' }, pct(j.result && j.result.test_accuracy)));
        })))));
    } catch (e) {
      chart.replaceChildren(problemBox(e));
    }
  }
  for (const j of jobs) {
    const box = h('input', { type: 'checkbox', id: `cmp-${j.id}`, checked: chosen.has(j.id) });
    box.addEventListener('change', () => { if (box.checked) chosen.add(j.id); else chosen.delete(j.id); draw(); });
    const r = j.result || {};
    list.append(h('div', {}, h('label', { for: `cmp-${j.id}` }, box, ` ${j.id} `, statusBadge(j.status),
      h('span', { class: 'muted small' }, ` ${pct(r.sparsity)} sparse, ${pct(r.test_accuracy)} accurate`))));
  }
  await draw();
}
