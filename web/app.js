// The Attention Explorer: the single-page front end of `attn explore` (and of the standalone page that
// `attn viz` writes). Plain JavaScript, no libraries, no build step. The JSON API is docs/explorer_api.md.
//
// Map of this file:
//   helpers            DOM, numbers, token display, f32-base64 decoding
//   api                one fetch layer; with window.ATTN_STATIC it answers from precomputed responses
//   colours            Blues / Viridis / RdBu (the stops of src/attn/viz/colormap.cpp), head colours
//   painters           one drawing interface, two back ends: canvas (screen, PNG) and SVG (export)
//   ScrollArea         a canvas that draws only the visible rows of a tall figure (1024 tokens)
//   views              heads, model, matrix, neuron, generate, types: each draws a figure with a painter
//   export             PNG, SVG, JSON downloads
//   translation, image, relevance    views with their own requests
//   interventions      ablation grid, ablate + compare, logit lens, activation patching (one tab)
//   token strip        the analyzed tokens under the text box: click to mask one, double-click to edit it
//   boot               model info, analysis, tabs
// The static page (attn viz) inlines this file and escapes every "</" in it as "<\/": harmless inside
// strings, fatal in a regular expression, so no "</" may appear outside a string here (tested).
'use strict';
(function () {

// ---------------------------------------------------------------- helpers
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));
const range = n => Array.from({length: n}, (_, i) => i);
const FONT = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif';
const MONO = '"DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace';
const INK = '#1d2330', MUTED = '#5b6575', GRID = '#d5dbe4', ACCENT = '#1f5fbf', HILITE = '#ffe9a8';

function h(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') e.style.cssText = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}
function fmt(x, d = 3) {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && Math.abs(x) < Math.pow(10, -d)) return x.toExponential(1);
  return x.toFixed(d);
}
function fmtBytes(b) {
  if (b < 1024) return b + ' B';
  if (b < 1024 * 1024) return (b / 1024).toFixed(1) + ' KiB';
  return (b / 1024 / 1024).toFixed(1) + ' MiB';
}
// A token as it can be seen: newlines, tabs and lone spaces get visible stand-ins.
function showToken(t) {
  if (t === undefined || t === null) return '';
  let s = String(t).replace(/\r/g, '').replace(/\n/g, '↵').replace(/\t/g, '⇥');
  s = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');
  if (/^ +$/.test(s)) s = s.replace(/ /g, '␣');
  return s;
}
const quote = t => '‘' + showToken(t) + '’';
// A token inside running text: spaces stay spaces.
function flowToken(t) {
  return String(t).replace(/\r/g, '').replace(/\n/g, '↵').replace(/\t/g, '⇥')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');
}
function decodeF32(s) {
  const bin = atob(s);
  const u8 = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
  if (u8.length % 4) throw new ApiError('the server sent f32-base64 data whose length is not a multiple of 4');
  return new Float32Array(u8.buffer);
}
function fillSelect(sel, options, value) {
  sel.replaceChildren(...options.map(([v, label]) => h('option', {value: String(v)}, label)));
  if (options.some(([v]) => String(v) === String(value))) sel.value = String(value);
  return sel.value;
}
const measureCtx = document.createElement('canvas').getContext('2d');
function textWidth(s, size = 13, mono = false, weight = 'normal') {
  measureCtx.font = `${weight} ${size}px ${mono ? MONO : FONT}`;
  return measureCtx.measureText(s).width;
}
function ellipsize(s, maxW, size, mono) {
  if (textWidth(s, size, mono) <= maxW) return s;
  const chars = Array.from(s);
  while (chars.length > 1 && textWidth(chars.join('') + '…', size, mono) > maxW) chars.pop();
  return chars.join('') + '…';
}

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

// ---------------------------------------------------------------- state
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

// ---------------------------------------------------------------- status line and messages
function setStatus(msg, kind = 'ok') {
  const el = $('#status');
  el.className = 'status ' + kind;
  el.textContent = msg;
}
function errorText(e) {
  if (e instanceof ApiError) return e.offline ? e.message : `error: ${e.message}` + (e.status ? ` (HTTP ${e.status})` : '');
  console.error(e);
  return `error in the page: ${e && e.message ? e.message : e}`;
}
function viewMsg(view, text, kind = 'error') {
  const el = $('.view-msg', view.section);
  if (!text) { el.hidden = true; el.textContent = ''; return; }
  el.hidden = false;
  el.className = 'view-msg ' + kind;
  el.textContent = text;
}
function showError(view, e) {
  const offline = e instanceof ApiError && e.offline;
  const msg = errorText(e);
  viewMsg(view, msg, offline ? 'offline' : 'error');
  if (!offline) setStatus(msg, 'error');
}

// ---------------------------------------------------------------- colours
const CMAPS = {
  blues: [[247, 251, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225], [107, 174, 214], [66, 146, 198],
          [33, 113, 181], [8, 81, 156], [8, 48, 107]],
  viridis: [[68, 1, 84], [71, 13, 96], [72, 24, 106], [72, 35, 116], [71, 45, 123], [69, 54, 129], [66, 64, 134],
            [63, 73, 137], [59, 82, 139], [55, 90, 141], [51, 99, 141], [47, 106, 142], [44, 114, 142], [41, 122, 142],
            [38, 129, 142], [35, 137, 142], [33, 144, 140], [31, 152, 139], [31, 159, 136], [33, 166, 133],
            [40, 174, 128], [49, 181, 123], [62, 188, 116], [76, 194, 108], [93, 201, 99], [110, 206, 88],
            [130, 211, 76], [150, 216, 63], [171, 220, 50], [192, 223, 36], [213, 226, 26], [234, 229, 26],
            [253, 231, 37]],
  inferno: [[0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10],
            [249, 201, 50], [252, 255, 164]],
  rdbu: [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
         [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]],
};
const LUTS = {};
for (const [name, stops] of Object.entries(CMAPS)) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255 * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(x)), f = x - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]));
  }
  LUTS[name] = lut;
}
function cmapRgb(name, t) {
  const i = Math.round(clamp(Number.isFinite(t) ? t : 0, 0, 1) * 255) * 3, l = LUTS[name];
  return `rgb(${l[i]},${l[i + 1]},${l[i + 2]})`;
}
// Light text on dark cells.
function inkOn(name, t) {
  const i = Math.round(clamp(t, 0, 1) * 255) * 3, l = LUTS[name];
  return (0.299 * l[i] + 0.587 * l[i + 1] + 0.114 * l[i + 2]) < 140 ? '#fff' : INK;
}
const HEAD_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf',
                     '#bcbd22', '#7f7f7f', '#393b79', '#ad494a', '#637939', '#843c39', '#7b4173', '#3182bd'];
function headColor(hd) {
  return hd < HEAD_COLORS.length ? HEAD_COLORS[hd] : `hsl(${(hd * 137.5) % 360}, 60%, 42%)`;
}
// A heatmap spec: values data[offset + r*stride + c], t = (v - vmin)/(vmax - vmin) clamped, then t^gamma.
function heatT(spec, v) {
  let t = (v - spec.vmin) / (spec.vmax - spec.vmin || 1);
  t = Number.isFinite(t) ? clamp(t, 0, 1) : 0;
  return spec.gamma && spec.gamma !== 1 ? Math.pow(t, spec.gamma) : t;
}

// ---------------------------------------------------------------- painters
// The views draw through this interface, so that one routine makes the screen, the PNG and the SVG.
class CanvasPainter {
  constructor(ctx) { this.ctx = ctx; }
  rect(x, y, w, h, fill, o = {}) {
    const c = this.ctx;
    c.save();
    if (o.alpha !== undefined) c.globalAlpha = o.alpha;
    if (fill) { c.fillStyle = fill; c.fillRect(x, y, w, h); }
    if (o.stroke) { c.strokeStyle = o.stroke; c.lineWidth = o.lineWidth || 1; c.strokeRect(x, y, w, h); }
    c.restore();
  }
  // segs: flat [x1, y1, x2, y2, ...], all drawn with one colour, width and opacity.
  lines(segs, stroke, width = 1, alpha = 1) {
    const c = this.ctx;
    c.save();
    c.globalAlpha = alpha; c.strokeStyle = stroke; c.lineWidth = width; c.lineCap = 'round';
    c.beginPath();
    for (let i = 0; i < segs.length; i += 4) { c.moveTo(segs[i], segs[i + 1]); c.lineTo(segs[i + 2], segs[i + 3]); }
    c.stroke();
    c.restore();
  }
  line(x1, y1, x2, y2, stroke, width = 1, alpha = 1) { this.lines([x1, y1, x2, y2], stroke, width, alpha); }
  text(x, y, s, o = {}) {
    const c = this.ctx;
    c.save();
    c.font = `${o.weight || 'normal'} ${o.size || 13}px ${o.mono ? MONO : FONT}`;
    c.fillStyle = o.color || INK;
    c.textAlign = o.align || 'left';
    c.textBaseline = o.baseline || 'middle';
    if (o.rotate) { c.translate(x, y); c.rotate(o.rotate * Math.PI / 180); c.fillText(s, 0, 0); }
    else c.fillText(s, x, y);
    c.restore();
  }
  // A picture (a canvas) scaled into (x, y, w, h), pixels kept sharp.
  image(src, x, y, w, h) {
    const c = this.ctx;
    c.save();
    c.imageSmoothingEnabled = false;
    c.drawImage(src, x, y, w, h);
    c.restore();
  }
  clip(x, y, w, h) { this.ctx.save(); this.ctx.beginPath(); this.ctx.rect(x, y, w, h); this.ctx.clip(); }
  unclip() { this.ctx.restore(); }
  // Everything until untranslate() is drawn shifted by (dx, dy) (figures stacked into one export).
  translate(dx, dy) { this.ctx.save(); this.ctx.translate(dx, dy); }
  untranslate() { this.ctx.restore(); }
  // Cells r0..r1-1 × c0..c1-1 of spec, cell (r, c) at (x + (c-c0)·cw, y + (r-r0)·ch).
  heatmap(spec, r0, r1, c0, c1, x, y, cw, ch) {
    if (r1 <= r0 || c1 <= c0) return;
    const img = heatImage(spec);
    const c = this.ctx;
    c.save();
    c.imageSmoothingEnabled = cw < 1 || ch < 1;  // averaging only when several cells share a pixel
    c.drawImage(img, c0, r0, c1 - c0, r1 - r0, x, y, (c1 - c0) * cw, (r1 - r0) * ch);
    c.restore();
  }
}
const heatCache = new WeakMap();
function heatImage(spec) {
  let byData = heatCache.get(spec.data);
  if (!byData) { byData = new Map(); heatCache.set(spec.data, byData); }
  const key = [spec.offset || 0, spec.rows, spec.cols, spec.stride, spec.vmin, spec.vmax, spec.cmap, spec.gamma || 1].join('|');
  let canvas = byData.get(key);
  if (canvas) return canvas;
  canvas = document.createElement('canvas');
  canvas.width = spec.cols; canvas.height = spec.rows;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(spec.cols, spec.rows), px = img.data, lut = LUTS[spec.cmap];
  const off = spec.offset || 0;
  for (let r = 0; r < spec.rows; r++) {
    for (let c = 0; c < spec.cols; c++) {
      const li = Math.round(heatT(spec, spec.data[off + r * spec.stride + c]) * 255) * 3, p = (r * spec.cols + c) * 4;
      px[p] = lut[li]; px[p + 1] = lut[li + 1]; px[p + 2] = lut[li + 2]; px[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  if (byData.size > 64) byData.clear();
  byData.set(key, canvas);
  return canvas;
}

const xmlEscape = s => String(s).replace(/&/g, '&amp;').replace(/[<]/g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\uFFFD');
const num = x => (Math.round(x * 100) / 100).toString();
class SvgPainter {
  constructor(w, h, title) { this.w = w; this.h = h; this.title = title; this.out = []; this.clips = 0; }
  rect(x, y, w, h, fill, o = {}) {
    const attrs = [`x="${num(x)}" y="${num(y)}" width="${num(Math.max(0, w))}" height="${num(Math.max(0, h))}"`];
    attrs.push(`fill="${fill || 'none'}"`);
    if (o.stroke) attrs.push(`stroke="${o.stroke}" stroke-width="${o.lineWidth || 1}"`);
    if (o.alpha !== undefined && o.alpha !== 1) attrs.push(`opacity="${num(o.alpha * 1000) / 1000}"`);
    this.out.push(`<rect ${attrs.join(' ')}/>`);
  }
  lines(segs, stroke, width = 1, alpha = 1) {
    if (!segs.length) return;
    this.out.push(`<g stroke="${stroke}" stroke-width="${width}" stroke-opacity="${Math.round(alpha * 1000) / 1000}" stroke-linecap="round">`);
    for (let i = 0; i < segs.length; i += 4) {
      this.out.push(`<line x1="${num(segs[i])}" y1="${num(segs[i + 1])}" x2="${num(segs[i + 2])}" y2="${num(segs[i + 3])}"/>`);
    }
    this.out.push('</g>');
  }
  line(x1, y1, x2, y2, stroke, width = 1, alpha = 1) { this.lines([x1, y1, x2, y2], stroke, width, alpha); }
  text(x, y, s, o = {}) {
    const anchor = {left: 'start', right: 'end', center: 'middle'}[o.align || 'left'];
    const base = {middle: 'central', top: 'hanging', bottom: 'text-after-edge', alphabetic: 'auto'}[o.baseline || 'middle'];
    const attrs = [`x="${num(x)}" y="${num(y)}" font-size="${o.size || 13}"`,
                   `font-family="${xmlEscape(o.mono ? MONO : FONT)}"`, `fill="${o.color || INK}"`];
    if (anchor !== 'start') attrs.push(`text-anchor="${anchor}"`);
    if (base !== 'auto') attrs.push(`dominant-baseline="${base}"`);
    if (o.weight && o.weight !== 'normal') attrs.push(`font-weight="${o.weight}"`);
    if (o.rotate) attrs.push(`transform="rotate(${o.rotate} ${num(x)} ${num(y)})"`);
    this.out.push(`<text ${attrs.join(' ')} xml:space="preserve">${xmlEscape(s)}</text>`);
  }
  image(src, x, y, w, h) {
    this.out.push(`<image x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" ` +
                  `preserveAspectRatio="none" style="image-rendering:pixelated" href="${src.toDataURL('image/png')}"/>`);
  }
  clip(x, y, w, h) {
    const id = 'clip' + (++this.clips);
    this.out.push(`<clipPath id="${id}"><rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}"/></clipPath>`,
                  `<g clip-path="url(#${id})">`);
  }
  unclip() { this.out.push('</g>'); }
  translate(dx, dy) { this.out.push(`<g transform="translate(${num(dx)} ${num(dy)})">`); }
  untranslate() { this.out.push('</g>'); }
  // Rects, at most ~160 per side: a larger region is mean-pooled into blocks (said in a <desc>).
  heatmap(spec, r0, r1, c0, c1, x, y, cw, ch) {
    const nr = r1 - r0, nc = c1 - c0;
    if (nr <= 0 || nc <= 0) return;
    const f = Math.max(1, Math.ceil(Math.max(nr, nc) / 160));
    const t0 = heatT(spec, 0);
    this.out.push(`<g shape-rendering="crispEdges">`);
    if (f > 1) this.out.push(`<desc>${nr}×${nc} cells mean-pooled in ${f}×${f} blocks</desc>`);
    this.rect(x, y, nc * cw, nr * ch, cmapRgb(spec.cmap, t0));
    const off = spec.offset || 0;
    for (let r = r0; r < r1; r += f) {
      for (let c = c0; c < c1; c += f) {
        const re = Math.min(r1, r + f), ce = Math.min(c1, c + f);
        let sum = 0;
        for (let i = r; i < re; i++) for (let j = c; j < ce; j++) sum += spec.data[off + i * spec.stride + j];
        const t = heatT(spec, sum / ((re - r) * (ce - c)));
        if (Math.abs(t - t0) < 0.01) continue;
        this.rect(x + (c - c0) * cw, y + (r - r0) * ch, (ce - c) * cw, (re - r) * ch, cmapRgb(spec.cmap, t));
      }
    }
    this.out.push('</g>');
  }
  toString() {
    return `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(this.w)}" height="${Math.ceil(this.h)}" ` +
      `viewBox="0 0 ${Math.ceil(this.w)} ${Math.ceil(this.h)}">\n` +
      (this.title ? `<title>${xmlEscape(this.title)}</title>\n` : '') +
      `<rect width="100%" height="100%" fill="#ffffff"/>\n` + this.out.join('\n') + '\n</svg>\n';
  }
}

// A canvas sized in CSS pixels with the device's resolution behind it.
function sizeCanvas(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  const W = Math.max(1, Math.round(w * dpr)), H = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== W) canvas.width = W;
  if (canvas.height !== H) canvas.height = H;
  canvas.style.width = w + 'px';
  canvas.style.height = h + 'px';
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}
function availableHeight(el, min = 360) {
  const top = el.getBoundingClientRect().top + window.scrollY;
  return Math.max(min, Math.floor(window.innerHeight - top - 16));
}

// A tall figure drawn through a viewport-sized sticky canvas: only what is visible is drawn.
class ScrollArea {
  constructor(host, draw) {
    this.host = host;
    this.canvas = $('canvas', host);
    this.spacer = $('.spacer-block', host);
    this.draw = draw;
    this.contentH = 0;
    this.frame = 0;
    host.addEventListener('scroll', () => this.schedule());
  }
  setContentHeight(hgt) {
    this.contentH = hgt;
    const viewH = Math.min(hgt, availableHeight(this.host, 320));
    this.host.style.height = viewH + 'px';
    this.spacer.style.height = Math.max(0, hgt - viewH) + 'px';
  }
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.redraw(); });
  }
  redraw() {
    const w = this.host.clientWidth, hgt = this.host.clientHeight;
    if (!w || !hgt) return;
    const ctx = sizeCanvas(this.canvas, w, hgt);
    this.draw(new CanvasPainter(ctx), this.host.scrollTop, w, hgt);
  }
  get top() { return this.host.scrollTop; }
}

// ---------------------------------------------------------------- tooltip
const tooltip = {
  show(ev, html) {
    const el = $('#tooltip');
    el.innerHTML = html;
    el.hidden = false;
    const pad = 14, r = el.getBoundingClientRect();
    let x = ev.clientX + pad, y = ev.clientY + pad;
    if (x + r.width > window.innerWidth - 4) x = ev.clientX - r.width - pad;
    if (y + r.height > window.innerHeight - 4) y = ev.clientY - r.height - pad;
    el.style.left = x + 'px';
    el.style.top = y + 'px';
  },
  hide() { $('#tooltip').hidden = true; },
};
const esc = s => String(s).replace(/&/g, '&amp;').replace(/[<]/g, '&lt;').replace(/>/g, '&gt;');
const tokHtml = t => `<span class="tt-tok">${esc(showToken(t))}</span>`;
function localXY(ev, canvas) {
  const r = canvas.getBoundingClientRect();
  return [ev.clientX - r.left, ev.clientY - r.top];
}
// The canvas carries data-drawn="<what>" once a figure is on it (the browser tests wait for it).
function markDrawn(canvas, what) { canvas.dataset.drawn = what; }

function layerOptions() { return range(S.an.n_layer).map(l => [l, `${l}`]); }
function headOptions(extra) {
  const opts = range(S.an.n_head).map(hd => [hd, `${hd}`]);
  if (extra) opts.push(['mean', 'mean of heads'], ['rollout', 'rollout (layers 0…L)']);
  return opts;
}
function figureTitle(p, x, y, s, sub) {
  p.text(x, y, s, {size: 15, weight: 'bold'});
  if (sub) p.text(x + textWidth(s, 15, false, 'bold') + 12, y, sub, {size: 13, color: MUTED});
}

// ================================================================ head view
const headsView = {
  name: 'heads',
  layer: 0, active: new Set(), mats: null, loaded: '', focus: null, pinned: null, seq: 0,
  ROW: 22, TOP: 58, MIN_W: 0.01,
  init() {
    this.section = $('#view-heads');
    this.area = new ScrollArea($('#heads-area'), (p, top, w, hgt) => this.draw(p, top, w, hgt));
    this.canvas = this.area.canvas;
    $('#heads-layer').addEventListener('change', e => { this.layer = +e.target.value; this.load(); });
    $('#heads-all').addEventListener('click', () => { this.active = new Set(range(S.an ? S.an.n_head : 0)); this.chips(); this.area.redraw(); });
    $('#heads-none').addEventListener('click', () => { this.active.clear(); this.chips(); this.area.redraw(); });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => { this.focus = null; this.note(); this.area.schedule(); });
    this.canvas.addEventListener('click', () => {
      const f = this.focus;
      this.pinned = f && !(this.pinned && this.pinned.side === f.side && this.pinned.i === f.i) ? f : null;
      this.note();
      this.area.schedule();
    });
  },
  reset() {
    const an = S.an;
    this.layer = Math.min(this.layer, an.n_layer - 1);
    fillSelect($('#heads-layer'), layerOptions(), this.layer);
    if (this.active.size === 0 || [...this.active].some(hd => hd >= an.n_head)) this.active = new Set(range(an.n_head));
    this.chips();
    this.mats = null; this.loaded = ''; this.focus = this.pinned = null;
    this.note();
  },
  chips() {
    const box = $('#heads-chips');
    box.replaceChildren(...range(S.an ? S.an.n_head : 0).map(hd => {
      const on = this.active.has(hd);
      return h('button', {type: 'button', class: 'chip' + (on ? ' on' : ''), 'aria-pressed': String(on),
                          'data-head': hd, title: `head ${hd}: click to show/hide, double-click to show only it`,
                          style: `--head:${headColor(hd)}`,
                          onclick: () => { on ? this.active.delete(hd) : this.active.add(hd); this.chips(); this.area.redraw(); },
                          ondblclick: () => { this.active = new Set([hd]); this.chips(); this.area.redraw(); }},
               h('span', {class: 'swatch'}), `${hd}`);
    }));
  },
  show() { this.load(); },
  async load() {
    const an = S.an;
    if (!an) return;
    const key = `${an.id}|${this.layer}`;
    this.area.setContentHeight(this.contentHeight());
    if (this.loaded === key && this.mats) { this.area.redraw(); return; }
    const seq = ++this.seq;
    viewMsg(this, '');
    try {
      const mats = await getLayerHeads(this.layer);
      if (seq !== this.seq || S.an !== an) return;
      this.mats = mats; this.loaded = key;
      this.area.redraw();
      markDrawn(this.canvas, key);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  contentHeight() { return this.TOP + (S.an ? S.an.T : 0) * this.ROW + 12; },
  layout(W) {
    const T = S.an.T;
    let tw = 0;
    for (let i = 0; i < T; i++) tw = Math.max(tw, textWidth(showToken(S.an.tokens[i]), 14, true));
    const tokW = clamp(Math.ceil(tw) + 16, 64, 190);
    const span = clamp(W - 2 * tokW - 40, 140, 420);
    const x0 = Math.max(8, (W - (2 * tokW + span)) / 2);
    return {tokW, x0, lx: x0 + tokW - 8, x1: x0 + tokW, x2: x0 + tokW + span, rx: x0 + tokW + span + 8};
  },
  // Draws rows visible in [top, top + H) of the whole figure onto a W×H surface.
  draw(p, top, W, H) {
    p.rect(0, 0, W, H, '#ffffff');
    const an = S.an;
    if (!an || !this.mats) return;
    const T = an.T, L = this.layout(W), ROW = this.ROW, TOP = this.TOP;
    const yOf = i => TOP + i * ROW + ROW / 2 - top;
    const first = clamp(Math.floor((top - TOP) / ROW), 0, T - 1);
    const last = clamp(Math.ceil((top + H - TOP) / ROW), 0, T - 1);
    const f = this.pinned || this.focus;
    const heads = [...this.active].sort((a, b) => a - b);
    // lines, bucketed by opacity (opacity = weight, in steps of 1/20) so that each bucket is one path
    for (const hd of heads) {
      const M = this.mats[hd], buckets = [];
      const add = (i, j) => {
        const w = M[i * T + j];
        if (!(w >= this.MIN_W)) return;
        const b = Math.min(19, Math.floor(w * 20));
        (buckets[b] || (buckets[b] = [])).push(L.x1, yOf(i), L.x2, yOf(j));
      };
      if (f && f.side === 'q') { for (let j = 0; j < T; j++) add(f.i, j); }
      else if (f && f.side === 'k') { for (let i = 0; i < T; i++) add(i, f.i); }
      else {
        const qhi = Math.min(T - 1, last + (last - first) + 1);
        for (let i = first; i <= qhi; i++) for (let j = 0; j < T; j++) add(i, j);
      }
      buckets.forEach((segs, b) => { if (segs) p.lines(segs, headColor(hd), 2, (b + 0.5) / 20); });
    }
    // tokens; around the focused token, the other side's tokens are shaded by weight, one stripe per head
    const stripeW = heads.length ? L.tokW / heads.length : 0;
    for (let i = first; i <= last; i++) {
      const y = yOf(i), s = ellipsize(showToken(an.tokens[i]), L.tokW - 10, 14, true);
      const qFocus = f && f.side === 'q' && f.i === i, kFocus = f && f.side === 'k' && f.i === i;
      if (qFocus) p.rect(L.x0, y - ROW / 2 + 1, L.tokW - 4, ROW - 2, HILITE);
      if (kFocus) p.rect(L.rx - 4, y - ROW / 2 + 1, L.tokW - 4, ROW - 2, HILITE);
      if (f) {
        heads.forEach((hd, k) => {
          const w = f.side === 'q' ? this.mats[hd][f.i * T + i] : this.mats[hd][i * T + f.i];
          if (w >= this.MIN_W) {
            const x = f.side === 'q' ? L.rx - 4 + k * stripeW : L.x0 + k * stripeW;
            p.rect(x, y - ROW / 2 + 1, stripeW, ROW - 2, headColor(hd), {alpha: Math.min(0.85, w)});
          }
        });
      }
      p.text(L.lx, y, s, {mono: true, size: 14, align: 'right', weight: qFocus ? 'bold' : 'normal'});
      p.text(L.rx, y, s, {mono: true, size: 14, weight: kFocus ? 'bold' : 'normal'});
    }
    // header band (stays put while the rows scroll under it)
    p.rect(0, 0, W, TOP - 6, '#ffffff');
    figureTitle(p, 12, 16, `Layer ${this.layer}`, heads.length === an.n_head ? 'all heads' :
                heads.length ? `head${heads.length > 1 ? 's' : ''} ${heads.join(', ')}` : 'no head selected');
    p.text(L.lx, TOP - 18, 'query (attends from)', {align: 'right', size: 12, color: MUTED});
    p.text(L.rx, TOP - 18, 'key (attended to)', {size: 12, color: MUTED});
    p.line(0, TOP - 6, W, TOP - 6, GRID, 1);
  },
  hover(ev) {
    if (!S.an || !this.mats) return;
    const [x, y] = localXY(ev, this.canvas);
    const L = this.layout(this.area.host.clientWidth);
    const i = Math.floor((y + this.area.top - this.TOP) / this.ROW);
    let f = null;
    if (y > this.TOP - 6 && i >= 0 && i < S.an.T) {
      if (x >= L.x0 - 4 && x <= L.x1 + 4) f = {side: 'q', i};
      else if (x >= L.x2 - 4 && x <= L.rx + L.tokW) f = {side: 'k', i};
    }
    const same = (a, b) => (!a && !b) || (a && b && a.side === b.side && a.i === b.i);
    this.canvas.style.cursor = f ? 'pointer' : 'default';
    if (same(f, this.focus)) return;
    this.focus = f;
    this.note();
    this.area.schedule();
  },
  note() {
    const el = $('#heads-note'), f = this.pinned || this.focus, an = S.an;
    if (!f || !an || !this.mats) {
      el.innerHTML = 'Each line joins a query token (left) to a key token (right) it attends to; its opacity is the ' +
        'attention weight, its colour the head. Hover a token to isolate its lines, click to pin.';
      return;
    }
    const T = an.T, parts = [];
    for (const hd of [...this.active].sort((a, b) => a - b)) {
      let best = -1, bw = -1;
      for (let k = 0; k < T; k++) {
        const w = f.side === 'q' ? this.mats[hd][f.i * T + k] : this.mats[hd][k * T + f.i];
        if (w > bw) { bw = w; best = k; }
      }
      parts.push(`<span class="hd" style="--head:${headColor(hd)}">${hd}</span> → ${tokHtml(an.tokens[best])}<sub>${best}</sub> ${fmt(bw, 2)}`);
    }
    const lead = f.side === 'q' ? `Query ${tokHtml(an.tokens[f.i])}<sub>${f.i}</sub> attends most, per head, to` :
                                  `Key ${tokHtml(an.tokens[f.i])}<sub>${f.i}</sub> is attended most, per head, by`;
    el.innerHTML = `${this.pinned ? '<b>pinned</b> · ' : ''}${lead}: ${parts.join(' · ') || '(no head selected)'}`;
  },
  figure() {
    const an = S.an, W = this.area.host.clientWidth || 900;
    const all = an.T <= 300;
    const top = all ? 0 : this.area.top, H = all ? this.contentHeight() : this.area.host.clientHeight;
    return {w: W, h: H, draw: p => this.draw(p, top, W, H),
            name: `heads-L${this.layer}`, title: `Attention, layer ${this.layer}`};
  },
  json() {
    const heads = [...this.active].sort((a, b) => a - b);
    return {view: 'heads', layer: this.layer, heads,
            attention: Object.fromEntries(heads.map(hd => [hd, rows(this.mats[hd], S.an.T, S.an.T)]))};
  },
};

// ================================================================ model view
const modelView = {
  name: 'model', hoverCell: null,
  init() {
    this.section = $('#view-model');
    this.canvas = $('#model-canvas');
    this.canvas.addEventListener('mousemove', ev => {
      const c = this.cellAt(ev);
      this.canvas.style.cursor = c ? 'pointer' : 'default';
      if (c) tooltip.show(ev, `layer ${c[0]}, head ${c[1]}<br><span class="muted">click to open in the matrix view</span>`);
      else tooltip.hide();
      if (String(c) !== String(this.hoverCell)) { this.hoverCell = c; this.render(); }
    });
    this.canvas.addEventListener('mouseleave', () => { tooltip.hide(); this.hoverCell = null; this.render(); });
    this.canvas.addEventListener('click', ev => {
      const c = this.cellAt(ev);
      if (c) { tooltip.hide(); matrixView.open(c[0], c[1]); }
    });
  },
  reset() { this.hoverCell = null; this.maxes = null; },
  show() { this.render(); },
  layout(W) {
    const an = S.an, left = 64, top = 62;
    const cell = clamp(Math.floor((W - left - 16) / an.n_head) - 10, 44, 150);
    return {left, top, cell, gap: 10, w: left + an.n_head * (cell + 10) + 6, h: top + an.n_layer * (cell + 10) + 8};
  },
  cellAt(ev) {
    if (!S.an) return null;
    const [x, y] = localXY(ev, this.canvas), L = this.layout($('#model-host').clientWidth);
    const hd = Math.floor((x - L.left) / (L.cell + L.gap)), l = Math.floor((y - L.top) / (L.cell + L.gap));
    if (hd < 0 || l < 0 || hd >= S.an.n_head || l >= S.an.n_layer) return null;
    if (x - L.left - hd * (L.cell + L.gap) > L.cell || y - L.top - l * (L.cell + L.gap) > L.cell) return null;
    return [l, hd];
  },
  thumbMax(l, hd) {
    const an = S.an, n = an.thumb_size * an.thumb_size, off = (l * an.n_head + hd) * n;
    let m = 0;
    for (let k = 0; k < n; k++) m = Math.max(m, an.thumbs[off + k]);
    return m || 1;
  },
  draw(p, W, hover) {
    const an = S.an, L = this.layout(W), ts = an.thumb_size;
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, 'Model view', `${an.n_layer} layers × ${an.n_head} heads · ${an.T} tokens` +
                (ts < an.T ? ` (thumbnails pooled to ${ts}×${ts})` : ''));
    p.text(L.left, 40, 'head →', {size: 12, color: MUTED});
    p.text(12, 40, 'layer ↓', {size: 12, color: MUTED});
    for (let hd = 0; hd < an.n_head; hd++) {
      p.text(L.left + hd * (L.cell + L.gap) + L.cell / 2, L.top - 10, String(hd), {align: 'center', size: 13, color: MUTED});
    }
    for (let l = 0; l < an.n_layer; l++) {
      const y = L.top + l * (L.cell + L.gap);
      p.text(L.left - 14, y + L.cell / 2, String(l), {align: 'right', size: 13, color: MUTED});
      for (let hd = 0; hd < an.n_head; hd++) {
        const x = L.left + hd * (L.cell + L.gap);
        const spec = {data: an.thumbs, offset: (l * an.n_head + hd) * ts * ts, stride: ts, rows: ts, cols: ts,
                      vmin: 0, vmax: this.thumbMax(l, hd), cmap: 'blues', gamma: 0.5};
        p.heatmap(spec, 0, ts, 0, ts, x, y, L.cell / ts, L.cell / ts);
        const on = hover && hover[0] === l && hover[1] === hd;
        p.rect(x - (on ? 2 : 0.5), y - (on ? 2 : 0.5), L.cell + (on ? 4 : 1), L.cell + (on ? 4 : 1), null,
               {stroke: on ? ACCENT : GRID, lineWidth: on ? 3 : 1});
      }
    }
  },
  render() {
    if (!S.an) return;
    const W = $('#model-host').clientWidth, L = this.layout(W);
    const ctx = sizeCanvas(this.canvas, L.w, L.h);
    this.draw(new CanvasPainter(ctx), W, this.hoverCell);
    markDrawn(this.canvas, S.an.id);
  },
  figure() {
    const W = $('#model-host').clientWidth || 900, L = this.layout(W);
    return {w: L.w, h: L.h, draw: p => this.draw(p, W, null), name: 'model', title: 'Attention, every layer and head'};
  },
  json() {
    const an = S.an, ts = an.thumb_size, n = ts * ts;
    return {view: 'model', thumb_size: ts,
            thumbnails: range(an.n_layer).map(l => range(an.n_head).map(hd =>
              rows(an.thumbs.subarray((l * an.n_head + hd) * n, (l * an.n_head + hd + 1) * n), ts, ts)))};
  },
};

// ================================================================ matrix view
const matrixView = {
  name: 'matrix', layer: 0, head: '0', mat: null, loaded: '', seq: 0,
  zoom: 1, ox: 0, oy: 0, hoverCell: null, drag: null,
  init() {
    this.section = $('#view-matrix');
    this.canvas = $('#matrix-canvas');
    $('#matrix-layer').addEventListener('change', e => { this.layer = +e.target.value; this.load(); });
    $('#matrix-head').addEventListener('change', e => { this.head = e.target.value; this.load(); });
    $('#matrix-cmap').addEventListener('change', () => this.render());
    $('#matrix-scale').addEventListener('change', () => this.render());
    $('#matrix-zoom-in').addEventListener('click', () => this.zoomBy(1.5));
    $('#matrix-zoom-out').addEventListener('click', () => this.zoomBy(1 / 1.5));
    $('#matrix-zoom-fit').addEventListener('click', () => { this.zoom = 1; this.ox = this.oy = 0; this.render(); });
    const c = this.canvas;
    c.addEventListener('wheel', ev => {
      if (!this.mat) return;
      ev.preventDefault();
      const [x, y] = localXY(ev, c);
      this.zoomBy(Math.pow(1.0015, -ev.deltaY), x, y);
    }, {passive: false});
    c.addEventListener('mousedown', ev => {
      if (!this.mat) return;
      this.drag = {x: ev.clientX, y: ev.clientY, ox: this.ox, oy: this.oy};
      c.classList.add('dragging');
    });
    window.addEventListener('mouseup', () => { this.drag = null; c.classList.remove('dragging'); });
    window.addEventListener('mousemove', ev => {
      if (!this.drag) return;
      const L = this.layout(), cell = L.A / S.an.T * this.zoom;
      this.ox = this.drag.ox - (ev.clientX - this.drag.x) / cell;
      this.oy = this.drag.oy - (ev.clientY - this.drag.y) / cell;
      this.clampPan();
      this.render();
    });
    c.addEventListener('mousemove', ev => this.hover(ev));
    c.addEventListener('mouseleave', () => { tooltip.hide(); this.hoverCell = null; this.render(); });
    c.addEventListener('dblclick', () => { this.zoom = 1; this.ox = this.oy = 0; this.render(); });
  },
  reset() {
    this.layer = Math.min(this.layer, S.an.n_layer - 1);
    if (/^\d+$/.test(this.head) && +this.head >= S.an.n_head) this.head = '0';
    fillSelect($('#matrix-layer'), layerOptions(), this.layer);
    fillSelect($('#matrix-head'), headOptions(true), this.head);
    this.mat = null; this.loaded = ''; this.zoom = 1; this.ox = this.oy = 0;
  },
  open(layer, head) {
    this.layer = layer; this.head = String(head);
    $('#matrix-layer').value = String(layer);
    $('#matrix-head').value = String(head);
    this.zoom = 1; this.ox = this.oy = 0;
    selectView('matrix');
  },
  show() { this.load(); },
  async load() {
    const an = S.an;
    if (!an) return;
    const key = `${an.id}|${this.layer}|${this.head}`;
    if (this.loaded === key && this.mat) { this.render(); return; }
    const seq = ++this.seq;
    viewMsg(this, '');
    try {
      const m = await getMatrix(this.layer, this.head);
      if (seq !== this.seq || S.an !== an) return;
      this.mat = m; this.loaded = key;
      this.render();
    } catch (e) { if (seq === this.seq) { this.mat = null; this.render(); showError(this, e); } }
  },
  headLabel() {
    return this.head === 'mean' ? 'mean of heads' : this.head === 'rollout' ? `rollout through layers 0–${this.layer}` : `head ${this.head}`;
  },
  layout() {
    const an = S.an, W = $('#matrix-host').clientWidth || 900;
    let tw = 0;
    for (const t of an.tokens) tw = Math.max(tw, textWidth(showToken(t), 12, true));
    const lab = clamp(Math.ceil(tw) + 14, 52, 120);
    const left = lab + 6, top = 34 + lab, right = 90;
    const Hmax = availableHeight($('#matrix-host'), 600);
    const A = Math.max(120, Math.min(W - left - right - 8, Hmax - top - 14));
    return {W, left, top, A, lab, w: Math.min(W, left + A + right), h: top + A + 14};
  },
  clampPan() {
    const T = S.an.T, vis = T / this.zoom;
    this.ox = clamp(this.ox, 0, T - vis);
    this.oy = clamp(this.oy, 0, T - vis);
  },
  zoomBy(f, px, py) {
    if (!this.mat) return;
    const L = this.layout(), T = S.an.T;
    const maxZoom = Math.max(1, 48 * T / L.A);
    const nz = clamp(this.zoom * f, 1, maxZoom);
    const cx = px === undefined ? L.left + L.A / 2 : px, cy = py === undefined ? L.top + L.A / 2 : py;
    const cell = L.A / T * this.zoom, ncell = L.A / T * nz;
    const gx = this.ox + (cx - L.left) / cell, gy = this.oy + (cy - L.top) / cell;
    this.zoom = nz;
    this.ox = gx - (cx - L.left) / ncell;
    this.oy = gy - (cy - L.top) / ncell;
    this.clampPan();
    this.render();
  },
  spec() {
    return {data: this.mat, stride: S.an.T, rows: S.an.T, cols: S.an.T, vmin: 0, vmax: 1,
            cmap: $('#matrix-cmap').value, gamma: +$('#matrix-scale').value};
  },
  draw(p, L, hover) {
    const an = S.an, T = an.T, spec = this.spec();
    const cell = L.A / T * this.zoom;
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, `Layer ${this.layer} · ${this.headLabel()}`, `${T} tokens`);
    const r0 = Math.floor(this.oy), c0 = Math.floor(this.ox);
    const r1 = Math.min(T, Math.ceil(this.oy + L.A / cell)), c1 = Math.min(T, Math.ceil(this.ox + L.A / cell));
    const x0 = L.left + (c0 - this.ox) * cell, y0 = L.top + (r0 - this.oy) * cell;
    p.clip(L.left, L.top, L.A, L.A);
    p.heatmap(spec, r0, r1, c0, c1, x0, y0, cell, cell);
    if (cell >= 6 && r1 - r0 <= 200) {  // cell borders when cells are big enough to read one by one
      const segs = [];
      for (let r = r0; r <= r1; r++) segs.push(L.left, y0 + (r - r0) * cell, L.left + L.A, y0 + (r - r0) * cell);
      for (let c = c0; c <= c1; c++) segs.push(x0 + (c - c0) * cell, L.top, x0 + (c - c0) * cell, L.top + L.A);
      p.lines(segs, '#ffffff', 0.6, 0.6);
    }
    if (hover) {
      p.rect(x0 + (hover[1] - c0) * cell, y0 + (hover[0] - r0) * cell, cell, cell, null, {stroke: '#e0301e', lineWidth: 2});
    }
    p.unclip();
    p.rect(L.left - 0.5, L.top - 0.5, L.A + 1, L.A + 1, null, {stroke: '#9aa5b5'});
    // labels: tokens when a cell is tall enough for text, otherwise position ticks
    const fs = Math.min(13, Math.floor(cell) - 1);
    p.clip(0, L.top, L.left - 2, L.A);
    if (fs >= 9) {
      for (let r = r0; r < r1; r++) {
        const hl = hover && hover[0] === r;
        p.text(L.left - 6, y0 + (r - r0 + 0.5) * cell, ellipsize(showToken(an.tokens[r]), L.lab - 8, fs, true),
               {align: 'right', size: fs, mono: true, weight: hl ? 'bold' : 'normal', color: hl ? '#c0271a' : INK});
      }
    } else this.ticks(p, r0, r1, cell, r => [L.left - 6, y0 + (r - r0 + 0.5) * cell], 'right');
    p.unclip();
    p.clip(L.left, 30, L.A, L.top - 30);
    if (fs >= 9) {
      const upright = range(c1 - c0).every(k => textWidth(showToken(an.tokens[c0 + k]), fs, true) <= cell - 1);
      for (let c = c0; c < c1; c++) {
        const hl = hover && hover[1] === c, s = showToken(an.tokens[c]);
        const o = {size: fs, mono: true, weight: hl ? 'bold' : 'normal', color: hl ? '#c0271a' : INK};
        if (upright) p.text(x0 + (c - c0 + 0.5) * cell, L.top - 6, s, Object.assign(o, {align: 'center', baseline: 'bottom'}));
        else p.text(x0 + (c - c0 + 0.5) * cell, L.top - 6, ellipsize(s, L.lab - 8, fs, true), Object.assign(o, {rotate: -90}));
      }
    } else this.ticks(p, c0, c1, cell, c => [x0 + (c - c0 + 0.5) * cell, L.top - 6], 'left', -90);
    p.unclip();
    p.text(L.left - 6, L.top - 24, 'key →', {size: 11, color: MUTED, align: 'right'});
    p.text(L.left - 6, L.top - 10, 'query ↓', {size: 11, color: MUTED, align: 'right'});
    // colour bar
    const bx = L.left + L.A + 22, bh = L.A, n = 256;
    const ramp = new Float32Array(n);
    for (let k = 0; k < n; k++) ramp[k] = 1 - k / (n - 1);
    p.heatmap({data: ramp, stride: 1, rows: n, cols: 1, vmin: 0, vmax: 1, cmap: spec.cmap, gamma: spec.gamma},
              0, n, 0, 1, bx, L.top, 14, bh / n);
    p.rect(bx - 0.5, L.top - 0.5, 15, bh + 1, null, {stroke: '#9aa5b5'});
    for (const v of [0, 0.05, 0.25, 0.5, 1]) {
      if (spec.gamma === 1 && v === 0.05) continue;
      const y = L.top + bh * (1 - heatT(spec, v));
      p.line(bx + 14, y, bx + 18, y, '#5b6575', 1);
      p.text(bx + 21, y, String(v), {size: 11, color: MUTED});
    }
    p.text(bx, L.top - 10, 'weight', {size: 11, color: MUTED, baseline: 'bottom'});
  },
  ticks(p, a, b, cell, at, align, rotate) {
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    const step = steps.find(s => s * cell >= 28) || 1000;
    for (let i = Math.ceil(a / step) * step; i < b; i += step) {
      const [x, y] = at(i);
      p.text(x, y, String(i), {size: 11, color: MUTED, align, rotate});
    }
  },
  render() {
    const an = S.an;
    if (!an) return;
    const L = this.layout();
    const ctx = sizeCanvas(this.canvas, L.w, L.h);
    if (!this.mat) return;
    this.draw(new CanvasPainter(ctx), L, this.hoverCell);
    $('#matrix-zoom-label').textContent = this.zoom > 1.001 ? `zoom ×${this.zoom.toFixed(1)}` : 'whole matrix';
    markDrawn(this.canvas, this.loaded);
  },
  hover(ev) {
    if (!this.mat || this.drag) { tooltip.hide(); return; }
    const L = this.layout(), T = S.an.T, cell = L.A / T * this.zoom;
    const [x, y] = localXY(ev, this.canvas);
    let c = null;
    if (x >= L.left && x < L.left + L.A && y >= L.top && y < L.top + L.A) {
      c = [Math.floor(this.oy + (y - L.top) / cell), Math.floor(this.ox + (x - L.left) / cell)];
      if (c[0] >= T || c[1] >= T) c = null;
    }
    this.canvas.style.cursor = this.zoom > 1 ? 'grab' : 'crosshair';
    if (c) {
      const [i, j] = c, w = this.mat[i * T + j];
      tooltip.show(ev, `query ${i} ${tokHtml(S.an.tokens[i])} → key ${j} ${tokHtml(S.an.tokens[j])}<br>` +
                       `weight <b>${w.toFixed(4)}</b> <span class="muted">(${this.headLabel()}, layer ${this.layer})</span>`);
    } else tooltip.hide();
    if (String(c) !== String(this.hoverCell)) { this.hoverCell = c; this.render(); }
  },
  figure() {
    const L = this.layout();
    return {w: L.w, h: L.h, draw: p => this.draw(p, L, null), name: `matrix-L${this.layer}-${this.head}`,
            title: `Attention, layer ${this.layer}, ${this.headLabel()}`};
  },
  json() {
    return {view: 'matrix', layer: this.layer, head: this.head, matrix: rows(this.mat, S.an.T, S.an.T)};
  },
};

// ================================================================ neuron view
const neuronView = {
  name: 'neuron', layer: 0, head: 0, query: -1, data: null, loaded: '', seq: 0, hoverCell: null,
  ROW: 20, TOP: 96,
  init() {
    this.section = $('#view-neuron');
    this.area = new ScrollArea($('#neuron-area'), (p, top, w, hgt) => this.draw(p, top, w, hgt));
    this.canvas = this.area.canvas;
    $('#neuron-layer').addEventListener('change', e => { this.layer = +e.target.value; this.load(); });
    $('#neuron-head').addEventListener('change', e => { this.head = +e.target.value; this.load(); });
    $('#neuron-query').addEventListener('change', e => this.setQuery(+e.target.value));
    $('#neuron-prev').addEventListener('click', () => this.setQuery(this.query - 1));
    $('#neuron-next').addEventListener('click', () => this.setQuery(this.query + 1));
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
  },
  reset() {
    const an = S.an;
    this.layer = Math.min(this.layer, an.n_layer - 1);
    this.head = Math.min(this.head, an.n_head - 1);
    this.query = an.T - 1;
    fillSelect($('#neuron-layer'), layerOptions(), this.layer);
    fillSelect($('#neuron-head'), headOptions(false), this.head);
    fillSelect($('#neuron-query'), an.tokens.map((t, i) => [i, `${i} ${quote(t)}`]), this.query);
    const strip = $('#neuron-tokens');
    strip.replaceChildren(...an.tokens.flatMap((t, i) => [
      h('span', {class: 'tok', 'data-i': i, title: `position ${i}`, onclick: () => this.setQuery(i)}, flowToken(t)),
      String(t).includes('\n') ? h('br') : null].filter(Boolean)));
    this.data = null; this.loaded = '';
  },
  setQuery(q) {
    if (!S.an) return;
    this.query = clamp(q, 0, S.an.T - 1);
    $('#neuron-query').value = String(this.query);
    this.load();
  },
  show() { this.load(); },
  async load() {
    const an = S.an;
    if (!an) return;
    $$('#neuron-tokens .tok').forEach(el => el.classList.toggle('sel', +el.dataset.i === this.query));
    const key = `${an.id}|${this.layer}|${this.head}|${this.query}`;
    if (this.loaded === key && this.data) { this.area.redraw(); return; }
    const seq = ++this.seq;
    viewMsg(this, '');
    try {
      const r = await api('GET', apiUrl('/api/neuron', [['id', an.id], ['layer', this.layer], ['head', this.head], ['query', this.query]]));
      if (seq !== this.seq || S.an !== an) return;
      this.data = this.prepare(r);
      this.loaded = key;
      this.area.setContentHeight(this.TOP + this.data.n * this.ROW + 34);
      this.area.redraw();
      const sel = $('#neuron-tokens .tok.sel');
      if (sel) sel.scrollIntoView({block: 'nearest', inline: 'nearest'});
      markDrawn(this.canvas, key);
    } catch (e) {
      if (seq !== this.seq) return;
      this.data = null;
      this.area.setContentHeight(this.TOP);
      this.area.redraw();
      showError(this, e);
    }
  },
  prepare(r) {
    // qk, scores and weights follow from q and k; a response (e.g. a static page keeping its size down)
    // may leave them out.
    const d = r.head_dim, n = r.k.length;
    if (!r.qk) r = Object.assign({}, r, {qk: r.k.map(kj => kj.map((x, c) => x * r.q[c]))});
    if (!r.scores) r = Object.assign({}, r, {scores: r.qk.map(row => row.reduce((a, b) => a + b, 0) / Math.sqrt(d))});
    if (!r.weights) {
      const m = Math.max(...r.scores), e = r.scores.map(x => Math.exp(x - m)), z = e.reduce((a, b) => a + b, 0);
      r = Object.assign({}, r, {weights: e.map(x => x / z)});
    }
    const k = new Float32Array(n * d), qk = new Float32Array(n * d), q = Float32Array.from(r.q);
    let kmax = 0, qkmax = 0;
    for (let j = 0; j < n; j++) {
      for (let c = 0; c < d; c++) {
        k[j * d + c] = r.k[j][c]; qk[j * d + c] = r.qk[j][c];
        kmax = Math.max(kmax, Math.abs(r.k[j][c])); qkmax = Math.max(qkmax, Math.abs(r.qk[j][c]));
      }
    }
    for (const x of q) kmax = Math.max(kmax, Math.abs(x));
    let best = 0;
    r.weights.forEach((w, j) => { if (w > r.weights[best]) best = j; });
    return {r, d, n, q, k, qk, kmax: kmax || 1, qkmax: qkmax || 1, best};
  },
  layout(W) {
    const d = this.data.d, labW = 130, gap = 26, scoreW = 64, barW = 160;
    const cw = clamp(Math.floor((W - 16 - labW - 2 * gap - scoreW - gap - barW - 60) / (2 * d)), 3, 12);
    const xk = 12 + labW, xqk = xk + d * cw + gap, xs = xqk + d * cw + gap, xw = xs + scoreW + gap;
    return {cw, labW, xk, xqk, xs, xw, barW, scoreW, w: xw + barW + 60};
  },
  draw(p, top, W, H) {
    p.rect(0, 0, W, H, '#ffffff');
    const an = S.an, D = this.data;
    if (!an || !D) return;
    const L = this.layout(W), ROW = this.ROW, TOP = this.TOP, d = D.d, cw = L.cw, r = D.r;
    const first = clamp(Math.floor((top - TOP) / ROW), 0, D.n - 1), last = clamp(Math.ceil((top + H - TOP) / ROW), 0, D.n - 1);
    const y0 = TOP + first * ROW - top;
    const kspec = {data: D.k, stride: d, rows: D.n, cols: d, vmin: -D.kmax, vmax: D.kmax, cmap: 'rdbu'};
    const qkspec = {data: D.qk, stride: d, rows: D.n, cols: d, vmin: -D.qkmax, vmax: D.qkmax, cmap: 'rdbu'};
    for (let j = first; j <= last; j++) {
      const y = TOP + j * ROW - top;
      if (j === D.best) p.rect(8, y, L.w - 8, ROW, '#fff4cc');
      const tok = ellipsize(showToken(an.tokens[j]), L.labW - 46, 13, true);
      p.text(L.xk - 10, y + ROW / 2, tok, {align: 'right', mono: true, size: 13, weight: j === r.query ? 'bold' : 'normal'});
      p.text(14, y + ROW / 2, String(j), {size: 11, color: MUTED});
    }
    p.heatmap(kspec, first, last + 1, 0, d, L.xk, y0 + 2, cw, ROW);
    p.heatmap(qkspec, first, last + 1, 0, d, L.xqk, y0 + 2, cw, ROW);
    const segs = [];
    for (let j = first; j <= last + 1; j++) {
      const y = TOP + j * ROW - top + 2;
      segs.push(L.xk, y, L.xk + d * cw, y, L.xqk, y, L.xqk + d * cw, y);
    }
    p.lines(segs, '#ffffff', 2, 1);
    let smax = 0;
    for (const s of r.scores) smax = Math.max(smax, Math.abs(s));
    for (let j = first; j <= last; j++) {
      const y = TOP + j * ROW - top + ROW / 2 + 1, w = r.weights[j], s = r.scores[j];
      p.text(L.xs + L.scoreW - 2, y, s.toFixed(2), {align: 'right', size: 12, mono: true,
                                                   color: s >= 0 ? '#a3261c' : '#1d4f91'});
      p.text(L.xs + L.scoreW + 6, y, '→', {size: 12, color: MUTED});
      p.rect(L.xw, y - 6, L.barW, 12, '#eef1f6');
      p.rect(L.xw, y - 6, Math.max(0.5, w * L.barW), 12, ACCENT);
      p.text(L.xw + L.barW + 6, y, w.toFixed(3), {size: 12, mono: true, weight: j === D.best ? 'bold' : 'normal'});
    }
    // header: q, column titles
    p.rect(0, 0, W, TOP - 2, '#ffffff');
    figureTitle(p, 12, 16, `Neuron view · layer ${r.layer} · head ${r.head}`,
                `query ${r.query} ${quote(an.tokens[r.query])} over keys 0…${r.keys - 1}, head_dim ${d}`);
    p.text(L.xk - 10, 46, `q  ${quote(an.tokens[r.query])}`, {align: 'right', size: 13, weight: 'bold'});
    p.heatmap({data: D.q, stride: d, rows: 1, cols: d, vmin: -D.kmax, vmax: D.kmax, cmap: 'rdbu'}, 0, 1, 0, d, L.xk, 38, cw, 16);
    p.rect(L.xk - 0.5, 37.5, d * cw + 1, 17, null, {stroke: '#9aa5b5'});
    p.text(L.xqk, 46, `scale ±${D.kmax.toFixed(2)} (q, k)  ·  ±${D.qkmax.toFixed(2)} (q ⊙ k)`, {size: 11, color: MUTED});
    const hy = TOP - 14;
    p.text(L.xk - 10, hy, 'key', {align: 'right', size: 12, color: MUTED});
    p.text(L.xk, hy, 'k_j', {size: 12, color: MUTED});
    p.text(L.xqk, hy, 'q ⊙ k_j', {size: 12, color: MUTED});
    p.text(L.xs + L.scoreW - 2, hy, 'score', {size: 12, color: MUTED, align: 'right'});
    p.text(L.xw, hy, 'softmax weight', {size: 12, color: MUTED});
    p.line(0, TOP - 2, W, TOP - 2, GRID, 1);
    // footer, once the last row is on screen
    const fy = TOP + D.n * ROW - top + 16;
    if (fy < H) {
      const sum = r.weights.reduce((a, b) => a + b, 0);
      p.text(L.xw, fy, `Σ = ${sum.toFixed(3)}`, {size: 12, color: MUTED});
      p.text(L.xs + L.scoreW - 2, fy, `÷ √${d}`, {size: 12, color: MUTED, align: 'right'});
    }
  },
  hover(ev) {
    const D = this.data;
    if (!D) return;
    const [x, y] = localXY(ev, this.canvas), L = this.layout(this.area.host.clientWidth);
    const j = Math.floor((y + this.area.top - this.TOP - 2) / this.ROW);
    let html = null;
    if (y >= 38 && y < 54 && x >= L.xk && x < L.xk + D.d * L.cw) {
      const c = Math.floor((x - L.xk) / L.cw);
      html = `q[${c}] = <b>${D.q[c].toFixed(4)}</b>`;
    } else if (y >= this.TOP && j >= 0 && j < D.n) {
      const tok = `key ${j} ${tokHtml(S.an.tokens[j])}`;
      if (x >= L.xk && x < L.xk + D.d * L.cw) {
        const c = Math.floor((x - L.xk) / L.cw);
        html = `${tok}<br>k[${c}] = <b>${D.k[j * D.d + c].toFixed(4)}</b>`;
      } else if (x >= L.xqk && x < L.xqk + D.d * L.cw) {
        const c = Math.floor((x - L.xqk) / L.cw);
        html = `${tok}<br>q[${c}]·k[${c}] = ${D.q[c].toFixed(3)} × ${D.k[j * D.d + c].toFixed(3)} = <b>${D.qk[j * D.d + c].toFixed(4)}</b>`;
      } else if (x >= L.xs) {
        html = `${tok}<br>score ${D.r.scores[j].toFixed(4)} → weight <b>${D.r.weights[j].toFixed(4)}</b>`;
      }
    }
    if (html) tooltip.show(ev, html); else tooltip.hide();
  },
  figure() {
    const W = this.area.host.clientWidth || 900, all = this.data.n <= 300;
    const top = all ? 0 : this.area.top, H = all ? this.TOP + this.data.n * this.ROW + 34 : this.area.host.clientHeight;
    const w = Math.min(W, this.layout(W).w);
    return {w, h: H, draw: p => this.draw(p, top, w, H), name: `neuron-L${this.layer}-H${this.head}-q${this.query}`,
            title: `Neuron view, layer ${this.layer}, head ${this.head}, query ${this.query}`};
  },
  json() { return Object.assign({view: 'neuron'}, this.data.r); },
};

// ================================================================ GPT explorer
const genView = {
  name: 'generate', session: null, tokens: [], steps: new Map(), selected: -1, layer: 0, head: 'mean',
  running: false, cancel: false, history: [], cache: null,
  init() {
    this.section = $('#view-generate');
    this.canvas = $('#gen-canvas');
    $('#gen-form').addEventListener('submit', ev => { ev.preventDefault(); this.start(); });
    $('#gen-next').addEventListener('click', () => this.run(1));
    $('#gen-run').addEventListener('click', () => this.run(clamp(+$('#gen-n').value || 1, 1, S.limits ? S.limits.max_new_tokens : 512)));
    $('#gen-cancel').addEventListener('click', () => { this.cancel = true; });
    $('#gen-stop').addEventListener('click', () => this.stop());
    $('#gen-layer').addEventListener('change', e => { this.layer = +e.target.value; this.render(); });
    $('#gen-head').addEventListener('change', e => { this.head = e.target.value; this.render(); });
    this.canvas.addEventListener('click', ev => this.clickGrid(ev));
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    window.addEventListener('pagehide', () => {
      if (this.session && !STATIC) {
        fetch('/api/generate/stop', {method: 'POST', keepalive: true, headers: {'Content-Type': 'application/json'},
                                     body: JSON.stringify({session: this.session})}).catch(() => {});
      }
    });
    // A standalone page: a generation recorded when the page was made (ATTN_STATIC.generation) is replayed
    // step by step; without one the tab needs the live server.
    this.replay = STATIC && STATIC.generation && Array.isArray(STATIC.generation.steps) ? STATIC.generation : null;
    if (this.replay) {
      const q = this.replay.request;
      $('#gen-prompt').value = q.prompt; $('#gen-temperature').value = q.temperature; $('#gen-topk').value = q.top_k;
      $('#gen-topp').value = q.top_p; $('#gen-seed').value = q.seed;
      $$('#gen-form input:not(#gen-n)').forEach(el => { el.readOnly = true; });
      $('#gen-n').value = String(this.replay.steps.length);
      viewMsg(this, `Recorded when this page was made: ${this.replay.steps.length} tokens after the prompt. ` +
                    'Start, then Next token or Generate to step through them (a new prompt needs attn explore).', 'offline');
    } else if (STATIC) {
      viewMsg(this, 'The GPT explorer needs the live server (attn explore): not available offline.', 'offline');
      $$('#gen-form input, #gen-form button').forEach(el => { el.disabled = true; });
    }
  },
  // The answer to /api/generate/start or /next: the server's, or in a standalone page the recorded one.
  async request(path, body) {
    if (!this.replay) return api('POST', path, body);
    if (path === '/api/generate/start') return this.replay.start;
    if (path === '/api/generate/next') {
      const r = this.replay.steps[this.steps.size];
      if (!r) throw new ApiError(`this page recorded ${this.replay.steps.length} tokens; that was the last one`);
      return r;
    }
    return {session: body.session, stopped: true};
  },
  setupSelects() {
    const m = S.model;
    if (!m) return;
    fillSelect($('#gen-layer'), range(m.n_layer).map(l => [l, String(l)]), this.layer);
    fillSelect($('#gen-head'), [...range(m.n_head).map(hd => [hd, String(hd)]), ['mean', 'mean of heads']], this.head);
  },
  reset() {},
  show() { this.render(); },
  buttons() {
    const live = !!this.session && (!STATIC || !!this.replay);
    $('#gen-start').disabled = this.running || (!!STATIC && !this.replay);
    $('#gen-next').disabled = !live || this.running;
    $('#gen-run').disabled = !live || this.running;
    $('#gen-stop').disabled = !live || this.running;
    $('#gen-cancel').hidden = !this.running;
  },
  async start() {
    if (this.running || (STATIC && !this.replay)) return;
    const body = {prompt: $('#gen-prompt').value,
                  temperature: Number($('#gen-temperature').value), top_k: Math.round(Number($('#gen-topk').value)),
                  top_p: Number($('#gen-topp').value), seed: Math.round(Number($('#gen-seed').value))};
    for (const k of ['temperature', 'top_k', 'top_p', 'seed']) {
      if (!Number.isFinite(body[k])) { viewMsg(this, `error: ${k} must be a number`); return; }
    }
    if (!body.prompt) { viewMsg(this, 'error: the prompt is empty'); return; }
    viewMsg(this, '');
    this.running = true; this.buttons();
    try {
      if (this.session) await this.stop(true);
      setStatus('encoding the prompt and prefilling the KV cache…', 'busy');
      const r = await this.request('/api/generate/start', body);
      this.session = r.session;
      this.tokens = r.tokens.map((t, i) => ({text: t, position: i, gen: false}));
      this.steps = new Map(); this.selected = -1; this.history = [r.cache.tokens]; this.cache = r.cache;
      this.windowStart = 0;
      setStatus(`session ${r.session}: prompt of ${r.tokens.length} tokens prefilled; press Next token`, 'ok');
      this.renderText(); this.renderCache(); this.render();
    } catch (e) { showError(this, e); }
    this.running = false; this.buttons();
  },
  async run(n) {
    if (!this.session || this.running) return;
    this.running = true; this.cancel = false; this.buttons();
    viewMsg(this, '');
    try {
      for (let k = 0; k < n && !this.cancel; k++) {
        setStatus(n > 1 ? `generating token ${k + 1} of ${n}…` : 'generating the next token…', 'busy');
        const r = await this.request('/api/generate/next', {session: this.session});
        const att = decodeF32(r.attention);
        const [nl, nh, Sn] = r.shape;
        if (att.length !== nl * nh * Sn) throw new ApiError(`attention has ${att.length} floats, shape says ${r.shape}`);
        this.steps.set(r.position, Object.assign({}, r, {att}));
        this.tokens[r.position] = {text: r.token, position: r.position, gen: true};
        this.selected = r.position;
        this.cache = r.cache; this.windowStart = r.window_start;
        this.history.push(r.cache.tokens);
        this.renderText(); this.renderCache(); this.render();
      }
      setStatus(`${this.steps.size} tokens generated; the sequence is ${this.tokens.length} tokens` +
                (this.cancel ? ' (cancelled)' : ''), 'ok');
    } catch (e) {
      showError(this, e);
      if (e instanceof ApiError && e.status === 404) { this.session = null; }
    }
    this.running = false; this.buttons();
  },
  async stop(quiet) {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.buttons();
    try {
      await this.request('/api/generate/stop', {session: s});
      if (!quiet) setStatus(`session ${s} stopped; its KV cache is freed`, 'ok');
    } catch (e) { if (!quiet) showError(this, e); }
  },
  renderText() {
    const box = $('#gen-text'), step = this.steps.get(this.selected);
    const spans = this.tokens.map(t => {
      const cls = ['tok', t.gen ? 'gen' : 'prompt'];
      let style = null, title = `position ${t.position}` + (t.gen ? ' (generated: click to inspect)' : ' (prompt)');
      if (t.position === this.selected) cls.push('sel');
      if (step && t.position < this.selected) {
        if (t.position < step.window_start) { cls.push('outside'); title += ', outside the window'; }
        else {
          const w = this.rowOf(step)[t.position - step.window_start];
          const tt = Math.sqrt(clamp(w, 0, 1));
          style = `background:${cmapRgb('blues', tt * 0.85)};color:${inkOn('blues', tt * 0.85)}`;
          title += `, weight ${w.toFixed(4)}`;
        }
      }
      const span = h('span', {class: cls.join(' '), 'data-pos': t.position, title, style,
                              onclick: t.gen ? () => { this.selected = t.position; this.renderText(); this.render(); } : null},
                     flowToken(t.text));
      return String(t.text).includes('\n') ? [span, h('br')] : [span];
    }).flat();
    box.replaceChildren(...spans);
    const sel = $('.tok.sel', box);
    if (sel) sel.scrollIntoView({block: 'nearest'});
  },
  rowOf(step, layer = this.layer, head = this.head) {
    const [, nh, Sn] = step.shape, out = new Float32Array(Sn);
    const heads = head === 'mean' ? range(nh) : [+head];
    for (const hd of heads) {
      const off = (layer * nh + hd) * Sn;
      for (let j = 0; j < Sn; j++) out[j] += step.att[off + j] / heads.length;
    }
    return out;
  },
  renderCache() {
    const c = this.cache;
    if (!c) return;
    $('#kv-tokens').textContent = `${c.tokens} / ${c.capacity}`;
    $('#kv-bar').style.width = (100 * c.tokens / c.capacity).toFixed(1) + '%';
    $('#kv-bytes').textContent = `${fmtBytes(c.bytes)} / ${fmtBytes(c.capacity_bytes)}`;
    $('#kv-bytes-bar').style.width = (100 * c.bytes / c.capacity_bytes).toFixed(1) + '%';
    const n = this.tokens.length, ws = this.windowStart || 0;
    $('#kv-window').textContent = ws > 0 ? `slid: starts at position ${ws}` : `positions 0–${n - 1}`;
    $('#kv-window').title = ws > 0 ? `positions 0–${ws - 1} no longer seen` : 'the model sees the whole sequence';
    $('#kv-panel').classList.toggle('slid', ws > 0);
    $('#kv-seq').replaceChildren(
      h('div', {class: 'seq-out', style: `width:${100 * ws / n}%`, title: `positions 0–${ws - 1}: no longer seen`}),
      h('div', {class: 'seq-in', style: `width:${100 * (n - ws) / n}%`, title: `positions ${ws}–${n - 1}: in the window`}));
    const cv = $('#kv-history'), W = cv.clientWidth || 240, H = 60;
    const ctx = sizeCanvas(cv, W, H), p = new CanvasPainter(ctx), hist = this.history;
    p.rect(0, 0, W, H, '#f7f9fc');
    const cap = c.capacity, pts = [];
    const y0 = 18, y1 = H - 4;
    hist.forEach((v, i) => pts.push(4 + (W - 8) * (hist.length > 1 ? i / (hist.length - 1) : 1), y1 - (y1 - y0) * v / cap));
    p.line(0, y0, W, y0, '#d0d7e2', 1);
    const segs = [];
    for (let i = 2; i < pts.length; i += 2) segs.push(pts[i - 2], pts[i - 1], pts[i], pts[i + 1]);
    p.lines(segs, ACCENT, 2);
    p.text(4, 8, `cache tokens per step (capacity ${cap})`, {size: 10, color: MUTED});
  },
  layout(W) {
    const m = S.model, nrow = m.n_layer * m.n_head;
    const left = 64, right = 24, barTop = 44, barH = 110, labelH = 54;
    const side = W >= 820 ? 310 : 0;  // the top-10 goes beside the grid when there is room, else below it
    const gridTop = barTop + barH + labelH + 34;
    const rowH = clamp(Math.floor(320 / nrow), 4, 14), gridH = nrow * rowH;
    const barW = W - left - right, gridW = barW - side;
    const topX = side ? left + gridW + 110 : left, topTop = side ? gridTop : gridTop + gridH + 44;
    const topBarW = side ? side - 110 - 56 : Math.min(360, barW - 120);
    return {W, left, right, barTop, barH, gridTop, rowH, gridH, barW, gridW, topX, topTop, topBarW,
            h: Math.max(gridTop + gridH, topTop + 10 * 20) + 12};
  },
  draw(p, W) {
    const L = this.layout(W), step = this.steps.get(this.selected), m = S.model;
    p.rect(0, 0, W, L.h, '#ffffff');
    if (!step) {
      p.text(12, 20, this.session ? 'Press “Next token”: each new token shows what it attended to.' :
                                     'Press Start to begin a generation.', {size: 14, color: MUTED});
      return;
    }
    const Sn = step.shape[2], ws = step.window_start, row = this.rowOf(step);
    const cw = L.barW / Sn, gcw = L.gridW / Sn;
    figureTitle(p, 12, 16, `${quote(step.token)} at position ${step.position}`,
                `what layer ${this.layer}, ${this.head === 'mean' ? 'mean of heads' : 'head ' + this.head} looked at: ` +
                `query ${step.position - 1} over positions ${ws}–${step.position - 1}`);
    // 1. the attention row as bars over the previous tokens
    let rmax = 0;
    for (const v of row) rmax = Math.max(rmax, v);
    const top = rmax > 0.5 ? 1 : rmax > 0.25 ? 0.5 : 0.25;
    for (const v of [0, top / 2, top]) {
      const y = L.barTop + L.barH * (1 - v / top);
      p.line(L.left - 4, y, L.left + L.barW, y, v ? '#e6eaf0' : '#9aa5b5', 1);
      p.text(L.left - 8, y, String(v), {align: 'right', size: 11, color: MUTED});
    }
    for (let j = 0; j < Sn; j++) {
      const bh = L.barH * Math.min(1, row[j] / top);
      p.rect(L.left + j * cw + (cw > 4 ? 1 : 0), L.barTop + L.barH - bh, Math.max(0.6, cw - (cw > 4 ? 2 : 0)), bh, ACCENT);
    }
    const fs = Math.min(13, Math.floor(cw) - 1);
    if (fs >= 8) {
      const labels = range(Sn).map(j => showToken(this.tokens[ws + j].text));
      const upright = labels.every(s => textWidth(s, fs, true) <= cw - 1);  // e.g. characters: no need to turn them
      labels.forEach((s, j) => {
        if (upright) p.text(L.left + (j + 0.5) * cw, L.barTop + L.barH + 10, s, {align: 'center', size: fs, mono: true});
        else p.text(L.left + (j + 0.5) * cw, L.barTop + L.barH + 6, ellipsize(s, 48, fs, true), {rotate: -90, align: 'right', size: fs, mono: true});
      });
    } else {
      const st = [1, 2, 5, 10, 20, 50, 100, 200, 500].find(s => s * cw >= 30) || 1000;
      for (let j = Math.ceil(ws / st) * st; j < ws + Sn; j += st) {
        p.text(L.left + (j - ws + 0.5) * cw, L.barTop + L.barH + 10, String(j), {align: 'center', size: 11, color: MUTED});
      }
    }
    // 2. every layer × head
    p.text(12, L.gridTop - 16, 'every layer × head (rows) over the same positions; click a row to choose it',
           {size: 12, color: MUTED});
    const nh = m.n_head;
    const spec = {data: step.att, stride: Sn, rows: m.n_layer * nh, cols: Sn, vmin: 0, vmax: 1, cmap: 'blues', gamma: 0.5};
    p.heatmap(spec, 0, m.n_layer * nh, 0, Sn, L.left, L.gridTop, gcw, L.rowH);
    for (let l = 0; l < m.n_layer; l++) {
      const y = L.gridTop + l * nh * L.rowH;
      if (l) p.line(L.left, y, L.left + L.gridW, y, '#ffffff', 2);
      p.text(L.left - 8, y + nh * L.rowH / 2, `L${l}`, {align: 'right', size: 11, color: MUTED});
    }
    const selY = L.gridTop + (this.layer * nh + (this.head === 'mean' ? 0 : +this.head)) * L.rowH;
    p.rect(L.left - 1, selY - 1, L.gridW + 2, (this.head === 'mean' ? nh : 1) * L.rowH + 2, null, {stroke: '#e0301e', lineWidth: 2});
    p.rect(L.left - 0.5, L.gridTop - 0.5, L.gridW + 1, L.gridH + 1, null, {stroke: '#9aa5b5'});
    // 3. the top-10 candidates
    p.text(L.topX - 100, L.topTop - 16, 'top 10 next tokens (blue: drawn)', {size: 12, color: MUTED});
    step.top.slice(0, 10).forEach((c, i) => {
      const y = L.topTop + i * 20, chosen = c.id === step.id;
      p.text(L.topX - 8, y + 9, ellipsize(showToken(c.token), 90, 13, true),
             {align: 'right', size: 13, mono: true, weight: chosen ? 'bold' : 'normal'});
      p.rect(L.topX, y + 2, L.topBarW, 15, '#eef1f6');
      p.rect(L.topX, y + 2, Math.max(0.5, L.topBarW * c.p), 15, chosen ? ACCENT : '#9db3d3');
      p.text(L.topX + L.topBarW + 6, y + 9, c.p.toFixed(3), {size: 12, mono: true, weight: chosen ? 'bold' : 'normal'});
    });
  },
  render() {
    if (!S.model) return;
    const W = Math.max(480, $('#gen-host').clientWidth || 800), L = this.layout(W);
    const step = this.steps.get(this.selected);
    $('#gen-selected').innerHTML = step
      ? `Token ${tokHtml(step.token)} at position ${step.position}` + (step.window_start ? ` · window starts at ${step.window_start}` : '')
      : (this.session ? 'Select a generated token to see what it attended to.' : '');
    const ctx = sizeCanvas(this.canvas, W, step ? L.h : 40);
    this.draw(new CanvasPainter(ctx), W);
    if (step) markDrawn(this.canvas, `${this.session}|${step.position}|${this.layer}|${this.head}`);
  },
  clickGrid(ev) {
    const step = this.steps.get(this.selected);
    if (!step) return;
    const L = this.layout(this.canvas.clientWidth), [x, y] = localXY(ev, this.canvas);
    if (y < L.gridTop || y >= L.gridTop + L.gridH || x < L.left || x >= L.left + L.gridW) return;
    const rix = Math.floor((y - L.gridTop) / L.rowH), nh = S.model.n_head;
    this.layer = Math.floor(rix / nh); this.head = String(rix % nh);
    $('#gen-layer').value = String(this.layer); $('#gen-head').value = this.head;
    this.renderText(); this.render();
  },
  hover(ev) {
    const step = this.steps.get(this.selected);
    if (!step) return;
    const L = this.layout(this.canvas.clientWidth), [x, y] = localXY(ev, this.canvas), Sn = step.shape[2];
    const inBars = y >= L.barTop && y < L.barTop + L.barH + 40;
    const inGrid = y >= L.gridTop && y < L.gridTop + L.gridH && x < L.left + L.gridW;
    const j = Math.floor((x - L.left) / ((inBars ? L.barW : L.gridW) / Sn));
    if (!(inBars || inGrid) || j < 0 || j >= Sn) { tooltip.hide(); return; }
    const pos = step.window_start + j, tok = tokHtml(this.tokens[pos].text);
    if (inBars) {
      tooltip.show(ev, `position ${pos} ${tok}<br>weight <b>${this.rowOf(step)[j].toFixed(4)}</b>`);
    } else {
      const rix = Math.floor((y - L.gridTop) / L.rowH), nh = S.model.n_head;
      tooltip.show(ev, `layer ${Math.floor(rix / nh)}, head ${rix % nh}: position ${pos} ${tok}<br>weight <b>${step.att[rix * Sn + j].toFixed(4)}</b>`);
    }
  },
  figure() {
    const W = Math.max(480, $('#gen-host').clientWidth || 800), L = this.layout(W);
    return {w: W, h: this.steps.get(this.selected) ? L.h : 40, draw: p => this.draw(p, W),
            name: `generate-pos${this.selected}`, title: 'GPT explorer: what a generated token attended to'};
  },
  json() {
    return {view: 'generate', session: this.session, tokens: this.tokens.map(t => t.text),
            prompt_tokens: this.tokens.filter(t => !t.gen).length,
            steps: [...this.steps.values()].map(s => ({
              token: s.token, id: s.id, position: s.position, window_start: s.window_start, top: s.top, cache: s.cache,
              attention: range(s.shape[0]).map(l => range(s.shape[1]).map(hd =>
                Array.from(s.att.subarray((l * s.shape[1] + hd) * s.shape[2], (l * s.shape[1] + hd + 1) * s.shape[2]))))}))};
  },
  exportable() { return this.steps.size > 0 ? null : 'generate a token first'; },
};

// ================================================================ head types
const typesView = {
  name: 'types', data: null, hoverCell: null,
  KINDS: [['previous_token', 'previous-token'], ['first_token', 'first-token'], ['induction', 'induction']],
  init() {
    this.section = $('#view-types');
    this.canvas = $('#types-canvas');
    this.canvas.addEventListener('mousemove', ev => {
      const c = this.cellAt(ev);
      this.canvas.style.cursor = c && S.an ? 'pointer' : 'default';
      if (c) {
        const s = this.data.heads.find(x => x.layer === c.l && x.head === c.hd);
        const label = this.data.labels.find(x => x.layer === c.l && x.head === c.hd);
        tooltip.show(ev, `layer ${c.l}, head ${c.hd}${label ? ` — <b>${esc(label.type)}</b>` : ''}<br>` +
          this.KINDS.map(([k, name]) => `${name}: ${s ? fmt(s[k], 3) : '–'}`).join('<br>') +
          (S.an ? '<br><span class="muted">click to open it in the matrix view</span>' : ''));
      } else tooltip.hide();
    });
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const c = this.cellAt(ev);
      if (c && S.an && c.l < S.an.n_layer && c.hd < S.an.n_head) { tooltip.hide(); matrixView.open(c.l, c.hd); }
    });
  },
  reset() {},
  async show() {
    if (this.data) { this.render(); return; }
    viewMsg(this, '');
    setStatus('scoring every head on repeated random tokens (computed once)…', 'busy');
    try {
      this.data = await getHeadTypes();
      setStatus(`head types: ${this.data.labels.length} of ${this.data.heads.length} heads labelled`, 'ok');
      this.renderLabels();
      this.render();
    } catch (e) { showError(this, e); }
  },
  dims() {
    const d = this.data;
    let nl = 0, nh = 0;
    for (const x of d.heads) { nl = Math.max(nl, x.layer + 1); nh = Math.max(nh, x.head + 1); }
    return [nl, nh];
  },
  layout(W) {
    const [nl, nh] = this.dims(), gap = 36, left = 40;
    const cell = clamp(Math.floor((W - left - 2 * gap - 20) / (3 * nh)), 12, 52);
    const pw = nh * cell;
    return {nl, nh, cell, gap, left, pw, top: 76, w: Math.min(W, left + 3 * pw + 2 * gap + 20), h: 76 + nl * cell + 40};
  },
  cellAt(ev) {
    if (!this.data) return null;
    const L = this.layout($('#types-host').clientWidth), [x, y] = localXY(ev, this.canvas);
    for (let k = 0; k < 3; k++) {
      const x0 = L.left + k * (L.pw + L.gap);
      if (x >= x0 && x < x0 + L.pw && y >= L.top && y < L.top + L.nl * L.cell) {
        return {k, hd: Math.floor((x - x0) / L.cell), l: Math.floor((y - L.top) / L.cell)};
      }
    }
    return null;
  },
  draw(p, W) {
    const d = this.data, L = this.layout(W);
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, 'Head types', `scored on ${d.sequence.kind}, length ${d.sequence.length}` +
                (d.sequence.n ? ` (n = ${d.sequence.n})` : '') + '; outlined: labelled heads (score ≥ 0.4)');
    const val = {};
    for (const x of d.heads) val[`${x.layer}|${x.head}`] = x;
    const lab = {};
    for (const x of d.labels) lab[`${x.layer}|${x.head}`] = x.type;
    this.KINDS.forEach(([key, name], k) => {
      const x0 = L.left + k * (L.pw + L.gap);
      p.text(x0, 44, name, {size: 14, weight: 'bold'});
      p.text(x0, L.top - 10, 'head →', {size: 11, color: MUTED});
      for (let hd = 0; hd < L.nh; hd++) {
        if (L.cell >= 16 || hd % 2 === 0) p.text(x0 + (hd + 0.5) * L.cell, L.top + L.nl * L.cell + 12, String(hd), {align: 'center', size: 11, color: MUTED});
      }
      for (let l = 0; l < L.nl; l++) {
        if (k === 0) p.text(L.left - 8, L.top + (l + 0.5) * L.cell, String(l), {align: 'right', size: 11, color: MUTED});
        for (let hd = 0; hd < L.nh; hd++) {
          const s = val[`${l}|${hd}`], v = s ? s[key] : NaN, t = clamp(v, 0, 1);
          const x = x0 + hd * L.cell, y = L.top + l * L.cell;
          p.rect(x, y, L.cell, L.cell, Number.isFinite(v) ? cmapRgb('blues', t) : '#cccccc', {stroke: '#ffffff'});
          if (L.cell >= 30 && Number.isFinite(v)) {
            p.text(x + L.cell / 2, y + L.cell / 2, v.toFixed(2), {align: 'center', size: 11, color: inkOn('blues', t)});
          }
        }
      }
      for (let l = 0; l < L.nl; l++) {
        for (let hd = 0; hd < L.nh; hd++) {
          if (lab[`${l}|${hd}`] === name) {
            p.rect(x0 + hd * L.cell + 1.5, L.top + l * L.cell + 1.5, L.cell - 3, L.cell - 3, null, {stroke: '#e0301e', lineWidth: 3});
          }
        }
      }
    });
    p.text(12, L.top + (L.nl * L.cell) / 2, 'layer', {size: 11, color: MUTED, rotate: -90, align: 'center'});
  },
  render() {
    if (!this.data) return;
    const W = $('#types-host').clientWidth || 900, L = this.layout(W);
    const ctx = sizeCanvas(this.canvas, L.w, L.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, 'types');
  },
  renderLabels() {
    const d = this.data, box = $('#types-labels');
    const groups = this.KINDS.map(([key, name]) => {
      const heads = d.labels.filter(x => x.type === name).map(x => {
        const s = d.heads.find(y => y.layer === x.layer && y.head === x.head);
        return h('button', {type: 'button', class: 'head-tag', title: 'open in the matrix view',
                            onclick: () => { if (S.an && x.layer < S.an.n_layer && x.head < S.an.n_head) matrixView.open(x.layer, x.head); }},
                 `L${x.layer} H${x.head}`, s ? h('span', {class: 'muted'}, ` ${fmt(s[key], 2)}`) : null);
      });
      return h('div', {class: 'label-group'}, h('b', {}, `${name}: `), heads.length ? heads : h('span', {class: 'muted'}, 'none'));
    });
    const others = d.labels.filter(x => !this.KINDS.some(([, n]) => n === x.type));
    if (others.length) groups.push(h('div', {class: 'label-group'}, h('b', {}, 'other: '), others.map(x => `L${x.layer} H${x.head} (${x.type}) `)));
    box.replaceChildren(h('h3', {}, 'Labelled heads'), ...groups);
  },
  figure() {
    const W = $('#types-host').clientWidth || 900, L = this.layout(W);
    return {w: L.w, h: L.h, draw: p => this.draw(p, W), name: 'head-types', title: 'Head types'};
  },
  json() { return Object.assign({view: 'head_types'}, this.data); },
  exportable() { return this.data ? null : 'the head types are not loaded'; },
};

// ---------------------------------------------------------------- export
function rows(m, r, c) { return range(r).map(i => Array.from(m.subarray(i * c, (i + 1) * c))); }
function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
function exportBlocker(view) {
  if (view.exportable) return view.exportable();
  if (!S.an) return 'analyze a text first';
  const ready = {heads: () => headsView.mats, matrix: () => matrixView.mat, neuron: () => neuronView.data, model: () => S.an};
  return ready[view.name] && !ready[view.name]() ? 'nothing is drawn yet' : null;
}
async function exportView(view, format) {
  const why = exportBlocker(view);
  if (why) { setStatus(`cannot export: ${why}`, 'error'); return; }
  const fig = view.figure();
  const base = `attention-${fig.name}`;
  try {
    if (format === 'svg') {
      const p = new SvgPainter(fig.w, fig.h, fig.title);
      fig.draw(p);
      download(base + '.svg', new Blob([p.toString()], {type: 'image/svg+xml'}));
    } else if (format === 'png') {
      const scale = fig.w * fig.h * 4 <= 40e6 ? 2 : 1;
      const c = document.createElement('canvas');
      c.width = Math.ceil(fig.w * scale); c.height = Math.ceil(fig.h * scale);
      const ctx = c.getContext('2d');
      ctx.scale(scale, scale);
      fig.draw(new CanvasPainter(ctx));
      const blob = await new Promise((resolve, reject) => c.toBlob(b => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/png'));
      download(base + '.png', blob);
    } else {
      const an = S.an;
      const head = {model: S.model ? S.model.name : null, tokenizer: S.model ? S.model.tokenizer : null};
      if (an && !OWN_INPUT.has(view.name)) Object.assign(head, {analysis: an.id, text: S.text, tokens: an.tokens, T: an.T});
      const body = Object.assign(head, view.json());
      download(base + '.json', new Blob([JSON.stringify(body)], {type: 'application/json'}));
    }
    setStatus(`exported ${base}.${format}`, 'ok');
  } catch (e) { setStatus(errorText(e), 'error'); }
}


// ---------------------------------------------------------------- translation (encoder-decoder view)
// POST /api/translate gives a translation model's three attentions for one sentence: encoder self (L, H, S, S),
// decoder self (L, H, T, T) and cross (L, H, T, S) (an RNN: cross only, L = H = 1). Drawn as BertViz draws them:
// the asking tokens in a left column, the tokens read in a right column, a line per pair with its weight as
// opacity; and the same weights as a heatmap beside it.
const translateView = {
  name: 'translate', data: null, seq: 0, focus: null,
  ROW: 22, TOP: 34,
  init() {
    this.section = $('#view-translate');
    this.canvas = $('#tr-canvas');
    $('#tr-form').addEventListener('submit', ev => { ev.preventDefault(); this.run(); });
    $('#tr-kind').addEventListener('change', () => { this.fillLayers(); this.draw(); });
    for (const id of ['#tr-layer', '#tr-head']) $(id).addEventListener('change', () => this.draw());
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => { this.focus = null; this.draw(); });
  },
  reset() {},  // independent of the GPT's analysis
  show() {
    if (!S.info) return;
    const t = S.info.translation;
    if (!t) {
      viewMsg(this, 'No translation model is loaded. The project ships models/translate-transformer (remade by ' +
                    'scripts/ship_translation.sh); or train one (attn train translate --arch transformer --out DIR) and ' +
                    'start attn explore --translation DIR.', 'info');
      $('#tr-run').disabled = true;
      return;
    }
    $('#tr-model').textContent = `${t.name} · ${t.arch} · attention: ${t.attention}`;
    if (!this.data) this.run(); else this.draw();
  },
  async run() {
    const text = $('#tr-text').value;
    if (!text.trim()) { viewMsg(this, 'error: the sentence is empty'); return; }
    const beam = clamp(Math.round(+$('#tr-beam').value || 1), 1, 16);
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus('translating…', 'busy');
    $('#tr-run').disabled = true;
    try {
      const r = await api('POST', '/api/translate', {text, beam});
      if (seq !== this.seq) return;
      const L = r.n_layer, H = r.n_head, Sn = r.S, T = r.T;
      const mats = {};
      if (r.cross) mats.cross = {v: decodeF32(r.cross), rows: r.target_tokens, cols: r.source_tokens, label: 'cross-attention (English → German)'};
      if (r.encoder) mats.encoder = {v: decodeF32(r.encoder), rows: r.source_tokens, cols: r.source_tokens, label: 'encoder self-attention (German → German)'};
      if (r.decoder) mats.decoder = {v: decodeF32(r.decoder), rows: r.target_tokens, cols: r.target_tokens, label: 'decoder self-attention (English → English so far)'};
      // Chefer et al.'s relevance R^ts: one (T, S) map through every layer (no layer or head to choose).
      if (r.relevance) mats.relevance = {v: decodeF32(r.relevance), rows: r.target_tokens, cols: r.source_tokens, single: true,
                                         label: 'relevance (Chefer et al.): what each English token rests on, each row scaled to its max'};
      for (const m of Object.values(mats))
        if (m.v.length !== (m.single ? 1 : L * H) * m.rows.length * m.cols.length) throw new ApiError('a translation matrix does not have the announced shape');
      this.data = {r, L, H, S: Sn, T, mats};
      $('#tr-output').textContent = `→ ${r.translation || '(empty)'}`;
      const kinds = Object.keys(mats).map(k => [k, mats[k].label]);
      fillSelect($('#tr-kind'), kinds, mats[$('#tr-kind').value] ? $('#tr-kind').value : kinds.length ? kinds[0][0] : '');
      this.fillLayers();
      if (!kinds.length) viewMsg(this, `${r.arch} has no attention: its decoder sees one vector for the whole sentence.`, 'info');
      setStatus(`translated: ${Sn} source and ${T} target tokens`, 'ok');
      this.draw();
      markDrawn(this.canvas, `tr|${seq}`);
      document.body.dataset.translation = String(seq);
    } catch (e) { if (seq === this.seq) showError(this, e); }
    finally { if (seq === this.seq) $('#tr-run').disabled = false; }
  },
  fillLayers() {
    const d = this.data;
    if (!d) return;
    const L = d.L, H = d.H;
    fillSelect($('#tr-layer'), [...range(L).map(l => [l, `${l}`]), ['mean', 'mean']], $('#tr-layer').value || (L > 1 ? 'mean' : '0'));
    fillSelect($('#tr-head'), [...range(H).map(hd => [hd, `${hd}`]), ['mean', 'mean']], $('#tr-head').value || (H > 1 ? 'mean' : '0'));
    const m = d.mats[$('#tr-kind').value];
    $('#tr-layer').disabled = $('#tr-head').disabled = !!(m && m.single);  // relevance runs through every layer
  },
  // The chosen (rows × cols) matrix: one layer/head, or the mean over layers and/or heads.
  matrix() {
    const d = this.data, m = d && d.mats[$('#tr-kind').value];
    if (!m) return null;
    const R = m.rows.length, C = m.cols.length, n = R * C;
    if (m.single) {  // relevance: each row's positive part divided by its maximum, so rows compare by shape
      const out = new Float32Array(n);
      for (let i = 0; i < R; i++) {
        let mx = 0;
        for (let j = 0; j < C; j++) mx = Math.max(mx, m.v[i * C + j]);
        for (let j = 0; j < C; j++) out[i * C + j] = mx > 0 ? Math.max(0, m.v[i * C + j]) / mx : 0;
      }
      return {R, C, w: out, rows: m.rows, cols: m.cols};
    }
    const ls = $('#tr-layer').value === 'mean' ? range(d.L) : [+$('#tr-layer').value];
    const hs = $('#tr-head').value === 'mean' ? range(d.H) : [+$('#tr-head').value];
    const out = new Float32Array(n);
    for (const l of ls) for (const hd of hs) {
      const off = (l * d.H + hd) * n;
      for (let i = 0; i < n; i++) out[i] += m.v[off + i];
    }
    const k = ls.length * hs.length;
    for (let i = 0; i < n; i++) out[i] /= k;
    return {R, C, w: out, rows: m.rows, cols: m.cols};
  },
  layout(W, mat) {
    let tw = 0;
    for (const t of [...mat.rows, ...mat.cols]) tw = Math.max(tw, textWidth(showToken(t), 13, true));
    const tokW = clamp(Math.ceil(tw) + 12, 48, 170), span = 160;
    const cell = clamp(Math.floor(300 / Math.max(mat.R, mat.C)), 6, 22);
    return {tokW, span, x1: 8 + tokW, x2: 8 + tokW + span, hx: 8 + 2 * tokW + span + 90, cell};
  },
  draw() {
    const mat = this.matrix();
    const host = $('#tr-host');
    if (!mat) { sizeCanvas(this.canvas, 10, 10); return; }
    const W = Math.max(host.clientWidth || 900, 600);
    const lay = this.layout(W, mat);
    const Hh = this.TOP + Math.max(mat.R, mat.C) * this.ROW + 20;
    const Hm = this.TOP + mat.R * lay.cell + 110;
    const p = sizeCanvas(this.canvas, W, Math.max(Hh, Hm));
    p.font = `13px ${MONO}`;
    p.fillStyle = MUTED;
    p.textAlign = 'left';
    p.fillText('asks (query)', 8, 18);
    p.textAlign = 'right';
    p.fillText('is read (key)', lay.x2 + lay.tokW, 18);
    const y = i => this.TOP + i * this.ROW + this.ROW / 2;
    const f = this.focus;
    // Lines: query i (left) -> key j (right), opacity = weight.
    for (let i = 0; i < mat.R; i++) {
      if (f && f.side === 'q' && f.i !== i) continue;
      for (let j = 0; j < mat.C; j++) {
        if (f && f.side === 'k' && f.i !== j) continue;
        const wv = mat.w[i * mat.C + j];
        if (wv < 0.01) continue;
        p.strokeStyle = `rgba(31, 95, 191, ${clamp(wv, 0, 1)})`;
        p.lineWidth = 1 + 2 * wv;
        p.beginPath(); p.moveTo(lay.x1, y(i)); p.lineTo(lay.x2, y(j)); p.stroke();
      }
    }
    p.textBaseline = 'middle';
    for (let i = 0; i < mat.R; i++) {
      p.fillStyle = f && f.side === 'q' && f.i === i ? ACCENT : INK;
      p.textAlign = 'right';
      p.fillText(ellipsize(showToken(mat.rows[i]), lay.tokW - 8, 13, true), lay.x1 - 6, y(i));
    }
    for (let j = 0; j < mat.C; j++) {
      p.fillStyle = f && f.side === 'k' && f.i === j ? ACCENT : INK;
      p.textAlign = 'left';
      p.fillText(ellipsize(showToken(mat.cols[j]), lay.tokW - 8, 13, true), lay.x2 + 6, y(j));
    }
    // The heatmap: rows = queries, columns = keys (Blues, 0..1).
    const c = lay.cell, hx = lay.hx, hy = this.TOP;
    for (let i = 0; i < mat.R; i++) for (let j = 0; j < mat.C; j++) {
      p.fillStyle = cmapRgb('blues', mat.w[i * mat.C + j]);
      p.fillRect(hx + j * c, hy + i * c, c, c);
    }
    p.strokeStyle = GRID; p.lineWidth = 1;
    p.strokeRect(hx, hy, mat.C * c, mat.R * c);
    p.font = `11px ${MONO}`;
    p.fillStyle = MUTED;
    p.textAlign = 'right';
    if (c >= 10) for (let i = 0; i < mat.R; i++) p.fillText(ellipsize(showToken(mat.rows[i]), 84, 11, true), hx - 4, hy + i * c + c / 2);
    p.save();
    p.translate(hx, hy + mat.R * c + 4);
    p.rotate(Math.PI / 2);
    p.textAlign = 'left';
    if (c >= 10) for (let j = 0; j < mat.C; j++) p.fillText(ellipsize(showToken(mat.cols[j]), 84, 11, true), 0, -(j * c + c / 2));
    p.restore();
  },
  hover(ev) {
    const mat = this.matrix();
    if (!mat) return;
    const W = Math.max($('#tr-host').clientWidth || 900, 600), lay = this.layout(W, mat);
    const [x, y] = localXY(ev, this.canvas);
    const i = Math.floor((y - this.TOP) / this.ROW);
    let f = null;
    if (x < lay.x1 && i >= 0 && i < mat.R) f = {side: 'q', i};
    else if (x > lay.x2 && x < lay.x2 + lay.tokW && i >= 0 && i < mat.C) f = {side: 'k', i};
    const same = (f && this.focus && f.side === this.focus.side && f.i === this.focus.i) || (!f && !this.focus);
    if (same) return;
    this.focus = f;
    this.draw();
    if (f) {
      const row = f.side === 'q' ? Array.from(mat.w.subarray(f.i * mat.C, (f.i + 1) * mat.C)) : range(mat.R).map(r => mat.w[r * mat.C + f.i]);
      const best = row.indexOf(Math.max(...row));
      const other = f.side === 'q' ? mat.cols[best] : mat.rows[best];
      setStatus(`${quote(f.side === 'q' ? mat.rows[f.i] : mat.cols[f.i])} ${f.side === 'q' ? 'reads' : 'is read most by'} ${quote(other)} most (${fmt(row[best], 2)})`, 'ok');
    }
  },
};

// ---------------------------------------------------------------- image (a Vision Transformer, explained)
// GET /api/image/gallery gives test pictures as bytes; POST /api/image/explain?index=N[&class=K] (or with a PNG
// as the body) gives one picture's prediction, each layer's and head's CLS attention over the N patches
// (L, H, N), every attribution method's patch scores (N) and, per method, the picture's perturbation curves
// (src/attn/explore/image_view.h). Each map is drawn over the picture: patch colour = score, min-max scaled.
const METHOD_NAMES = {raw_attention: 'raw attention', rollout: 'rollout', flow: 'attention flow',
                      grad_x_input: 'gradient × input', grad_cam: 'Grad-CAM', relevance: 'relevance (Chefer)',
                      random: 'random ranking'};
function decodeU8(s) {
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
// The box of `boxes` ({x, y, w, h, ...} in canvas pixels) under the pointer, or null.
function boxAt(boxes, ev, canvas) {
  const [x, y] = localXY(ev, canvas);
  return boxes.find(b => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) || null;
}
// Mean of a curve's points (perturbation) or its trapezoid area on [0, 1] (deletion, insertion).
function curveArea(ys, xs) {
  if (!xs) return ys.reduce((a, b) => a + b, 0) / ys.length;
  let a = 0;
  for (let i = 1; i < ys.length; i++) a += (xs[i] - xs[i - 1]) * (ys[i] + ys[i - 1]) / 2;
  return a;
}
// Two small plots of one method's perturbation curves on one input, each beside a random ranking's (grey):
// positive/negative (is the label still predicted) and deletion/insertion (p of the explained class), as
// fractions of the input's `unit` (patches, tokens) are removed. r = {fractions, curves: {method: {...}, random}}.
// Takes about 540 × 200 px from (x, y).
function drawCurves(p, x, y, r, method, unit, keptLabel, pLabel) {
  const cw = 200, chh = 120, cy = y + 18, fr = r.fractions, cm = r.curves[method], cr = r.curves.random;
  const plot = (x0, title, keys, xs, yLabel) => {
    p.text(x0, y + 4, title, {size: 12, weight: 'bold'});
    p.rect(x0, cy, cw, chh, '#fbfcfe', {stroke: GRID});
    for (const t of [0, 0.5, 1]) p.text(x0 - 4, cy + chh * (1 - t), String(t), {size: 10, color: MUTED, align: 'right'});
    p.text(x0, cy + chh + 12, '0', {size: 10, color: MUTED});
    p.text(x0 + cw, cy + chh + 12, `${xs[xs.length - 1]} of the ${unit} removed`, {size: 10, color: MUTED, align: 'right'});
    p.text(x0 - 28, cy + chh / 2, yLabel, {size: 10, color: MUTED, rotate: -90, align: 'center'});
    const X = f => x0 + cw * f / xs[xs.length - 1], Y = t => cy + chh * (1 - clamp(t, 0, 1));
    const seg = ys => { const s = []; for (let i = 1; i < ys.length; i++) s.push(X(xs[i - 1]), Y(ys[i - 1]), X(xs[i]), Y(ys[i])); return s; };
    keys.forEach(([k, color], i) => {
      p.lines(seg(cr[k]), '#9aa3b0', 1.5, 0.9);
      p.lines(seg(cm[k]), color, 2.5, 1);
      const pts = k === 'positive' || k === 'negative' ? null : xs;
      p.text(x0, cy + chh + 28 + i * 15, `${k}: ${fmt(curveArea(cm[k], pts), 2)} (random ${fmt(curveArea(cr[k], pts), 2)})`, {size: 11, color});
    });
  };
  plot(x, `removing ${unit} — ${METHOD_NAMES[method] || method}`, [['positive', '#d62728'], ['negative', '#1f77b4']],
       fr.perturbation, keptLabel);
  plot(x + cw + 70, 'deletion / insertion', [['deletion', '#d62728'], ['insertion', '#2ca02c']], fr.deletion, pLabel);
}
const imageView = {
  name: 'image', data: null, seq: 0, gallery: null, upload: null, index: 0, hits: [], ready: false,
  PAGE: 40,
  init() {
    this.section = $('#view-image');
    this.canvas = $('#img-canvas');
    $('#img-index').addEventListener('change', () => this.pick(Math.round(+$('#img-index').value || 0)));
    $('#img-prev').addEventListener('click', () => this.pick(this.index - 1));
    $('#img-next').addEventListener('click', () => this.pick(this.index + 1));
    $('#img-random').addEventListener('click', () => this.pick(Math.floor(Math.random() * this.total())));
    $('#img-file').addEventListener('change', ev => {
      const f = ev.target.files[0];
      if (f) this.uploadFile(f);
      ev.target.value = '';
    });
    $('#img-class').addEventListener('change', () => this.run());
    $('#img-method').addEventListener('change', () => this.render());
    const host = $('#img-host');
    host.addEventListener('dragover', ev => { ev.preventDefault(); host.classList.add('drop'); });
    host.addEventListener('dragleave', () => host.classList.remove('drop'));
    host.addEventListener('drop', ev => {
      ev.preventDefault();
      host.classList.remove('drop');
      const f = ev.dataTransfer && ev.dataTransfer.files[0];
      if (f) this.uploadFile(f);
    });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const hit = this.hitAt(ev);
      if (hit && hit.method) { $('#img-method').value = hit.method; this.render(); }
    });
  },
  reset() {},  // independent of the GPT's analysis
  vit() { return S.info && S.info.vit; },
  total() { const v = this.vit(); return v && v.test ? v.test.size : 0; },
  async show() {
    if (!S.info) return;
    const v = this.vit();
    if (!v) {
      viewMsg(this, 'No Vision Transformer is loaded. The project ships models/vit-fashion-mnist (remade by ' +
                    'scripts/ship_vit.sh); or train one (attn train vit --out DIR) and start attn explore --vit DIR.', 'info');
      for (const id of ['#img-index', '#img-prev', '#img-next', '#img-random', '#img-file', '#img-class']) $(id).disabled = true;
      return;
    }
    if (!this.ready) {
      this.ready = true;
      $('#img-model').textContent = `${v.name} · ${v.n_layer} layers × ${v.n_head} heads · ${v.grid}×${v.grid} patches of ${v.patch_size} px`;
      fillSelect($('#img-class'), [['', 'the predicted class'], ...v.classes.map((c, k) => [k, `${k} ${c}`])], '');
      fillSelect($('#img-method'), v.methods.map(m => [m, METHOD_NAMES[m] || m]), 'relevance');
      if (v.test) {
        $('#img-index').max = String(v.test.size - 1);
        $('#img-test-name').textContent = `${v.test.name} test picture`;
      } else {
        for (const id of ['#img-index', '#img-prev', '#img-next', '#img-random']) $(id).disabled = true;
        $('#img-gallery').textContent = 'No test pictures are installed (Debian\'s dataset-fashion-mnist): drop a PNG here or choose one.';
      }
    }
    if (!this.data && !this.upload) {
      if (v.test) { await this.loadGallery(0); this.run(); }
    } else this.render();
  },
  async loadGallery(offset) {
    try {
      const g = await api('GET', apiUrl('/api/image/gallery', [['offset', offset], ['count', this.PAGE]]));
      const px = decodeU8(g.pixels), n = g.height * g.width * g.channels;
      if (px.length !== g.count * n || g.labels.length !== g.count) throw new ApiError('the gallery does not have the announced shape');
      this.gallery = g;
      const v = this.vit();
      const items = range(g.count).map(i => {
        const c = h('canvas', {width: g.width, height: g.height, class: 'thumb'});
        const ctx = c.getContext('2d'), img = ctx.createImageData(g.width, g.height);
        for (let j = 0; j < g.width * g.height; j++) {
          const r = px[i * n + j], gg = g.channels === 3 ? px[i * n + g.width * g.height + j] : r,
                b = g.channels === 3 ? px[i * n + 2 * g.width * g.height + j] : r;
          img.data.set([r, gg, b, 255], j * 4);
        }
        ctx.putImageData(img, 0, 0);
        const idx = g.offset + i;
        return h('button', {type: 'button', class: 'thumb-btn', 'data-index': idx, title: `#${idx}: ${v.classes[g.labels[i]]}`,
                            onclick: () => this.pick(idx)}, c);
      });
      $('#img-gallery').replaceChildren(...items);
      this.markGallery();
    } catch (e) { showError(this, e); }
  },
  markGallery() {
    $$('#img-gallery .thumb-btn').forEach(b => b.classList.toggle('sel', !this.upload && +b.dataset.index === this.index));
  },
  pick(i) {
    const n = this.total();
    if (!n) return;
    this.index = clamp(i, 0, n - 1);
    this.upload = null;
    $('#img-index').value = String(this.index);
    $('#img-class').value = '';
    const g = this.gallery;
    if (!g || this.index < g.offset || this.index >= g.offset + g.count) this.loadGallery(Math.floor(this.index / this.PAGE) * this.PAGE);
    else this.markGallery();
    this.run();
  },
  uploadFile(f) {
    if (!this.vit()) return;
    if (f.type && f.type !== 'image/png') { viewMsg(this, `error: ${f.name} is not a PNG picture (${f.type})`); return; }
    const max = S.limits && S.limits.max_image_bytes;
    if (max && f.size > max) { viewMsg(this, `error: ${f.name} has ${fmtBytes(f.size)}; the limit is ${fmtBytes(max)}`); return; }
    this.upload = {blob: f.type ? f : new Blob([f], {type: 'image/png'}), name: f.name};
    $('#img-class').value = '';
    this.markGallery();
    this.run();
  },
  async run() {
    const v = this.vit();
    if (!v) return;
    const seq = ++this.seq;
    const cls = $('#img-class').value;
    const params = cls === '' ? [] : [['class', cls]];
    viewMsg(this, '');
    setStatus(this.upload ? `explaining ${this.upload.name}…` : `explaining test picture ${this.index}…`, 'busy');
    try {
      const r = this.upload ? await api('POST', apiUrl('/api/image/explain', params), this.upload.blob)
                            : await api('POST', apiUrl('/api/image/explain', [['index', this.index], ...params]));
      if (seq !== this.seq) return;
      const L = r.n_layer, H = r.n_head, N = r.grid * r.grid;
      const att = decodeF32(r.attention), rgb = decodeU8(r.image.rgb);
      if (att.length !== L * H * N || rgb.length !== r.image.width * r.image.height * 3) throw new ApiError('the explanation does not have the announced shape');
      const maps = {};
      for (const m of r.methods) {
        maps[m] = decodeF32(r.maps[m]);
        if (maps[m].length !== N) throw new ApiError(`the ${m} map does not have ${N} patches`);
      }
      this.data = {r, L, H, N, att, rgb, maps, overlays: {}};
      this.data.picture = this.pictureCanvas();
      setStatus(`${r.source}: predicted ${r.top[0].name} (${fmt(100 * r.top[0].p, 1)}%)` +
                (r.label !== null ? `, true class ${r.label_name}` : '') + `; explaining ${v.classes[r.target]}`, 'ok');
      this.render();
      document.body.dataset.image = String(seq);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  pictureCanvas() {
    const d = this.data, W = d.r.image.width, Hh = d.r.image.height;
    const c = h('canvas', {width: W, height: Hh}), ctx = c.getContext('2d'), img = ctx.createImageData(W, Hh);
    for (let i = 0; i < W * Hh; i++) img.data.set([d.rgb[3 * i], d.rgb[3 * i + 1], d.rgb[3 * i + 2], 255], 4 * i);
    ctx.putImageData(img, 0, 0);
    return c;
  },
  // The picture with `scores` (N, one per patch) over it: 45% picture, 55% inferno(min-max scaled score).
  overlay(key, scores) {
    const d = this.data;
    if (d.overlays[key]) return d.overlays[key];
    const W = d.r.image.width, Hh = d.r.image.height, g = d.r.grid, lut = LUTS.inferno;
    let lo = Infinity, hi = -Infinity;
    for (const x of scores) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    const c = h('canvas', {width: W, height: Hh}), ctx = c.getContext('2d'), img = ctx.createImageData(W, Hh);
    for (let y = 0; y < Hh; y++) {
      for (let x = 0; x < W; x++) {
        const p = Math.min(g - 1, Math.floor(y * g / Hh)) * g + Math.min(g - 1, Math.floor(x * g / W));
        const t = hi > lo ? (scores[p] - lo) / (hi - lo) : 0, li = Math.round(clamp(t, 0, 1) * 255) * 3, i = y * W + x;
        for (let k = 0; k < 3; k++) img.data[4 * i + k] = Math.round(0.45 * d.rgb[3 * i + k] + 0.55 * lut[li + k]);
        img.data[4 * i + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    d.overlays[key] = c;
    return c;
  },
  headScores(l, hd) {  // (N) CLS attention of one head, or (hd = H) the mean of the layer's heads
    const d = this.data, N = d.N;
    if (hd < d.H) return d.att.subarray((l * d.H + hd) * N, (l * d.H + hd + 1) * N);
    const out = new Float32Array(N);
    for (let k = 0; k < d.H; k++) for (let j = 0; j < N; j++) out[j] += d.att[(l * d.H + k) * N + j] / d.H;
    return out;
  },
  layout(W) {
    const d = this.data, nm = d.r.methods.length;
    const pic = 168, top = 44;
    const mp = clamp(Math.floor((W - 24) / nm) - 12, 84, 150);          // method panels
    const ap = clamp(Math.floor((W - 90) / (d.H + 1)) - 8, 56, 104);     // attention panels
    const rowB = top + pic + 58, rowC = rowB + 24 + mp + 44;
    const w = Math.max(W, 24 + nm * (mp + 12), 90 + (d.H + 1) * (ap + 8), 940);
    return {pic, top, mp, ap, rowB, rowC, w, h: rowC + 26 + d.L * (ap + 8) + 12};
  },
  draw(p, W) {
    const d = this.data, r = d.r, v = this.vit(), lay = this.layout(W), hits = [];
    const method = $('#img-method').value || 'relevance';
    p.rect(0, 0, lay.w, lay.h, '#ffffff');
    figureTitle(p, 12, 16, r.source, (r.label !== null ? `true class: ${r.label_name} · ` : 'no label (uploaded) · ') +
                `predicted: ${r.top[0].name} (${fmt(100 * r.top[0].p, 1)}%) · explaining: ${v.classes[r.target]}`);
    // The picture and the top classes.
    p.image(d.picture, 12, lay.top, lay.pic, lay.pic);
    p.rect(12, lay.top, lay.pic, lay.pic, null, {stroke: GRID});
    const bx = 12 + lay.pic + 24, bw = 150;
    p.text(bx, lay.top + 6, 'top classes', {size: 12, weight: 'bold'});
    r.top.forEach((t, i) => {
      const y = lay.top + 24 + i * 26;
      p.text(bx, y + 8, ellipsize(t.name, 96, 12), {size: 12, color: t.class === r.label ? '#1a7f37' : INK});
      p.rect(bx + 100, y + 1, bw, 14, '#eef1f5');
      p.rect(bx + 100, y + 1, bw * t.p, 14, t.class === r.target ? ACCENT : '#9db4d9');
      p.text(bx + 104 + bw, y + 8, `${fmt(100 * t.p, 1)}%`, {size: 11, color: MUTED});
    });
    p.text(bx, lay.top + 24 + 5 * 26 + 6, 'green: the true class; dark bar: the class explained', {size: 11, color: MUTED});
    // The chosen method's perturbation curves on this picture, beside a random ranking.
    drawCurves(p, bx + 100 + bw + 70, lay.top, r, method, 'patches',
               r.judged_against === 'label' ? 'label kept' : 'prediction kept', `p(${v.classes[r.target]})`);
    // Every method's map.
    p.text(12, lay.rowB, 'Attribution methods (click one for its curves): patch colour = score, darkest = least',
           {size: 13, weight: 'bold'});
    r.methods.forEach((m, i) => {
      const x = 12 + i * (lay.mp + 12), y = lay.rowB + 18;
      p.text(x, y + 4, METHOD_NAMES[m] || m, {size: 12, weight: m === method ? 'bold' : 'normal', color: m === method ? ACCENT : INK});
      p.image(this.overlay(m, d.maps[m]), x, y + 14, lay.mp, lay.mp);
      p.rect(x, y + 14, lay.mp, lay.mp, null, {stroke: m === method ? ACCENT : GRID, lineWidth: m === method ? 3 : 1});
      const c = r.curves[m];
      p.text(x, y + lay.mp + 26, `del ${fmt(curveArea(c.deletion, r.fractions.deletion), 2)} · ins ${fmt(curveArea(c.insertion, r.fractions.deletion), 2)}`,
             {size: 11, color: MUTED});
      hits.push({x, y: y + 14, w: lay.mp, h: lay.mp, method: m});
    });
    // Each head's CLS attention.
    p.text(12, lay.rowC, 'What the CLS token attends to: one row per layer, one column per head (last: mean of heads)',
           {size: 13, weight: 'bold'});
    for (let hd = 0; hd <= d.H; hd++) {
      p.text(60 + hd * (lay.ap + 8) + lay.ap / 2, lay.rowC + 18, hd < d.H ? `head ${hd}` : 'mean', {size: 11, color: MUTED, align: 'center'});
    }
    for (let l = 0; l < d.L; l++) {
      const y = lay.rowC + 26 + l * (lay.ap + 8);
      p.text(52, y + lay.ap / 2, `layer ${l}`, {size: 11, color: MUTED, align: 'right'});
      for (let hd = 0; hd <= d.H; hd++) {
        const x = 60 + hd * (lay.ap + 8);
        p.image(this.overlay(`a${l}.${hd}`, this.headScores(l, hd)), x, y, lay.ap, lay.ap);
        hits.push({x, y, w: lay.ap, h: lay.ap, layer: l, head: hd});
      }
    }
    this.hits = hits;
  },
  render() {
    if (!this.data) return;
    const W = $('#img-host').clientWidth || 1000, lay = this.layout(W);
    const ctx = sizeCanvas(this.canvas, lay.w, lay.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, `image|${this.seq}|${$('#img-method').value}`);
  },
  hitAt(ev) { return boxAt(this.hits, ev, this.canvas); },
  hover(ev) {
    const hit = this.hitAt(ev), d = this.data;
    this.canvas.style.cursor = hit && hit.method ? 'pointer' : 'default';
    if (!hit || !d) { tooltip.hide(); return; }
    const [x, y] = localXY(ev, this.canvas), g = d.r.grid;
    const patch = Math.min(g - 1, Math.floor((y - hit.y) / hit.h * g)) * g + Math.min(g - 1, Math.floor((x - hit.x) / hit.w * g));
    const s = hit.method ? d.maps[hit.method] : this.headScores(hit.layer, hit.head);
    const what = hit.method ? (METHOD_NAMES[hit.method] || hit.method) :
                 `layer ${hit.layer}, ${hit.head < d.H ? `head ${hit.head}` : 'mean of heads'}: CLS attention`;
    tooltip.show(ev, `${esc(what)}<br>patch ${patch} (row ${Math.floor(patch / g)}, column ${patch % g}): <b>${fmt(s[patch], 4)}</b>`);
  },
  figure() {
    const W = $('#img-host').clientWidth || 1000, lay = this.layout(W);
    return {w: lay.w, h: lay.h, draw: p => this.draw(p, W), name: 'image', title: `Explaining a ViT: ${this.data.r.source}`};
  },
  json() {
    const d = this.data, r = d.r, maps = {};
    for (const m of r.methods) maps[m] = Array.from(d.maps[m]);
    const attention = range(d.L).map(l => range(d.H).map(hd => Array.from(this.headScores(l, hd))));
    return {view: 'image', model: this.vit().name, source: r.source, index: r.index === undefined ? null : r.index,
            label: r.label, predicted: r.predicted, target: r.target, top: r.top, grid: r.grid,
            methods: r.methods, maps, attention, fractions: r.fractions, curves: r.curves, judged_against: r.judged_against};
  },
  exportable() { return this.data ? null : 'no picture is explained yet'; },
};

// ---------------------------------------------------------------- relevance (the GPT's next token, explained)
// POST /api/relevance {"text", "target"} explains the GPT's next-token prediction after the analyzed text: one
// score per prompt token for every attribution method, and each method's perturbation curves on this prompt
// (tokens removed = keys no query may attend to). Each method is a row of the prompt's tokens, coloured by score.
const relevanceView = {
  name: 'relevance', data: null, seq: 0, hits: [], text: null, target: null,
  ROW: 24, LEFT: 150,
  init() {
    this.section = $('#view-relevance');
    this.canvas = $('#rel-canvas');
    $('#rel-method').addEventListener('change', () => this.render());
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const hit = this.hitAt(ev);
      if (hit && hit.method) { $('#rel-method').value = hit.method; this.render(); }
    });
  },
  reset() { this.data = null; this.target = null; },
  show() {
    if (!S.an) return;
    if (this.data && this.text === S.text) { this.render(); return; }
    this.run();
  },
  async run() {
    const seq = ++this.seq, text = S.text;
    viewMsg(this, '');
    setStatus('explaining the next token: one traced forward, one backward, and the perturbation tests…', 'busy');
    try {
      const body = {text};
      if (this.target !== null) body.target = this.target;
      const r = await api('POST', '/api/relevance', body);
      if (seq !== this.seq) return;
      if (!Array.isArray(r.tokens) || r.tokens.length !== r.T) throw new ApiError('the relevance has tokens.length ≠ T');
      const scores = {};
      for (const m of r.methods) {
        scores[m] = decodeF32(r.scores[m]);
        if (scores[m].length !== r.T) throw new ApiError(`the ${m} scores do not have ${r.T} tokens`);
      }
      this.data = {r, scores};
      this.text = text;
      if (!$('#rel-method').options.length) fillSelect($('#rel-method'), r.methods.map(m => [m, METHOD_NAMES[m] || m]), 'relevance');
      this.renderTop();
      const t = r.top.find(x => x.id === r.target);
      setStatus(`explained the next token ${quote(t ? t.token : r.target_token)} over ${r.T} tokens`, 'ok');
      this.render();
      document.body.dataset.relevance = String(seq);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  renderTop() {
    const r = this.data.r;
    const chips = r.top.map(t => h('button', {type: 'button', class: 'head-tag' + (t.id === r.target ? ' sel' : ''), 'data-id': t.id,
                                              title: 'explain this token instead',
                                              onclick: () => { this.target = t.id; this.run(); }},
                                   showToken(t.token), h('span', {class: 'muted'}, ` ${fmt(100 * t.p, 1)}%`)));
    $('#rel-top').replaceChildren(h('span', {class: 'muted'}, 'next token: '), ...chips);
  },
  // Token boxes, wrapped in rows of width W - LEFT.
  wrap(W) {
    const r = this.data.r, maxW = Math.max(200, W - this.LEFT - 24), boxes = [];
    let x = 0, line = 0;
    r.tokens.forEach((t, i) => {
      const w = Math.min(maxW, Math.ceil(textWidth(showToken(t), 13, true)) + 8);
      if (x + w > maxW && x > 0) { x = 0; line++; }
      boxes.push({i, x, line, w});
      x += w + 2;
    });
    return {boxes, lines: line + 1};
  },
  layout(W) {
    const d = this.data, wr = this.wrap(W), block = wr.lines * this.ROW + 16;
    const top = 44, curvesY = top + d.r.methods.length * block + 16;
    return {wr, block, top, curvesY, w: Math.max(W, 760), h: curvesY + 230};
  },
  draw(p, W) {
    const d = this.data, r = d.r, lay = this.layout(W), hits = [];
    const method = $('#rel-method').value || 'relevance';
    const t = r.top.find(x => x.id === r.target);
    p.rect(0, 0, lay.w, lay.h, '#ffffff');
    figureTitle(p, 12, 16, `Why ${quote(t ? t.token : r.target_token)} next?`,
                `${r.T} tokens; each method scores every token for the next-token logit (colour: √ of min to max, per method; outlined: the last token)`);
    r.methods.forEach((m, k) => {
      const y0 = lay.top + k * lay.block, s = d.scores[m];
      let lo = Infinity, hi = -Infinity;
      for (const v of s) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      p.text(12, y0 + this.ROW / 2, METHOD_NAMES[m] || m, {size: 12, weight: m === method ? 'bold' : 'normal', color: m === method ? ACCENT : INK});
      for (const b of lay.wr.boxes) {
        const x = this.LEFT + b.x, y = y0 + b.line * this.ROW, v = hi > lo ? Math.sqrt((s[b.i] - lo) / (hi - lo)) : 0;
        p.rect(x, y + 1, b.w, this.ROW - 4, cmapRgb('blues', 0.9 * v), {stroke: b.i === r.T - 1 ? '#e0301e' : null});
        p.text(x + 4, y + this.ROW / 2, ellipsize(showToken(r.tokens[b.i]), b.w - 6, 13, true),
               {size: 13, mono: true, color: inkOn('blues', 0.9 * v)});
        hits.push({x, y, w: b.w, h: this.ROW, method: m, i: b.i});
      }
    });
    drawCurves(p, 60, lay.curvesY, r, method, 'tokens', 'prediction kept', `p(${showToken(t ? t.token : r.target_token)})`);
    this.hits = hits;
  },
  render() {
    if (!this.data) return;
    const W = $('#rel-host').clientWidth || 1000, lay = this.layout(W);
    const ctx = sizeCanvas(this.canvas, lay.w, lay.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, `relevance|${this.seq}|${$('#rel-method').value}`);
  },
  hitAt(ev) { return boxAt(this.hits, ev, this.canvas); },
  hover(ev) {
    const hit = this.hitAt(ev);
    this.canvas.style.cursor = hit ? 'pointer' : 'default';
    if (!hit) { tooltip.hide(); return; }
    const r = this.data.r;
    tooltip.show(ev, `${esc(METHOD_NAMES[hit.method] || hit.method)}<br>${tokHtml(r.tokens[hit.i])} (position ${hit.i}): ` +
                     `<b>${fmt(this.data.scores[hit.method][hit.i], 4)}</b>` + (hit.i === r.T - 1 ? '<br><span class="muted">the query: the last token</span>' : ''));
  },
  figure() {
    const W = $('#rel-host').clientWidth || 1000, lay = this.layout(W);
    return {w: lay.w, h: lay.h, draw: p => this.draw(p, W), name: 'relevance', title: 'Relevance of each token for the next one'};
  },
  json() {
    const d = this.data, r = d.r, scores = {};
    for (const m of r.methods) scores[m] = Array.from(d.scores[m]);
    return {view: 'relevance', predicted: r.predicted, target: r.target, top: r.top, methods: r.methods, scores,
            fractions: r.fractions, curves: r.curves};
  },
  exportable() { return this.data ? null : 'nothing is explained yet'; },
};

// ---------------------------------------------------------------- interventions (what a part does)
// Attention maps show where a model looks; interventions show what a part does, by changing it and watching
// the output (src/attn/explain/interventions.h; docs/explorer_api.md, "Interventions"):
//   POST /api/ablation_grid  Δloss = loss(part ablated) − loss(intact) for every head (layer × head) and every
//                            MLP alone: which parts the model needs on this text
//   POST /api/ablate         a chosen set ablated together: the loss, −log p of each token, KL(intact ‖ ablated)
//                            of each position's next-token distribution, the top-k before and after
//   POST /api/analyze        with {"ablation"}: the ablated model's attention, drawn beside the intact one
//   POST /api/logit_lens     each block's input read through ln_f and the unembedding: the rank of the true
//                            next token per (layer, position)
//   POST /api/patch          the corrupted prompt run with one activation from the clean run: how much of
//                            p(target) each (layer, position) or head brings back
// Each panel is a small object whose section is its own <div class="panel"> (so that its .view-msg takes its
// errors); interventionsView shows them in one tab and exports what they drew, stacked.

// The text the interventions run on: the analyzed text (a text the server cut to the context is cut here
// the same way, when its tokens spell it).
function analyzedText() {
  const an = S.an, o = S.offsets;
  if (!an) return '';
  const end = o && o[an.T - 1] ? o[an.T - 1][1] : S.text.length;
  return an.T >= S.limits.max_tokens && end < S.text.length ? S.text.slice(0, end) : S.text;
}
const signed = (x, d = 3) => (x > 0 ? '+' : '') + x.toFixed(d);
function absMax(a) {
  let m = 0;
  for (const v of a) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m || 1e-9;
}
// "heads L1 H4, L2 H0 and MLP 3": a set of parts in words.
function partsText(heads, mlps) {
  const parts = [];
  if (heads.length) parts.push(`head${heads.length > 1 ? 's' : ''} ` + heads.map(([l, hd]) => `L${l} H${hd}`).join(', '));
  if (mlps.length) parts.push(`MLP${mlps.length > 1 ? 's' : ''} ` + mlps.join(', '));
  return parts.join(' and ') || 'nothing';
}
// The height (at most maxH) that columnLabels needs above cells of width cw.
function columnLabelHeight(tokens, cw, maxH = 80) {
  const fs = Math.min(12, Math.floor(cw) - 1);
  if (fs < 8) return 26;
  let w = 0, upright = true;
  for (const t of tokens) {
    const tw = textWidth(showToken(t), fs, true);
    w = Math.max(w, tw);
    if (tw > cw - 1) upright = false;
  }
  return upright ? 20 : Math.min(maxH, Math.ceil(w) + 10);
}
// Column labels over the cells of width cw from x, their baseline at y: the tokens upright when each fits
// its cell, turned when cells are at least 9 px wide, position ticks otherwise (a long text). mark(c): a
// colour for a column to stress, or null.
function columnLabels(p, tokens, x, y, cw, maxH, mark) {
  const n = tokens.length, fs = Math.min(12, Math.floor(cw) - 1);
  const colour = c => (mark && mark(c)) || null;
  if (fs >= 8) {
    const labels = tokens.map(showToken);
    const upright = labels.every(s => textWidth(s, fs, true) <= cw - 1);
    labels.forEach((s, c) => {
      const o = {size: fs, mono: true, color: colour(c) || INK, weight: colour(c) ? 'bold' : 'normal'};
      if (upright) p.text(x + (c + 0.5) * cw, y - 4, s, Object.assign(o, {align: 'center', baseline: 'bottom'}));
      else p.text(x + (c + 0.5) * cw, y - 4, ellipsize(s, maxH - 8, fs, true), Object.assign(o, {rotate: -90}));
    });
    return;
  }
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500].find(s => s * cw >= 30) || 1000;
  for (let c = 0; c < n; c += step) p.text(x + (c + 0.5) * cw, y - 6, String(c), {align: 'center', size: 10, color: MUTED});
  for (let c = 0; c < n; c++) if (colour(c)) p.text(x + (c + 0.5) * cw, y - 18, '▼', {align: 'center', size: 9, color: colour(c)});
}
// White lines between the cells of a rows × cols grid at (x, y) (only when the cells are big enough to see).
function cellBorders(p, x, y, rows, cols, cw, ch) {
  if (cw < 6 || ch < 6) return;
  const segs = [];
  for (let r = 0; r <= rows; r++) segs.push(x, y + r * ch, x + cols * cw, y + r * ch);
  for (let c = 0; c <= cols; c++) segs.push(x + c * cw, y, x + c * cw, y + rows * ch);
  p.lines(segs, '#ffffff', 1);
}

// ---- ablation: the grid, a chosen set, the top-k and the tokens ----
const ablationPanel = {
  name: 'ablation', grid: null, result: null, heads: new Set(), mlps: new Set(), position: null,
  gridSeq: 0, ablSeq: 0, hits: [],
  init() {
    this.section = $('#iv-ablation');
    this.canvas = $('#grid-canvas');
    $('#grid-run').addEventListener('click', () => this.runGrid());
    $('#abl-run').addEventListener('click', () => { this.position = null; this.ablate(); });
    $('#abl-clear').addEventListener('click', () => { this.heads.clear(); this.mlps.clear(); this.selectionChanged(); });
    $('#abl-strip-by').addEventListener('change', () => this.renderStrip());
    $('#abl-strip').addEventListener('click', ev => {
      const el = ev.target.closest('.tok');
      if (el && this.result) { this.position = +el.dataset.i; this.ablate(this.result.spec); }
    });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const hit = boxAt(this.hits, ev, this.canvas);
      if (!hit) return;
      if (hit.head === null) { this.mlps.has(hit.layer) ? this.mlps.delete(hit.layer) : this.mlps.add(hit.layer); }
      else {
        const k = `${hit.layer},${hit.head}`;
        this.heads.has(k) ? this.heads.delete(k) : this.heads.add(k);
      }
      this.selectionChanged();
      this.hover(ev);
    });
  },
  // A new analysis: results made from another text go (the selection stays: same model).
  reset() {
    const text = analyzedText();
    if (this.grid && this.grid.text !== text) this.grid = null;
    if (this.result && this.result.text !== text) { this.result = null; this.position = null; $('#abl-result').hidden = true; }
    if (!this.grid) $('#grid-info').textContent = '';
  },
  seed() { return Math.max(0, Math.round(Number($('#abl-seed').value) || 0)); },
  selected() {
    const heads = [...this.heads].map(k => k.split(',').map(Number)).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return {heads, mlps: [...this.mlps].sort((a, b) => a - b)};
  },
  selectionChanged() {
    const {heads, mlps} = this.selected();
    const n = heads.length + mlps.length;
    $('#abl-selection').textContent = n ? `Selected: ${partsText(heads, mlps)}.`
                                        : 'Click cells of the grid to choose heads (and MLPs) to ablate together.';
    $('#abl-run').disabled = !n || !S.an || !!STATIC;
    this.render();
  },
  async runGrid() {
    const text = analyzedText();
    if (!text || !S.model) return;
    const seq = ++this.gridSeq, method = $('#abl-method').value, seed = this.seed();
    viewMsg(this, '');
    setStatus(`ablating each of ${S.model.n_layer * S.model.n_head} heads and ${S.model.n_layer} MLPs alone (${method})…`, 'busy');
    $('#grid-run').disabled = true;
    try {
      const r = await api('POST', '/api/ablation_grid', {text, method, seed});
      if (seq !== this.gridSeq || text !== analyzedText()) return;  // superseded, or the text changed meanwhile
      const nl = r.n_layer, nh = r.n_head;
      if (!Array.isArray(r.head_delta) || r.head_delta.length !== nl || r.head_delta.some(row => row.length !== nh) ||
          !Array.isArray(r.mlp_delta) || r.mlp_delta.length !== nl) throw new ApiError('the ablation grid does not have the announced shape');
      const heads = Float32Array.from(r.head_delta.flat()), mlp = Float32Array.from(r.mlp_delta);
      this.grid = {r, text, heads, mlp, hmax: absMax(heads), mmax: absMax(mlp)};
      $('#grid-info').innerHTML = `intact loss <b id="grid-loss">${r.loss.toFixed(3)}</b> nats over ${r.T - 1} predictions · ` +
        `${esc(r.method)} · <span id="grid-ms">${r.elapsed_ms.toFixed(1)}</span> ms on the server`;
      let best = [0, 0];
      for (let k = 0; k < heads.length; k++) if (heads[k] > heads[best[0] * nh + best[1]]) best = [Math.floor(k / nh), k % nh];
      setStatus(`ablation grid (${r.method}): the loss rises most without head L${best[0]} H${best[1]} ` +
                `(${signed(heads[best[0] * nh + best[1]])} nats); ${r.elapsed_ms.toFixed(0)} ms`, 'ok');
      this.render();
    } catch (e) { if (seq === this.gridSeq) showError(this, e); }
    finally { if (seq === this.gridSeq) $('#grid-run').disabled = !!STATIC; }
  },
  dims() { return this.grid ? [this.grid.r.n_layer, this.grid.r.n_head] : [S.model.n_layer, S.model.n_head]; },
  layout(W) {
    const [nl, nh] = this.dims(), left = 64, top = 70;
    const cell = clamp(Math.min(Math.floor((W - left - 240) / (nh + 1)), Math.floor(540 / nl)), 18, 56);
    const mlpX = left + nh * cell + 26;
    return {nl, nh, left, top, cell, mlpX, w: Math.max(mlpX + cell + 24, W), h: top + nl * cell + 40};
  },
  draw(p, W) {
    const L = this.layout(W), g = this.grid, cell = L.cell, hits = [];
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, 'Ablation grid', g ? `Δ loss (nats) with one part alone ablated (${g.r.method}); intact loss ${g.r.loss.toFixed(3)}`
                                             : 'press “Run grid” to measure every part, or click cells to choose parts to ablate');
    p.text(L.left, 44, 'head →', {size: 11, color: MUTED});
    p.text(L.left - 8, 44, 'layer ↓', {size: 11, color: MUTED, align: 'right'});
    for (let hd = 0; hd < L.nh; hd++) {
      if (cell >= 22 || hd % 2 === 0) p.text(L.left + (hd + 0.5) * cell, L.top - 10, String(hd), {align: 'center', size: 11, color: MUTED});
    }
    p.text(L.mlpX + cell / 2, L.top - 10, 'MLP', {align: 'center', size: 11, color: MUTED, weight: 'bold'});
    const hspec = g && {data: g.heads, stride: L.nh, rows: L.nl, cols: L.nh, vmin: -g.hmax, vmax: g.hmax, cmap: 'rdbu'};
    const mspec = g && {data: g.mlp, stride: 1, rows: L.nl, cols: 1, vmin: -g.mmax, vmax: g.mmax, cmap: 'rdbu'};
    if (g) {
      p.heatmap(hspec, 0, L.nl, 0, L.nh, L.left, L.top, cell, cell);
      p.heatmap(mspec, 0, L.nl, 0, 1, L.mlpX, L.top, cell, cell);
    } else {
      p.rect(L.left, L.top, L.nh * cell, L.nl * cell, '#e6ebf2');
      p.rect(L.mlpX, L.top, cell, L.nl * cell, '#e6ebf2');
    }
    cellBorders(p, L.left, L.top, L.nl, L.nh, cell, cell);
    cellBorders(p, L.mlpX, L.top, L.nl, 1, cell, cell);
    const value = (spec, v, x, y) => {
      if (!spec || cell < 36) return;
      p.text(x + cell / 2, y + cell / 2, Math.abs(v) < 0.005 ? '0' : v.toFixed(2),
             {align: 'center', size: 11, color: inkOn('rdbu', heatT(spec, v))});
    };
    const outline = (x, y) => {  // dark with a white line inside: visible on any colour
      p.rect(x + 1.5, y + 1.5, cell - 3, cell - 3, null, {stroke: INK, lineWidth: 3});
      p.rect(x + 3.5, y + 3.5, cell - 7, cell - 7, null, {stroke: '#ffffff', lineWidth: 1});
    };
    for (let l = 0; l < L.nl; l++) {
      const y = L.top + l * cell;
      p.text(L.left - 8, y + cell / 2, String(l), {align: 'right', size: 11, color: MUTED});
      for (let hd = 0; hd < L.nh; hd++) {
        const x = L.left + hd * cell;
        if (g) value(hspec, g.heads[l * L.nh + hd], x, y);
        if (this.heads.has(`${l},${hd}`)) outline(x, y);
        hits.push({x, y, w: cell, h: cell, layer: l, head: hd});
      }
      if (g) value(mspec, g.mlp[l], L.mlpX, y);
      if (this.mlps.has(l)) outline(L.mlpX, y);
      hits.push({x: L.mlpX, y, w: cell, h: cell, layer: l, head: null});
    }
    p.text(12, L.top + L.nl * cell + 20, g
      ? `red: the loss rises without the part, blue: it falls; heads ±${g.hmax.toFixed(3)}, MLPs ±${g.mmax.toFixed(3)} (own scales); outlined: selected`
      : 'outlined: selected', {size: 11, color: MUTED});
    this.hits = hits;
  },
  render() {
    if (!S.model) return;
    const W = $('#grid-host').clientWidth || 900, L = this.layout(W);
    this.draw(new CanvasPainter(sizeCanvas(this.canvas, L.w, L.h)), W);
    markDrawn(this.canvas, this.grid ? `grid|${this.grid.r.method}|${this.gridSeq}` : 'grid-empty');
  },
  hover(ev) {
    const hit = boxAt(this.hits, ev, this.canvas), g = this.grid;
    this.canvas.style.cursor = hit ? 'pointer' : 'default';
    if (!hit) { tooltip.hide(); return; }
    const mlp = hit.head === null, name = mlp ? `MLP of layer ${hit.layer}` : `layer ${hit.layer}, head ${hit.head}`;
    const on = mlp ? this.mlps.has(hit.layer) : this.heads.has(`${hit.layer},${hit.head}`);
    let html = name;
    if (g) {
      const v = mlp ? g.mlp[hit.layer] : g.heads[hit.layer * g.r.n_head + hit.head];
      html += `<br>Δ loss <b>${signed(v, 4)}</b> nats (${g.r.loss.toFixed(3)} → ${(g.r.loss + v).toFixed(3)}) with it alone ablated`;
    }
    tooltip.show(ev, html + `<br><span class="muted">click to ${on ? 'deselect' : 'select'} it for “Ablate selected”</span>`);
  },
  // POST /api/ablate with the selected parts (or `spec`, the last ablation's, when a token was clicked).
  async ablate(spec) {
    const text = analyzedText();
    const parts = spec ? {heads: spec.heads, mlps: spec.mlps} : this.selected();
    if (!text || (!parts.heads.length && !parts.mlps.length)) return;
    const method = spec ? spec.method : $('#abl-method').value, seed = spec ? spec.seed : this.seed();
    const body = {text, heads: parts.heads, mlps: parts.mlps, method, seed};
    if (this.position !== null) body.position = this.position;
    const seq = ++this.ablSeq;
    viewMsg(this, '');
    setStatus(`ablating ${partsText(parts.heads, parts.mlps)} (${method})…`, 'busy');
    $('#abl-run').disabled = true;
    try {
      const r = await api('POST', '/api/ablate', body);
      if (seq !== this.ablSeq || text !== analyzedText()) return;
      if (r.token_loss.length !== r.T - 1 || r.token_loss_ablated.length !== r.T - 1 || r.kl.length !== r.T || r.tokens.length !== r.T) {
        throw new ApiError('the ablation does not have the announced shape');
      }
      this.result = {r, text, spec: {heads: r.heads, mlps: r.mlps, method: r.method, seed}};
      this.renderResult();
      setStatus(`ablated ${partsText(r.heads, r.mlps)}: loss ${r.loss.toFixed(3)} → ${r.loss_ablated.toFixed(3)} nats; ` +
                `${r.elapsed_ms.toFixed(0)} ms`, 'ok');
      document.body.dataset.ablation = String(seq);
      comparePanel.run(this.result);
    } catch (e) { if (seq === this.ablSeq) showError(this, e); }
    finally { if (seq === this.ablSeq) this.selectionChanged(); }
  },
  renderResult() {
    const r = this.result.r, d = r.loss_ablated - r.loss;
    $('#abl-result').hidden = false;
    $('#abl-loss').innerHTML = `loss <b id="abl-loss-intact">${r.loss.toFixed(3)}</b> → <b id="abl-loss-ablated">${r.loss_ablated.toFixed(3)}</b> nats ` +
      `<span class="${d > 0 ? 'up' : 'down'}">(${signed(d)})</span> with ${esc(partsText(r.heads, r.mlps))} ablated (${esc(r.method)}) ` +
      `<span class="muted">· mean over ${r.T - 1} predictions · ${r.elapsed_ms.toFixed(1)} ms on the server</span>`;
    const at = `after ${tokHtml(r.tokens[r.position])} (position ${r.position})`;
    const pmax = Math.max(1e-9, ...r.top.map(t => Math.max(t.p, t.p_ablated)), ...r.top_ablated.map(t => Math.max(t.p, t.p_ablated)));
    const table = (caption, list) => h('table', {},
      h('caption', {}, ...caption),
      h('thead', {}, h('tr', {}, h('th', {}, 'token'),
                       h('th', {}, h('span', {class: 'legend-swatch'}), 'intact', h('span', {class: 'legend-swatch abl'}), 'ablated'),
                       h('th', {class: 'num'}, 'p'), h('th', {class: 'num'}, 'p ablated'))),
      h('tbody', {}, list.map(t => h('tr', {'data-id': t.id},
        h('td', {}, h('span', {class: 'tt-tok'}, showToken(t.token))),
        h('td', {class: 'bars'}, h('div', {class: 'pbar', style: `width:${(100 * t.p / pmax).toFixed(2)}%`}),
                                 h('div', {class: 'pbar abl', style: `width:${(100 * t.p_ablated / pmax).toFixed(2)}%`})),
        h('td', {class: 'num'}, t.p.toFixed(4)), h('td', {class: 'num'}, t.p_ablated.toFixed(4))))));
    const cap = (who) => { const c = h('span', {}); c.innerHTML = `${who} top ${r.top.length} ${at}`; return [c]; };
    $('#abl-top').replaceChildren(table(cap('The intact model’s'), r.top));
    $('#abl-top-ablated').replaceChildren(table(cap('The ablated model’s'), r.top_ablated));
    this.renderStrip();
  },
  // The text's tokens coloured by the ablation's effect: KL at each position (about the token after it), or
  // the change in −log p of predicting each token (token 0 is never predicted).
  renderStrip() {
    if (!this.result) return;
    const r = this.result.r, byKl = $('#abl-strip-by').value === 'kl';
    const vals = byKl ? r.kl : r.tokens.map((_, i) => (i ? r.token_loss_ablated[i - 1] - r.token_loss[i - 1] : NaN));
    const m = absMax(vals);
    const spans = r.tokens.flatMap((t, i) => {
      const v = vals[i];
      let style = null, title;
      if (byKl) {
        const tt = 0.85 * Math.sqrt(clamp(v / m, 0, 1));
        style = `background:${cmapRgb('blues', tt)};color:${inkOn('blues', tt)}`;
        title = `position ${i}: KL(intact ‖ ablated) = ${v.toFixed(4)} nats for the token after it`;
      } else if (i > 0) {
        const tt = 0.5 + 0.5 * clamp(v / m, -1, 1);
        style = `background:${cmapRgb('rdbu', tt)};color:${inkOn('rdbu', tt)}`;
        title = `position ${i}: −log p(this token) ${r.token_loss[i - 1].toFixed(3)} → ${r.token_loss_ablated[i - 1].toFixed(3)} (${signed(v)})`;
      } else title = 'position 0: the first token is never predicted';
      const span = h('span', {class: 'tok' + (i === r.position ? ' pos' : ''), 'data-i': i, style,
                              title: title + '; click to read the top-k after it'}, flowToken(t));
      return String(t).includes('\n') ? [span, h('br')] : [span];
    });
    $('#abl-strip').replaceChildren(...spans);
  },
  figure(W) { const L = this.layout(W); return {w: L.w, h: L.h, draw: p => this.draw(p, W)}; },
};

// ---- compare: the attention of the ablated model beside the intact one ----
// An ablated head still attends as it did (only what it writes into the stream is removed), so its own
// layer's attention is unchanged: the layers above it read a different stream and may attend differently.
const comparePanel = {
  name: 'compare', data: null, seq: 0, loadSeq: 0, layer: 0, head: 0, hits: [],
  init() {
    this.section = $('#iv-ablation');
    this.canvas = $('#cmp-canvas');
    $('#cmp-layer').addEventListener('change', e => { this.layer = +e.target.value; this.load(); });
    $('#cmp-head').addEventListener('change', e => { this.head = +e.target.value; this.load(); });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const hit = boxAt(this.hits, ev, this.canvas);
      if (hit && hit.kind === 'map') { this.choose(hit.layer, hit.head); this.load(); }
    });
  },
  reset() {
    if (this.data && this.data.text !== analyzedText()) { this.data = null; $('#cmp-info').textContent = ''; }
  },
  choose(layer, head) {
    this.layer = layer; this.head = head;
    $('#cmp-layer').value = String(layer); $('#cmp-head').value = String(head);
  },
  async run(result) {
    const key = JSON.stringify([result.text, result.spec]);
    if (this.data && this.data.key === key) return;
    const seq = ++this.seq;
    $('#cmp-info').textContent = 'analyzing the ablated model…';
    try {
      // The intact analysis: the current one unless tokens are masked in it (then one without masks).
      const intact = S.an && analyzedText() === result.text && !S.masked.length ? S.an : await analysisOf({text: result.text});
      const ablated = await analysisOf({text: result.text, ablation: result.spec});
      if (seq !== this.seq || result.text !== analyzedText()) return;
      if (intact.T !== ablated.T || intact.thumb_size !== ablated.thumb_size) throw new ApiError('the ablated analysis has other tokens than the intact one');
      // How much each head's attention moved: mean |Δ| over its thumbnail.
      const nl = ablated.n_layer, nh = ablated.n_head, n = ablated.thumb_size * ablated.thumb_size;
      const change = new Float32Array(nl * nh);
      for (let k = 0; k < nl * nh; k++) {
        let s = 0;
        for (let i = k * n; i < (k + 1) * n; i++) s += Math.abs(ablated.thumbs[i] - intact.thumbs[i]);
        change[k] = s / n;
      }
      let best = 0;
      for (let k = 1; k < change.length; k++) if (change[k] > change[best]) best = k;
      this.data = {key, text: result.text, spec: result.spec, intact, ablated, change, cmax: absMax(change), mats: null};
      fillSelect($('#cmp-layer'), range(nl).map(l => [l, `${l}`]), 0);
      fillSelect($('#cmp-head'), range(nh).map(hd => [hd, `${hd}`]), 0);
      this.choose(Math.floor(best / nh), best % nh);
      await this.load();
    } catch (e) { if (seq === this.seq) { $('#cmp-info').textContent = ''; showError(this, e); } }
  },
  // One head's matrix of `an`; an analysis the server has dropped (it keeps the most recent ones within a
  // memory budget: 404) is made again from its request, once.
  async matrix(an, layer, head) {
    try { return await getMatrix(layer, head, an); }
    catch (e) {
      if (!(e instanceof ApiError && e.status === 404 && an.body)) throw e;
      an.id = (await analysisOf(an.body)).id;
      return getMatrix(layer, head, an);
    }
  },
  async load() {
    const d = this.data;
    if (!d) return;
    const seq = ++this.loadSeq, layer = this.layer, head = this.head;
    try {
      const [a, b] = await Promise.all([this.matrix(d.intact, layer, head), this.matrix(d.ablated, layer, head)]);
      if (seq !== this.loadSeq || this.data !== d) return;
      const diff = new Float32Array(a.length);
      for (let k = 0; k < a.length; k++) diff[k] = b[k] - a[k];
      d.mats = {layer, head, a, b, diff, dmax: absMax(diff)};
      const c = d.change[layer * d.ablated.n_head + head];
      $('#cmp-info').textContent = `layer ${layer}, head ${head}: largest weight change ${d.mats.dmax < 1e-6 ? '0' : d.mats.dmax.toFixed(4)}, ` +
        `mean |Δ| ${c.toFixed(5)} (analyses ${d.intact.id} and ${d.ablated.id}). Click the map to choose another head.`;
      this.render();
    } catch (e) { if (seq === this.loadSeq) showError(this, e); }
  },
  layout(W) {
    const d = this.data, nl = d.ablated.n_layer, nh = d.ablated.n_head;
    const mc = clamp(Math.floor(180 / Math.max(nl, nh)), 8, 26), left = 40, top = 62;
    const x0 = left + nh * mc + 44;
    const A = clamp(Math.floor((W - x0 - 16) / 3) - 28, 120, 300);
    const xs = [x0, x0 + A + 28, x0 + 2 * (A + 28)];
    return {nl, nh, mc, left, top, A, xs, w: Math.max(xs[2] + A + 12, W), h: top + Math.max(nl * mc + 60, A + 40)};
  },
  draw(p, W) {
    const d = this.data, L = this.layout(W), m = d.mats, T = d.ablated.T, hits = [];
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, m ? `Layer ${m.layer} · head ${m.head}` : 'Attention, intact and ablated',
                `${partsText(d.spec.heads, d.spec.mlps)} ablated (${d.spec.method}) · ${T} tokens`);
    // the change map: which heads' attention moved (mean |Δ| of the thumbnails); orange: ablated heads
    p.text(L.left, 42, 'mean |Δ attention|', {size: 11, color: MUTED});
    p.heatmap({data: d.change, stride: L.nh, rows: L.nl, cols: L.nh, vmin: 0, vmax: d.cmax, cmap: 'blues', gamma: 0.5},
              0, L.nl, 0, L.nh, L.left, L.top, L.mc, L.mc);
    cellBorders(p, L.left, L.top, L.nl, L.nh, L.mc, L.mc);
    for (let l = 0; l < L.nl; l++) {
      if (L.mc >= 12 || l % 2 === 0) p.text(L.left - 6, L.top + (l + 0.5) * L.mc, String(l), {align: 'right', size: 10, color: MUTED});
      for (let hd = 0; hd < L.nh; hd++) hits.push({kind: 'map', x: L.left + hd * L.mc, y: L.top + l * L.mc, w: L.mc, h: L.mc, layer: l, head: hd});
    }
    for (const [l, hd] of d.spec.heads) p.rect(L.left + hd * L.mc + 1, L.top + l * L.mc + 1, L.mc - 2, L.mc - 2, null, {stroke: '#e07b39', lineWidth: 2});
    if (m) p.rect(L.left + m.head * L.mc - 1, L.top + m.layer * L.mc - 1, L.mc + 2, L.mc + 2, null, {stroke: '#e0301e', lineWidth: 2});
    p.text(L.left - 20, L.top + L.nl * L.mc + 14, 'layer ↓ head →', {size: 10, color: MUTED});
    p.text(L.left - 20, L.top + L.nl * L.mc + 28, 'orange: ablated', {size: 10, color: '#c0611f'});
    if (!m) { this.hits = hits; return; }
    // the two matrices and their difference
    const specs = [{data: m.a, stride: T, rows: T, cols: T, vmin: 0, vmax: 1, cmap: 'blues', gamma: 0.5},
                   {data: m.b, stride: T, rows: T, cols: T, vmin: 0, vmax: 1, cmap: 'blues', gamma: 0.5},
                   {data: m.diff, stride: T, rows: T, cols: T, vmin: -m.dmax, vmax: m.dmax, cmap: 'rdbu'}];
    const titles = ['intact', 'ablated', `ablated − intact (±${m.dmax < 1e-6 ? '0' : m.dmax.toFixed(3)})`];
    specs.forEach((spec, k) => {
      const x = L.xs[k];
      p.text(x, L.top - 10, titles[k], {size: 12, weight: 'bold'});
      p.heatmap(spec, 0, T, 0, T, x, L.top, L.A / T, L.A / T);
      p.rect(x - 0.5, L.top - 0.5, L.A + 1, L.A + 1, null, {stroke: '#9aa5b5'});
      hits.push({kind: 'mat', k, x, y: L.top, w: L.A, h: L.A});
    });
    p.text(L.xs[0], L.top + L.A + 14, 'query ↓ key →; √ scale', {size: 10, color: MUTED});
    this.hits = hits;
  },
  render() {
    if (!this.data) { sizeCanvas(this.canvas, 1, 1); return; }
    const W = $('#cmp-host').clientWidth || 900, L = this.layout(W);
    this.draw(new CanvasPainter(sizeCanvas(this.canvas, L.w, L.h)), W);
    if (this.data.mats) markDrawn(this.canvas, `cmp|${this.data.ablated.id}|${this.data.mats.layer}|${this.data.mats.head}`);
  },
  hover(ev) {
    const hit = boxAt(this.hits, ev, this.canvas), d = this.data;
    this.canvas.style.cursor = hit && hit.kind === 'map' ? 'pointer' : 'crosshair';
    if (!hit || !d) { tooltip.hide(); return; }
    if (hit.kind === 'map') {
      tooltip.show(ev, `layer ${hit.layer}, head ${hit.head}: mean |Δ attention| <b>${d.change[hit.layer * d.ablated.n_head + hit.head].toFixed(5)}</b>` +
                       '<br><span class="muted">click to compare its attention</span>');
      return;
    }
    const m = d.mats, T = d.ablated.T, [x, y] = localXY(ev, this.canvas);
    const i = clamp(Math.floor((y - hit.y) / hit.h * T), 0, T - 1), j = clamp(Math.floor((x - hit.x) / hit.w * T), 0, T - 1);
    const tk = d.ablated.tokens;
    tooltip.show(ev, `query ${i} ${tokHtml(tk[i])} → key ${j} ${tokHtml(tk[j])}<br>intact ${m.a[i * T + j].toFixed(4)} · ` +
                     `ablated ${m.b[i * T + j].toFixed(4)} · Δ <b>${signed(m.diff[i * T + j], 4)}</b>`);
  },
  figure(W) { const L = this.layout(W); return {w: L.w, h: L.h, draw: p => this.draw(p, W)}; },
};

// ---- logit lens: each layer's guess for the next token ----
const lensPanel = {
  name: 'lens', data: null, seq: 0, sel: null,
  ROW: 24,
  init() {
    this.section = $('#iv-lens');
    this.canvas = $('#lens-canvas');
    $('#lens-run').addEventListener('click', () => this.run());
    this.canvas.addEventListener('mousemove', ev => {
      const c = this.cellAt(ev);
      this.canvas.style.cursor = c ? 'pointer' : 'default';
      if (c) tooltip.show(ev, this.tip(c[0], c[1])); else tooltip.hide();
    });
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => { const c = this.cellAt(ev); if (c) this.select(c[0], c[1]); });
    const table = $('#lens-table');
    table.addEventListener('mouseover', ev => {
      const td = ev.target.closest('td');
      if (td && this.data) tooltip.show(ev, this.tip(+td.dataset.l, +td.dataset.t)); else tooltip.hide();
    });
    table.addEventListener('mouseleave', () => tooltip.hide());
    table.addEventListener('click', ev => { const td = ev.target.closest('td'); if (td) this.select(+td.dataset.l, +td.dataset.t); });
  },
  reset() {
    if (this.data && this.data.text !== analyzedText()) {
      this.data = null; this.sel = null;
      $('#lens-info').textContent = '';
      $('#lens-detail').hidden = true;
      $('#lens-table-host').hidden = true;
      $('#lens-table').replaceChildren();
    }
  },
  rowLabel(l) { return l === 0 ? 'embed' : `after block ${l - 1}`; },
  label(id) { const s = this.data.r.labels[String(id)]; return s === undefined ? `#${id}` : s; },
  async run() {
    const text = analyzedText();
    if (!text) return;
    const k = clamp(Math.round(Number($('#lens-k').value) || 5), 1, 20);
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus('reading every layer through the unembedding…', 'busy');
    $('#lens-run').disabled = true;
    try {
      const r = await api('POST', '/api/logit_lens', {text, k});
      if (seq !== this.seq || text !== analyzedText()) return;
      const C = r.T - 1;
      if (r.top_ids.length !== r.n_rows || r.top_ids.some(row => row.length !== r.T) ||
          r.target_rank.length !== (C > 0 ? r.n_rows : 0) || r.target_rank.some(row => row.length !== C)) {
        throw new ApiError('the logit lens does not have the announced shape');
      }
      // colour: 1 − log(1 + rank) / log(V): 1 (dark) = the lens's first choice, 0 = the last of the vocabulary
      const lv = Math.log1p(Math.max(1, S.model.vocab_size - 1)), score = new Float32Array(r.n_rows * C);
      for (let l = 0; l < r.n_rows && C > 0; l++) for (let t = 0; t < C; t++) score[l * C + t] = 1 - Math.log1p(r.target_rank[l][t]) / lv;
      this.data = {r, C, score, text};
      this.sel = null;
      const first = C > 0 ? r.target_rank[r.n_rows - 1].filter(x => x === 0).length : 0;
      $('#lens-info').innerHTML = `${r.n_rows} rows × ${r.T} positions, top ${r.k} · the output row ranks the true next token first at ` +
        `<b id="lens-first">${first}</b> of ${C} positions · ${r.elapsed_ms.toFixed(1)} ms on the server`;
      setStatus(`logit lens: ${r.n_rows} rows × ${r.T} positions`, 'ok');
      $('#lens-detail').hidden = true;
      this.render();
      this.renderTable();
      if (C === 0) viewMsg(this, 'One token: there is no next token in the text to rank (the table still shows each layer’s guess).', 'offline');
    } catch (e) { if (seq === this.seq) showError(this, e); }
    finally { if (seq === this.seq) $('#lens-run').disabled = !!STATIC; }
  },
  layout(W) {
    const r = this.data.r, C = Math.max(1, this.data.C), left = 104;
    const cw = clamp(Math.floor((W - left - 24) / C), 3, 44);
    const labH = columnLabelHeight(r.tokens.slice(0, C), cw);
    const top = 44 + labH;
    return {left, top, cw, ch: this.ROW, C, labH, w: Math.max(left + C * cw + 24, W), h: top + r.n_rows * this.ROW + 34};
  },
  draw(p, W) {
    const d = this.data, r = d.r, L = this.layout(W), C = d.C;
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, 'Logit lens', 'rank of the true next token in each layer’s guess (dark: first; colour ∝ log rank); ' +
                'column t reads token t and predicts token t+1');
    if (C === 0) return;
    const spec = {data: d.score, stride: C, rows: r.n_rows, cols: C, vmin: 0, vmax: 1, cmap: 'blues'};
    p.heatmap(spec, 0, r.n_rows, 0, C, L.left, L.top, L.cw, L.ch);
    cellBorders(p, L.left, L.top, r.n_rows, C, L.cw, L.ch);
    for (let l = 0; l < r.n_rows; l++) {
      const y = L.top + (l + 0.5) * L.ch;
      p.text(L.left - 8, y, this.rowLabel(l), {align: 'right', size: 12, color: l === r.n_rows - 1 ? INK : MUTED});
      if (L.cw >= 26) {
        for (let t = 0; t < C; t++) {
          const rank = r.target_rank[l][t];
          p.text(L.left + (t + 0.5) * L.cw, y, rank < 1000 ? String(rank) : '1k+',
                 {align: 'center', size: 10, color: inkOn('blues', heatT(spec, d.score[l * C + t]))});
        }
      }
    }
    columnLabels(p, r.tokens.slice(0, C), L.left, L.top, L.cw, L.labH);
    if (this.sel && this.sel[1] < C) {
      p.rect(L.left + this.sel[1] * L.cw - 1, L.top + this.sel[0] * L.ch - 1, L.cw + 2, L.ch + 2, null, {stroke: '#e0301e', lineWidth: 2});
    }
    p.text(12, L.top + r.n_rows * L.ch + 16, `numbers: the rank (0 = the lens’s first choice of ${S.model.vocab_size}); ` +
           'the last row is the model’s own prediction; click a cell for the top-k', {size: 11, color: MUTED});
  },
  render() {
    if (!this.data) { sizeCanvas(this.canvas, 1, 1); return; }
    const W = $('#lens-host').clientWidth || 900, L = this.layout(W);
    this.draw(new CanvasPainter(sizeCanvas(this.canvas, L.w, L.h)), W);
    markDrawn(this.canvas, `lens|${this.seq}`);
  },
  cellAt(ev) {
    if (!this.data || !this.data.C) return null;
    const L = this.layout($('#lens-host').clientWidth || 900), [x, y] = localXY(ev, this.canvas);
    const l = Math.floor((y - L.top) / L.ch), t = Math.floor((x - L.left) / L.cw);
    return l >= 0 && l < this.data.r.n_rows && t >= 0 && t < this.data.C && x >= L.left ? [l, t] : null;
  },
  // The lens's top-k at (row l, position t) as HTML, and where the true next token stands.
  tip(l, t) {
    const r = this.data.r, next = t + 1 < r.T ? r.ids[t + 1] : null;
    let html = `${esc(this.rowLabel(l))} · position ${t} ${tokHtml(r.tokens[t])}`;
    if (next !== null) html += `<br>true next token ${tokHtml(r.tokens[t + 1])}: rank <b>${r.target_rank[l][t]}</b>, p ${fmt(r.target_prob[l][t], 4)}`;
    html += '<br>' + r.top_ids[l][t].map((id, i) => `${tokHtml(this.label(id))} ${fmt(r.top_probs[l][t][i], 3)}`).join(' · ');
    return html;
  },
  select(l, t) {
    const r = this.data.r;
    this.sel = [l, t];
    const box = $('#lens-detail');
    box.hidden = false;
    const head = h('div', {});
    head.innerHTML = `<b>${esc(this.rowLabel(l))}</b> at position ${t} ${tokHtml(r.tokens[t])}` +
      (t + 1 < r.T ? ` — the true next token ${tokHtml(r.tokens[t + 1])} has rank <b>${r.target_rank[l][t]}</b> (p ${fmt(r.target_prob[l][t], 4)})` : ' — the last token');
    const pmax = Math.max(1e-9, ...r.top_probs[l][t]);
    box.replaceChildren(head, ...r.top_ids[l][t].map((id, i) => h('div', {class: 'row', 'data-id': id},
      h('span', {class: 'tt-tok'}, showToken(this.label(id))),
      h('div', {class: 'pbar', style: `width:${(160 * r.top_probs[l][t][i] / pmax).toFixed(1)}px`}),
      h('span', {class: 'muted'}, r.top_probs[l][t][i].toFixed(4)))));
    $$('#lens-table td.sel').forEach(td => td.classList.remove('sel'));
    const td = $(`#lens-table td[data-l="${l}"][data-t="${t}"]`);
    if (td) td.classList.add('sel');
    this.render();
  },
  // The lens's first choice per (layer, position) as a table (built as one string: 13 × 1024 cells stay
  // quick); bold with a green underline where it is the token that actually comes next.
  renderTable() {
    const r = this.data.r, parts = ['<thead><tr><th>layer \\ position</th>'];
    for (let t = 0; t < r.T; t++) parts.push(`<th title="position ${t}">${esc(showToken(r.tokens[t]))}</th>`);
    parts.push('</tr></thead><tbody>');
    for (let l = 0; l < r.n_rows; l++) {
      parts.push(`<tr><th>${esc(this.rowLabel(l))}</th>`);
      for (let t = 0; t < r.T; t++) {
        const id = r.top_ids[l][t][0], pr = r.top_probs[l][t][0], tt = 0.7 * Math.sqrt(clamp(pr, 0, 1));
        const hit = t + 1 < r.T && id === r.ids[t + 1];
        parts.push(`<td data-l="${l}" data-t="${t}"${hit ? ' class="hit"' : ''} style="background:${cmapRgb('blues', tt)};color:${inkOn('blues', tt)}">` +
                   `${esc(showToken(this.label(id)))}</td>`);
      }
      parts.push('</tr>');
    }
    parts.push('</tbody>');
    $('#lens-table').innerHTML = parts.join('');
    $('#lens-table-host').hidden = false;
  },
  figure(W) { const L = this.layout(W); return {w: L.w, h: L.h, draw: p => this.draw(p, W)}; },
};

// ---- activation patching: which activation carries the difference between two prompts ----
const PATCH_EXAMPLES = {
  // a character model: one letter decides the next one
  char: ['the white whal', 'the white shal'],
  // a word-level model: indirect object identification (Wang et al. 2022) — who gets the harpoon? With names that
  // are one token each in the shipped word-level vocabulary, so the two prompts have equal token counts.
  bpe: ['When Ahab and Starbuck went to the deck, Starbuck gave a harpoon to', 'When Ahab and Starbuck went to the deck, Ahab gave a harpoon to'],
};
const patchPanel = {
  name: 'patch', data: null, seq: 0, hits: [],
  init() {
    this.section = $('#iv-patch');
    this.canvas = $('#patch-canvas');
    $('#patch-form').addEventListener('submit', ev => { ev.preventDefault(); this.run(); });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
  },
  reset() {},  // its own prompts
  defaults() {
    if (!S.model || $('#patch-clean').value || $('#patch-corrupt').value) return;
    const [clean, corrupt] = PATCH_EXAMPLES[S.model.tokenizer === 'char' ? 'char' : 'bpe'];
    $('#patch-clean').value = clean;
    $('#patch-corrupt').value = corrupt;
  },
  async run() {
    const clean = $('#patch-clean').value, corrupt = $('#patch-corrupt').value, tv = $('#patch-target').value;
    if (!clean || !corrupt) { viewMsg(this, 'error: both prompts are needed'); return; }
    // the target: empty = the clean prompt's prediction, "#123" = token id 123, anything else = a token's text
    const body = {clean, corrupt, target: tv === '' ? null : /^#\d+$/.test(tv.trim()) ? Number(tv.trim().slice(1)) : tv};
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus('patching every (layer, position) and every head from the clean run into the corrupted one…', 'busy');
    $('#patch-run').disabled = true;
    try {
      const r = await api('POST', '/api/patch', body);
      if (seq !== this.seq) return;
      const T = r.T, L = r.n_layer, H = r.n_head;
      const ok = (m, rows, cols) => Array.isArray(m) && m.length === rows && m.every(row => row.length === cols);
      if (!ok(r.resid, L + 1, T) || !ok(r.mlp, L, T) || !ok(r.heads, L, H)) throw new ApiError('the patching result does not have the announced shape');
      // recovered = (p − p_corrupt) / (p_clean − p_corrupt): 1 = the clean answer restored, 0 = no change
      const den = r.p_clean - r.p_corrupt, flat = Math.abs(den) < 1e-6;
      const rec = m => Float32Array.from(m.flat(), v => (flat ? 0 : (v - r.p_corrupt) / den));
      this.data = {r, resid: rec(r.resid), mlp: rec(r.mlp), heads: rec(r.heads), differ: new Set(r.differ), flat};
      const info = $('#patch-info');
      info.hidden = false;
      info.innerHTML = `target ${tokHtml(r.target_token)} <span class="muted">(id ${r.target})</span> · p clean <b id="patch-p-clean">${r.p_clean.toFixed(4)}</b> · ` +
        `p corrupted <b id="patch-p-corrupt">${r.p_corrupt.toFixed(4)}</b> · the prompts differ at ` +
        (r.differ.length ? `position${r.differ.length > 1 ? 's' : ''} ${r.differ.join(', ')}` : 'no position') +
        ` <span class="muted">· ${T} tokens · ${r.elapsed_ms.toFixed(1)} ms on the server</span>` +
        (flat ? '<br><b>The two prompts give the target the same probability: there is nothing to recover.</b>' : '');
      setStatus(`patched: p(${quote(r.target_token)}) is ${r.p_clean.toFixed(3)} clean, ${r.p_corrupt.toFixed(3)} corrupted`, 'ok');
      this.render();
    } catch (e) { if (seq === this.seq) showError(this, e); }
    finally { if (seq === this.seq) $('#patch-run').disabled = !!STATIC; }
  },
  layout(W) {
    const r = this.data.r, T = r.T, L = r.n_layer, H = r.n_head, left = 132;
    const cw = clamp(Math.floor((W - left - 30) / T), 3, 44), ch = clamp(Math.floor(240 / (L + 1)), 10, 22);
    const hc = clamp(Math.floor((W - left - 30) / H), 10, 30);
    const labH = columnLabelHeight(r.clean_tokens, cw);
    const yResid = 62 + labH, yMlp = yResid + (L + 1) * ch + 40, yHeads = yMlp + L * ch + 56;
    return {left, cw, ch, hc, labH, yResid, yMlp, yHeads, w: Math.max(left + T * cw + 30, left + H * hc + 30, W),
            h: yHeads + L * ch + 34};
  },
  draw(p, W) {
    const d = this.data, r = d.r, L = this.layout(W), T = r.T, nl = r.n_layer, H = r.n_head, hits = [];
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, `Activation patching: p(${quote(r.target_token)}) restored`,
                'recovered = (p − p_corrupt) / (p_clean − p_corrupt): red 1 = fully restored, white 0 = no change, blue < 0');
    const mark = c => (d.differ.has(c) ? '#c0271a' : null);
    const panel = (name, title, data, rows, cols, y, cw, rowLabel, marks) => {
      const spec = {data, stride: cols, rows, cols, vmin: -1, vmax: 1, cmap: 'rdbu'};
      p.text(12, y - (name === 'resid' ? L.labH + 12 : name === 'heads' ? 26 : 12), title, {size: 13, weight: 'bold'});
      p.heatmap(spec, 0, rows, 0, cols, L.left, y, cw, L.ch);
      cellBorders(p, L.left, y, rows, cols, cw, L.ch);
      for (let k = 0; k < rows; k++) p.text(L.left - 8, y + (k + 0.5) * L.ch, rowLabel(k), {align: 'right', size: 11, color: MUTED});
      if (marks) {
        for (const c of d.differ) p.rect(L.left + c * cw - 1, y - 1, cw + 2, rows * L.ch + 2, null, {stroke: '#c0271a', lineWidth: 1.5});
      }
      p.rect(L.left - 0.5, y - 0.5, cols * cw + 1, rows * L.ch + 1, null, {stroke: '#9aa5b5'});
      hits.push({name, x: L.left, y, w: cols * cw, h: rows * L.ch, rows, cols, data});
    };
    panel('resid', 'the residual stream (block l’s input) at each position of the clean prompt', d.resid, nl + 1, T, L.yResid, L.cw,
          k => (k === 0 ? 'embed (block 0 in)' : k === nl ? 'final (before ln_f)' : `block ${k} input`), true);
    columnLabels(p, r.clean_tokens, L.left, L.yResid, L.cw, L.labH, mark);
    panel('mlp', 'each MLP’s output at each position', d.mlp, nl, T, L.yMlp, L.cw, k => `MLP ${k}`, true);
    panel('heads', 'each head’s output, at every position at once', d.heads, nl, H, L.yHeads, L.hc, k => `layer ${k}`, false);
    for (let hd = 0; hd < H; hd++) {
      if (L.hc >= 16 || hd % 2 === 0) p.text(L.left + (hd + 0.5) * L.hc, L.yHeads - 6, String(hd), {align: 'center', size: 10, color: MUTED, baseline: 'bottom'});
    }
    p.text(12, L.yHeads + nl * L.ch + 18, `outlined in red: the positions where the prompts differ (${r.differ.join(', ') || 'none'}); ` +
           'hover a cell for p and recovered', {size: 11, color: MUTED});
    this.hits = hits;
  },
  render() {
    if (!this.data) { sizeCanvas(this.canvas, 1, 1); return; }
    const W = $('#patch-host').clientWidth || 900, L = this.layout(W);
    this.draw(new CanvasPainter(sizeCanvas(this.canvas, L.w, L.h)), W);
    markDrawn(this.canvas, `patch|${this.seq}`);
  },
  hover(ev) {
    const hit = boxAt(this.hits, ev, this.canvas), d = this.data;
    if (!hit || !d) { tooltip.hide(); return; }
    const r = d.r, [x, y] = localXY(ev, this.canvas);
    const row = clamp(Math.floor((y - hit.y) / hit.h * hit.rows), 0, hit.rows - 1), col = clamp(Math.floor((x - hit.x) / hit.w * hit.cols), 0, hit.cols - 1);
    const raw = {resid: r.resid, mlp: r.mlp, heads: r.heads}[hit.name][row][col];
    let what;
    if (hit.name === 'heads') what = `layer ${row}, head ${col}: its output at every position`;
    else {
      const tok = `position ${col} ${tokHtml(r.clean_tokens[col])}` +
        (d.differ.has(col) ? ` <span class="muted">(corrupted: ${tokHtml(r.corrupt_tokens[col])})</span>` : '');
      what = (hit.name === 'mlp' ? `MLP ${row}` : row === r.n_layer ? 'the final stream' : `block ${row}’s input`) + ` at ${tok}`;
    }
    tooltip.show(ev, `patched: ${what}<br>p(${tokHtml(r.target_token)}) = ${raw.toFixed(4)} → recovered <b>${hit.data[row * hit.cols + col].toFixed(3)}</b>`);
  },
  figure(W) { const L = this.layout(W); return {w: L.w, h: L.h, draw: p => this.draw(p, W)}; },
};

const interventionsView = {
  name: 'interventions', ablation: ablationPanel, compare: comparePanel, lens: lensPanel, patch: patchPanel,
  panels() { return [ablationPanel, comparePanel, lensPanel, patchPanel]; },
  init() {
    this.section = $('#view-interventions');
    for (const p of this.panels()) p.init();
    if (STATIC) {
      viewMsg(this, 'Interventions run the model: they need the live server (attn explore), not available offline.', 'offline');
      $$('#view-interventions .panel button, #view-interventions .panel input, #view-interventions .panel select').forEach(el => { el.disabled = true; });
    }
  },
  reset() { for (const p of this.panels()) p.reset(); },
  show() {
    patchPanel.defaults();
    ablationPanel.selectionChanged();  // draws the grid (empty until run)
    for (const p of [comparePanel, lensPanel, patchPanel]) p.render();
  },
  // What was drawn, stacked: grid, compare, lens, patching.
  parts() {
    const W = $('#grid-host').clientWidth || 900, out = [];
    if (ablationPanel.grid || ablationPanel.result) out.push(ablationPanel.figure(W));
    if (comparePanel.data && comparePanel.data.mats) out.push(comparePanel.figure(W));
    if (lensPanel.data) out.push(lensPanel.figure(W));
    if (patchPanel.data) out.push(patchPanel.figure(W));
    return out;
  },
  figure() {
    const parts = this.parts(), gap = 16;
    const w = Math.max(...parts.map(f => f.w)), hgt = parts.reduce((s, f) => s + f.h + gap, -gap);
    return {w, h: hgt, name: 'interventions', title: 'Interventions',
            draw: p => {
              p.rect(0, 0, w, hgt, '#ffffff');
              let y = 0;
              for (const f of parts) { p.translate(0, y); f.draw(p); p.untranslate(); y += f.h + gap; }
            }};
  },
  json() {
    const out = {view: 'interventions'};
    if (ablationPanel.grid) out.ablation_grid = ablationPanel.grid.r;
    if (ablationPanel.result) out.ablate = ablationPanel.result.r;
    if (lensPanel.data) out.logit_lens = lensPanel.data.r;
    if (patchPanel.data) out.patch = patchPanel.data.r;
    return out;
  },
  exportable() { return this.parts().length ? null : 'run an intervention first'; },
};

// ---------------------------------------------------------------- token strip: mask or edit a token
// The analyzed tokens, under the text box. A click masks a token (exBERT's masking for a causal model:
// POST /api/analyze {"masked": [...]} removes it as a key in every layer; no query attends to it and every
// token keeps its position); a second click unmasks it. A double-click edits the token's text in place and
// analyzes the edited text. Either way a new analysis replaces the current one, and every view follows.

// Where each token lies in the text: [start, end) in UTF-16 units, or null for a token that does not spell
// a piece of it (a byte-level BPE token holding part of a character shows as U+FFFD); after such tokens the
// next one is looked for a few characters on.
function tokenOffsets(text, tokens) {
  const out = [];
  let pos = 0, lost = 0;
  for (const t of tokens) {
    const s = String(t);
    if (s && text.startsWith(s, pos)) { out.push([pos, pos + s.length]); pos += s.length; lost = 0; continue; }
    const at = lost && s && !s.includes('\uFFFD') ? text.indexOf(s, pos) : -1;
    if (at >= 0 && at - pos <= 4 * lost + 4) { out.push([at, at + s.length]); pos = at + s.length; lost = 0; continue; }
    out.push(null);
    lost++;
  }
  return out;
}
const tokenStrip = {
  timer: 0,
  init() {
    const box = $('#an-tokens');
    box.addEventListener('click', ev => {
      const el = ev.target.closest('.tok');
      if (!el || STATIC || ev.detail > 1) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.toggle(+el.dataset.i), 250);  // unless it is the start of a double-click
    });
    box.addEventListener('dblclick', ev => {
      const el = ev.target.closest('.tok');
      if (!el || STATIC) return;
      clearTimeout(this.timer);
      ev.preventDefault();
      this.edit(el);
    });
    $('#an-unmask').addEventListener('click', () => analyze({text: S.text}));
  },
  render() {
    const an = S.an;
    $('#an-bar').hidden = !an;
    if (!an) return;
    const masked = new Set(S.masked);
    const spans = an.tokens.flatMap((t, i) => {
      const last = i === an.T - 1, m = masked.has(i);
      const title = STATIC ? `position ${i}` : `position ${i}: ` +
        (last ? 'the last token (its prediction is what the views explain: it cannot be masked); double-click to edit'
              : `click to ${m ? 'unmask' : 'mask'}, double-click to edit`);
      const span = h('span', {class: 'tok' + (m ? ' masked' : '') + (last ? ' last' : ''), 'data-i': i, title}, flowToken(t));
      return String(t).includes('\n') ? [span, h('br')] : [span];
    });
    $('#an-tokens').replaceChildren(...spans);
    $('#an-unmask').hidden = !masked.size;
    $('#an-help-text').innerHTML = STATIC ? 'The analyzed tokens (masking and editing need the live server).'
      : masked.size ? `<b>${masked.size}</b> token${masked.size > 1 ? 's' : ''} masked (struck through): no query attends to ` +
                      `${masked.size > 1 ? 'them' : 'it'} in any layer. Click again to unmask; double-click a token to edit it.`
      : 'Click a token to <b>mask</b> it (no query may attend to it, in any layer), double-click to <b>edit</b> it; every view is analyzed again.';
  },
  toggle(i) {
    const an = S.an;
    if (!an) return;
    if (i >= an.T - 1) { setStatus('the last token cannot be masked: its next-token prediction is what the views explain', 'error'); return; }
    const m = new Set(S.masked);
    if (m.has(i)) m.delete(i); else m.add(i);
    analyze({text: S.text, masked: [...m].sort((a, b) => a - b)});
  },
  edit(el) {
    const i = +el.dataset.i, o = S.offsets && S.offsets[i];
    if (!o) { setStatus('this token holds part of a character (its bytes are split between tokens): edit the text box instead', 'error'); return; }
    const old = S.text.slice(o[0], o[1]);
    const input = h('input', {type: 'text', class: 'tok-edit', value: old, 'data-i': i, size: Math.max(3, Array.from(old).length + 2),
                              'aria-label': `new text for token ${i}`, title: 'Enter: analyze the edited text · Escape: cancel'});
    el.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = commit => {
      if (done) return;
      done = true;
      if (commit && input.value !== old) {
        const text = S.text.slice(0, o[0]) + input.value + S.text.slice(o[1]);
        if (!STATIC) $('#text').value = text;
        analyze({text});
      } else this.render();
    };
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') { ev.preventDefault(); finish(true); }
      else if (ev.key === 'Escape') { ev.preventDefault(); finish(false); }
    });
    input.addEventListener('blur', () => finish(false));
  },
};

// ---------------------------------------------------------------- boot
const VIEWS = {heads: headsView, model: modelView, matrix: matrixView, neuron: neuronView, generate: genView, types: typesView,
               translate: translateView, image: imageView, relevance: relevanceView, interventions: interventionsView};
// Views that do not need the GPT's analysis of the text.
const OWN_INPUT = new Set(['generate', 'types', 'translate', 'image']);
let current = 'heads';
function selectView(name) {
  if (!VIEWS[name]) name = 'heads';
  current = name;
  $$('#tabs [data-view]').forEach(b => {
    b.classList.toggle('active', b.dataset.view === name);
    b.setAttribute('aria-selected', String(b.dataset.view === name));
  });
  $$('main .view').forEach(s => { const on = s.dataset.view === name; s.hidden = !on; s.classList.toggle('active', on); });
  tooltip.hide();
  // (A page inside an <iframe srcdoc>, as the notebooks show it, may not change its URL: the tab still switches.)
  try { if (history.replaceState) history.replaceState(null, '', '#' + name); } catch (e) { /* about:srcdoc */ }
  if (S.an || OWN_INPUT.has(name)) VIEWS[name].show();
}

function renderInfo() {
  const m = S.model, box = $('#model-info');
  const chip = (k, v) => h('span', {class: 'chip-info'}, h('span', {class: 'k'}, k), ' ', h('b', {}, v));
  const params = m.n_params >= 1e6 ? (m.n_params / 1e6).toFixed(1) + 'M' : (m.n_params / 1e3).toFixed(0) + 'k';
  box.replaceChildren(...[
    h('span', {class: 'model-name', title: m.path}, m.name),
    chip('tokenizer', m.tokenizer), chip('layers', m.n_layer),
    chip('heads', m.n_kv_head && m.n_kv_head !== m.n_head ? `${m.n_head} (kv ${m.n_kv_head})` : m.n_head),
    chip('d_model', m.n_embd), chip('head_dim', m.head_dim), chip('context', m.block_size), chip('params', params),
    m.rope ? chip('positions', 'RoPE') : null,
    h('span', {class: 'version muted'}, 'v' + S.info.version)].filter(Boolean));
}

// POST /api/analyze with `body` ({"text"} and optionally "masked" or "ablation"): the answer with its
// thumbnails decoded, and the request kept (to make it again should the server drop it).
async function analysisOf(body) {
  const r = await api('POST', '/api/analyze', body);
  if (!Array.isArray(r.tokens) || r.tokens.length !== r.T) throw new ApiError('the analysis has tokens.length ≠ T');
  const thumbs = decodeF32(r.thumbnails);
  if (thumbs.length !== r.n_layer * r.n_head * r.thumb_size * r.thumb_size) throw new ApiError('the thumbnails do not have the announced shape');
  return Object.assign({}, r, {thumbs, body});
}

// Analyzes the text box's text, or opts.text with opts.masked positions masked (the token strip's clicks).
async function analyze(opts = {}) {
  const text = opts.text !== undefined ? opts.text : $('#text').value;
  const masked = opts.masked || [];
  if (!STATIC && !text.trim()) { setStatus('error: the text is empty', 'error'); return; }
  const seq = ++S.analyzeSeq;
  const chars = Array.from(text).length;
  const approx = S.model && S.model.tokenizer === 'char' ? Math.min(chars, S.limits.max_tokens) : null;
  const maskNote = masked.length ? `, ${masked.length} masked` : '';
  setStatus(STATIC ? 'loading the embedded analysis…' :
            approx !== null ? `analyzing ${approx} tokens${maskNote}…` : `analyzing ${chars} characters${maskNote}…`, 'busy');
  $('#analyze').disabled = true;
  const t0 = performance.now();
  try {
    const body = {text};
    if (masked.length) body.masked = masked;
    const r = await analysisOf(body);
    if (seq !== S.analyzeSeq) return;
    S.an = r;
    S.text = STATIC ? (STATIC.text || r.tokens.join('')) : text;
    S.masked = Array.isArray(r.masked) ? r.masked.slice().sort((a, b) => a - b) : [];
    S.offsets = tokenOffsets(S.text, r.tokens);
    if (STATIC) $('#text').value = S.text;
    S.mats.clear(); S.matFloats = 0;
    for (const v of Object.values(VIEWS)) v.reset();
    tokenStrip.render();
    const cut = (approx !== null && chars > r.T) || (approx === null && r.T >= S.limits.max_tokens);
    const secs = ((performance.now() - t0) / 1000).toFixed(2);
    setStatus(`${STATIC ? 'embedded analysis' : `analyzed in ${secs} s`}: ${r.T} tokens, ${r.n_layer} layers × ${r.n_head} heads` +
              (S.masked.length ? ` · ${S.masked.length} masked (no query attends to ${S.masked.length > 1 ? 'them' : 'it'})` : '') +
              (cut ? ` — cut to the model's limit of ${S.limits.max_tokens} tokens` : ''), 'ok');
    document.body.dataset.analysis = r.id;
    if (current !== 'generate') VIEWS[current].show();
  } catch (e) {
    if (seq === S.analyzeSeq) setStatus(errorText(e), 'error');
  } finally {
    if (seq === S.analyzeSeq) $('#analyze').disabled = !!STATIC;
  }
}

async function boot() {
  for (const v of Object.values(VIEWS)) v.init();
  tokenStrip.init();
  $$('.view .export').forEach(box => {
    const view = VIEWS[box.closest('.view').dataset.view];
    for (const f of ['png', 'svg', 'json']) {
      box.append(h('button', {type: 'button', class: 'small export-btn', 'data-format': f,
                              title: f === 'json' ? 'the weights shown, as JSON arrays' : `this figure as ${f.toUpperCase()}`,
                              onclick: () => exportView(view, f)}, f.toUpperCase()));
    }
  });
  $$('#tabs [data-view]').forEach(b => b.addEventListener('click', () => selectView(b.dataset.view)));
  $('#analyze-form').addEventListener('submit', ev => { ev.preventDefault(); analyze(); });
  $('#text').addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); analyze(); }
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (current === 'heads' && S.an) headsView.area.setContentHeight(headsView.contentHeight());
      if (current === 'neuron' && neuronView.data) neuronView.area.setContentHeight(neuronView.TOP + neuronView.data.n * neuronView.ROW + 34);
      if (S.an || OWN_INPUT.has(current)) VIEWS[current].show();
      if (genView.cache) genView.renderCache();
    }, 120);
  });
  if (STATIC) {
    document.body.classList.add('static');
    $('#static-banner').hidden = false;
    $('#text').readOnly = true;
    $('#analyze').disabled = true;
    if (STATIC.text) $('#text').value = STATIC.text;
  }
  // The tab to open: a standalone page may name one (attn viz --view, the notebooks' inline views), else the URL's #hash.
  const initial = (STATIC && STATIC.view) || (location.hash || '').slice(1);
  selectView(VIEWS[initial] ? initial : 'heads');
  setStatus('connecting to the server…', 'busy');
  try {
    S.info = await api('GET', '/api/info');
    S.model = S.info.model; S.limits = S.info.limits;
    renderInfo();
    genView.setupSelects();
    patchPanel.defaults();
    if (!STATIC && S.limits.max_text_bytes) $('#text').maxLength = S.limits.max_text_bytes;
    $('#gen-n').max = String(S.limits.max_new_tokens);
  } catch (e) {
    $('#model-info').textContent = 'no model information';
    setStatus(errorText(e), 'error');
    return;
  }
  await analyze();
  if (current === 'generate' || current === 'translate' || current === 'image') VIEWS[current].show();
}

window.explorer = {state: S, api, apiUrl, views: VIEWS, selectView, analyze};
boot();
})();
