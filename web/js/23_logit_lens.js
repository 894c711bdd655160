// ---- logit lens: each layer's guess for the next token ----
const lensPanel = {
  name: 'lens', data: null, seq: 0, sel: null,
  ROW: 24,
  init() {
    this.section = $('#iv-lens');
    this.canvas = $('#lens-canvas');
    $('#lens-run').addEventListener('click', () => this.run());
    this.canvas.addEventListener('mousemove', ev => {
      const c = this.cellAt(ev);
      this.canvas.style.cursor = c ? 'pointer' : 'default';
      if (c) tooltip.show(ev, this.tip(c[0], c[1])); else tooltip.hide();
    });
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => { const c = this.cellAt(ev); if (c) this.select(c[0], c[1]); });
    const table = $('#lens-table');
    table.addEventListener('mouseover', ev => {
      const td = ev.target.closest('td');
      if (td && this.data) tooltip.show(ev, this.tip(+td.dataset.l, +td.dataset.t)); else tooltip.hide();
    });
    table.addEventListener('mouseleave', () => tooltip.hide());
    table.addEventListener('click', ev => { const td = ev.target.closest('td'); if (td) this.select(+td.dataset.l, +td.dataset.t); });
  },
  reset() {
    if (this.data && this.data.text !== analyzedText()) {
      this.data = null; this.sel = null;
      $('#lens-info').textContent = '';
      $('#lens-detail').hidden = true;
      $('#lens-table-host').hidden = true;
      $('#lens-table').replaceChildren();
    }
  },
  rowLabel(l) { return l === 0 ? 'embed' : `after block ${l - 1}`; },
  label(id) { const s = this.data.r.labels[String(id)]; return s === undefined ? `#${id}` : s; },
  async run() {
    const text = analyzedText();
    if (!text) return;
    const k = clamp(Math.round(Number($('#lens-k').value) || 5), 1, 20);
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus('reading every layer through the unembedding…', 'busy');
    $('#lens-run').disabled = true;
    try {
      const r = await api('POST', '/api/logit_lens', {text, k});
      if (seq !== this.seq || text !== analyzedText()) return;
      const C = r.T - 1;
      if (r.top_ids.length !== r.n_rows || r.top_ids.some(row => row.length !== r.T) ||
          r.target_rank.length !== (C > 0 ? r.n_rows : 0) || r.target_rank.some(row => row.length !== C)) {
        throw new ApiError('the logit lens does not have the announced shape');
      }
      // colour: 1 − log(1 + rank) / log(V): 1 (dark) = the lens's first choice, 0 = the last of the vocabulary
      const lv = Math.log1p(Math.max(1, S.model.vocab_size - 1)), score = new Float32Array(r.n_rows * C);
      for (let l = 0; l < r.n_rows && C > 0; l++) for (let t = 0; t < C; t++) score[l * C + t] = 1 - Math.log1p(r.target_rank[l][t]) / lv;
      this.data = {r, C, score, text};
      this.sel = null;
      const first = C > 0 ? r.target_rank[r.n_rows - 1].filter(x => x === 0).length : 0;
      $('#lens-info').innerHTML = `${r.n_rows} rows × ${r.T} positions, top ${r.k} · the output row ranks the true next token first at ` +
        `<b id="lens-first">${first}</b> of ${C} positions · ${r.elapsed_ms.toFixed(1)} ms on the server`;
      setStatus(`logit lens: ${r.n_rows} rows × ${r.T} positions`, 'ok');
      $('#lens-detail').hidden = true;
      this.render();
      this.renderTable();
      if (C === 0) viewMsg(this, 'One token: there is no next token in the text to rank (the table still shows each layer’s guess).', 'offline');
    } catch (e) { if (seq === this.seq) showError(this, e); }
    finally { if (seq === this.seq) $('#lens-run').disabled = !!STATIC; }
  },
  layout(W) {
    const r = this.data.r, C = Math.max(1, this.data.C), left = 104;
    const cw = clamp(Math.floor((W - left - 24) / C), 3, 44);
    const labH = columnLabelHeight(r.tokens.slice(0, C), cw);
    const top = 44 + labH;
    return {left, top, cw, ch: this.ROW, C, labH, w: Math.max(left + C * cw + 24, W), h: top + r.n_rows * this.ROW + 34};
  },
  draw(p, W) {
    const d = this.data, r = d.r, L = this.layout(W), C = d.C;
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, 'Logit lens', 'rank of the true next token in each layer’s guess (dark: first; colour ∝ log rank); ' +
                'column t reads token t and predicts token t+1');
    if (C === 0) return;
    const spec = {data: d.score, stride: C, rows: r.n_rows, cols: C, vmin: 0, vmax: 1, cmap: 'blues'};
    p.heatmap(spec, 0, r.n_rows, 0, C, L.left, L.top, L.cw, L.ch);
    cellBorders(p, L.left, L.top, r.n_rows, C, L.cw, L.ch);
    for (let l = 0; l < r.n_rows; l++) {
      const y = L.top + (l + 0.5) * L.ch;
      p.text(L.left - 8, y, this.rowLabel(l), {align: 'right', size: 12, color: l === r.n_rows - 1 ? INK : MUTED});
      if (L.cw >= 26) {
        for (let t = 0; t < C; t++) {
          const rank = r.target_rank[l][t];
          p.text(L.left + (t + 0.5) * L.cw, y, rank < 1000 ? String(rank) : '1k+',
                 {align: 'center', size: 10, color: inkOn('blues', heatT(spec, d.score[l * C + t]))});
        }
      }
    }
    columnLabels(p, r.tokens.slice(0, C), L.left, L.top, L.cw, L.labH);
    if (this.sel && this.sel[1] < C) {
      p.rect(L.left + this.sel[1] * L.cw - 1, L.top + this.sel[0] * L.ch - 1, L.cw + 2, L.ch + 2, null, {stroke: '#e0301e', lineWidth: 2});
    }
    p.text(12, L.top + r.n_rows * L.ch + 16, `numbers: the rank (0 = the lens’s first choice of ${S.model.vocab_size}); ` +
           'the last row is the model’s own prediction; click a cell for the top-k', {size: 11, color: MUTED});
  },
  render() {
    if (!this.data) { sizeCanvas(this.canvas, 1, 1); return; }
    const W = $('#lens-host').clientWidth || 900, L = this.layout(W);
    this.draw(new CanvasPainter(sizeCanvas(this.canvas, L.w, L.h)), W);
    markDrawn(this.canvas, `lens|${this.seq}`);
  },
  cellAt(ev) {
    if (!this.data || !this.data.C) return null;
    const L = this.layout($('#lens-host').clientWidth || 900), [x, y] = localXY(ev, this.canvas);
    const l = Math.floor((y - L.top) / L.ch), t = Math.floor((x - L.left) / L.cw);
    return l >= 0 && l < this.data.r.n_rows && t >= 0 && t < this.data.C && x >= L.left ? [l, t] : null;
  },
  // The lens's top-k at (row l, position t) as HTML, and where the true next token stands.
  tip(l, t) {
    const r = this.data.r, next = t + 1 < r.T ? r.ids[t + 1] : null;
    let html = `${esc(this.rowLabel(l))} · position ${t} ${tokHtml(r.tokens[t])}`;
    if (next !== null) html += `<br>true next token ${tokHtml(r.tokens[t + 1])}: rank <b>${r.target_rank[l][t]}</b>, p ${fmt(r.target_prob[l][t], 4)}`;
    html += '<br>' + r.top_ids[l][t].map((id, i) => `${tokHtml(this.label(id))} ${fmt(r.top_probs[l][t][i], 3)}`).join(' · ');
    return html;
  },
  select(l, t) {
    const r = this.data.r;
    this.sel = [l, t];
    const box = $('#lens-detail');
    box.hidden = false;
    const head = h('div', {});
    head.innerHTML = `<b>${esc(this.rowLabel(l))}</b> at position ${t} ${tokHtml(r.tokens[t])}` +
      (t + 1 < r.T ? ` — the true next token ${tokHtml(r.tokens[t + 1])} has rank <b>${r.target_rank[l][t]}</b> (p ${fmt(r.target_prob[l][t], 4)})` : ' — the last token');
    const pmax = Math.max(1e-9, ...r.top_probs[l][t]);
    box.replaceChildren(head, ...r.top_ids[l][t].map((id, i) => h('div', {class: 'row', 'data-id': id},
      h('span', {class: 'tt-tok'}, showToken(this.label(id))),
      h('div', {class: 'pbar', style: `width:${(160 * r.top_probs[l][t][i] / pmax).toFixed(1)}px`}),
      h('span', {class: 'muted'}, r.top_probs[l][t][i].toFixed(4)))));
    $$('#lens-table td.sel').forEach(td => td.classList.remove('sel'));
    const td = $(`#lens-table td[data-l="${l}"][data-t="${t}"]`);
    if (td) td.classList.add('sel');
    this.render();
  },
  // The lens's first choice per (layer, position) as a table (built as one string: 13 × 1024 cells stay
  // quick); bold with a green underline where it is the token that actually comes next.
  renderTable() {
    const r = this.data.r, parts = ['<thead><tr><th>layer \\ position</th>'];
    for (let t = 0; t < r.T; t++) parts.push(`<th title="position ${t}">${esc(showToken(r.tokens[t]))}</th>`);
    parts.push('</tr></thead><tbody>');
    for (let l = 0; l < r.n_rows; l++) {
      parts.push(`<tr><th>${esc(this.rowLabel(l))}</th>`);
      for (let t = 0; t < r.T; t++) {
        const id = r.top_ids[l][t][0], pr = r.top_probs[l][t][0], tt = 0.7 * Math.sqrt(clamp(pr, 0, 1));
        const hit = t + 1 < r.T && id === r.ids[t + 1];
        parts.push(`<td data-l="${l}" data-t="${t}"${hit ? ' class="hit"' : ''} style="background:${cmapRgb('blues', tt)};color:${inkOn('blues', tt)}">` +
                   `${esc(showToken(this.label(id)))}</td>`);
      }
      parts.push('</tr>');
    }
    parts.push('</tbody>');
    $('#lens-table').innerHTML = parts.join('');
    $('#lens-table-host').hidden = false;
  },
  figure(W) { const L = this.layout(W); return {w: L.w, h: L.h, draw: p => this.draw(p, W)}; },
};

