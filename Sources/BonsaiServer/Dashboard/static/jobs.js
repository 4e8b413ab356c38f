// The jobs page: every job of the tenant with status, method, model, data set, progress and ETA,
// final accuracy and sparsity; filters; refreshed every two seconds while open.
import { api } from './api.js';
import { duration, h, pct, problemBox, specSummary, statusBadge } from './util.js';

const specs = new Map(); // job id → spec (a spec never changes, so it is fetched once)
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

async function fetchSpecs(jobs) {
  // GET /v1/jobs carries a summary of each spec; older servers need one fetch per job.
  for (const j of jobs) {
    if (j.summary && !specs.has(j.id)) {
      specs.set(j.id, { method: { name: j.summary.method }, model: { architecture: j.summary.architecture }, dataset: { name: j.summary.dataset } });
    }
  }
  const missing = jobs.filter((j) => !specs.has(j.id)).slice(0, 50);
  await Promise.all(missing.map(async (j) => {
    try { specs.set(j.id, (await api(`/v1/jobs/${j.id}`)).spec); } catch { specs.set(j.id, null); }
  }));
}

export async function jobsPage(main, signal) {
  const status = h('select', { id: 'filter-status' }, h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s }, s)));
  const search = h('input', { id: 'filter-text', type: 'search', placeholder: 'method, model, data set or id' });
  const live = h('span', { class: 'small muted', id: 'live', 'aria-live': 'off' });
  const compare = h('button', { type: 'button', class: 'secondary', id: 'compare-selected', disabled: true }, 'Compare selected');
  const body = h('tbody');
  const table = h('table', { class: 'jobs', id: 'jobs-table' },
    h('caption', { class: 'muted small' }, 'Jobs of this tenant, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Select')), h('th', { scope: 'col' }, 'Job'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Status'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Method'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Model'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Data set'), h('th', { scope: 'col' }, 'Progress'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'ETA'), h('th', { scope: 'col', class: 'num' }, 'Accuracy'),
      h('th', { scope: 'col', class: 'num' }, 'Sparsity'))),
    body);
  const errorBox = h('div');
  main.replaceChildren(h('h1', {}, 'Jobs'),
    h('section', { class: 'card' },
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), status),
        h('div', { class: 'field' }, h('label', { for: 'filter-text' }, 'Search'), search),
        h('div', { class: 'field' }, compare), h('div', { class: 'field' }, live)),
      errorBox, h('div', { class: 'table-wrap' }, table)));

  const selected = new Set();
  compare.addEventListener('click', () => { location.hash = `#/compare?ids=${[...selected].join(',')}`; });
  let jobs = [];
  function render() {
    const q = search.value.trim().toLowerCase();
    const rows = jobs.filter((j) => {
      if (!q) return true;
      const s = specSummary(specs.get(j.id));
      return [j.id, s.method, s.model, s.dataset].some((x) => x.toLowerCase().includes(q));
    });
    body.replaceChildren(...rows.map((j) => row(j, selected, () => { compare.disabled = selected.size < 2; })));
    if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: 10, class: 'empty' }, jobs.length ? 'No job matches the filter.' : 'No jobs yet — submit one.')));
  }
  async function refresh() {
    try {
      const q = status.value ? `&status=${status.value}` : '';
      jobs = (await api(`/v1/jobs?limit=200${q}`)).jobs;
      await fetchSpecs(jobs);
      errorBox.replaceChildren();
      live.textContent = `updated ${new Date().toLocaleTimeString()}`;
      render();
    } catch (e) {
      errorBox.replaceChildren(problemBox(e));
    }
  }
  status.addEventListener('change', refresh);
  search.addEventListener('input', render);
  await refresh();
  const timer = setInterval(() => { if (!document.hidden) refresh(); }, 2000);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function row(j, selected, onSelect) {
  const s = specSummary(specs.get(j.id));
  const r = j.result || {};
  const p = j.progress || {};
  const box = h('input', { type: 'checkbox', 'aria-label': `select ${j.id} for comparison`, checked: selected.has(j.id) });
  box.addEventListener('change', () => { if (box.checked) selected.add(j.id); else selected.delete(j.id); onSelect(); });
  const fraction = p.fraction || 0;
  return h('tr', { 'data-job': j.id, 'data-status': j.status },
    h('td', {}, box),
    h('td', {}, h('a', { href: `#/job/${j.id}`, 'aria-label': j.id, title: j.id }, j.id.slice(4, 12)),
      h('span', { class: 'show-narrow' }, h('br'), statusBadge(j.status))),
    h('td', { class: 'hide-narrow' }, statusBadge(j.status)),
    h('td', { class: 'hide-narrow' }, s.method),
    h('td', { class: 'hide-narrow' }, s.model),
    h('td', { class: 'hide-narrow' }, s.dataset),
    h('td', {}, h('progress', { max: 1, value: fraction, 'aria-label': `progress of ${j.id}` }),
      h('span', { class: 'small muted progress-text' }, ` ${Math.round(100 * fraction)} %${j.phase && j.status === 'running' ? ` · ${j.phase}` : ''}`),
      j.status === 'running' ? h('span', { class: 'small muted show-narrow' }, ` · ETA ${duration(p.eta_seconds)}`) : null),
    h('td', { class: 'hide-narrow' }, j.status === 'running' ? duration(p.eta_seconds) : '—'),
    h('td', { class: 'num' }, pct(r.test_accuracy)),
    h('td', { class: 'num' }, pct(r.sparsity)));
}
