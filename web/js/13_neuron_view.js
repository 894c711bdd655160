// ================================================================ neuron view
// The neuron view: how one query token's scores come about: q, each key's k, q ⊙ k, the scores and their softmax.
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

