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

