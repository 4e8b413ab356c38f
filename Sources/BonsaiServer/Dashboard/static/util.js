// Small DOM and formatting helpers shared by the pages.

/** `h('div', {class: 'x', onclick: f}, child, …)`: creates an element (attributes via setAttribute). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function pct(x, digits = 1) {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(digits)} %`;
}

export function num(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return Number(x).toPrecision(digits);
}

/** Large counts as 1.2k / 3.4M / 5.6G. */
export function compact(x) {
  if (x === null || x === undefined) return '—';
  const units = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `${(x / v).toFixed(2)}${u}`;
  return String(x);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function statusBadge(status) {
  return h('span', { class: `status ${status}` }, status);
}

export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.textContent = ''; }, 5000);
}

export function problemBox(error) {
  const text = error && error.problem
    ? `${error.problem.title || 'Error'}: ${error.problem.detail || ''}`
    : String(error && error.message ? error.message : error);
  return h('p', { class: 'problem', role: 'alert' }, text);
}

/** A job's spec summary for tables: method, model and data set names. */
export function specSummary(spec) {
  if (!spec) return { method: '…', model: '…', dataset: '…' };
  return {
    method: (spec.method && spec.method.name) || '?',
    model: (spec.model && spec.model.architecture) || '?',
    dataset: (spec.dataset && spec.dataset.name) || '?',
  };
}
