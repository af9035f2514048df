// Requests to the console's own API. The session cookie rides along (same origin); writes and
// query endpoints also need the CSRF token the server put in the page's <meta name="csrf-token">.

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

export function metaContent(name, fallback) {
  const meta = document.querySelector(`meta[name="${name}"]`);
  return meta ? meta.getAttribute('content') : fallback;
}

// An expired session answers 401: back to the login page, then here again.
function toLogin() {
  const next = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

export class HttpError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function readBody(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

// The error text an API gave: Grafana's {"message"}, Kibana's {"message"} or {"error"}, or ES's
// {"error":{"reason"}} (the innermost root cause says what was wrong with the query).
export function errorText(body, status) {
  if (body && typeof body === 'object') {
    const err = body.error;
    if (err && typeof err === 'object') {
      const root = Array.isArray(err.root_cause) && err.root_cause[0];
      const caused = err.caused_by && err.caused_by.reason;
      return (root && root.reason) || caused || err.reason || err.type || JSON.stringify(err);
    }
    if (body.attributes && body.attributes.error) return errorText(body.attributes, status);
    if (typeof body.message === 'string' && body.message) return body.message;
    if (typeof err === 'string' && err) return err;
  }
  if (typeof body === 'string' && body) return body;
  return `HTTP ${status}`;
}

export async function getJSON(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body = await readBody(response);
  if (response.status === 401) toLogin();
  if (!response.ok) throw new HttpError(response.status, body, errorText(body, response.status));
  return body;
}

// Returns {status, ok, body} without throwing on HTTP errors: query endpoints answer 400 with a
// per-query error the caller shows in place.
export async function postJSON(url, payload, extraHeaders = {}) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-CSRF-Token': csrfToken(),
      ...extraHeaders,
    },
    body: JSON.stringify(payload),
  });
  const body = await readBody(response);
  if (response.status === 401) toLogin();
  return { status: response.status, ok: response.ok, body };
}
