// ---------------------------------------------------------------- state
// S, the page's state, and the fetching of what the views draw: attention matrices (kept up to MAT_BUDGET floats,
// least recently used dropped first) and the head types.
const S = {
  info: null, model: null, limits: null,
  an: null,            // the current analysis: the /api/analyze response + thumbs (Float32Array)
  text: '',            // the text it was made from
  masked: [],          // positions masked in it (POST /api/analyze {"masked"}), sorted
  offsets: null,       // [start, end) of each token in text, or null where a token does not spell it
  analyzeSeq: 0,
  mats: new Map(),     // "id|layer|head" -> {promise, floats}, least recently used first
  matFloats: 0,
  headTypes: null,     // promise of the /api/head_types response
};
const MAT_BUDGET = 48 * 1024 * 1024;  // floats kept (192 MB)

function cacheMatrix(key, floats, make) {
  const hit = S.mats.get(key);
  if (hit) { S.mats.delete(key); S.mats.set(key, hit); return hit.promise; }
  const entry = {promise: make(), floats};
  entry.promise.catch(() => { if (S.mats.get(key) === entry) { S.mats.delete(key); S.matFloats -= floats; } });
  S.mats.set(key, entry);
  S.matFloats += floats;
  for (const [k, e] of S.mats) {
    if (S.matFloats <= MAT_BUDGET || k === key) break;
    S.mats.delete(k);
    S.matFloats -= e.floats;
  }
  return entry.promise;
}
// One T×T matrix of the analysis `an` (by default the current one): head is an index, 'mean' or 'rollout'.
function getMatrix(layer, head, an = S.an) {
  const T = an.T;
  return cacheMatrix(`${an.id}|${layer}|${head}`, T * T, async () => {
    const r = await api('GET', apiUrl('/api/attention', [['id', an.id], ['layer', layer], ['head', head]]));
    const m = decodeF32(r.matrix);
    if (m.length !== T * T) throw new ApiError(`the server sent ${m.length} floats for a ${T}×${T} matrix`);
    return m;
  });
}
// Every head of a layer: one head=all request when it is within the server's limit (and answered),
// otherwise one request per head.
function getLayerHeads(layer) {
  const an = S.an, T = an.T, n = an.n_head;
  return cacheMatrix(`${an.id}|${layer}|all`, 0, async () => {
    if (n * T * T <= S.limits.max_floats_per_response) {
      try {
        const r = await api('GET', apiUrl('/api/attention', [['id', an.id], ['layer', layer], ['head', 'all']]));
        const m = decodeF32(r.matrix);
        if (m.length === n * T * T) return range(n).map(hd => m.subarray(hd * T * T, (hd + 1) * T * T));
      } catch (e) {
        if (!(e.offline || e.status === 413 || e.status === 400)) throw e;
      }
    }
    return Promise.all(range(n).map(hd => getMatrix(layer, hd)));
  });
}
function getHeadTypes() {
  if (!S.headTypes) {
    S.headTypes = api('GET', '/api/head_types');
    S.headTypes.catch(() => { S.headTypes = null; });
  }
  return S.headTypes;
}

