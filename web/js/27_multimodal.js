// ---------------------------------------------------------------- multimodal (a CLIP-style dual encoder)
// GET /api/multimodal/search?q=…&k=…&split=… gives the emoji nearest the words (pictures as bytes, cosine
// similarities); POST /api/multimodal/explain?index=N&q=… gives why one of them matches: Chefer et al.'s relevance
// over its patches for the whole text and for each word alone, the last layer's raw attention, and each token's
// relevance in the text tower (src/attn/explore/multimodal_view.h).
const multimodalView = {
  name: 'multimodal', data: null, results: null, seq: 0, ready: false,
  init() {
    this.section = $('#view-multimodal');
    this.canvas = $('#mm-canvas');
    $('#mm-search').addEventListener('click', () => this.search());
    $('#mm-query').addEventListener('keydown', ev => { if (ev.key === 'Enter') this.search(); });
    $('#mm-split').addEventListener('change', () => this.search());
  },
  reset() {},  // independent of the GPT's analysis
  clip() { return S.info && S.info.clip; },
  show() {
    if (!S.info) return;
    const c = this.clip();
    if (!c) {
      viewMsg(this, 'No image+text model is loaded. The project ships models/clip-emoji (remade by ' +
                    'scripts/ship_clip.sh); or train one (attn train clip --out DIR) and start attn explore --clip DIR.', 'info');
      for (const id of ['#mm-query', '#mm-search', '#mm-split']) $(id).disabled = true;
      return;
    }
    if (!this.ready) {
      this.ready = true;
      $('#mm-model').textContent = `${c.name} · emoji of ${c.image_size}×${c.image_size} px · ${c.grid}×${c.grid} patches`;
      this.search();
    } else this.render();
  },
  async search() {
    const c = this.clip();
    if (!c) return;
    const q = $('#mm-query').value;
    if (!q.trim()) { viewMsg(this, 'error: type some words to search for'); return; }
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus(`searching the emoji for “${q}”…` + (this.results ? '' : ' (the first search draws and embeds them)'), 'busy');
    try {
      const r = await api('GET', apiUrl('/api/multimodal/search', [['q', q], ['k', 15], ['split', $('#mm-split').value]]));
      if (seq !== this.seq) return;
      const px = decodeU8(r.pixels), n = 3 * r.size * r.size;
      if (px.length !== r.results.length * n) throw new ApiError('the search results do not have the announced shape');
      this.results = r;
      $('#mm-model').textContent = `${c.name} · ${r.total} emoji of ${r.size}×${r.size} px · ${c.grid}×${c.grid} ` +
                                   `patches · held out: ${r.splits.val + r.splits.test}`;
      $('#mm-results').replaceChildren(...r.results.map((hit, i) => {
        const cv = h('canvas', {width: r.size, height: r.size, class: 'thumb'});
        const ctx = cv.getContext('2d'), img = ctx.createImageData(r.size, r.size), S2 = r.size * r.size;
        for (let j = 0; j < S2; j++) img.data.set([px[i * n + j], px[i * n + S2 + j], px[i * n + 2 * S2 + j], 255], 4 * j);
        ctx.putImageData(img, 0, 0);
        return h('button', {type: 'button', class: 'thumb-btn', 'data-index': hit.index,
                            title: `${hit.name} (${hit.split}) · cosine ${fmt(hit.similarity, 3)}`,
                            onclick: () => this.explain(hit.index)}, cv);
      }));
      setStatus(`“${q}”: best ${r.results[0].name} (cosine ${fmt(r.results[0].similarity, 3)}) among ${r.split} emoji`, 'ok');
      await this.explain(r.results[0].index);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  async explain(index) {
    const q = this.results ? this.results.query : $('#mm-query').value;
    const seq = ++this.seq;
    $$('#mm-results .thumb-btn').forEach(b => b.classList.toggle('sel', +b.dataset.index === index));
    try {
      const r = await api('POST', apiUrl('/api/multimodal/explain', [['index', index], ['q', q]]));
      if (seq !== this.seq) return;
      const N = r.grid * r.grid, rgb = decodeU8(r.pixels);
      const maps = [['all the words', decodeF32(r.image_relevance)], ['attention (last layer)', decodeF32(r.image_attention)],
                    ...r.words.map(w => [`“${w.word}” alone · ${fmt(w.similarity, 2)}`, decodeF32(w.relevance)])];
      if (rgb.length !== 3 * r.size * r.size || maps.some(([, m]) => m.length !== N)) throw new ApiError('the explanation does not have the announced shape');
      this.data = {r, maps, rgb, overlays: {}};
      this.render();
      document.body.dataset.multimodal = String(seq);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  // The picture (channel-major bytes) with one score per patch over it: 45% picture, 55% inferno.
  overlay(key, scores) {
    const d = this.data;
    if (d.overlays[key]) return d.overlays[key];
    const S1 = d.r.size, g = d.r.grid, lut = LUTS.inferno, n = S1 * S1;
    let lo = Infinity, hi = -Infinity;
    for (const x of scores || []) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    const c = h('canvas', {width: S1, height: S1}), ctx = c.getContext('2d'), img = ctx.createImageData(S1, S1);
    for (let i = 0; i < n; i++) {
      const y = Math.floor(i / S1), x = i % S1, p = Math.floor(y * g / S1) * g + Math.floor(x * g / S1);
      const t = scores && hi > lo ? (scores[p] - lo) / (hi - lo) : 0, li = Math.round(clamp(t, 0, 1) * 255) * 3;
      for (let k = 0; k < 3; k++) {
        const v = d.rgb[k * n + i];
        img.data[4 * i + k] = scores ? Math.round(0.45 * v + 0.55 * lut[li + k]) : v;
      }
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    d.overlays[key] = c;
    return c;
  },
  layout(W) {
    const d = this.data, panels = 1 + d.maps.length;
    const pp = clamp(Math.floor((Math.max(W, 700) - 24) / panels) - 12, 96, 170);
    const rowT = 44 + pp + 56;
    return {pp, rowT, w: Math.max(W, 24 + panels * (pp + 12)), h: rowT + 40 + 24 * d.r.tokens.length + 12};
  },
  draw(p, W) {
    const d = this.data, r = d.r, lay = this.layout(W);
    p.rect(0, 0, lay.w, lay.h, '#ffffff');
    figureTitle(p, 12, 16, `“${r.query}” ↔ ${r.name}`,
                `cosine similarity ${fmt(r.similarity, 3)} · ${r.split} emoji · relevance: Chefer et al. through the vision tower`);
    const panels = [['picture', null], ...d.maps];
    panels.forEach(([title, scores], i) => {
      const x = 12 + i * (lay.pp + 12), y = 44;
      p.image(this.overlay(title, scores), x, y + 14, lay.pp, lay.pp);
      p.rect(x, y + 14, lay.pp, lay.pp, null, {stroke: GRID});
      p.text(x, y + 4, ellipsize(title, lay.pp, 12), {size: 12, weight: i === 1 ? 'bold' : 'normal'});
    });
    // The text tower: each token's relevance (the </s> row) and attention from </s> in the last layer.
    p.text(12, lay.rowT, 'Which words made the text match the picture: relevance of each token (bar), the last layer\'s ' +
           'attention from </s> (dot)', {size: 13, weight: 'bold'});
    const pieces = r.tokens.map((t, k) => [t, r.text_relevance[k], r.text_attention[k]]);
    const inner = pieces.slice(1, -1), top = Math.max(1e-9, ...inner.map(([, v]) => v)), bw = 260;
    pieces.forEach(([t, rel, att], k) => {
      const y = lay.rowT + 20 + k * 24, special = k === 0 || k === pieces.length - 1;
      p.text(12, y + 8, t, {size: 12, color: special ? MUTED : INK});
      p.rect(110, y + 1, bw, 14, '#eef1f5');
      if (!special) p.rect(110, y + 1, bw * clamp(rel / top, 0, 1), 14, ACCENT);
      p.rect(110 + bw * clamp(att, 0, 1) - 3, y + 5, 6, 6, '#d62728');
      p.text(120 + bw, y + 8, special ? `(its own row) attention ${fmt(att, 2)}` : `relevance ${fmt(rel, 3)} · attention ${fmt(att, 2)}`,
             {size: 11, color: MUTED});
    });
  },
  render() {
    if (!this.data) return;
    const W = $('#mm-host').clientWidth || 1000, lay = this.layout(W);
    const ctx = sizeCanvas(this.canvas, lay.w, lay.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, `multimodal|${this.seq}`);
  },
  figure() {
    const W = $('#mm-host').clientWidth || 1000, lay = this.layout(W);
    return {w: lay.w, h: lay.h, draw: p => this.draw(p, W), name: 'multimodal', title: `CLIP: “${this.data.r.query}” ↔ ${this.data.r.name}`};
  },
  json() {
    const d = this.data, r = d.r;
    return {view: 'multimodal', model: this.clip().name, query: r.query, index: r.index, emoji: r.emoji, name: r.name,
            similarity: r.similarity, grid: r.grid, maps: Object.fromEntries(d.maps.map(([k, v]) => [k, Array.from(v)])),
            tokens: r.tokens, text_relevance: r.text_relevance, text_attention: r.text_attention,
            results: this.results ? this.results.results : []};
  },
  exportable() { return this.data ? null : 'nothing is explained yet'; },
};
