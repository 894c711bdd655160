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

