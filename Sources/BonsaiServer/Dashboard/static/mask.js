// Mask pictures: decodes the job's masks.safetensors in the browser (8-byte little-endian header
// length, a JSON header of {name: {dtype, shape, data_offsets}}, then the raw bytes; masks are U8
// 0/1, F32 and BOOL are accepted too) and reduces a chosen layer to a grid of kept fractions.

/** Parses a safetensors buffer; `values(name)` gives a Float32Array of the tensor's elements. */
export function parseSafetensors(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 8) throw new Error('not a safetensors file (too short)');
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > buffer.byteLength) throw new Error('not a safetensors file (header past the end)');
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, n)));
  const base = 8 + n;
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name !== '__metadata__') tensors[name] = t;
  }
  function values(name) {
    const t = tensors[name];
    const [start, end] = t.data_offsets;
    const bytes = buffer.slice(base + start, base + end);
    switch (t.dtype) {
      case 'U8': case 'BOOL': return Float32Array.from(new Uint8Array(bytes));
      case 'F32': return new Float32Array(bytes);
      case 'F64': return Float32Array.from(new Float64Array(bytes));
      default: throw new Error(`unsupported mask dtype ${t.dtype}`);
    }
  }
  return { names: Object.keys(tensors).sort(), tensors, values };
}

/**
 * The picture of one mask: a rows × cols matrix (a linear weight is out × in; a convolution's
 * kernel out × in × kh × kw becomes out × in with each cell the kernel's kept fraction),
 * downsampled by block averaging to at most 64 × 96 cells. Also counts rows (output units /
 * channels) and columns (inputs) that keep anything — the stripes structured methods remove.
 */
export function maskGrid(values, shape) {
  const rows = shape.length === 0 ? 1 : shape[0];
  const inner = shape.length >= 2 ? shape[1] : (shape.length === 1 ? shape[0] : 1);
  const cols = shape.length === 1 ? shape[0] : inner;
  const rowsM = shape.length === 1 ? 1 : rows;
  const group = values.length / (rowsM * cols);
  const full = new Float32Array(rowsM * cols);
  for (let i = 0; i < rowsM * cols; i++) {
    let kept = 0;
    for (let j = 0; j < group; j++) kept += values[i * group + j] !== 0 ? 1 : 0;
    full[i] = kept / group;
  }
  let keptRows = 0, keptCols = 0, wholeRows = true, wholeCols = true;
  for (let r = 0; r < rowsM; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += full[r * cols + c];
    if (sum > 0) keptRows++;
    if (sum > 0 && sum < cols) wholeRows = false;
  }
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (let r = 0; r < rowsM; r++) sum += full[r * cols + c];
    if (sum > 0) keptCols++;
    if (sum > 0 && sum < rowsM) wholeCols = false;
  }
  const R = Math.min(rowsM, 64), C = Math.min(cols, 96);
  const grid = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    const r0 = Math.floor((r * rowsM) / R), r1 = Math.max(r0 + 1, Math.floor(((r + 1) * rowsM) / R));
    for (let c = 0; c < C; c++) {
      const c0 = Math.floor((c * cols) / C), c1 = Math.max(c0 + 1, Math.floor(((c + 1) * cols) / C));
      let sum = 0;
      for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) sum += full[i * cols + j];
      grid[r * C + c] = sum / ((r1 - r0) * (c1 - c0));
    }
  }
  let kept = 0;
  for (let i = 0; i < values.length; i++) kept += values[i] !== 0 ? 1 : 0;
  return { grid, R, C, rows: rowsM, cols, keptRows, keptCols, kept, total: values.length,
    structured: (wholeRows && keptRows < rowsM) || (wholeCols && keptCols < cols) };
}
