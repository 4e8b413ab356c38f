// The submit page: a job form generated from GET /v1/methods (every method's settings with its
// defaults), model and data-set pickers from /v1/architectures and /v1/datasets, and uploads.
import { api, ApiError } from './api.js';
import { clearErrors, field, schemaFields, showFieldError } from './form.js';
import { h, problemBox, toast } from './util.js';

function key() {
  return (crypto.randomUUID && crypto.randomUUID()) || `k${Date.now()}${Math.random().toString(16).slice(2)}`;
}

function input(attrs) { return h('input', attrs); }

export async function submitPage(main) {
  const [{ methods }, { architectures }, { datasets, uploaded = [] }] = await Promise.all([
    api('/v1/methods'), api('/v1/architectures'), api('/v1/datasets')]);
  main.replaceChildren(h('h1', {}, 'Submit a job'));

  const methodSelect = h('select', { id: 'method', name: 'method' },
    methods.map((m) => h('option', { value: m.id, selected: m.id === 'magnitude' }, m.id)));
  const methodInfo = h('p', { class: 'small muted', id: 'method-info' });
  const settingsBox = h('div', { id: 'method-settings' });
  let settings = null;
  function renderSettings() {
    const m = methods.find((x) => x.id === methodSelect.value);
    methodInfo.textContent = `${m.summary}${m.reference ? ` — ${m.reference}` : ''}`;
    settings = schemaFields(m.settings_schema, m.defaults, 'method');
    settingsBox.replaceChildren(settings.element);
    preview();
  }

  const arch = h('select', { id: 'architecture' }, architectures.map((a) => h('option', { value: a.name, selected: a.name === 'lenet300' }, a.name)));
  const options = input({ id: 'model-options', type: 'text', value: '{"hidden": [32]}', placeholder: '{"hidden": [300, 100]}' });
  // Built-in sets by name; the tenant's uploaded sets by id (value "upload:<id>").
  const dataset = h('select', { id: 'dataset' },
    datasets.map((d) => h('option', { value: d.name, selected: d.name === 'digits' }, `${d.name} — ${d.summary}`)),
    uploaded.map((d) => h('option', { value: `upload:${d.id}` }, `${d.name} — uploaded ${d.format} set ${d.id}`)));
  const startWeights = input({ id: 'start-weights', type: 'text', placeholder: 'model-… (optional)' });
  const unit = h('select', { id: 'train-unit' }, h('option', { value: 'epochs' }, 'epochs'), h('option', { value: 'steps' }, 'steps'));
  const length = input({ id: 'train-length', type: 'number', min: 1, step: 1, value: 1 });
  const batch = input({ id: 'batch-size', type: 'number', min: 1, step: 1, value: 32 });
  const opt = h('select', { id: 'optimizer' }, ['sgd', 'adam', 'adamw', 'grda'].map((n) => h('option', { value: n }, n)));
  const lr = input({ id: 'lr', type: 'number', step: 'any', min: 0, value: 0.05 });
  const momentum = input({ id: 'momentum', type: 'number', step: 'any', min: 0, max: 1, value: 0.9 });
  const ftUnit = h('select', { id: 'finetune-unit' }, h('option', { value: 'epochs' }, 'epochs'), h('option', { value: 'steps' }, 'steps'));
  const ftLength = input({ id: 'finetune-length', type: 'number', min: 1, step: 1, placeholder: 'same as training' });
  const seed = input({ id: 'seed', type: 'number', min: 0, step: 1, value: 1 });
  const priority = input({ id: 'priority', type: 'number', min: -100, max: 100, step: 1, value: 0 });
  const specPre = h('pre', { id: 'spec-preview', class: 'small' });
  const result = h('div', { id: 'submit-result', 'aria-live': 'polite' });

  function spec() {
    const s = {
      model: { architecture: arch.value },
      dataset: dataset.value.startsWith('upload:') ? { upload: dataset.value.slice(7) } : { name: dataset.value },
      method: { name: methodSelect.value, ...(settings ? settings.read() : {}) },
      train: { batch_size: Number(batch.value), optimizer: { name: opt.value, lr: Number(lr.value) } },
      seed: Number(seed.value || 0),
    };
    if (startWeights.value.trim()) s.weights = startWeights.value.trim();
    const o = options.value.trim();
    if (o) { try { s.model.options = JSON.parse(o); } catch { s.model.options = o; } }
    s.train[unit.value] = Number(length.value);
    if (opt.value === 'sgd' && momentum.value !== '') s.train.optimizer.momentum = Number(momentum.value);
    if (ftLength.value !== '') s.finetune = { [ftUnit.value]: Number(ftLength.value) };
    if (Number(priority.value)) s.priority = Number(priority.value);
    return s;
  }
  function preview() { specPre.textContent = JSON.stringify(spec(), null, 2); }

  const form = h('form', { id: 'submit-form', novalidate: true, 'aria-describedby': 'submit-result' },
    h('fieldset', {}, h('legend', {}, 'Method'), field('Pruning method', methodSelect, null, 'method.name'), methodInfo, settingsBox),
    h('fieldset', {}, h('legend', {}, 'Model and data'), h('div', { class: 'fields' },
      field('Architecture', arch, 'From GET /v1/architectures', 'model.architecture'),
      field('Model options (JSON)', options, 'e.g. {"hidden": [300, 100]} or {"width": 0.5}', 'model.options'),
      field('Data set', dataset, 'Built-in or uploaded (GET /v1/datasets)', dataset.value.startsWith('upload:') ? 'dataset.upload' : 'dataset.name'),
      field('Starting weights', startWeights, 'An uploaded model id (POST /v1/models); set training length 0 to skip pretraining', 'weights'))),
    h('fieldset', {}, h('legend', {}, 'Training'), h('div', { class: 'fields' },
      field('Length unit', unit, null), field('Length', length, 'Training epochs or optimizer steps', 'train'),
      field('Batch size', batch, null, 'train.batch_size'), field('Optimizer', opt, null, 'train.optimizer.name'),
      field('Learning rate', lr, null, 'train.optimizer.lr'), field('Momentum (SGD)', momentum, null, 'train.optimizer.momentum'),
      field('Fine-tune unit', ftUnit, null), field('Fine-tune length', ftLength, 'Empty: same as training', 'finetune'),
      field('Seed', seed, null, 'seed'), field('Priority', priority, '−100…100, higher runs first', 'priority'))),
    h('details', {}, h('summary', {}, 'Spec JSON (what will be sent)'), specPre),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'submit-job' }, 'Submit job')),
    result);
  form.addEventListener('input', preview);
  form.addEventListener('change', preview);
  methodSelect.addEventListener('change', renderSettings);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const button = form.querySelector('#submit-job');
    button.disabled = true;
    try {
      const job = await api('/v1/jobs', { method: 'POST', json: spec(), headers: { 'Idempotency-Key': key() } });
      toast(`Submitted ${job.id}`);
      location.hash = `#/job/${job.id}`;
    } catch (e) {
      result.replaceChildren(problemBox(e));
      if (e instanceof ApiError && e.field) showFieldError(form, e.field, e.problem.detail || e.message);
    } finally {
      button.disabled = false;
    }
  });
  main.append(h('section', { class: 'card' }, form));
  renderSettings();
  main.append(uploads(architectures, datasets, uploaded));
}

/** Upload of pretrained weights (POST /v1/models) and of data sets (POST /v1/datasets). */
function uploads(architectures, datasets, uploaded) {
  const arch = h('select', { id: 'upload-architecture' }, architectures.map((a) => h('option', { value: a.name }, a.name)));
  const ds = h('select', { id: 'upload-dataset' }, datasets.filter((d) => d.kind === 'image').map((d) => h('option', { value: d.name }, d.name)),
    uploaded.filter((d) => d.kind === 'image').map((d) => h('option', { value: d.id }, `${d.name} (${d.id})`)));
  const opts = input({ id: 'upload-options', type: 'text', placeholder: '{"hidden": [300, 100]}' });
  const file = input({ id: 'upload-file', type: 'file', accept: '.safetensors' });
  const out = h('div', { 'aria-live': 'polite', id: 'upload-result' });
  const weights = h('form', { id: 'upload-form', novalidate: true },
    h('h2', {}, 'Upload weights'),
    h('p', { class: 'small muted' }, 'A safetensors state dict checked against the architecture\'s names and shapes.'),
    h('div', { class: 'fields' }, field('Architecture', arch, null, 'architecture'), field('Data set', ds, null, 'dataset'),
      field('Options (JSON)', opts, null, 'options'), field('File', file, null, 'body')),
    h('button', { type: 'submit' }, 'Upload weights'), out);
  weights.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(weights);
    out.replaceChildren();
    if (!file.files[0]) { showFieldError(weights, 'body', 'choose a .safetensors file'); return; }
    const q = new URLSearchParams({ architecture: arch.value, dataset: ds.value });
    if (opts.value.trim()) q.set('options', opts.value.trim());
    try {
      const m = await api(`/v1/models?${q}`, { method: 'POST', body: file.files[0], headers: { 'Content-Type': 'application/octet-stream' } });
      out.replaceChildren(h('p', { class: 'ok' }, `Stored ${m.id} (${m.tensors} tensors, ${m.bytes} bytes).`));
    } catch (e) {
      out.replaceChildren(problemBox(e));
      if (e instanceof ApiError && e.field) showFieldError(weights, e.field, e.problem.detail || e.message);
    }
  });

  // Data sets: multipart/form-data with the format's parts as files (see docs/server.md).
  const roles = {
    idx: [['train_images', true], ['train_labels', true], ['test_images', false], ['test_labels', false], ['classes', false]],
    cifar: [['train', true], ['classes', true], ['test', false]],
    tsv: [['train', true], ['classes', true], ['test', false]],
  };
  const format = h('select', { id: 'dataset-format' }, Object.keys(roles).map((f) => h('option', { value: f }, f)));
  const dname = input({ id: 'dataset-name', type: 'text', placeholder: 'my-data' });
  const pixelMax = input({ id: 'dataset-pixel-max', type: 'number', min: 1, max: 255, step: 1, placeholder: '255' });
  const partsBox = h('div', { class: 'fields', id: 'dataset-parts' });
  let files = {};
  function renderParts() {
    files = {};
    partsBox.replaceChildren(...roles[format.value].map(([role, required]) => {
      files[role] = input({ id: `dataset-part-${role}`, type: 'file' });
      return field(`${role}${required ? '' : ' (optional)'}`, files[role], null, role);
    }));
  }
  format.addEventListener('change', renderParts);
  renderParts();
  const dout = h('div', { 'aria-live': 'polite' });
  const data = h('form', { id: 'dataset-form', novalidate: true },
    h('h2', {}, 'Upload a data set'),
    h('p', { class: 'small muted' }, 'IDX (gzip\'d or not), CIFAR-10 binary records or label-TAB-text TSV; every part is validated by loading it.'),
    h('div', { class: 'fields' }, field('Format', format, null, 'format'), field('Name', dname, null, 'name'),
      field('Largest pixel value (IDX)', pixelMax, 'e.g. 16 for scikit-learn digits', 'pixel_max')),
    partsBox,
    h('button', { type: 'submit' }, 'Upload data set'), dout);
  data.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(data);
    dout.replaceChildren();
    const body = new FormData();
    body.append('format', format.value);
    if (dname.value.trim()) body.append('name', dname.value.trim());
    if (pixelMax.value !== '') body.append('pixel_max', pixelMax.value);
    for (const [role, required] of roles[format.value]) {
      const f = files[role].files[0];
      if (f) body.append(role, f, f.name);
      else if (required) { showFieldError(data, role, 'choose a file'); return; }
    }
    try {
      const r = await api('/v1/datasets', { method: 'POST', body });
      dout.replaceChildren(h('p', { class: 'ok' }, `Stored data set ${r.id}: ${r.manifest.train_samples} training and ${r.manifest.test_samples} test samples, ${r.manifest.class_names.length} classes.`));
    } catch (e) {
      dout.replaceChildren(problemBox(e));
      if (e instanceof ApiError && e.field) showFieldError(data, e.field, e.problem.detail || e.message);
    }
  });
  return h('section', { class: 'card' }, h('div', { class: 'grid' }, weights, data));
}
