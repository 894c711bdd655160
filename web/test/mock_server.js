#!/usr/bin/env node
// A stand-in for `attn explore`: serves web/ and answers the JSON API of docs/explorer_api.md with made-up
// but valid data, so the front end can be built and tested without a trained model.
//
//   node web/test/mock_server.js [--port 8000] [--host 127.0.0.1] [--tokenizer char|gpt2-bpe]
//                                [--max-tokens N] [--delay-ms N]
//
// --port 0 picks a free port. Once listening it prints "explorer: http://HOST:PORT/" on stdout, as the
// real server does. --tokenizer gpt2-bpe mimics a 12-layer, 12-head GPT-2 with a 1024-token context
// (words as tokens) to try the views on long inputs. --delay-ms slows every API answer (to see the
// status line).
//
// The attention is not a model's, but it has a model's shape: each head follows one pattern (previous
// token, first token, local window, broad, induction, same token) plus noise, softmaxed over the causal
// prefix, deterministically from the text. /api/neuron builds q and k vectors whose scaled dot products
// reproduce exactly the weights that /api/attention returns for that row.
//
// The interventions (/api/ablate, /api/ablation_grid, /api/logit_lens, /api/patch) answer with made-up
// numbers that are consistent with one another: the grid's Δloss of a head is what /api/ablate adds to the
// loss when that head alone is ablated, the lens's last row ranks the actual next token first more often
// than its first row, and patching the embedding at a position where the prompts differ recovers
// everything. /api/analyze honours "masked" (those keys get no weight) and "ablation" (the layers after the
// first ablated part attend differently; the ablated layer itself does not change, as in a real model).
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

// ---- options ----
const argv = process.argv.slice(2);
function opt(name, def) {
  const i = argv.indexOf('--' + name);
  if (i < 0) return def;
  if (i + 1 >= argv.length) { console.error(`mock_server: --${name} needs a value`); process.exit(2); }
  return argv[i + 1];
}
if (argv.includes('--help') || argv.includes('-h')) {
  console.log('usage: node web/test/mock_server.js [--port 8000] [--host 127.0.0.1] ' +
              '[--tokenizer char|gpt2-bpe] [--max-tokens N] [--delay-ms N]');
  process.exit(0);
}
const PORT = Number(opt('port', '8000'));
const HOST = opt('host', '127.0.0.1');
const TOKENIZER = opt('tokenizer', 'char');
const DELAY_MS = Number(opt('delay-ms', '0'));
const WEB_DIR = path.resolve(__dirname, '..');
if (!['char', 'gpt2-bpe'].includes(TOKENIZER)) { console.error('mock_server: --tokenizer char|gpt2-bpe'); process.exit(2); }

const BPE = TOKENIZER === 'gpt2-bpe';
const MODEL = BPE
  ? {name: 'mock-gpt2', path: 'mock/gpt2', tokenizer: 'gpt2-bpe', n_layer: 12, n_head: 12, n_kv_head: 12,
     n_embd: 768, head_dim: 64, block_size: 1024, vocab_size: 50257, n_params: 124439808, rope: false}
  : {name: 'mock-gpt-moby-dick', path: 'mock/gpt-moby-dick', tokenizer: 'char', n_layer: 4, n_head: 4,
     n_kv_head: 4, n_embd: 128, head_dim: 32, block_size: 128, vocab_size: 83, n_params: 820352, rope: false};
const LIMITS = {max_body_bytes: 65536, max_text_bytes: 20000,
                max_tokens: Number(opt('max-tokens', String(MODEL.block_size))), max_new_tokens: 512,
                max_sessions: 8, max_floats_per_response: 4194304, max_intervention_flops: 2e12};
const MAX_ANALYSES = 16;

// ---- deterministic randomness ----
function hashString(s) {  // FNV-1a
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}
function rng(seed) {  // mulberry32
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.normal = () => {
    const u = Math.max(next(), 1e-12), v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return next;
}

// ---- tokenizer ----
function tokenize(text) {
  if (!BPE) return Array.from(text);  // code points, as the char tokenizer does
  return text.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) || [];
}
function tokenId(tok) { return hashString(tok) % MODEL.vocab_size; }

// ---- attention patterns ----
const PATTERNS = ['previous', 'first', 'local', 'broad', 'induction', 'same'];
function patternOf(layer, head) { return PATTERNS[(layer * 5 + head * 7 + (layer > 0 ? head : 0)) % PATTERNS.length]; }

// Scores of query i over keys 0..i for one head (strength * pattern + noise).
function rowScores(tokens, layer, head, i, seed) {
  const r = rng(seed ^ Math.imul(layer + 1, 0x9E3779B1) ^ Math.imul(head + 1, 0x85EBCA77) ^ Math.imul(i + 1, 0xC2B2AE3D));
  const pat = patternOf(layer, head);
  const s = new Float64Array(i + 1);
  for (let j = 0; j <= i; j++) {
    let b = 0;
    switch (pat) {
      case 'previous': b = j === i - 1 ? 4.5 : j === i ? 1.5 : 0; break;
      case 'first': b = j === 0 ? 4 : 0; break;
      case 'local': b = -0.9 * (i - j); break;
      case 'broad': b = 0; break;
      case 'induction': b = (j >= 1 && j < i && tokens[j - 1] === tokens[i]) ? 5 : (j === 0 ? 2 : 0); break;
      case 'same': b = (tokens[j] === tokens[i] && j !== i) ? 3.5 : (j === i ? 1 : 0); break;
    }
    s[j] = b + 0.8 * r.normal();
  }
  return s;
}
function softmaxInto(s, out, offset) {
  let m = -Infinity;
  for (const v of s) m = Math.max(m, v);
  let z = 0;
  for (let j = 0; j < s.length; j++) z += Math.exp(s[j] - m);
  for (let j = 0; j < s.length; j++) out[offset + j] = Math.exp(s[j] - m) / z;
}
// a.masked (a Set of positions): keys no query attends to (a row with every key masked stays 0, as the
// real model's does). a.ablatedFrom: layers above the first ablated part see a changed stream (other noise).
function headMatrix(a, layer, head) {
  const key = layer + ':' + head;
  const hit = a.cache.get(key);
  if (hit) return hit;
  const T = a.tokens.length;
  const M = new Float32Array(T * T);
  const seed = a.ablatedFrom !== undefined && layer > a.ablatedFrom ? a.seed ^ a.ablationSeed : a.seed;
  for (let i = 0; i < T; i++) {
    const sc = rowScores(a.tokens, layer, head, i, seed);
    if (a.masked && a.masked.size) {
      for (const j of a.masked) if (j <= i) sc[j] = -Infinity;
      if (sc.every(v => v === -Infinity)) continue;
    }
    softmaxInto(sc, M, i * T);
  }
  if (T * T * 4 * a.cache.size < 64e6) a.cache.set(key, M);  // keep small analyses around
  return M;
}
function meanMatrix(a, layer) {
  const T = a.tokens.length, M = new Float32Array(T * T);
  for (let h = 0; h < MODEL.n_head; h++) {
    const H = headMatrix(a, layer, h);
    for (let k = 0; k < M.length; k++) M[k] += H[k] / MODEL.n_head;
  }
  return M;
}
function rolloutMatrix(a, layer) {  // R_l = Â_l R_{l-1}, Â = ½ mean + ½ I, rows renormalised
  const T = a.tokens.length;
  let R = null;
  for (let l = 0; l <= layer; l++) {
    const A = meanMatrix(a, l);
    for (let i = 0; i < T; i++) {
      let z = 0;
      for (let j = 0; j < T; j++) { A[i * T + j] = 0.5 * A[i * T + j] + (i === j ? 0.5 : 0); z += A[i * T + j]; }
      for (let j = 0; j < T; j++) A[i * T + j] /= z;
    }
    if (!R) { R = A; continue; }
    const P = new Float32Array(T * T);
    for (let i = 0; i < T; i++)
      for (let k = 0; k <= i; k++) {
        const v = A[i * T + k];
        if (v === 0) continue;
        for (let j = 0; j <= k; j++) P[i * T + j] += v * R[k * T + j];
      }
    R = P;
  }
  return R;
}
function thumbnails(a) {
  const T = a.tokens.length, ts = Math.min(T, 48);
  const out = new Float32Array(MODEL.n_layer * MODEL.n_head * ts * ts);
  for (let l = 0; l < MODEL.n_layer; l++)
    for (let h = 0; h < MODEL.n_head; h++) {
      const M = headMatrix(a, l, h), base = (l * MODEL.n_head + h) * ts * ts;
      for (let r = 0; r < ts; r++) {
        const r0 = Math.floor(r * T / ts), r1 = Math.floor((r + 1) * T / ts);
        for (let c = 0; c < ts; c++) {
          const c0 = Math.floor(c * T / ts), c1 = Math.floor((c + 1) * T / ts);
          let sum = 0;
          for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) sum += M[i * T + j];
          out[base + r * ts + c] = sum / ((r1 - r0) * (c1 - c0));
        }
      }
    }
  return {ts, out};
}
function b64(f32) { return Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength).toString('base64'); }

// ---- state ----
const analyses = new Map();  // id -> {tokens, seed, cache}; Map order = recency
let nextAnalysis = 1;
const sessions = new Map();
let nextSession = 1;
let headTypes = null;

function touch(map, id) { const v = map.get(id); map.delete(id); map.set(id, v); return v; }

class HttpError extends Error { constructor(status, msg) { super(msg); this.status = status; } }
function need(cond, status, msg) { if (!cond) throw new HttpError(status, msg); }
function intParam(q, name, lo, hi) {
  const s = q.get(name);
  need(s !== null, 400, `missing query parameter '${name}'`);
  need(/^\d+$/.test(s), 400, `'${name}' must be a non-negative integer, got '${s}'`);
  const v = Number(s);
  need(v >= lo && v < hi, 400, `'${name}' = ${v} is out of range [${lo}, ${hi})`);
  return v;
}
function getAnalysis(q) {
  const id = q.get('id');
  need(id !== null, 400, "missing query parameter 'id'");
  need(analyses.has(id), 404, `unknown analysis id '${id}' (evicted or never made)`);
  return touch(analyses, id);
}

// ---- routes ----
function apiInfo() { return {version: '0.1.0-mock', model: MODEL, limits: LIMITS}; }

function apiAnalyze(body) {
  need(typeof body.text === 'string', 400, "body needs a string 'text'");
  need(Buffer.byteLength(body.text) <= LIMITS.max_text_bytes, 413, `text is over ${LIMITS.max_text_bytes} bytes`);
  const tokens = tokenize(body.text).slice(0, LIMITS.max_tokens);
  need(tokens.length > 0, 400, 'text has no tokens');
  const T = tokens.length;
  const a = {tokens, seed: hashString(body.text), cache: new Map(), masked: new Set()};
  const masked = [];
  if (body.masked !== undefined && body.masked !== null) {
    need(Array.isArray(body.masked), 400, '"masked" must be a list of token positions');
    for (const p of body.masked) {
      need(Number.isInteger(p) && p >= 0 && p < T - 1, 400, `masked position ${JSON.stringify(p)} must be an integer from 0 to ${T - 2} ` +
           '(the last token, whose prediction is shown, cannot be masked)');
      a.masked.add(p);
      masked.push(p);
    }
  }
  let ablation = null;
  if (body.ablation !== undefined && body.ablation !== null) {
    need(typeof body.ablation === 'object' && !Array.isArray(body.ablation), 400, '"ablation" must be an object {heads, mlps, method, seed}');
    need(T >= 2, 400, 'an ablation needs a text of at least 2 tokens');
    need(masked.length === 0, 400, '"masked" and "ablation" cannot be combined');
    const spec = ablationSpec(body.ablation);
    const layers = [...spec.heads.map(h => h[0]), ...spec.mlps];
    if (layers.length) {
      a.ablatedFrom = Math.min(...layers);
      a.ablationSeed = hashString(JSON.stringify(spec)) | 1;
    }
    ablation = body.ablation;
  }
  const id = 'a' + nextAnalysis++;
  analyses.set(id, a);
  while (analyses.size > MAX_ANALYSES) analyses.delete(analyses.keys().next().value);
  const {ts, out} = thumbnails(a);
  const r = {id, tokens, ids: tokens.map(tokenId), T, n_layer: MODEL.n_layer, n_head: MODEL.n_head,
             thumb_size: ts, thumbnails: b64(out), encoding: 'f32-base64', masked};
  if (ablation) r.ablation = ablation;
  return r;
}

// ---- interventions ----
// A text field that must fit the context (413) and have at least minTokens tokens (400), as the server's.
function contextTokens(body, key, minTokens) {
  need(typeof body[key] === 'string', 400, `body needs a string '${key}'`);
  need(Buffer.byteLength(body[key]) <= LIMITS.max_text_bytes, 413, `"${key}" is over ${LIMITS.max_text_bytes} bytes`);
  const tokens = tokenize(body[key]);
  need(tokens.length > 0, 400, `"${key}" has no tokens`);
  need(tokens.length >= minTokens, 400, `"${key}" has ${tokens.length} token(s); this needs at least ${minTokens}`);
  need(tokens.length <= MODEL.block_size, 413, `"${key}" has ${tokens.length} tokens; the model's context is ${MODEL.block_size}`);
  return tokens;
}
function intField(body, key, def, lo, hi) {
  const v = body[key];
  if (v === undefined || v === null) return def;
  need(Number.isInteger(v) && v >= lo && v <= hi, 400, `"${key}" must be an integer from ${lo} to ${hi}`);
  return v;
}
// {"heads": [[l, h]...], "mlps": [l...], "method", "seed"}, checked as the server checks it.
function ablationSpec(j) {
  const spec = {heads: [], mlps: [], method: 'zero', seed: 0};
  if (j.heads !== undefined && j.heads !== null) {
    need(Array.isArray(j.heads), 400, '"heads" must be a list of [layer, head] pairs');
    for (const h of j.heads) {
      need(Array.isArray(h) && h.length === 2 && Number.isInteger(h[0]) && Number.isInteger(h[1]), 400,
           `each of "heads" must be a [layer, head] pair of integers, got ${JSON.stringify(h)}`);
      need(h[0] >= 0 && h[0] < MODEL.n_layer && h[1] >= 0 && h[1] < MODEL.n_head, 400,
           `head ${JSON.stringify(h)} does not exist: the model has ${MODEL.n_layer} layers of ${MODEL.n_head} heads`);
      spec.heads.push([h[0], h[1]]);
    }
  }
  if (j.mlps !== undefined && j.mlps !== null) {
    need(Array.isArray(j.mlps), 400, '"mlps" must be a list of layer indices');
    for (const l of j.mlps) {
      need(Number.isInteger(l) && l >= 0 && l < MODEL.n_layer, 400,
           `MLP layer ${JSON.stringify(l)} does not exist: the model has ${MODEL.n_layer} layers`);
      spec.mlps.push(l);
    }
  }
  if (j.method !== undefined && j.method !== null) {
    need(['zero', 'mean', 'resample'].includes(j.method), 400,
         `"method" must be "zero", "mean" or "resample", got ${JSON.stringify(j.method)}`);
    spec.method = j.method;
  }
  if (j.seed !== undefined && j.seed !== null) {
    need(Number.isInteger(j.seed) && j.seed >= 0, 400, '"seed" must be an integer >= 0');
    spec.seed = j.seed;
  }
  return spec;
}
const METHOD_SCALE = {zero: 1, mean: 0.6, resample: 0.8};
// Δloss of each head and MLP alone: previous-token and induction heads matter, MLP 0 matters most.
function gridDeltas(tokens, method, seed) {
  const r = rng(hashString(tokens.join('')) ^ 0xab1a7e ^ Math.imul(seed + 1, 0x9E3779B1)), sc = METHOD_SCALE[method];
  const base = {previous: 0.12, induction: 0.25, first: 0.01, local: 0.05, broad: 0.02, same: 0.04};
  const head = [], mlp = [];
  for (let l = 0; l < MODEL.n_layer; l++) {
    head.push(Array.from({length: MODEL.n_head}, (_, h) => sc * (base[patternOf(l, h)] * (1 + 0.3 * r.normal()) - 0.01)));
    mlp.push(sc * (l === 0 ? 1.6 : 0.3 / l) * (1 + 0.1 * r.normal()));
  }
  return {head, mlp};
}
// What the two sweeps cost (explain/interventions.h's estimates): a block ≈ 2·(12·C² + 2·T·C) per token,
// the unembedding 2·C·V per token. Over limits.max_intervention_flops the server answers 413, naming how
// many tokens fit.
function blockFlops(T) { const C = MODEL.n_embd; return 2 * (4 * C * C + 2 * C * 4 * C + 2 * T * C); }
function gridFlops(T) {
  const L = MODEL.n_layer, H = MODEL.n_head;
  return (H + 1) * T * L * (L + 1) / 2 * blockFlops(T) + (H + 1) * L * T * 2 * MODEL.n_embd * MODEL.vocab_size;
}
function patchFlops(T) {
  const L = MODEL.n_layer, H = MODEL.n_head;
  return (2 * T + H) * T * L * (L + 1) / 2 * blockFlops(T) + ((L + 1) * T + 2 * L * T + L * H) * 2 * MODEL.n_embd * MODEL.vocab_size;
}
function refuseIfCostly(what, T, cost) {
  const flops = cost(T), budget = LIMITS.max_intervention_flops;
  if (flops <= budget) return;
  let fits = T;
  while (fits > 1 && cost(fits) > budget) --fits;
  throw new HttpError(413, `${what} of ${T} tokens on this model costs about ${(flops / 1e12).toPrecision(2)} TFLOP, over the ` +
                           `explorer's budget of ${budget / 1e12} TFLOP (minutes of CPU); use at most ${fits} tokens`);
}
// The intact model's −log p(token t+1) at t: 0.5 .. 4.5 nats, deterministic from the text.
function intactTokenLoss(tokens) {
  const r = rng(hashString(tokens.join('')) ^ 0x1055);
  return Array.from({length: tokens.length - 1}, () => 0.5 + 4 * r());
}
const mean = a => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
// Plausible next tokens (distinct ids): the text's own tokens, then common ones.
function candidatePool(tokens) {
  const common = BPE ? [' the', ' a', ',', ' of', ' and', '.', ' to', ' sea', ' whale', ' ship', ' I', ' he', ' was', ' in']
                     : Array.from(' etaoinshrdlucmfwyp,.');
  const seen = new Set(), pool = [];
  for (const t of [...tokens, ...common]) {
    const id = tokenId(t);
    if (!seen.has(id)) { seen.add(id); pool.push({token: t, id}); }
  }
  return pool;
}

function apiAblate(body) {
  const tokens = contextTokens(body, 'text', 2), T = tokens.length;
  const spec = ablationSpec(body);
  const position = intField(body, 'position', T - 1, 0, T - 1);
  const k = intField(body, 'k', 10, 1, 100);
  const g = gridDeltas(tokens, spec.method, spec.seed);
  // Together, the parts add their grid deltas (a made-up model with no interactions).
  const delta = spec.heads.reduce((s, [l, h]) => s + g.head[l][h], 0) + spec.mlps.reduce((s, l) => s + g.mlp[l], 0);
  const r = rng(hashString(tokens.join('')) ^ 0x7ab1a7e);
  const w = Array.from({length: T - 1}, () => 0.2 + 1.6 * r());   // where the damage falls, mean ≈ 1
  const wm = mean(w);
  const token_loss = intactTokenLoss(tokens);
  const token_loss_ablated = token_loss.map((x, t) => Math.max(0.01, x + delta * w[t] / wm));
  const kl = [...token_loss_ablated.map((x, t) => Math.abs(x - token_loss[t]) * 0.5), Math.abs(delta) * 0.4];
  const pool = candidatePool(tokens).slice(0, Math.max(k, 12));
  const pr = rng(hashString(tokens.join('')) ^ position);
  const p = pool.map((_, i) => 0.45 * Math.pow(0.62, i) * (1 + 0.1 * pr()));
  const shift = Math.tanh(delta);  // the ablated distribution flattens and reorders
  const pa = pool.map((_, i) => p[i] * (1 - 0.7 * shift) + (i % 3 === 1 ? 0.05 * shift : 0) + 0.02 * shift);
  const entries = pool.map((c, i) => ({token: c.token, id: c.id, p: p[i], p_ablated: pa[i]}));
  const top = [...entries].sort((x, y) => y.p - x.p).slice(0, k);
  const top_ablated = [...entries].sort((x, y) => y.p_ablated - x.p_ablated).slice(0, k);
  return {tokens, ids: tokens.map(tokenId), T, method: spec.method, heads: spec.heads, mlps: spec.mlps,
          loss: mean(token_loss), loss_ablated: mean(token_loss_ablated), token_loss, token_loss_ablated, kl, position,
          top, top_ablated, elapsed_ms: 3.5 + T * 0.01};
}

function apiAblationGrid(body) {
  const tokens = contextTokens(body, 'text', 2);
  const spec = ablationSpec({method: body.method, seed: body.seed});
  refuseIfCostly('an ablation grid', tokens.length, gridFlops);
  const g = gridDeltas(tokens, spec.method, spec.seed);
  return {tokens, T: tokens.length, n_layer: MODEL.n_layer, n_head: MODEL.n_head, method: spec.method,
          loss: mean(intactTokenLoss(tokens)), head_delta: g.head, mlp_delta: g.mlp, elapsed_ms: 40 + tokens.length * 0.5};
}

// The lens's guess for the next token sharpens with depth: its rank falls from ~V/4 at the embeddings
// to 0 (or a few) at the output.
function apiLogitLens(body) {
  const tokens = contextTokens(body, 'text', 1), T = tokens.length, ids = tokens.map(tokenId);
  const k = intField(body, 'k', 5, 1, 20);
  const R = MODEL.n_layer + 1, V = MODEL.vocab_size, r = rng(hashString(tokens.join('')) ^ 0x1e45);
  const pool = candidatePool(tokens), labels = {};
  const top_ids = [], top_probs = [], target_rank = [], target_prob = [];
  for (let l = 0; l < R; l++) { top_ids.push([]); top_probs.push([]); target_rank.push([]); target_prob.push([]); }
  for (let t = 0; t < T; t++) {
    const next = t + 1 < T ? ids[t + 1] : -1;
    const final = r() < 0.6 ? 0 : Math.floor(1 + 6 * r());
    const start = Math.floor(V / 4 * (0.5 + r()));
    const off = Math.floor(r() * pool.length);
    for (let l = 0; l < R; l++) {
      const f = l / (R - 1);
      const rank = Math.round(Math.exp((1 - f) * Math.log(start + 1) + f * Math.log(final + 1)) - 1);
      const p1 = 0.15 + 0.6 * f * r();
      const probs = Array.from({length: k}, (_, i) => p1 * Math.pow(0.55, i));
      const list = [];
      for (let i = 0; list.length < k && i < pool.length; i++) {
        const c = pool[(off + l + i) % pool.length];
        if (c.id !== next && !list.includes(c.id)) list.push(c.id);
      }
      for (let id = 0; list.length < k && id < V; id++) if (id !== next && !list.includes(id)) list.push(id);  // filler
      if (next >= 0 && rank < k) list.splice(rank, 0, next), list.length = k;
      for (const id of list) if (!(id in labels)) labels[id] = (pool.find(c => c.id === id) || {token: `<${id}>`}).token;
      if (next >= 0) labels[next] = tokens[t + 1];
      top_ids[l].push(list);
      top_probs[l].push(probs);
      if (next >= 0) {
        target_rank[l].push(rank);
        target_prob[l].push(rank < k ? probs[rank] : probs[k - 1] * Math.pow(0.7, rank - k + 1));
      }
    }
  }
  return {tokens, ids, T, n_rows: R, k, top_ids, top_probs, labels,
          target_rank: T > 1 ? target_rank : [], target_prob: T > 1 ? target_prob : [], elapsed_ms: 2 + T * 0.05};
}

// Patching: the information starts at the positions that differ and moves to the last position in the
// middle layers; two late heads carry it there.
function apiPatch(body) {
  const clean = contextTokens(body, 'clean', 1), corrupt = contextTokens(body, 'corrupt', 1);
  need(clean.length === corrupt.length, 400, `the clean prompt has ${clean.length} tokens and the corrupted one ${corrupt.length}: ` +
       'patching copies position t into position t, so both need the same number of tokens (change a word for one of the same token length)');
  const T = clean.length, L = MODEL.n_layer, H = MODEL.n_head, V = MODEL.vocab_size;
  let target = tokenId(BPE ? (clean.includes(' Starbuck') ? ' Starbuck' : ' the') : 'e');
  if (body.target !== undefined && body.target !== null) {
    if (Number.isInteger(body.target)) {
      need(body.target >= 0 && body.target < V, 400, `"target" must be a token id from 0 to ${V - 1}`);
      target = body.target;
    } else if (typeof body.target === 'string') {
      const t = tokenize(body.target);
      need(t.length === 1, 400, `"target" must be one token; "${body.target}" is ${t.length} tokens (${JSON.stringify(t)})`);
      target = tokenId(t[0]);
    } else throw new HttpError(400, '"target" must be a token id, a one-token string, or null (the clean prediction)');
  }
  refuseIfCostly('patching', T, patchFlops);
  const differ = [];
  for (let t = 0; t < T; t++) if (clean[t] !== corrupt[t]) differ.push(t);
  const r = rng(hashString(clean.join('') + '\0' + corrupt.join('')) ^ target);
  const p_clean = 0.3 + 0.4 * r(), p_corrupt = differ.length ? 0.01 + 0.05 * r() : p_clean;
  const p = rec => p_corrupt + rec * (p_clean - p_corrupt);
  const noise = () => 0.03 * r.normal();
  const isDiffer = new Set(differ);
  const resid = [], mlp = [], heads = [];
  for (let l = 0; l <= L; l++) {
    const f = l / L;
    resid.push(Array.from({length: T}, (_, t) => {
      if (!differ.length) return p_clean;
      if (isDiffer.has(t)) return p(l === 0 ? 1 : Math.max(0, 1 - 1.2 * f) + noise());
      if (t === T - 1) return p(Math.min(1, 1.3 * f) + noise());
      return p(noise());
    }));
    if (l < L) {
      mlp.push(Array.from({length: T}, (_, t) => p(!differ.length ? 1 : isDiffer.has(t) ? 0.35 * (1 - f) + noise()
                                                   : t === T - 1 ? 0.25 * f + noise() : noise())));
      heads.push(Array.from({length: H}, (_, h) => {
        if (!differ.length) return p_clean;
        const mover = l === L - 1 && h === 1 ? 0.6 : l === L - 2 && h === 0 ? 0.35 : l === L - 1 && h === 3 % H ? -0.2 : 0;
        return p(mover + noise());
      }));
    }
  }
  return {clean_tokens: clean, corrupt_tokens: corrupt, T, n_layer: L, n_head: H, target,
          target_token: labelOf(target, clean), p_clean, p_corrupt, differ, resid, mlp, heads, elapsed_ms: 5 + T * 0.2};
}
function labelOf(id, tokens) {
  const c = candidatePool([...tokens, ' Starbuck', ' the', 'e']).find(x => x.id === id);
  return c ? c.token : `<${id}>`;
}

// Made-up relevance: per method, scores from the last layer's mean attention row of the last token (rollout
// and relevance: the rollout row), plus noise; curves that fall for "positive" and hold for "negative".
function apiRelevance(body) {
  need(typeof body.text === 'string', 400, "body needs a string 'text'");
  const tokens = tokenize(body.text);
  need(tokens.length >= 2, 400, `the text has ${tokens.length} token(s); explaining the next one needs at least 2`);
  need(tokens.length <= MODEL.block_size, 413, `the text has ${tokens.length} tokens; the model's context is ${MODEL.block_size}`);
  const T = tokens.length, a = {tokens, seed: hashString(body.text), cache: new Map()}, r = rng(a.seed ^ 0x5eed);
  const lastRow = M => M.subarray((T - 1) * T, T * T);
  const mean = lastRow(meanMatrix(a, MODEL.n_layer - 1)), roll = lastRow(rolloutMatrix(a, MODEL.n_layer - 1));
  const methods = ['raw_attention', 'rollout', 'flow', 'grad_x_input', 'grad_cam', 'relevance'];
  const scores = {}, curves = {};
  const P = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], D = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
  const curve = fall => ({positive: P.map(f => (f < 0.3 * fall ? 1 : 0)), negative: P.map(f => (f < 0.7 ? 1 : 0)),
                          deletion: D.map(f => 0.6 * Math.exp(-f * 4 * fall)), insertion: D.map(f => 0.6 * (1 - Math.exp(-f * 3 * fall)))});
  methods.forEach((m, k) => {
    const base = m === 'rollout' || m === 'relevance' || m === 'flow' ? roll : mean;
    scores[m] = b64(Float32Array.from(base, v => v * (1 + 0.2 * r.normal()) + (m === 'grad_x_input' ? 0.01 * r.normal() : 0)));
    curves[m] = curve(1 + k / 3);
  });
  curves.random = curve(0.4);
  const V = MODEL.vocab_size, predicted = tokenId('e');
  const target = Number.isInteger(body.target) ? body.target : predicted;
  need(target >= 0 && target < V, 400, `"target" must be a token id from 0 to ${V - 1}`);
  const top = ['e', ' ', 'a', 't', 'o', 'n', 's', 'h', 'r', 'i'].map((t, i) => ({token: t, id: tokenId(t), p: 0.4 / (i + 1)}));
  return {tokens, ids: tokens.map(tokenId), T, query: T - 1, predicted, target, target_token: 'e', target_p: 0.4, top, methods,
          skipped: {}, scores, fractions: {perturbation: P, deletion: D}, curves, judged_against: 'prediction',
          encoding: 'f32-base64'};
}

function apiAttention(q) {
  const a = getAnalysis(q), id = q.get('id');
  const layer = intParam(q, 'layer', 0, MODEL.n_layer);
  const head = q.get('head');
  need(head !== null, 400, "missing query parameter 'head'");
  const T = a.tokens.length;
  let M, shape = [T, T];
  if (head === 'mean') M = meanMatrix(a, layer);
  else if (head === 'rollout') M = rolloutMatrix(a, layer);
  else if (head === 'all') {
    need(MODEL.n_head * T * T <= LIMITS.max_floats_per_response, 413,
         `head=all would send ${MODEL.n_head * T * T} floats (limit ${LIMITS.max_floats_per_response}); ask per head`);
    M = new Float32Array(MODEL.n_head * T * T);
    for (let h = 0; h < MODEL.n_head; h++) M.set(headMatrix(a, layer, h), h * T * T);
    shape = [MODEL.n_head, T, T];
  } else M = headMatrix(a, layer, intParam(q, 'head', 0, MODEL.n_head));
  return {id, layer, head, T, shape, matrix: b64(M), encoding: 'f32-base64'};
}

function apiNeuron(q) {
  const a = getAnalysis(q);
  const layer = intParam(q, 'layer', 0, MODEL.n_layer);
  const head = intParam(q, 'head', 0, MODEL.n_head);
  const T = a.tokens.length;
  const query = intParam(q, 'query', 0, T);
  const d = MODEL.head_dim, M = headMatrix(a, layer, head);
  const r = rng(a.seed ^ (layer * 131 + head * 17 + query * 7919));
  const qv = Array.from({length: d}, () => r.normal());
  const qq = qv.reduce((s, x) => s + x * x, 0);
  // Scores: log-weights shifted to mean 0 (softmax is shift-invariant, so the weights are the matrix row).
  const logw = Array.from({length: query + 1}, (_, j) => Math.log(Math.max(M[query * T + j], 1e-30)));
  const mean = logw.reduce((s, x) => s + x, 0) / logw.length;
  const k = [], qk = [], scores = [];
  for (let j = 0; j <= query; j++) {
    const kv = Array.from({length: d}, () => 0.7 * r.normal());
    const target = (logw[j] - mean) * Math.sqrt(d);
    const dot = kv.reduce((s, x, c) => s + x * qv[c], 0);
    for (let c = 0; c < d; c++) kv[c] += (target - dot) / qq * qv[c];
    const p = kv.map((x, c) => x * qv[c]);
    k.push(kv); qk.push(p);
    scores.push(p.reduce((s, x) => s + x, 0) / Math.sqrt(d));
  }
  const w = new Float64Array(scores.length);
  softmaxInto(scores, w, 0);
  return {layer, head, query, head_dim: d, keys: query + 1, q: qv, k, qk, scores, weights: Array.from(w)};
}

function apiHeadTypes() {
  if (headTypes) return headTypes;
  const n = 40, r = rng(7);
  const heads = [], labels = [];
  for (let l = 0; l < MODEL.n_layer; l++)
    for (let h = 0; h < MODEL.n_head; h++) {
      const pat = patternOf(l, h);
      const jitter = () => 0.08 * r();
      const s = {layer: l, head: h,
                 previous_token: (pat === 'previous' ? 0.75 : pat === 'local' ? 0.35 : 0.05) + jitter(),
                 first_token: (pat === 'first' ? 0.8 : 0.06) + jitter(),
                 induction: (pat === 'induction' ? 0.6 : pat === 'same' ? 0.2 : 0.03) + jitter()};
      heads.push(s);
      const best = [['previous-token', s.previous_token], ['first-token', s.first_token], ['induction', s.induction]]
        .sort((x, y) => y[1] - x[1])[0];
      if (best[1] >= 0.4) labels.push({layer: l, head: h, type: best[0]});
    }
  headTypes = {sequence: {kind: 'repeated random tokens', length: 2 * n, n}, heads, labels};
  return headTypes;
}

// Generation: the "model" continues a passage of Moby-Dick, one token at a time, with some noise.
const PASSAGE = ' and thinking that the whale was a thing of the sea, I went down to the harbour, where the ships ' +
                'lay waiting for the men who would go out upon the deep waters of the world.';
function genStart(body) {
  need(typeof body.prompt === 'string', 400, "body needs a string 'prompt'");
  const tokens = tokenize(body.prompt);
  need(tokens.length > 0, 400, 'prompt has no tokens');
  need(tokens.length <= MODEL.block_size, 400, `prompt is ${tokens.length} tokens, over block_size ${MODEL.block_size}`);
  const num = (k, def) => (body[k] === undefined ? def : body[k]);
  const temperature = num('temperature', 1), top_k = num('top_k', 0), top_p = num('top_p', 1), seed = num('seed', 0);
  need(typeof temperature === 'number' && temperature >= 0, 400, "'temperature' must be a number >= 0");
  need(Number.isInteger(top_k) && top_k >= 0, 400, "'top_k' must be an integer >= 0");
  need(typeof top_p === 'number' && top_p > 0 && top_p <= 1, 400, "'top_p' must be in (0, 1]");
  need(Number.isInteger(seed), 400, "'seed' must be an integer");
  const id = 's' + nextSession++;
  sessions.set(id, {tokens, temperature, top_k, top_p, rng: rng(seed + 1), made: 0, seed: hashString(body.prompt) ^ seed});
  while (sessions.size > LIMITS.max_sessions) sessions.delete(sessions.keys().next().value);
  return {session: id, tokens, ids: tokens.map(tokenId), cache: cacheInfo(tokens.length)};
}
function cacheInfo(n) {
  const per = 2 * MODEL.n_layer * MODEL.n_kv_head * MODEL.head_dim * 4;
  const tokens = Math.min(n, MODEL.block_size);
  return {tokens, capacity: MODEL.block_size, bytes: tokens * per, capacity_bytes: MODEL.block_size * per};
}
function getSession(body) {
  need(typeof body.session === 'string', 400, "body needs a string 'session'");
  need(sessions.has(body.session), 404, `unknown session '${body.session}' (stopped, evicted or never made)`);
  return touch(sessions, body.session);
}
function genNext(body) {
  const s = getSession(body);
  need(s.made < LIMITS.max_new_tokens, 400, `this session already made max_new_tokens = ${LIMITS.max_new_tokens} tokens`);
  const position = s.tokens.length;
  const window_start = Math.max(0, position - MODEL.block_size);
  const S = position - window_start;
  const att = new Float32Array(MODEL.n_layer * MODEL.n_head * S);
  const ctx = s.tokens.slice(window_start);
  for (let l = 0; l < MODEL.n_layer; l++)
    for (let h = 0; h < MODEL.n_head; h++)
      softmaxInto(rowScores(ctx, l, h, S - 1, s.seed + position), att, (l * MODEL.n_head + h) * S);
  // Candidates: the passage's next token first, then plausible others.
  const passageTokens = tokenize(PASSAGE);
  const want = passageTokens[s.made % passageTokens.length];
  const pool = [want, ...(BPE ? [' the', ' a', ',', ' of', ' and', '.', ' sea', ' whale', ' ship', ' I', ' to']
                              : Array.from(' etaoinshrdlucmfwyp,.'))];
  const cands = [...new Set(pool)].slice(0, 10);
  const t = Math.max(s.temperature, 1e-3);
  const logits = cands.map((c, i) => (i === 0 ? 4.5 : 1.5 - 0.25 * i) + 0.4 * s.rng.normal());
  const m = Math.max(...logits);
  const e = logits.map(x => Math.exp((x - m) / t));
  const z = e.reduce((a, b) => a + b, 0) * 1.08;  // the rest of the vocabulary holds ~7%
  let top = cands.map((c, i) => ({token: c, id: tokenId(c), p: e[i] / z})).sort((x, y) => y.p - x.p);
  let pick = top[0];
  if (s.temperature > 0) {
    let u = s.rng() * top.reduce((a, c) => a + c.p, 0);
    for (const c of top) { u -= c.p; if (u <= 0) { pick = c; break; } }
  }
  s.tokens.push(pick.token);
  s.made++;
  return {token: pick.token, id: pick.id, position, window_start, attention: b64(att), shape: [MODEL.n_layer, MODEL.n_head, S],
          top, cache: cacheInfo(position + 1), encoding: 'f32-base64'};
}
function genStop(body) {
  getSession(body);
  sessions.delete(body.session);
  return {session: body.session, stopped: true};
}

// ---- HTTP ----
const TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
               '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json'};
function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store'});
  res.end(body);
}
// app.js is web/js/*.js concatenated in name order, as cmake/embed_web.cmake embeds it (read at each request,
// so an edit shows on reload); the pieces themselves are not served, as attn explore does not serve them.
function readAppJs(cb) {
  const dir = path.join(WEB_DIR, 'js');
  fs.readdir(dir, (err, names) => {
    if (err) return cb(err);
    let data;
    try {
      data = Buffer.concat(names.filter(n => n.endsWith('.js')).sort().map(n => fs.readFileSync(path.join(dir, n))));
    } catch (e) { return cb(e); }
    cb(null, data);
  });
}
function serveStatic(res, pathname) {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  if (name.includes('..') || name.startsWith('test/') || name.startsWith('js/') || !/^[\w./-]+$/.test(name)) return sendJson(res, 404, {error: `no such file '${pathname}'`});
  const file = path.join(WEB_DIR, name);
  (name === 'app.js' ? readAppJs : cb => fs.readFile(file, cb))((err, data) => {
    if (err) return sendJson(res, 404, {error: `no such file '${pathname}'`});
    res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store'});
    res.end(data);
  });
}
const ROUTES = {
  'GET /api/info': () => apiInfo(),
  'POST /api/analyze': (q, b) => apiAnalyze(b),
  'GET /api/attention': q => apiAttention(q),
  'GET /api/neuron': q => apiNeuron(q),
  'GET /api/head_types': () => apiHeadTypes(),
  'POST /api/relevance': (q, b) => apiRelevance(b),
  'POST /api/generate/start': (q, b) => genStart(b),
  'POST /api/generate/next': (q, b) => genNext(b),
  'POST /api/generate/stop': (q, b) => genStop(b),
  'POST /api/ablate': (q, b) => apiAblate(b),
  'POST /api/ablation_grid': (q, b) => apiAblationGrid(b),
  'POST /api/logit_lens': (q, b) => apiLogitLens(b),
  'POST /api/patch': (q, b) => apiPatch(b),
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (!url.pathname.startsWith('/api/')) {
    if (req.method !== 'GET') return sendJson(res, 405, {error: `${req.method} is not allowed on ${url.pathname}`});
    return serveStatic(res, url.pathname);
  }
  const route = ROUTES[req.method + ' ' + url.pathname];
  if (!route) {
    const other = Object.keys(ROUTES).some(k => k.endsWith(' ' + url.pathname));
    return sendJson(res, other ? 405 : 404, {error: other ? `${req.method} is not allowed on ${url.pathname}` : `no route ${url.pathname}`});
  }
  const chunks = [];
  let size = 0, tooBig = false;
  req.on('data', c => { size += c.length; if (size > LIMITS.max_body_bytes) tooBig = true; else chunks.push(c); });
  req.on('end', () => {
    setTimeout(() => {
      try {
        need(!tooBig, 413, `request body is over ${LIMITS.max_body_bytes} bytes`);
        let body = {};
        if (req.method === 'POST') {
          try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'); } catch { throw new HttpError(400, 'body is not valid JSON'); }
          need(body && typeof body === 'object' && !Array.isArray(body), 400, 'body must be a JSON object');
        }
        sendJson(res, 200, route(url.searchParams, body));
      } catch (e) {
        if (e instanceof HttpError) sendJson(res, e.status, {error: e.message});
        else { console.error(e); sendJson(res, 500, {error: 'internal error: ' + e.message}); }
      }
    }, DELAY_MS);
  });
});
server.listen(PORT, HOST, () => {
  console.log(`explorer: http://${HOST}:${server.address().port}/`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { server.close(); process.exit(0); });
