// The job page's drawings: training curves with phase bands, accuracy against remaining
// weights, instability per pruning event, sparsity per layer, the mask picture and the report
// tables. Pure functions of the data they are given (the page owns fetching and live updates).
import { barChart, heatmap, lineChart, palette, widthOf } from './charts.js';
import { maskGrid } from './mask.js';
import { compact, h, num, pct } from './util.js';

/** Phase bands from phase_started events: phase i spans its planned steps after the previous ones. */
export function phaseBands(phases) {
  const bands = [];
  let offset = 0;
  for (const p of phases) {
    if (p.planned_steps > 0) bands.push({ from: offset, to: offset + p.planned_steps, label: p.phase });
    offset += p.planned_steps || 0;
  }
  return bands;
}

function seriesOf(metrics, key) {
  const m = metrics.get(key);
  return m ? [...m.entries()].sort((a, b) => a[0] - b[0]) : [];
}

/** Loss and accuracy per step (lines) and per epoch (markers), phases shaded. */
export function trainingCharts(el, metrics, phases) {
  const full = widthOf(el);
  const width = full >= 700 ? Math.floor((full - 16) / 2) : full; // two columns on a laptop
  const bands = phaseBands(phases);
  const loss = lineChart({ title: 'Loss', kind: 'loss', width, xLabel: 'step', yLabel: 'loss', bands, legend: true, series: [
    { name: 'loss per step', points: seriesOf(metrics, 'loss'), color: palette[1], width: 1.2 },
    { name: 'epoch train loss', points: seriesOf(metrics, 'epoch_train_loss'), color: palette[2], markers: true, line: false },
    { name: 'epoch eval loss', points: seriesOf(metrics, 'eval_loss'), color: palette[3], markers: true, line: false },
  ] });
  const acc = lineChart({ title: 'Accuracy', kind: 'accuracy', width, xLabel: 'step', yLabel: 'accuracy', yMin: 0, yMax: 1, bands, legend: true, series: [
    { name: 'batch accuracy per step', points: seriesOf(metrics, 'accuracy'), color: palette[0], width: 1.2 },
    { name: 'epoch train accuracy', points: seriesOf(metrics, 'epoch_train_accuracy'), color: palette[2], markers: true, line: false },
    { name: 'epoch eval accuracy', points: seriesOf(metrics, 'eval_accuracy'), color: palette[3], markers: true, line: false },
  ] });
  el.replaceChildren(loss, acc);
}

/** Accuracy after each pruning event against the fraction of weights remaining (log x). */
export function tradeoffChart(el, events, result) {
  const points = events.map((e) => [1 - e.sparsity, e.accuracy_after]);
  const before = events.map((e) => [1 - e.sparsity, e.accuracy_before]);
  const series = [{ name: 'accuracy right after pruning', points, markers: true, color: palette[2] }];
  if (events.length) series.unshift({ name: 'accuracy before pruning', points: before, markers: true, color: palette[6], dash: '4 3' });
  if (result && result.test_accuracy !== undefined) {
    series.push({ name: 'final test accuracy', points: [[1 - result.sparsity, result.test_accuracy]], markers: true, color: palette[0], line: false });
  }
  el.replaceChildren(lineChart({ title: 'Accuracy vs remaining weights', kind: 'tradeoff', width: widthOf(el), xLog: true,
    xLabel: 'fraction of prunable weights remaining (log)', yLabel: 'accuracy', yMin: 0, yMax: 1, legend: true,
    xFormat: (v) => `${+(100 * v).toPrecision(3)}%`, series, empty: 'no pruning event yet' }));
}

/** Instability `(acc_before − acc_after) / acc_before` of each pruning event. */
export function instabilityChart(el, events) {
  el.replaceChildren(barChart({ title: 'Instability per pruning event', kind: 'instability', width: widthOf(el),
    bars: events.map((e, i) => ({ label: `${i + 1}. ${e.name} @ step ${e.step} (${pct(e.sparsity, 1)} sparse)`, value: Math.max(0, e.instability ?? 0),
      note: `accuracy ${pct(e.accuracy_before)} → ${pct(e.accuracy_after)}` })),
    max: Math.max(0.05, ...events.map((e) => e.instability ?? 0)), format: (v) => v.toFixed(3), color: palette[2],
    empty: 'no pruning event yet' }));
}

/** Sparsity of each prunable layer from the report. */
export function layerChart(el, report) {
  const layers = report.layers.filter((l) => l.prunable);
  el.replaceChildren(barChart({ title: 'Sparsity per layer', kind: 'layers', width: widthOf(el), max: 1,
    bars: layers.map((l) => ({ label: `${l.path} [${l.shape.join('×')}]`, value: l.sparsity, note: `${l.nonzeros} of ${l.parameters} kept` })),
    format: (v) => pct(v, 1), color: palette[1] }));
}

/** The mask picture of `name` from a parsed masks file, with row/column (channel) counts. */
export function maskPicture(el, masks, name) {
  const t = masks.tensors[name];
  const g = maskGrid(masks.values(name), t.shape);
  const conv = t.shape.length === 4;
  const fig = heatmap(g.grid, g.R, g.C, { title: `Mask of ${name} [${t.shape.join('×')}]`, kind: 'mask', width: widthOf(el),
    rowLabel: conv ? 'output channel' : 'output unit', colLabel: conv ? 'input channel' : 'input' });
  const note = h('p', { class: 'small', id: 'mask-summary' },
    `${g.kept.toLocaleString('en-US')} of ${g.total.toLocaleString('en-US')} weights kept (${pct(g.kept / g.total)}). `,
    `${conv ? 'Output channels' : 'Rows'} keeping any weight: ${g.keptRows} of ${g.rows}; `,
    `${conv ? 'input channels' : 'columns'}: ${g.keptCols} of ${g.cols}. `,
    g.structured ? 'Whole rows/columns are removed (structured).' : '',
    g.R < g.rows || g.C < g.cols ? ` Each cell averages a ${Math.ceil(g.rows / g.R)}×${Math.ceil(g.cols / g.C)} block${conv ? ' of kernels' : ''}.` : '',
    conv ? ' A cell is the kept fraction of one kernel.' : '');
  const key = h('p', { class: 'legend small' }, h('span', { class: 'key-pruned' }, 'pruned (light)'), h('span', { class: 'key-kept' }, 'kept (dark green)'));
  el.replaceChildren(fig, note, key);
}

function table(caption, head, rows, numeric = []) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'muted small' }, caption),
    h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, c)))))));
}

/** Parameter, FLOP and latency tables of a report. */
export function reportTables(el, report) {
  const parts = [h('dl', { class: 'kv', id: 'report-summary' },
    h('dt', {}, 'Test accuracy'), h('dd', {}, pct(report.test_accuracy, 2)),
    h('dt', {}, 'Test loss'), h('dd', {}, num(report.test_loss, 4)),
    h('dt', {}, 'Parameters (model)'), h('dd', {}, `${compact(report.model.nonzeros)} of ${compact(report.model.parameters)} non-zero (${pct(report.model.sparsity)} sparse)`),
    h('dt', {}, 'Prunable set'), h('dd', {}, `${compact(report.prunable.nonzeros)} of ${compact(report.prunable.parameters)} kept (${pct(report.prunable.sparsity)} sparse)`),
    h('dt', {}, 'Mean instability'), h('dd', {}, num(report.mean_instability, 3)))];
  parts.push(table('Parameters per tensor', ['tensor', 'shape', 'params', 'non-zero', 'sparsity'],
    report.layers.map((l) => [l.path + (l.prunable ? '' : ' (not pruned)'), l.shape.join('×'), compact(l.parameters), compact(l.nonzeros), pct(l.sparsity)]), [2, 3, 4]));
  if (report.flops) {
    const f = report.flops;
    parts.push(table(`FLOPs per sample: ${compact(f.dense_flops)} dense → ${compact(f.pruned_flops)} pruned (×${num(f.reduction, 3)} fewer)`,
      ['layer', 'kind', 'dense FLOPs', 'pruned FLOPs'], f.layers.map((l) => [l.path, l.kind, compact(l.dense_flops), compact(l.pruned_flops)]), [2, 3]));
  } else {
    parts.push(h('p', { class: 'muted small' }, 'No FLOP count for this model.'));
  }
  if (report.latency && report.latency.length) {
    parts.push(table('Inference latency per form', ['form', 'batch', 'threads', 'median ms', 'p10 ms', 'p90 ms'],
      report.latency.map((l) => [l.form, l.batch, l.threads, num(l.median_ms, 4), num(l.p10_ms, 4), num(l.p90_ms, 4)]), [1, 2, 3, 4, 5]));
  } else {
    parts.push(h('p', { class: 'muted small' }, 'Latency was not measured for this job.'));
  }
  el.replaceChildren(...parts);
}
