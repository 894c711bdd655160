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

