// ---------------------------------------------------------------- helpers
// Small things every later file uses: DOM building, number and token formatting, f32-base64 decoding, text width.
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

