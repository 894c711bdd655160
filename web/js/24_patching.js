// ---- activation patching: which activation carries the difference between two prompts ----
const PATCH_EXAMPLES = {
  // a character model: one letter decides the next one
  char: ['the white whal', 'the white shal'],
  // a word-level model: indirect object identification (Wang et al. 2022) — who gets the harpoon? With names that
  // are one token each in the shipped word-level vocabulary, so the two prompts have equal token counts.
  bpe: ['When Ahab and Starbuck went to the deck, Starbuck gave a harpoon to', 'When Ahab and Starbuck went to the deck, Ahab gave a harpoon to'],
};
const patchPanel = {
  name: 'patch', data: null, seq: 0, hits: [],
  init() {
    this.section = $('#iv-patch');
    this.canvas = $('#patch-canvas');
    $('#patch-form').addEventListener('submit', ev => { ev.preventDefault(); this.run(); });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
  },
  reset() {},  // its own prompts
  defaults() {
    if (!S.model || $('#patch-clean').value || $('#patch-corrupt').value) return;
    const [clean, corrupt] = PATCH_EXAMPLES[S.model.tokenizer === 'char' ? 'char' : 'bpe'];
    $('#patch-clean').value = clean;
    $('#patch-corrupt').value = corrupt;
  },
  async run() {
    const clean = $('#patch-clean').value, corrupt = $('#patch-corrupt').value, tv = $('#patch-target').value;
    if (!clean || !corrupt) { viewMsg(this, 'error: both prompts are needed'); return; }
    // the target: empty = the clean prompt's prediction, "#123" = token id 123, anything else = a token's text
    const body = {clean, corrupt, target: tv === '' ? null : /^#\d+$/.test(tv.trim()) ? Number(tv.trim().slice(1)) : tv};
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus('patching every (layer, position) and every head from the clean run into the corrupted one…', 'busy');
    $('#patch-run').disabled = true;
    try {
      const r = await api('POST', '/api/patch', body);
      if (seq !== this.seq) return;
      const T = r.T, L = r.n_layer, H = r.n_head;
      const ok = (m, rows, cols) => Array.isArray(m) && m.length === rows && m.every(row => row.length === cols);
      if (!ok(r.resid, L + 1, T) || !ok(r.mlp, L, T) || !ok(r.heads, L, H)) throw new ApiError('the patching result does not have the announced shape');
      // recovered = (p − p_corrupt) / (p_clean − p_corrupt): 1 = the clean answer restored, 0 = no change
      const den = r.p_clean - r.p_corrupt, flat = Math.abs(den) < 1e-6;
      const rec = m => Float32Array.from(m.flat(), v => (flat ? 0 : (v - r.p_corrupt) / den));
      this.data = {r, resid: rec(r.resid), mlp: rec(r.mlp), heads: rec(r.heads), differ: new Set(r.differ), flat};
      const info = $('#patch-info');
      info.hidden = false;
      info.innerHTML = `target ${tokHtml(r.target_token)} <span class="muted">(id ${r.target})</span> · p clean <b id="patch-p-clean">${r.p_clean.toFixed(4)}</b> · ` +
        `p corrupted <b id="patch-p-corrupt">${r.p_corrupt.toFixed(4)}</b> · the prompts differ at ` +
        (r.differ.length ? `position${r.differ.length > 1 ? 's' : ''} ${r.differ.join(', ')}` : 'no position') +
        ` <span class="muted">· ${T} tokens · ${r.elapsed_ms.toFixed(1)} ms on the server</span>` +
        (flat ? '<br><b>The two prompts give the target the same probability: there is nothing to recover.</b>' : '');
      setStatus(`patched: p(${quote(r.target_token)}) is ${r.p_clean.toFixed(3)} clean, ${r.p_corrupt.toFixed(3)} corrupted`, 'ok');
      this.render();
    } catch (e) { if (seq === this.seq) showError(this, e); }
    finally { if (seq === this.seq) $('#patch-run').disabled = !!STATIC; }
  },
  layout(W) {
    const r = this.data.r, T = r.T, L = r.n_layer, H = r.n_head, left = 132;
    const cw = clamp(Math.floor((W - left - 30) / T), 3, 44), ch = clamp(Math.floor(240 / (L + 1)), 10, 22);
    const hc = clamp(Math.floor((W - left - 30) / H), 10, 30);
    const labH = columnLabelHeight(r.clean_tokens, cw);
    const yResid = 62 + labH, yMlp = yResid + (L + 1) * ch + 40, yHeads = yMlp + L * ch + 56;
    return {left, cw, ch, hc, labH, yResid, yMlp, yHeads, w: Math.max(left + T * cw + 30, left + H * hc + 30, W),
            h: yHeads + L * ch + 34};
  },
  draw(p, W) {
    const d = this.data, r = d.r, L = this.layout(W), T = r.T, nl = r.n_layer, H = r.n_head, hits = [];
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, `Activation patching: p(${quote(r.target_token)}) restored`,
                'recovered = (p − p_corrupt) / (p_clean − p_corrupt): red 1 = fully restored, white 0 = no change, blue < 0');
    const mark = c => (d.differ.has(c) ? '#c0271a' : null);
    const panel = (name, title, data, rows, cols, y, cw, rowLabel, marks) => {
      const spec = {data, stride: cols, rows, cols, vmin: -1, vmax: 1, cmap: 'rdbu'};
      p.text(12, y - (name === 'resid' ? L.labH + 12 : name === 'heads' ? 26 : 12), title, {size: 13, weight: 'bold'});
      p.heatmap(spec, 0, rows, 0, cols, L.left, y, cw, L.ch);
      cellBorders(p, L.left, y, rows, cols, cw, L.ch);
      for (let k = 0; k < rows; k++) p.text(L.left - 8, y + (k + 0.5) * L.ch, rowLabel(k), {align: 'right', size: 11, color: MUTED});
      if (marks) {
        for (const c of d.differ) p.rect(L.left + c * cw - 1, y - 1, cw + 2, rows * L.ch + 2, null, {stroke: '#c0271a', lineWidth: 1.5});
      }
      p.rect(L.left - 0.5, y - 0.5, cols * cw + 1, rows * L.ch + 1, null, {stroke: '#9aa5b5'});
      hits.push({name, x: L.left, y, w: cols * cw, h: rows * L.ch, rows, cols, data});
    };
    panel('resid', 'the residual stream (block l’s input) at each position of the clean prompt', d.resid, nl + 1, T, L.yResid, L.cw,
          k => (k === 0 ? 'embed (block 0 in)' : k === nl ? 'final (before ln_f)' : `block ${k} input`), true);
    columnLabels(p, r.clean_tokens, L.left, L.yResid, L.cw, L.labH, mark);
    panel('mlp', 'each MLP’s output at each position', d.mlp, nl, T, L.yMlp, L.cw, k => `MLP ${k}`, true);
    panel('heads', 'each head’s output, at every position at once', d.heads, nl, H, L.yHeads, L.hc, k => `layer ${k}`, false);
    for (let hd = 0; hd < H; hd++) {
      if (L.hc >= 16 || hd % 2 === 0) p.text(L.left + (hd + 0.5) * L.hc, L.yHeads - 6, String(hd), {align: 'center', size: 10, color: MUTED, baseline: 'bottom'});
    }
    p.text(12, L.yHeads + nl * L.ch + 18, `outlined in red: the positions where the prompts differ (${r.differ.join(', ') || 'none'}); ` +
           'hover a cell for p and recovered', {size: 11, color: MUTED});
    this.hits = hits;
  },
  render() {
    if (!this.data) { sizeCanvas(this.canvas, 1, 1); return; }
    const W = $('#patch-host').clientWidth || 900, L = this.layout(W);
    this.draw(new CanvasPainter(sizeCanvas(this.canvas, L.w, L.h)), W);
    markDrawn(this.canvas, `patch|${this.seq}`);
  },
  hover(ev) {
    const hit = boxAt(this.hits, ev, this.canvas), d = this.data;
    if (!hit || !d) { tooltip.hide(); return; }
    const r = d.r, [x, y] = localXY(ev, this.canvas);
    const row = clamp(Math.floor((y - hit.y) / hit.h * hit.rows), 0, hit.rows - 1), col = clamp(Math.floor((x - hit.x) / hit.w * hit.cols), 0, hit.cols - 1);
    const raw = {resid: r.resid, mlp: r.mlp, heads: r.heads}[hit.name][row][col];
    let what;
    if (hit.name === 'heads') what = `layer ${row}, head ${col}: its output at every position`;
    else {
      const tok = `position ${col} ${tokHtml(r.clean_tokens[col])}` +
        (d.differ.has(col) ? ` <span class="muted">(corrupted: ${tokHtml(r.corrupt_tokens[col])})</span>` : '');
      what = (hit.name === 'mlp' ? `MLP ${row}` : row === r.n_layer ? 'the final stream' : `block ${row}’s input`) + ` at ${tok}`;
    }
    tooltip.show(ev, `patched: ${what}<br>p(${tokHtml(r.target_token)}) = ${raw.toFixed(4)} → recovered <b>${hit.data[row * hit.cols + col].toFixed(3)}</b>`);
  },
  figure(W) { const L = this.layout(W); return {w: L.w, h: L.h, draw: p => this.draw(p, W)}; },
};

