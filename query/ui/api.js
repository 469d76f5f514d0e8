// Calls to the query API. When the server asks for a token (401, QUERY_AUTH_TOKEN is set), the token dialog asks
// the user once, the token is kept in this browser (localStorage) and sent as `Authorization: Bearer <token>`.
// The live tail reads server-sent events through fetch rather than EventSource, which cannot send that header.

const TOKEN_KEY = 'shipwatch.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const t = token();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

export function apiUrl(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, String(one));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

let asking;

/** Shows the token dialog (one at a time, however many calls were refused) and resolves once a token is entered. */
function askToken(refused) {
  asking ??= new Promise((resolve) => {
    const dialog = document.getElementById('token-dialog');
    const form = dialog.querySelector('form');
    const input = dialog.querySelector('input[name=token]');
    dialog.querySelector('.token-refused').hidden = !refused;
    input.value = '';
    const done = (e) => {
      e.preventDefault();
      if (input.value.trim() === '') return;
      localStorage.setItem(TOKEN_KEY, input.value.trim());
      form.removeEventListener('submit', done);
      dialog.close();
      asking = undefined;
      resolve();
    };
    form.addEventListener('submit', done);
    // Escape would leave every waiting call hanging: the dialog stays until a token is given.
    dialog.addEventListener('cancel', (e) => e.preventDefault(), { once: true });
    dialog.showModal();
    input.focus();
  });
  return asking;
}

async function authorized(url, init = {}) {
  for (;;) {
    const sent = token();
    const res = await fetch(url, { ...init, headers: headers(init.headers) });
    if (res.status !== 401) return res;
    await askToken(sent !== '');
  }
}

function messageOf(status, body) {
  const e = body?.errors?.[0]?.msg ?? body?.error?.message ?? body?.message;
  return e ? String(e) : `HTTP ${status}`;
}

/** GET a JSON answer; throws ApiError with the server's message on a non-2xx answer. */
export async function getJson(path, params, init = {}) {
  const res = await authorized(apiUrl(path, params), init);
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, body));
  return body;
}

/** Downloads an API answer as a file (the token cannot ride on a plain link). */
export async function download(path, params, fileName) {
  const res = await authorized(apiUrl(path, params));
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, await res.json().catch(() => undefined)));
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Follows a server-sent event stream until `signal` aborts: `onEvent(data, id)` for each event, `onState('live' |
 * 'reconnecting' | 'failed', error?)` as the connection comes and goes. Reconnects after a pause, resuming after the last id.
 */
export async function followEvents(path, params, { signal, onEvent, onState }) {
  let lastId;
  while (!signal.aborted) {
    try {
      const res = await authorized(apiUrl(path, params), { signal, headers: lastId ? { 'last-event-id': lastId } : {} });
      if (!res.ok) throw new ApiError(res.status, messageOf(res.status, await res.json().catch(() => undefined)));
      onState('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id;
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) id = line.slice(3).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (id !== undefined) lastId = id;
          if (data.length > 0) onEvent(data.join('\n'), id);
        }
      }
      if (!signal.aborted) onState('reconnecting', new Error('the server ended the stream'));
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status < 500) {
        onState('failed', err);
        return;
      }
      onState('reconnecting', err);
    }
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 2000);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
