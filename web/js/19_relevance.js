// ---------------------------------------------------------------- relevance (the GPT's next token, explained)
// POST /api/relevance {"text", "target"} explains the GPT's next-token prediction after the analyzed text: one
// score per prompt token for every attribution method, and each method's perturbation curves on this prompt
// (tokens removed = keys no query may attend to). Each method is a row of the prompt's tokens, coloured by score.
const relevanceView = {
  name: 'relevance', data: null, seq: 0, hits: [], text: null, target: null,
  ROW: 24, LEFT: 150,
  init() {
    this.section = $('#view-relevance');
    this.canvas = $('#rel-canvas');
    $('#rel-method').addEventListener('change', () => this.render());
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const hit = this.hitAt(ev);
      if (hit && hit.method) { $('#rel-method').value = hit.method; this.render(); }
    });
  },
  reset() { this.data = null; this.target = null; },
  show() {
    if (!S.an) return;
    if (this.data && this.text === S.text) { this.render(); return; }
    this.run();
  },
  async run() {
    const seq = ++this.seq, text = S.text;
    viewMsg(this, '');
    setStatus('explaining the next token: one traced forward, one backward, and the perturbation tests…', 'busy');
    try {
      const body = {text};
      if (this.target !== null) body.target = this.target;
      const r = await api('POST', '/api/relevance', body);
      if (seq !== this.seq) return;
      if (!Array.isArray(r.tokens) || r.tokens.length !== r.T) throw new ApiError('the relevance has tokens.length ≠ T');
      const scores = {};
      for (const m of r.methods) {
        scores[m] = decodeF32(r.scores[m]);
        if (scores[m].length !== r.T) throw new ApiError(`the ${m} scores do not have ${r.T} tokens`);
      }
      this.data = {r, scores};
      this.text = text;
      if (!$('#rel-method').options.length) fillSelect($('#rel-method'), r.methods.map(m => [m, METHOD_NAMES[m] || m]), 'relevance');
      this.renderTop();
      const t = r.top.find(x => x.id === r.target);
      setStatus(`explained the next token ${quote(t ? t.token : r.target_token)} over ${r.T} tokens`, 'ok');
      this.render();
      document.body.dataset.relevance = String(seq);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  renderTop() {
    const r = this.data.r;
    const chips = r.top.map(t => h('button', {type: 'button', class: 'head-tag' + (t.id === r.target ? ' sel' : ''), 'data-id': t.id,
                                              title: 'explain this token instead',
                                              onclick: () => { this.target = t.id; this.run(); }},
                                   showToken(t.token), h('span', {class: 'muted'}, ` ${fmt(100 * t.p, 1)}%`)));
    $('#rel-top').replaceChildren(h('span', {class: 'muted'}, 'next token: '), ...chips);
  },
  // Token boxes, wrapped in rows of width W - LEFT.
  wrap(W) {
    const r = this.data.r, maxW = Math.max(200, W - this.LEFT - 24), boxes = [];
    let x = 0, line = 0;
    r.tokens.forEach((t, i) => {
      const w = Math.min(maxW, Math.ceil(textWidth(showToken(t), 13, true)) + 8);
      if (x + w > maxW && x > 0) { x = 0; line++; }
      boxes.push({i, x, line, w});
      x += w + 2;
    });
    return {boxes, lines: line + 1};
  },
  layout(W) {
    const d = this.data, wr = this.wrap(W), block = wr.lines * this.ROW + 16;
    const top = 44, curvesY = top + d.r.methods.length * block + 16;
    return {wr, block, top, curvesY, w: Math.max(W, 760), h: curvesY + 230};
  },
  draw(p, W) {
    const d = this.data, r = d.r, lay = this.layout(W), hits = [];
    const method = $('#rel-method').value || 'relevance';
    const t = r.top.find(x => x.id === r.target);
    p.rect(0, 0, lay.w, lay.h, '#ffffff');
    figureTitle(p, 12, 16, `Why ${quote(t ? t.token : r.target_token)} next?`,
                `${r.T} tokens; each method scores every token for the next-token logit (colour: √ of min to max, per method; outlined: the last token)`);
    r.methods.forEach((m, k) => {
      const y0 = lay.top + k * lay.block, s = d.scores[m];
      let lo = Infinity, hi = -Infinity;
      for (const v of s) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      p.text(12, y0 + this.ROW / 2, METHOD_NAMES[m] || m, {size: 12, weight: m === method ? 'bold' : 'normal', color: m === method ? ACCENT : INK});
      for (const b of lay.wr.boxes) {
        const x = this.LEFT + b.x, y = y0 + b.line * this.ROW, v = hi > lo ? Math.sqrt((s[b.i] - lo) / (hi - lo)) : 0;
        p.rect(x, y + 1, b.w, this.ROW - 4, cmapRgb('blues', 0.9 * v), {stroke: b.i === r.T - 1 ? '#e0301e' : null});
        p.text(x + 4, y + this.ROW / 2, ellipsize(showToken(r.tokens[b.i]), b.w - 6, 13, true),
               {size: 13, mono: true, color: inkOn('blues', 0.9 * v)});
        hits.push({x, y, w: b.w, h: this.ROW, method: m, i: b.i});
      }
    });
    drawCurves(p, 60, lay.curvesY, r, method, 'tokens', 'prediction kept', `p(${showToken(t ? t.token : r.target_token)})`);
    this.hits = hits;
  },
  render() {
    if (!this.data) return;
    const W = $('#rel-host').clientWidth || 1000, lay = this.layout(W);
    const ctx = sizeCanvas(this.canvas, lay.w, lay.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, `relevance|${this.seq}|${$('#rel-method').value}`);
  },
  hitAt(ev) { return boxAt(this.hits, ev, this.canvas); },
  hover(ev) {
    const hit = this.hitAt(ev);
    this.canvas.style.cursor = hit ? 'pointer' : 'default';
    if (!hit) { tooltip.hide(); return; }
    const r = this.data.r;
    tooltip.show(ev, `${esc(METHOD_NAMES[hit.method] || hit.method)}<br>${tokHtml(r.tokens[hit.i])} (position ${hit.i}): ` +
                     `<b>${fmt(this.data.scores[hit.method][hit.i], 4)}</b>` + (hit.i === r.T - 1 ? '<br><span class="muted">the query: the last token</span>' : ''));
  },
  figure() {
    const W = $('#rel-host').clientWidth || 1000, lay = this.layout(W);
    return {w: lay.w, h: lay.h, draw: p => this.draw(p, W), name: 'relevance', title: 'Relevance of each token for the next one'};
  },
  json() {
    const d = this.data, r = d.r, scores = {};
    for (const m of r.methods) scores[m] = Array.from(d.scores[m]);
    return {view: 'relevance', predicted: r.predicted, target: r.target, top: r.top, methods: r.methods, scores,
            fractions: r.fractions, curves: r.curves};
  },
  exportable() { return this.data ? null : 'nothing is explained yet'; },
};

