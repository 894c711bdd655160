// ---------------------------------------------------------------- api
// Every request goes through api(). Its key is the canonical request line ("GET /api/attention?id=a1&
// layer=2&head=3", parameters always in the order of the contract); with window.ATTN_STATIC the answer is
// ATTN_STATIC.responses[key] ("POST /api/analyze" for the one embedded analysis, whatever the text).
const STATIC = (typeof window.ATTN_STATIC === 'object' && window.ATTN_STATIC) || null;
class ApiError extends Error {
  constructor(message, status = 0, offline = false) { super(message); this.status = status; this.offline = offline; }
}
function apiUrl(path, params) {
  if (!params || !params.length) return path;
  return path + '?' + params.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
}
let pendingRequests = 0;
function trackPending(delta) {
  pendingRequests += delta;
  document.documentElement.dataset.pending = String(pendingRequests);
}
async function api(method, url, body) {
  trackPending(1);
  try {
    const key = `${method} ${url}`;
    if (STATIC) {
      const r = STATIC.responses ? STATIC.responses[key] : undefined;
      if (r === undefined || r === null) {
        throw new ApiError(`not available offline — this page holds precomputed results only (${key})`, 0, true);
      }
      if (typeof r.error === 'string') throw new ApiError(r.error);
      return r;
    }
    let res;
    try {
      const raw = body instanceof Blob || body instanceof ArrayBuffer;  // a file (a PNG) goes as it is
      res = await fetch(url, {method, cache: 'no-store',
                              headers: body ? {'Content-Type': raw ? (body.type || 'application/octet-stream') : 'application/json'} : undefined,
                              body: body ? (raw ? body : JSON.stringify(body)) : undefined});
    } catch (e) {
      throw new ApiError(`cannot reach the server (${e.message}) — is attn explore still running?`);
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON: reported below */ }
    if (!res.ok || (data && typeof data.error === 'string')) {
      throw new ApiError((data && typeof data.error === 'string') ? data.error : `${res.status} ${res.statusText}`,
                         res.status);
    }
    if (data === null || typeof data !== 'object') throw new ApiError(`the server's answer is not JSON (${res.status})`, res.status);
    return data;
  } finally {
    trackPending(-1);
  }
}

