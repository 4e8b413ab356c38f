// The dashboard talks to the same API as every other client, with the tenant's bearer token
// (entered once, kept in localStorage). EventSource cannot send an Authorization header, so the
// SSE feed is read with fetch() and parsed here; it reconnects with Last-Event-ID.

const KEY = 'bonsai.token';

export const token = {
  get: () => localStorage.getItem(KEY) || '',
  set: (t) => localStorage.setItem(KEY, t),
  clear: () => localStorage.removeItem(KEY),
};

/** An RFC 9457 problem returned by the server. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
  /** `field` of the problem (a spec path such as `method.sparsity`), if any. */
  get field() { return this.problem.field || null; }
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${token.get()}`, ...extra };
}

/**
 * `api(path, {method, json, body, headers, raw})`: JSON in and out; throws ApiError on a non-2xx.
 * `raw: true` returns the Response (for downloads). A 401 signals `bonsai:unauthorized` (the app
 * asks for a token again) except while `signingIn`.
 */
export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: headers(opts.headers) };
  if (opts.json !== undefined) {
    init.body = JSON.stringify(opts.json);
    init.headers['Content-Type'] = 'application/json';
  } else if (opts.body !== undefined) {
    init.body = opts.body;
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let problem;
    try { problem = await res.json(); } catch { problem = { title: res.statusText || `HTTP ${res.status}` }; }
    if (res.status === 401 && !opts.signingIn) window.dispatchEvent(new CustomEvent('bonsai:unauthorized'));
    throw new ApiError(res.status, problem);
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

/**
 * Fetches an artifact with the token and saves it through a blob URL (a plain link cannot carry
 * the Authorization header). Returns the number of bytes saved.
 */
export async function download(path, filename) {
  const res = await api(path, { raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob.size;
}

/**
 * Follows a server-sent event stream, calling `onEvent({id, event, data})` for each event (data
 * parsed as JSON when it is JSON). Resolves when the server ends the stream (the job is final) or
 * `signal` aborts; on a dropped connection it waits and resumes after the last event id seen.
 */
export async function follow(path, onEvent, signal) {
  let lastId = null;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const extra = lastId === null ? {} : { 'Last-Event-ID': String(lastId) };
      const res = await fetch(path, { headers: headers(extra), signal });
      if (!res.ok) throw new ApiError(res.status, { title: `HTTP ${res.status}` });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = parseBlock(block);
          if (!event) continue;
          if (event.id !== null) lastId = event.id;
          failures = 0;
          onEvent(event);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status < 500) throw e;
      failures += 1;
      await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** failures)));
    }
  }
}

function parseBlock(block) {
  let id = null, event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'id') id = Number(value);
    else if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const text = data.join('\n');
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* plain text */ }
  return { id, event, data: parsed };
}
