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
                max_sessions: 8, max_floats_per_response: 4194304};
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
function headMatrix(a, layer, head) {
  const key = layer + ':' + head;
  const hit = a.cache.get(key);
  if (hit) return hit;
  const T = a.tokens.length;
  const M = new Float32Array(T * T);
  for (let i = 0; i < T; i++) softmaxInto(rowScores(a.tokens, layer, head, i, a.seed), M, i * T);
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
  const id = 'a' + nextAnalysis++;
  const a = {tokens, seed: hashString(body.text), cache: new Map()};
  analyses.set(id, a);
  while (analyses.size > MAX_ANALYSES) analyses.delete(analyses.keys().next().value);
  const {ts, out} = thumbnails(a);
  return {id, tokens, ids: tokens.map(tokenId), T: tokens.length, n_layer: MODEL.n_layer, n_head: MODEL.n_head,
          thumb_size: ts, thumbnails: b64(out), encoding: 'f32-base64'};
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
function serveStatic(res, pathname) {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  if (name.includes('..') || name.startsWith('test/') || !/^[\w./-]+$/.test(name)) return sendJson(res, 404, {error: `no such file '${pathname}'`});
  const file = path.join(WEB_DIR, name);
  fs.readFile(file, (err, data) => {
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
