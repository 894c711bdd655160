// ================================================================ model view
// The model view: a thumbnail of every layer × head's attention; a click opens one in the matrix view.
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

