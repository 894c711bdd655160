// ================================================================ matrix view
// The matrix view: one head's attention (or the layer's mean, or the rollout) as a T × T heatmap, to zoom and pan.
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

