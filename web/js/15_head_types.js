// ================================================================ head types
// Head types: how strongly each head is a previous-token, first-token or induction head (GET /api/head_types).
const typesView = {
  name: 'types', data: null, hoverCell: null,
  KINDS: [['previous_token', 'previous-token'], ['first_token', 'first-token'], ['induction', 'induction']],
  init() {
    this.section = $('#view-types');
    this.canvas = $('#types-canvas');
    this.canvas.addEventListener('mousemove', ev => {
      const c = this.cellAt(ev);
      this.canvas.style.cursor = c && S.an ? 'pointer' : 'default';
      if (c) {
        const s = this.data.heads.find(x => x.layer === c.l && x.head === c.hd);
        const label = this.data.labels.find(x => x.layer === c.l && x.head === c.hd);
        tooltip.show(ev, `layer ${c.l}, head ${c.hd}${label ? ` — <b>${esc(label.type)}</b>` : ''}<br>` +
          this.KINDS.map(([k, name]) => `${name}: ${s ? fmt(s[k], 3) : '–'}`).join('<br>') +
          (S.an ? '<br><span class="muted">click to open it in the matrix view</span>' : ''));
      } else tooltip.hide();
    });
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    this.canvas.addEventListener('click', ev => {
      const c = this.cellAt(ev);
      if (c && S.an && c.l < S.an.n_layer && c.hd < S.an.n_head) { tooltip.hide(); matrixView.open(c.l, c.hd); }
    });
  },
  reset() {},
  async show() {
    if (this.data) { this.render(); return; }
    viewMsg(this, '');
    setStatus('scoring every head on repeated random tokens (computed once)…', 'busy');
    try {
      this.data = await getHeadTypes();
      setStatus(`head types: ${this.data.labels.length} of ${this.data.heads.length} heads labelled`, 'ok');
      this.renderLabels();
      this.render();
    } catch (e) { showError(this, e); }
  },
  dims() {
    const d = this.data;
    let nl = 0, nh = 0;
    for (const x of d.heads) { nl = Math.max(nl, x.layer + 1); nh = Math.max(nh, x.head + 1); }
    return [nl, nh];
  },
  layout(W) {
    const [nl, nh] = this.dims(), gap = 36, left = 40;
    const cell = clamp(Math.floor((W - left - 2 * gap - 20) / (3 * nh)), 12, 52);
    const pw = nh * cell;
    return {nl, nh, cell, gap, left, pw, top: 76, w: Math.min(W, left + 3 * pw + 2 * gap + 20), h: 76 + nl * cell + 40};
  },
  cellAt(ev) {
    if (!this.data) return null;
    const L = this.layout($('#types-host').clientWidth), [x, y] = localXY(ev, this.canvas);
    for (let k = 0; k < 3; k++) {
      const x0 = L.left + k * (L.pw + L.gap);
      if (x >= x0 && x < x0 + L.pw && y >= L.top && y < L.top + L.nl * L.cell) {
        return {k, hd: Math.floor((x - x0) / L.cell), l: Math.floor((y - L.top) / L.cell)};
      }
    }
    return null;
  },
  draw(p, W) {
    const d = this.data, L = this.layout(W);
    p.rect(0, 0, L.w, L.h, '#ffffff');
    figureTitle(p, 12, 16, 'Head types', `scored on ${d.sequence.kind}, length ${d.sequence.length}` +
                (d.sequence.n ? ` (n = ${d.sequence.n})` : '') + '; outlined: labelled heads (score ≥ 0.4)');
    const val = {};
    for (const x of d.heads) val[`${x.layer}|${x.head}`] = x;
    const lab = {};
    for (const x of d.labels) lab[`${x.layer}|${x.head}`] = x.type;
    this.KINDS.forEach(([key, name], k) => {
      const x0 = L.left + k * (L.pw + L.gap);
      p.text(x0, 44, name, {size: 14, weight: 'bold'});
      p.text(x0, L.top - 10, 'head →', {size: 11, color: MUTED});
      for (let hd = 0; hd < L.nh; hd++) {
        if (L.cell >= 16 || hd % 2 === 0) p.text(x0 + (hd + 0.5) * L.cell, L.top + L.nl * L.cell + 12, String(hd), {align: 'center', size: 11, color: MUTED});
      }
      for (let l = 0; l < L.nl; l++) {
        if (k === 0) p.text(L.left - 8, L.top + (l + 0.5) * L.cell, String(l), {align: 'right', size: 11, color: MUTED});
        for (let hd = 0; hd < L.nh; hd++) {
          const s = val[`${l}|${hd}`], v = s ? s[key] : NaN, t = clamp(v, 0, 1);
          const x = x0 + hd * L.cell, y = L.top + l * L.cell;
          p.rect(x, y, L.cell, L.cell, Number.isFinite(v) ? cmapRgb('blues', t) : '#cccccc', {stroke: '#ffffff'});
          if (L.cell >= 30 && Number.isFinite(v)) {
            p.text(x + L.cell / 2, y + L.cell / 2, v.toFixed(2), {align: 'center', size: 11, color: inkOn('blues', t)});
          }
        }
      }
      for (let l = 0; l < L.nl; l++) {
        for (let hd = 0; hd < L.nh; hd++) {
          if (lab[`${l}|${hd}`] === name) {
            p.rect(x0 + hd * L.cell + 1.5, L.top + l * L.cell + 1.5, L.cell - 3, L.cell - 3, null, {stroke: '#e0301e', lineWidth: 3});
          }
        }
      }
    });
    p.text(12, L.top + (L.nl * L.cell) / 2, 'layer', {size: 11, color: MUTED, rotate: -90, align: 'center'});
  },
  render() {
    if (!this.data) return;
    const W = $('#types-host').clientWidth || 900, L = this.layout(W);
    const ctx = sizeCanvas(this.canvas, L.w, L.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, 'types');
  },
  renderLabels() {
    const d = this.data, box = $('#types-labels');
    const groups = this.KINDS.map(([key, name]) => {
      const heads = d.labels.filter(x => x.type === name).map(x => {
        const s = d.heads.find(y => y.layer === x.layer && y.head === x.head);
        return h('button', {type: 'button', class: 'head-tag', title: 'open in the matrix view',
                            onclick: () => { if (S.an && x.layer < S.an.n_layer && x.head < S.an.n_head) matrixView.open(x.layer, x.head); }},
                 `L${x.layer} H${x.head}`, s ? h('span', {class: 'muted'}, ` ${fmt(s[key], 2)}`) : null);
      });
      return h('div', {class: 'label-group'}, h('b', {}, `${name}: `), heads.length ? heads : h('span', {class: 'muted'}, 'none'));
    });
    const others = d.labels.filter(x => !this.KINDS.some(([, n]) => n === x.type));
    if (others.length) groups.push(h('div', {class: 'label-group'}, h('b', {}, 'other: '), others.map(x => `L${x.layer} H${x.head} (${x.type}) `)));
    box.replaceChildren(h('h3', {}, 'Labelled heads'), ...groups);
  },
  figure() {
    const W = $('#types-host').clientWidth || 900, L = this.layout(W);
    return {w: L.w, h: L.h, draw: p => this.draw(p, W), name: 'head-types', title: 'Head types'};
  },
  json() { return Object.assign({view: 'head_types'}, this.data); },
  exportable() { return this.data ? null : 'the head types are not loaded'; },
};

