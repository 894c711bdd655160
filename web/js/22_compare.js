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

