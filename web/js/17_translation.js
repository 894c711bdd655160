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

