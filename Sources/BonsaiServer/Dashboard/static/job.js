// The job page: status and progress, live charts fed by the SSE stream (each `progress` or
// `epoch` event fetches the new metric rows with ?since=), pruning events, the report, the mask
// picture, downloads and cancel.
import { api, download, follow } from './api.js';
import { instabilityChart, layerChart, maskPicture, reportTables, tradeoffChart, trainingCharts } from './jobviews.js';
import { parseSafetensors } from './mask.js';
import { duration, h, pct, problemBox, specSummary, statusBadge, toast } from './util.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

export async function jobPage(main, signal, id) {
  let job = await api(`/v1/jobs/${id}`);
  const metrics = new Map(); // key → Map(step → value)
  const phases = [];
  let lastStep = -1;
  const events = new Map(); // "name@step" → pruning event
  for (const e of job.pruning_events || []) events.set(`${e.name}@${e.step}`, e);

  const head = h('section', { class: 'card', id: 'job-head' });
  const actions = h('div', { class: 'actions', id: 'job-actions' });
  const downloadStatus = h('p', { class: 'small', id: 'download-status', 'aria-live': 'polite' });
  const curves = h('div', { class: 'grid', id: 'curves' });
  const tradeoff = h('section', { class: 'card', id: 'tradeoff' });
  const instability = h('section', { class: 'card', id: 'instability' });
  const layers = h('section', { class: 'card', id: 'layers' });
  const maskCard = h('section', { class: 'card', id: 'mask' });
  const reportCard = h('section', { class: 'card', id: 'report' });
  main.replaceChildren(h('h1', {}, `Job ${id}`), head, h('section', { class: 'card' }, h('h2', {}, 'Actions'), actions, downloadStatus),
    h('h2', {}, 'Training curves'), curves, h('div', { class: 'grid' }, tradeoff, instability), h('div', { class: 'grid' }, layers, maskCard),
    h('h2', {}, 'Report'), reportCard);

  function renderHead() {
    const s = specSummary(job.spec);
    const p = job.progress || {};
    const r = job.result || {};
    head.replaceChildren(
      h('div', { class: 'row' }, statusBadge(job.status), h('span', {}, job.phase ? `phase: ${job.phase}` : ''),
        job.cancel_requested && !TERMINAL.includes(job.status) ? h('span', { class: 'muted' }, 'cancel requested') : null),
      h('div', { class: 'field' }, h('label', { for: 'job-progress' }, `Progress: ${Math.round(100 * (p.fraction || 0))} %`,
        h('span', { class: 'muted' }, ` (${p.completed_steps ?? 0} of ${p.planned_steps ?? '?'} steps${job.status === 'running' ? `, ETA ${duration(p.eta_seconds)}` : ''})`)),
        h('progress', { id: 'job-progress', max: 1, value: p.fraction || 0, 'data-fraction': p.fraction || 0 })),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Method'), h('dd', {}, s.method), h('dt', {}, 'Model'), h('dd', {}, s.model),
        h('dt', {}, 'Data set'), h('dd', {}, s.dataset),
        h('dt', {}, 'Test accuracy'), h('dd', { id: 'final-accuracy' }, pct(r.test_accuracy, 2)),
        h('dt', {}, 'Sparsity'), h('dd', { id: 'final-sparsity' }, pct(r.sparsity, 2)),
        h('dt', {}, 'Attempts'), h('dd', {}, `${job.attempts} of ${job.max_attempts}`)),
      ...(job.error ? [h('p', { class: 'problem' }, job.error)] : []));
  }

  function renderActions() {
    const done = job.status === 'succeeded';
    const button = (label, idAttr, onClick, enabled, cls) => {
      const b = h('button', { type: 'button', id: idAttr, class: cls || 'secondary', disabled: !enabled }, label);
      b.addEventListener('click', onClick);
      return b;
    };
    const save = (kind, file) => async () => {
      try {
        const bytes = await download(`/v1/jobs/${id}/${kind}`, `${id}-${file}`);
        downloadStatus.textContent = `Saved ${id}-${file} (${bytes} bytes).`;
        downloadStatus.dataset.bytes = bytes;
        downloadStatus.dataset.kind = kind;
      } catch (e) { downloadStatus.replaceChildren(problemBox(e)); }
    };
    actions.replaceChildren(
      button('Download weights', 'dl-weights', save('weights', 'weights.safetensors'), done),
      button('Download masks', 'dl-masks', save('masks', 'masks.safetensors'), done),
      button('Download compact model', 'dl-compact', save('compact', 'compact.safetensors'), done),
      button('Report (JSON)', 'dl-report', save('report', 'report.json'), done),
      button('Report (HTML)', 'dl-report-html', save('report.html', 'report.html'), done),
      button('Cancel job', 'cancel', async () => {
        try { job = await api(`/v1/jobs/${id}/cancel`, { method: 'POST' }); toast('Cancellation requested'); renderAll(); } catch (e) { toast(e.message); }
      }, !TERMINAL.includes(job.status) && !job.cancel_requested, 'danger'));
  }

  let drawTimer = null;
  function drawSoon() {
    if (drawTimer) return;
    drawTimer = setTimeout(() => { drawTimer = null; drawLive(); }, 300);
  }
  function drawLive() {
    trainingCharts(curves, metrics, phases);
    const list = [...events.values()].sort((a, b) => a.step - b.step);
    tradeoffChart(tradeoff, list, job.status === 'succeeded' ? job.result : null);
    instabilityChart(instability, list);
  }

  let fetching = null, again = false;
  async function fetchMetrics() {
    if (fetching) { again = true; return fetching; }
    fetching = (async () => {
      try {
        do {
          again = false;
          const since = Math.max(0, lastStep);
          const { metrics: rows } = await api(`/v1/jobs/${id}/metrics?since=${since}`);
          for (const m of rows) {
            if (m.value === null) continue;
            if (!metrics.has(m.key)) metrics.set(m.key, new Map());
            metrics.get(m.key).set(m.step, m.value);
            if (m.key === 'loss') lastStep = Math.max(lastStep, m.step);
          }
          if (rows.length >= 5000) again = true; // the server pages long histories
        } while (again && !signal.aborted);
      } catch (e) {
        if (!signal.aborted) toast(`metrics: ${e.message}`); // the next progress event retries
      } finally {
        fetching = null;
      }
      drawSoon();
    })();
    return fetching;
  }

  let finished = false;
  async function finish() {
    if (finished) return;
    finished = true;
    job = await api(`/v1/jobs/${id}`);
    for (const e of job.pruning_events || []) events.set(`${e.name}@${e.step}`, e);
    renderAll();
    await fetchMetrics();
    if (job.status !== 'succeeded') {
      for (const c of [layers, maskCard, reportCard]) c.replaceChildren(h('p', { class: 'muted' }, `No report: the job ${job.status}.`));
      return;
    }
    try {
      const report = await api(`/v1/jobs/${id}/report`);
      layerChart(layers, report);
      reportTables(reportCard, report);
      await loadMasks();
    } catch (e) { reportCard.replaceChildren(problemBox(e)); }
  }

  async function loadMasks() {
    const res = await api(`/v1/jobs/${id}/masks`, { raw: true });
    const masks = parseSafetensors(await res.arrayBuffer());
    const pick = h('select', { id: 'mask-layer' }, masks.names.map((n) => h('option', { value: n }, `${n} [${masks.tensors[n].shape.join('×')}]`)));
    const picture = h('div', { id: 'mask-picture' });
    pick.addEventListener('change', () => maskPicture(picture, masks, pick.value));
    maskCard.replaceChildren(h('h2', {}, 'Mask of a layer'),
      h('div', { class: 'field' }, h('label', { for: 'mask-layer' }, 'Layer'), pick), picture);
    if (masks.names.length) maskPicture(picture, masks, masks.names[0]);
  }

  function renderAll() { renderHead(); renderActions(); drawLive(); }

  for (const c of [layers, maskCard, reportCard]) c.replaceChildren(h('p', { class: 'muted' }, 'Available when the job has succeeded.'));
  renderAll();
  await fetchMetrics();

  // Live: the SSE feed replays from the start (phases, pruning events) and then follows.
  follow(`/v1/jobs/${id}/events`, (e) => {
    const d = e.data || {};
    switch (e.event) {
      case 'phase_started':
        if (!phases.some((p) => p.phase === d.phase)) phases.push({ phase: d.phase, planned_steps: d.planned_steps });
        job.phase = d.phase;
        drawSoon();
        break;
      case 'progress':
        job.progress = { ...job.progress, completed_steps: d.step, planned_steps: d.planned_steps,
          fraction: d.planned_steps ? d.step / d.planned_steps : 0, eta_seconds: d.eta_seconds >= 0 ? d.eta_seconds : null };
        renderHead();
        if (d.step > lastStep) fetchMetrics();
        break;
      case 'epoch':
        fetchMetrics();
        break;
      case 'pruned':
        events.set(`${d.name}@${d.step}`, { ...d, instability: d.accuracy_before > 0 ? (d.accuracy_before - d.accuracy_after) / d.accuracy_before : 0 });
        drawSoon();
        break;
      case 'status':
        job.status = d.status;
        renderHead(); renderActions();
        if (TERMINAL.includes(d.status)) finish();
        break;
      case 'cancel_requested':
        job.cancel_requested = true;
        renderHead(); renderActions();
        break;
      default:
        break;
    }
  }, signal).then(() => { if (!signal.aborted) finish(); }).catch((e) => head.append(problemBox(e)));
}
