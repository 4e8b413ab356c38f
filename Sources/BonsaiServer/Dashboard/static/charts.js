// Hand-written SVG charts: line charts (linear or log x), horizontal bar charts and heat maps.
// Every drawn series is a <path class="line" data-series=… data-count=N> and every marker a
// <circle class="pt" data-x data-y>, so tests (and curious users) can read the plotted data back.

const NS = 'http://www.w3.org/2000/svg';
export const palette = ['#2f6f3e', '#1a5fb4', '#c64600', '#8e44ad', '#b8860b', '#00838f', '#7a7a7a'];
let uid = 0;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Width to draw at: the container's width (so text stays legible on a phone), 320…760. */
export function widthOf(el) {
  const w = el && el.clientWidth ? el.clientWidth - 2 : 640;
  return Math.max(300, Math.min(760, w));
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((v) => v >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** Ticks of a log axis: powers of ten, plus 2× and 5× when fewer than three powers fit. */
export function logTicks(min, max) {
  const lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
  let out = [];
  for (let k = lo; k <= hi; k++) out.push(10 ** k);
  out = out.filter((v) => v >= min * 0.999 && v <= max * 1.001);
  if (out.length < 3) {
    out = [];
    for (let k = lo; k <= hi; k++) for (const f of [1, 2, 5]) { const v = f * 10 ** k; if (v >= min * 0.999 && v <= max * 1.001) out.push(v); }
  }
  return out;
}

function fmtTick(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(+v.toPrecision(4));
}

function frame(title, width, height, kind) {
  const id = `chart${++uid}`;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-labelledby': `${id}-t`, 'data-chart': kind });
  svg.append(s('title', { id: `${id}-t` }, title));
  svg.append(s('text', { x: 8, y: 16, 'font-weight': 600, 'font-size': 13 }, title));
  return svg;
}

function legend(series) {
  const div = document.createElement('div');
  div.className = 'legend';
  for (const sr of series) {
    const span = document.createElement('span');
    span.textContent = sr.name;
    span.style.setProperty('--swatch', sr.color);
    div.append(span);
  }
  return div;
}

/**
 * A line chart. `opts`: {title, kind, xLabel, yLabel, xLog, yMin, yMax, width, height,
 * series: [{name, points: [[x, y]], color, markers, dash}], bands: [{from, to, label}]}.
 * Returns a <figure> with the SVG and a legend.
 */
export function lineChart(opts) {
  const W = opts.width || 640, H = opts.height || Math.round(Math.min(300, Math.max(210, W * 0.5)));
  const m = { l: 50, r: 12, t: 28, b: 40 };
  const series = opts.series.map((sr, i) => ({ ...sr, color: sr.color || palette[i % palette.length],
    points: sr.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.xLog || x > 0)) }));
  const all = series.flatMap((sr) => sr.points);
  const svg = frame(opts.title, W, H, opts.kind || 'line');
  const fig = document.createElement('figure');
  fig.className = 'chart-figure';
  fig.append(svg);
  if (all.length === 0) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'no-data' }, opts.empty || 'no data yet'));
    return fig;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  for (const b of opts.bands || []) { x0 = Math.min(x0, b.from); x1 = Math.max(x1, b.to); }
  let y0 = opts.yMin ?? Math.min(...all.map((p) => p[1])), y1 = opts.yMax ?? Math.max(...all.map((p) => p[1]));
  if (opts.yMin === undefined && opts.yMax === undefined && y1 > y0) { const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad; }
  if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
  if (opts.xLog) { if (!(x1 > x0)) { x0 /= 2; x1 *= 2; } } else if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const lx0 = Math.log10(x0), lx1 = Math.log10(x1);
  const X = opts.xLog ? (x) => m.l + ((Math.log10(x) - lx0) / (lx1 - lx0)) * pw : (x) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y) => m.t + ph - ((Math.max(y0, Math.min(y1, y)) - y0) / (y1 - y0)) * ph;

  const bands = s('g', { class: 'bands' });
  (opts.bands || []).forEach((b, i) => {
    const bx = X(Math.max(b.from, x0)), bw = Math.max(0, X(Math.min(b.to, x1)) - bx);
    bands.append(s('rect', { class: i % 2 ? 'band alt' : 'band', x: bx, y: m.t, width: bw, height: ph }));
    if (bw > 6.5 * String(b.label).length + 6) bands.append(s('text', { x: bx + 3, y: m.t + 11, 'font-size': 10, class: 'band-label' }, b.label));
  });
  svg.append(bands);

  const axes = s('g', { class: 'axis' });
  for (const t of niceTicks(y0, y1, Math.max(3, Math.round(ph / 45)))) {
    axes.append(s('line', { class: 'gridline', x1: m.l, x2: m.l + pw, y1: Y(t), y2: Y(t) }));
    axes.append(s('text', { x: m.l - 5, y: Y(t) + 4, 'text-anchor': 'end' }, fmtTick(t)));
  }
  const xt = opts.xLog ? logTicks(x0, x1) : niceTicks(x0, x1, Math.max(3, Math.round(pw / 80)));
  for (const t of xt) {
    axes.append(s('line', { x1: X(t), x2: X(t), y1: m.t + ph, y2: m.t + ph + 4 }));
    axes.append(s('text', { x: X(t), y: m.t + ph + 16, 'text-anchor': 'middle' }, opts.xFormat ? opts.xFormat(t) : fmtTick(t)));
  }
  axes.append(s('path', { d: `M${m.l},${m.t}V${m.t + ph}H${m.l + pw}`, fill: 'none' }));
  if (opts.xLabel) axes.append(s('text', { x: m.l + pw / 2, y: H - 4, 'text-anchor': 'middle' }, opts.xLabel));
  if (opts.yLabel) axes.append(s('text', { x: 12, y: m.t + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${m.t + ph / 2})` }, opts.yLabel));
  svg.append(axes);

  for (const sr of series) {
    const g = s('g', { class: 'series', 'data-series': sr.name });
    if (sr.points.length > 0 && sr.line !== false) {
      const d = sr.points.map(([x, y], i) => `${i ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join('');
      g.append(s('path', { class: 'line', d, fill: 'none', stroke: sr.color, 'stroke-width': sr.width || 1.6,
        'stroke-dasharray': sr.dash || null, 'data-series': sr.name, 'data-count': sr.points.length }));
    }
    if (sr.markers) {
      for (const [x, y] of sr.points) {
        const c = s('circle', { class: 'pt', cx: X(x).toFixed(1), cy: Y(y).toFixed(1), r: 3.5, fill: sr.color,
          'data-x': x, 'data-y': y });
        c.append(s('title', {}, `${sr.name}: (${fmtTick(x)}, ${fmtTick(y)})`));
        g.append(c);
      }
    }
    svg.append(g);
  }
  if (series.length > 1 || opts.legend) fig.append(legend(series));
  return fig;
}

/**
 * Horizontal bars, one row per item with its label above the bar (legible at phone width).
 * `opts`: {title, kind, bars: [{label, value, note}], max, format, color, width}.
 */
export function barChart(opts) {
  const W = opts.width || 640, row = 30, m = { l: 8, r: 60, t: 28, b: 8 };
  const bars = opts.bars;
  const H = m.t + m.b + Math.max(1, bars.length) * row;
  const svg = frame(opts.title, W, H, opts.kind || 'bars');
  const max = opts.max ?? Math.max(1e-12, ...bars.map((b) => b.value));
  const pw = W - m.l - m.r;
  bars.forEach((b, i) => {
    const y = m.t + i * row;
    svg.append(s('text', { x: m.l, y: y + 10, 'font-size': 11 }, b.label));
    svg.append(s('rect', { x: m.l, y: y + 14, width: pw, height: 10, fill: '#eef1ef' }));
    const rect = s('rect', { class: 'bar', x: m.l, y: y + 14, width: Math.max(0, (b.value / max) * pw), height: 10,
      fill: b.color || opts.color || palette[0], 'data-label': b.label, 'data-value': b.value });
    rect.append(s('title', {}, `${b.label}: ${opts.format ? opts.format(b.value) : b.value}${b.note ? ` (${b.note})` : ''}`));
    svg.append(rect);
    svg.append(s('text', { x: m.l + pw + 4, y: y + 23, 'font-size': 11 }, opts.format ? opts.format(b.value) : fmtTick(b.value)));
  });
  if (bars.length === 0) svg.append(s('text', { x: W / 2, y: m.t + 16, 'text-anchor': 'middle' }, opts.empty || 'no data'));
  const fig = document.createElement('figure');
  fig.className = 'chart-figure';
  fig.append(svg);
  return fig;
}

/** Colour of a kept fraction: pale sand (all pruned) → deep green (all kept). */
export function keptColor(v) {
  const a = [243, 236, 220], b = [31, 94, 48];
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * Math.max(0, Math.min(1, v))));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * A heat map of kept fractions: `grid` (row-major, values in [0, 1]) of `rows` × `cols` cells,
 * each a <rect class="cell" data-v>. `opts`: {title, kind, width, rowLabel, colLabel}.
 */
export function heatmap(grid, rows, cols, opts) {
  const W = opts.width || 640, m = { l: 30, r: 8, t: 28, b: 30 };
  const cell = Math.max(1, Math.min((W - m.l - m.r) / cols, 420 / rows));
  const H = m.t + m.b + rows * cell;
  const svg = frame(opts.title, W, H, opts.kind || 'heatmap');
  const g = s('g', { class: 'cells', 'shape-rendering': 'crispEdges' });
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = grid[r * cols + c];
      g.append(s('rect', { class: 'cell', x: (m.l + c * cell).toFixed(2), y: (m.t + r * cell).toFixed(2),
        width: (cell + 0.02).toFixed(2), height: (cell + 0.02).toFixed(2), fill: keptColor(v), 'data-v': v.toFixed(3) }));
    }
  }
  svg.append(g);
  if (opts.rowLabel) svg.append(s('text', { x: 12, y: m.t + (rows * cell) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${m.t + (rows * cell) / 2})` }, opts.rowLabel));
  if (opts.colLabel) svg.append(s('text', { x: m.l + (cols * cell) / 2, y: m.t + rows * cell + 18, 'text-anchor': 'middle' }, opts.colLabel));
  const fig = document.createElement('figure');
  fig.className = 'chart-figure';
  fig.append(svg);
  return fig;
}
