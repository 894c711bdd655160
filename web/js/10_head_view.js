// ================================================================ head view
// The head view (BertViz's): a line from each query token to each key token it attends to, one colour per head.
const headsView = {
  name: 'heads',
  layer: 0, active: new Set(), mats: null, loaded: '', focus: null, pinned: null, seq: 0,
  ROW: 22, TOP: 58, MIN_W: 0.01,
  init() {
    this.section = $('#view-heads');
    this.area = new ScrollArea($('#heads-area'), (p, top, w, hgt) => this.draw(p, top, w, hgt));
    this.canvas = this.area.canvas;
    $('#heads-layer').addEventListener('change', e => { this.layer = +e.target.value; this.load(); });
    $('#heads-all').addEventListener('click', () => { this.active = new Set(range(S.an ? S.an.n_head : 0)); this.chips(); this.area.redraw(); });
    $('#heads-none').addEventListener('click', () => { this.active.clear(); this.chips(); this.area.redraw(); });
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => { this.focus = null; this.note(); this.area.schedule(); });
    this.canvas.addEventListener('click', () => {
      const f = this.focus;
      this.pinned = f && !(this.pinned && this.pinned.side === f.side && this.pinned.i === f.i) ? f : null;
      this.note();
      this.area.schedule();
    });
  },
  reset() {
    const an = S.an;
    this.layer = Math.min(this.layer, an.n_layer - 1);
    fillSelect($('#heads-layer'), layerOptions(), this.layer);
    if (this.active.size === 0 || [...this.active].some(hd => hd >= an.n_head)) this.active = new Set(range(an.n_head));
    this.chips();
    this.mats = null; this.loaded = ''; this.focus = this.pinned = null;
    this.note();
  },
  chips() {
    const box = $('#heads-chips');
    box.replaceChildren(...range(S.an ? S.an.n_head : 0).map(hd => {
      const on = this.active.has(hd);
      return h('button', {type: 'button', class: 'chip' + (on ? ' on' : ''), 'aria-pressed': String(on),
                          'data-head': hd, title: `head ${hd}: click to show/hide, double-click to show only it`,
                          style: `--head:${headColor(hd)}`,
                          onclick: () => { on ? this.active.delete(hd) : this.active.add(hd); this.chips(); this.area.redraw(); },
                          ondblclick: () => { this.active = new Set([hd]); this.chips(); this.area.redraw(); }},
               h('span', {class: 'swatch'}), `${hd}`);
    }));
  },
  show() { this.load(); },
  async load() {
    const an = S.an;
    if (!an) return;
    const key = `${an.id}|${this.layer}`;
    this.area.setContentHeight(this.contentHeight());
    if (this.loaded === key && this.mats) { this.area.redraw(); return; }
    const seq = ++this.seq;
    viewMsg(this, '');
    try {
      const mats = await getLayerHeads(this.layer);
      if (seq !== this.seq || S.an !== an) return;
      this.mats = mats; this.loaded = key;
      this.area.redraw();
      markDrawn(this.canvas, key);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  contentHeight() { return this.TOP + (S.an ? S.an.T : 0) * this.ROW + 12; },
  layout(W) {
    const T = S.an.T;
    let tw = 0;
    for (let i = 0; i < T; i++) tw = Math.max(tw, textWidth(showToken(S.an.tokens[i]), 14, true));
    const tokW = clamp(Math.ceil(tw) + 16, 64, 190);
    const span = clamp(W - 2 * tokW - 40, 140, 420);
    const x0 = Math.max(8, (W - (2 * tokW + span)) / 2);
    return {tokW, x0, lx: x0 + tokW - 8, x1: x0 + tokW, x2: x0 + tokW + span, rx: x0 + tokW + span + 8};
  },
  // Draws rows visible in [top, top + H) of the whole figure onto a W×H surface.
  draw(p, top, W, H) {
    p.rect(0, 0, W, H, '#ffffff');
    const an = S.an;
    if (!an || !this.mats) return;
    const T = an.T, L = this.layout(W), ROW = this.ROW, TOP = this.TOP;
    const yOf = i => TOP + i * ROW + ROW / 2 - top;
    const first = clamp(Math.floor((top - TOP) / ROW), 0, T - 1);
    const last = clamp(Math.ceil((top + H - TOP) / ROW), 0, T - 1);
    const f = this.pinned || this.focus;
    const heads = [...this.active].sort((a, b) => a - b);
    // lines, bucketed by opacity (opacity = weight, in steps of 1/20) so that each bucket is one path
    for (const hd of heads) {
      const M = this.mats[hd], buckets = [];
      const add = (i, j) => {
        const w = M[i * T + j];
        if (!(w >= this.MIN_W)) return;
        const b = Math.min(19, Math.floor(w * 20));
        (buckets[b] || (buckets[b] = [])).push(L.x1, yOf(i), L.x2, yOf(j));
      };
      if (f && f.side === 'q') { for (let j = 0; j < T; j++) add(f.i, j); }
      else if (f && f.side === 'k') { for (let i = 0; i < T; i++) add(i, f.i); }
      else {
        const qhi = Math.min(T - 1, last + (last - first) + 1);
        for (let i = first; i <= qhi; i++) for (let j = 0; j < T; j++) add(i, j);
      }
      buckets.forEach((segs, b) => { if (segs) p.lines(segs, headColor(hd), 2, (b + 0.5) / 20); });
    }
    // tokens; around the focused token, the other side's tokens are shaded by weight, one stripe per head
    const stripeW = heads.length ? L.tokW / heads.length : 0;
    for (let i = first; i <= last; i++) {
      const y = yOf(i), s = ellipsize(showToken(an.tokens[i]), L.tokW - 10, 14, true);
      const qFocus = f && f.side === 'q' && f.i === i, kFocus = f && f.side === 'k' && f.i === i;
      if (qFocus) p.rect(L.x0, y - ROW / 2 + 1, L.tokW - 4, ROW - 2, HILITE);
      if (kFocus) p.rect(L.rx - 4, y - ROW / 2 + 1, L.tokW - 4, ROW - 2, HILITE);
      if (f) {
        heads.forEach((hd, k) => {
          const w = f.side === 'q' ? this.mats[hd][f.i * T + i] : this.mats[hd][i * T + f.i];
          if (w >= this.MIN_W) {
            const x = f.side === 'q' ? L.rx - 4 + k * stripeW : L.x0 + k * stripeW;
            p.rect(x, y - ROW / 2 + 1, stripeW, ROW - 2, headColor(hd), {alpha: Math.min(0.85, w)});
          }
        });
      }
      p.text(L.lx, y, s, {mono: true, size: 14, align: 'right', weight: qFocus ? 'bold' : 'normal'});
      p.text(L.rx, y, s, {mono: true, size: 14, weight: kFocus ? 'bold' : 'normal'});
    }
    // header band (stays put while the rows scroll under it)
    p.rect(0, 0, W, TOP - 6, '#ffffff');
    figureTitle(p, 12, 16, `Layer ${this.layer}`, heads.length === an.n_head ? 'all heads' :
                heads.length ? `head${heads.length > 1 ? 's' : ''} ${heads.join(', ')}` : 'no head selected');
    p.text(L.lx, TOP - 18, 'query (attends from)', {align: 'right', size: 12, color: MUTED});
    p.text(L.rx, TOP - 18, 'key (attended to)', {size: 12, color: MUTED});
    p.line(0, TOP - 6, W, TOP - 6, GRID, 1);
  },
  hover(ev) {
    if (!S.an || !this.mats) return;
    const [x, y] = localXY(ev, this.canvas);
    const L = this.layout(this.area.host.clientWidth);
    const i = Math.floor((y + this.area.top - this.TOP) / this.ROW);
    let f = null;
    if (y > this.TOP - 6 && i >= 0 && i < S.an.T) {
      if (x >= L.x0 - 4 && x <= L.x1 + 4) f = {side: 'q', i};
      else if (x >= L.x2 - 4 && x <= L.rx + L.tokW) f = {side: 'k', i};
    }
    const same = (a, b) => (!a && !b) || (a && b && a.side === b.side && a.i === b.i);
    this.canvas.style.cursor = f ? 'pointer' : 'default';
    if (same(f, this.focus)) return;
    this.focus = f;
    this.note();
    this.area.schedule();
  },
  note() {
    const el = $('#heads-note'), f = this.pinned || this.focus, an = S.an;
    if (!f || !an || !this.mats) {
      el.innerHTML = 'Each line joins a query token (left) to a key token (right) it attends to; its opacity is the ' +
        'attention weight, its colour the head. Hover a token to isolate its lines, click to pin.';
      return;
    }
    const T = an.T, parts = [];
    for (const hd of [...this.active].sort((a, b) => a - b)) {
      let best = -1, bw = -1;
      for (let k = 0; k < T; k++) {
        const w = f.side === 'q' ? this.mats[hd][f.i * T + k] : this.mats[hd][k * T + f.i];
        if (w > bw) { bw = w; best = k; }
      }
      parts.push(`<span class="hd" style="--head:${headColor(hd)}">${hd}</span> → ${tokHtml(an.tokens[best])}<sub>${best}</sub> ${fmt(bw, 2)}`);
    }
    const lead = f.side === 'q' ? `Query ${tokHtml(an.tokens[f.i])}<sub>${f.i}</sub> attends most, per head, to` :
                                  `Key ${tokHtml(an.tokens[f.i])}<sub>${f.i}</sub> is attended most, per head, by`;
    el.innerHTML = `${this.pinned ? '<b>pinned</b> · ' : ''}${lead}: ${parts.join(' · ') || '(no head selected)'}`;
  },
  figure() {
    const an = S.an, W = this.area.host.clientWidth || 900;
    const all = an.T <= 300;
    const top = all ? 0 : this.area.top, H = all ? this.contentHeight() : this.area.host.clientHeight;
    return {w: W, h: H, draw: p => this.draw(p, top, W, H),
            name: `heads-L${this.layer}`, title: `Attention, layer ${this.layer}`};
  },
  json() {
    const heads = [...this.active].sort((a, b) => a - b);
    return {view: 'heads', layer: this.layer, heads,
            attention: Object.fromEntries(heads.map(hd => [hd, rows(this.mats[hd], S.an.T, S.an.T)]))};
  },
};

