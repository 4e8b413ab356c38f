// Forms generated from the JSON Schemas of GET /v1/methods (the subset the server emits: object,
// number, integer, string with enum, boolean, array). Every input carries data-path (the spec
// path, e.g. `method.sparsity`) so a problem+json `field` from the server lands on its input.
import { h } from './util.js';

let seq = 0;

/** A labelled field; `control` gets an id, aria-describedby hint and error slots. */
export function field(labelText, control, hintText, path) {
  const id = control.id || `f${++seq}`;
  control.id = id;
  if (path) control.dataset.path = path;
  const hint = hintText ? h('span', { class: 'hint', id: `${id}-hint` }, hintText) : null;
  const error = h('span', { class: 'error', id: `${id}-err`, 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', [hint ? `${id}-hint` : null, `${id}-err`].filter(Boolean).join(' '));
  if (control.type === 'checkbox') {
    return h('div', { class: 'field' }, h('label', { for: id }, control, ' ', labelText), hint, error);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hint, error);
}

function describe(schema) {
  const parts = [];
  if (schema.description) parts.push(schema.description);
  const range = [];
  if (schema.minimum !== undefined) range.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) range.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) range.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) range.push(`< ${schema.exclusiveMaximum}`);
  if (range.length) parts.push(`(${range.join(', ')})`);
  return parts.join(' ');
}

function control(name, schema, value, path) {
  switch (schema.type) {
    case 'boolean':
      return h('input', { type: 'checkbox', name, checked: value === true });
    case 'number': case 'integer':
      return h('input', { type: 'number', name, inputmode: 'decimal', step: schema.type === 'integer' ? 1 : 'any',
        min: schema.minimum ?? schema.exclusiveMinimum, max: schema.maximum ?? schema.exclusiveMaximum,
        value: value ?? '' });
    case 'string':
      if (schema.enum) {
        const sel = h('select', { name });
        if (value === undefined) sel.append(h('option', { value: '' }, '(default)'));
        for (const c of schema.enum) sel.append(h('option', { value: c, selected: c === value }, c));
        return sel;
      }
      return h('input', { type: 'text', name, value: value ?? '' });
    case 'array':
      return h('input', { type: 'text', name, value: Array.isArray(value) ? value.join(', ') : '',
        placeholder: 'comma-separated' });
    default:
      return h('input', { type: 'text', name, value: value === undefined ? '' : JSON.stringify(value), 'data-json': '1' });
  }
}

/**
 * Builds the fields of an object schema under `path` with initial `values` (the method's
 * defaults). Returns {element, read()} where read() gives the settings object (empty inputs left out).
 */
export function schemaFields(schema, values, path) {
  const props = schema.properties || {};
  const readers = [];
  const wrap = h('div', { class: 'fields' });
  for (const name of Object.keys(props)) {
    const sub = props[name];
    const subPath = `${path}.${name}`;
    const value = values ? values[name] : undefined;
    if (sub.type === 'object') {
      const inner = schemaFields(sub, value || {}, subPath);
      wrap.append(h('fieldset', {}, h('legend', {}, name), sub.description ? h('p', { class: 'hint small muted' }, sub.description) : null, inner.element));
      readers.push((out) => { const v = inner.read(); if (Object.keys(v).length) out[name] = v; });
      continue;
    }
    const c = control(name, sub, value ?? sub.default, subPath);
    wrap.append(field(name, c, describe(sub), subPath));
    readers.push((out) => {
      const v = readControl(c, sub);
      if (v !== undefined) out[name] = v;
    });
  }
  return { element: wrap, read: () => { const out = {}; for (const r of readers) r(out); return out; } };
}

function readControl(c, schema) {
  if (schema.type === 'boolean') return c.checked;
  const raw = c.value.trim();
  if (raw === '') return undefined;
  if (schema.type === 'number' || schema.type === 'integer') { const n = Number(raw); return Number.isNaN(n) ? raw : n; }
  if (schema.type === 'array') {
    const items = raw.split(',').map((x) => x.trim()).filter(Boolean);
    const t = schema.items && schema.items.type;
    return t === 'number' || t === 'integer' ? items.map(Number) : items;
  }
  if (c.dataset.json) { try { return JSON.parse(raw); } catch { return raw; } }
  return raw;
}

/** Clears previous error marks in `form`. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field .error')) el.textContent = '';
}

/**
 * Shows a server problem on the input whose data-path matches its `field` (or the nearest
 * parent path), focusing it. Returns true when an input was found.
 */
export function showFieldError(form, fieldPath, message) {
  let path = fieldPath;
  while (path) {
    const el = form.querySelector(`[data-path="${CSS.escape(path)}"]`);
    if (el) {
      el.setAttribute('aria-invalid', 'true');
      const err = document.getElementById(`${el.id}-err`);
      if (err) err.textContent = message;
      el.focus();
      return true;
    }
    path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
  }
  return false;
}
