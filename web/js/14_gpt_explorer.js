// ================================================================ GPT explorer
// The GPT explorer: generation token by token (/api/generate/*), what each new token attended to, the KV cache.
const genView = {
  name: 'generate', session: null, tokens: [], steps: new Map(), selected: -1, layer: 0, head: 'mean',
  running: false, cancel: false, history: [], cache: null,
  init() {
    this.section = $('#view-generate');
    this.canvas = $('#gen-canvas');
    $('#gen-form').addEventListener('submit', ev => { ev.preventDefault(); this.start(); });
    $('#gen-next').addEventListener('click', () => this.run(1));
    $('#gen-run').addEventListener('click', () => this.run(clamp(+$('#gen-n').value || 1, 1, S.limits ? S.limits.max_new_tokens : 512)));
    $('#gen-cancel').addEventListener('click', () => { this.cancel = true; });
    $('#gen-stop').addEventListener('click', () => this.stop());
    $('#gen-layer').addEventListener('change', e => { this.layer = +e.target.value; this.render(); });
    $('#gen-head').addEventListener('change', e => { this.head = e.target.value; this.render(); });
    this.canvas.addEventListener('click', ev => this.clickGrid(ev));
    this.canvas.addEventListener('mousemove', ev => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => tooltip.hide());
    window.addEventListener('pagehide', () => {
      if (this.session && !STATIC) {
        fetch('/api/generate/stop', {method: 'POST', keepalive: true, headers: {'Content-Type': 'application/json'},
                                     body: JSON.stringify({session: this.session})}).catch(() => {});
      }
    });
    // A standalone page: a generation recorded when the page was made (ATTN_STATIC.generation) is replayed
    // step by step; without one the tab needs the live server.
    this.replay = STATIC && STATIC.generation && Array.isArray(STATIC.generation.steps) ? STATIC.generation : null;
    if (this.replay) {
      const q = this.replay.request;
      $('#gen-prompt').value = q.prompt; $('#gen-temperature').value = q.temperature; $('#gen-topk').value = q.top_k;
      $('#gen-topp').value = q.top_p; $('#gen-seed').value = q.seed;
      $$('#gen-form input:not(#gen-n)').forEach(el => { el.readOnly = true; });
      $('#gen-n').value = String(this.replay.steps.length);
      viewMsg(this, `Recorded when this page was made: ${this.replay.steps.length} tokens after the prompt. ` +
                    'Start, then Next token or Generate to step through them (a new prompt needs attn explore).', 'offline');
    } else if (STATIC) {
      viewMsg(this, 'The GPT explorer needs the live server (attn explore): not available offline.', 'offline');
      $$('#gen-form input, #gen-form button').forEach(el => { el.disabled = true; });
    }
  },
  // The answer to /api/generate/start or /next: the server's, or in a standalone page the recorded one.
  async request(path, body) {
    if (!this.replay) return api('POST', path, body);
    if (path === '/api/generate/start') return this.replay.start;
    if (path === '/api/generate/next') {
      const r = this.replay.steps[this.steps.size];
      if (!r) throw new ApiError(`this page recorded ${this.replay.steps.length} tokens; that was the last one`);
      return r;
    }
    return {session: body.session, stopped: true};
  },
  setupSelects() {
    const m = S.model;
    if (!m) return;
    fillSelect($('#gen-layer'), range(m.n_layer).map(l => [l, String(l)]), this.layer);
    fillSelect($('#gen-head'), [...range(m.n_head).map(hd => [hd, String(hd)]), ['mean', 'mean of heads']], this.head);
  },
  reset() {},
  show() { this.render(); },
  buttons() {
    const live = !!this.session && (!STATIC || !!this.replay);
    $('#gen-start').disabled = this.running || (!!STATIC && !this.replay);
    $('#gen-next').disabled = !live || this.running;
    $('#gen-run').disabled = !live || this.running;
    $('#gen-stop').disabled = !live || this.running;
    $('#gen-cancel').hidden = !this.running;
  },
  async start() {
    if (this.running || (STATIC && !this.replay)) return;
    const body = {prompt: $('#gen-prompt').value,
                  temperature: Number($('#gen-temperature').value), top_k: Math.round(Number($('#gen-topk').value)),
                  top_p: Number($('#gen-topp').value), seed: Math.round(Number($('#gen-seed').value))};
    for (const k of ['temperature', 'top_k', 'top_p', 'seed']) {
      if (!Number.isFinite(body[k])) { viewMsg(this, `error: ${k} must be a number`); return; }
    }
    if (!body.prompt) { viewMsg(this, 'error: the prompt is empty'); return; }
    viewMsg(this, '');
    this.running = true; this.buttons();
    try {
      if (this.session) await this.stop(true);
      setStatus('encoding the prompt and prefilling the KV cache…', 'busy');
      const r = await this.request('/api/generate/start', body);
      this.session = r.session;
      this.tokens = r.tokens.map((t, i) => ({text: t, position: i, gen: false}));
      this.steps = new Map(); this.selected = -1; this.history = [r.cache.tokens]; this.cache = r.cache;
      this.windowStart = 0;
      setStatus(`session ${r.session}: prompt of ${r.tokens.length} tokens prefilled; press Next token`, 'ok');
      this.renderText(); this.renderCache(); this.render();
    } catch (e) { showError(this, e); }
    this.running = false; this.buttons();
  },
  async run(n) {
    if (!this.session || this.running) return;
    this.running = true; this.cancel = false; this.buttons();
    viewMsg(this, '');
    try {
      for (let k = 0; k < n && !this.cancel; k++) {
        setStatus(n > 1 ? `generating token ${k + 1} of ${n}…` : 'generating the next token…', 'busy');
        const r = await this.request('/api/generate/next', {session: this.session});
        const att = decodeF32(r.attention);
        const [nl, nh, Sn] = r.shape;
        if (att.length !== nl * nh * Sn) throw new ApiError(`attention has ${att.length} floats, shape says ${r.shape}`);
        this.steps.set(r.position, Object.assign({}, r, {att}));
        this.tokens[r.position] = {text: r.token, position: r.position, gen: true};
        this.selected = r.position;
        this.cache = r.cache; this.windowStart = r.window_start;
        this.history.push(r.cache.tokens);
        this.renderText(); this.renderCache(); this.render();
      }
      setStatus(`${this.steps.size} tokens generated; the sequence is ${this.tokens.length} tokens` +
                (this.cancel ? ' (cancelled)' : ''), 'ok');
    } catch (e) {
      showError(this, e);
      if (e instanceof ApiError && e.status === 404) { this.session = null; }
    }
    this.running = false; this.buttons();
  },
  async stop(quiet) {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.buttons();
    try {
      await this.request('/api/generate/stop', {session: s});
      if (!quiet) setStatus(`session ${s} stopped; its KV cache is freed`, 'ok');
    } catch (e) { if (!quiet) showError(this, e); }
  },
  renderText() {
    const box = $('#gen-text'), step = this.steps.get(this.selected);
    const spans = this.tokens.map(t => {
      const cls = ['tok', t.gen ? 'gen' : 'prompt'];
      let style = null, title = `position ${t.position}` + (t.gen ? ' (generated: click to inspect)' : ' (prompt)');
      if (t.position === this.selected) cls.push('sel');
      if (step && t.position < this.selected) {
        if (t.position < step.window_start) { cls.push('outside'); title += ', outside the window'; }
        else {
          const w = this.rowOf(step)[t.position - step.window_start];
          const tt = Math.sqrt(clamp(w, 0, 1));
          style = `background:${cmapRgb('blues', tt * 0.85)};color:${inkOn('blues', tt * 0.85)}`;
          title += `, weight ${w.toFixed(4)}`;
        }
      }
      const span = h('span', {class: cls.join(' '), 'data-pos': t.position, title, style,
                              onclick: t.gen ? () => { this.selected = t.position; this.renderText(); this.render(); } : null},
                     flowToken(t.text));
      return String(t.text).includes('\n') ? [span, h('br')] : [span];
    }).flat();
    box.replaceChildren(...spans);
    const sel = $('.tok.sel', box);
    if (sel) sel.scrollIntoView({block: 'nearest'});
  },
  rowOf(step, layer = this.layer, head = this.head) {
    const [, nh, Sn] = step.shape, out = new Float32Array(Sn);
    const heads = head === 'mean' ? range(nh) : [+head];
    for (const hd of heads) {
      const off = (layer * nh + hd) * Sn;
      for (let j = 0; j < Sn; j++) out[j] += step.att[off + j] / heads.length;
    }
    return out;
  },
  renderCache() {
    const c = this.cache;
    if (!c) return;
    $('#kv-tokens').textContent = `${c.tokens} / ${c.capacity}`;
    $('#kv-bar').style.width = (100 * c.tokens / c.capacity).toFixed(1) + '%';
    $('#kv-bytes').textContent = `${fmtBytes(c.bytes)} / ${fmtBytes(c.capacity_bytes)}`;
    $('#kv-bytes-bar').style.width = (100 * c.bytes / c.capacity_bytes).toFixed(1) + '%';
    const n = this.tokens.length, ws = this.windowStart || 0;
    $('#kv-window').textContent = ws > 0 ? `slid: starts at position ${ws}` : `positions 0–${n - 1}`;
    $('#kv-window').title = ws > 0 ? `positions 0–${ws - 1} no longer seen` : 'the model sees the whole sequence';
    $('#kv-panel').classList.toggle('slid', ws > 0);
    $('#kv-seq').replaceChildren(
      h('div', {class: 'seq-out', style: `width:${100 * ws / n}%`, title: `positions 0–${ws - 1}: no longer seen`}),
      h('div', {class: 'seq-in', style: `width:${100 * (n - ws) / n}%`, title: `positions ${ws}–${n - 1}: in the window`}));
    const cv = $('#kv-history'), W = cv.clientWidth || 240, H = 60;
    const ctx = sizeCanvas(cv, W, H), p = new CanvasPainter(ctx), hist = this.history;
    p.rect(0, 0, W, H, '#f7f9fc');
    const cap = c.capacity, pts = [];
    const y0 = 18, y1 = H - 4;
    hist.forEach((v, i) => pts.push(4 + (W - 8) * (hist.length > 1 ? i / (hist.length - 1) : 1), y1 - (y1 - y0) * v / cap));
    p.line(0, y0, W, y0, '#d0d7e2', 1);
    const segs = [];
    for (let i = 2; i < pts.length; i += 2) segs.push(pts[i - 2], pts[i - 1], pts[i], pts[i + 1]);
    p.lines(segs, ACCENT, 2);
    p.text(4, 8, `cache tokens per step (capacity ${cap})`, {size: 10, color: MUTED});
  },
  layout(W) {
    const m = S.model, nrow = m.n_layer * m.n_head;
    const left = 64, right = 24, barTop = 44, barH = 110, labelH = 54;
    const side = W >= 820 ? 310 : 0;  // the top-10 goes beside the grid when there is room, else below it
    const gridTop = barTop + barH + labelH + 34;
    const rowH = clamp(Math.floor(320 / nrow), 4, 14), gridH = nrow * rowH;
    const barW = W - left - right, gridW = barW - side;
    const topX = side ? left + gridW + 110 : left, topTop = side ? gridTop : gridTop + gridH + 44;
    const topBarW = side ? side - 110 - 56 : Math.min(360, barW - 120);
    return {W, left, right, barTop, barH, gridTop, rowH, gridH, barW, gridW, topX, topTop, topBarW,
            h: Math.max(gridTop + gridH, topTop + 10 * 20) + 12};
  },
  draw(p, W) {
    const L = this.layout(W), step = this.steps.get(this.selected), m = S.model;
    p.rect(0, 0, W, L.h, '#ffffff');
    if (!step) {
      p.text(12, 20, this.session ? 'Press “Next token”: each new token shows what it attended to.' :
                                     'Press Start to begin a generation.', {size: 14, color: MUTED});
      return;
    }
    const Sn = step.shape[2], ws = step.window_start, row = this.rowOf(step);
    const cw = L.barW / Sn, gcw = L.gridW / Sn;
    figureTitle(p, 12, 16, `${quote(step.token)} at position ${step.position}`,
                `what layer ${this.layer}, ${this.head === 'mean' ? 'mean of heads' : 'head ' + this.head} looked at: ` +
                `query ${step.position - 1} over positions ${ws}–${step.position - 1}`);
    // 1. the attention row as bars over the previous tokens
    let rmax = 0;
    for (const v of row) rmax = Math.max(rmax, v);
    const top = rmax > 0.5 ? 1 : rmax > 0.25 ? 0.5 : 0.25;
    for (const v of [0, top / 2, top]) {
      const y = L.barTop + L.barH * (1 - v / top);
      p.line(L.left - 4, y, L.left + L.barW, y, v ? '#e6eaf0' : '#9aa5b5', 1);
      p.text(L.left - 8, y, String(v), {align: 'right', size: 11, color: MUTED});
    }
    for (let j = 0; j < Sn; j++) {
      const bh = L.barH * Math.min(1, row[j] / top);
      p.rect(L.left + j * cw + (cw > 4 ? 1 : 0), L.barTop + L.barH - bh, Math.max(0.6, cw - (cw > 4 ? 2 : 0)), bh, ACCENT);
    }
    const fs = Math.min(13, Math.floor(cw) - 1);
    if (fs >= 8) {
      const labels = range(Sn).map(j => showToken(this.tokens[ws + j].text));
      const upright = labels.every(s => textWidth(s, fs, true) <= cw - 1);  // e.g. characters: no need to turn them
      labels.forEach((s, j) => {
        if (upright) p.text(L.left + (j + 0.5) * cw, L.barTop + L.barH + 10, s, {align: 'center', size: fs, mono: true});
        else p.text(L.left + (j + 0.5) * cw, L.barTop + L.barH + 6, ellipsize(s, 48, fs, true), {rotate: -90, align: 'right', size: fs, mono: true});
      });
    } else {
      const st = [1, 2, 5, 10, 20, 50, 100, 200, 500].find(s => s * cw >= 30) || 1000;
      for (let j = Math.ceil(ws / st) * st; j < ws + Sn; j += st) {
        p.text(L.left + (j - ws + 0.5) * cw, L.barTop + L.barH + 10, String(j), {align: 'center', size: 11, color: MUTED});
      }
    }
    // 2. every layer × head
    p.text(12, L.gridTop - 16, 'every layer × head (rows) over the same positions; click a row to choose it',
           {size: 12, color: MUTED});
    const nh = m.n_head;
    const spec = {data: step.att, stride: Sn, rows: m.n_layer * nh, cols: Sn, vmin: 0, vmax: 1, cmap: 'blues', gamma: 0.5};
    p.heatmap(spec, 0, m.n_layer * nh, 0, Sn, L.left, L.gridTop, gcw, L.rowH);
    for (let l = 0; l < m.n_layer; l++) {
      const y = L.gridTop + l * nh * L.rowH;
      if (l) p.line(L.left, y, L.left + L.gridW, y, '#ffffff', 2);
      p.text(L.left - 8, y + nh * L.rowH / 2, `L${l}`, {align: 'right', size: 11, color: MUTED});
    }
    const selY = L.gridTop + (this.layer * nh + (this.head === 'mean' ? 0 : +this.head)) * L.rowH;
    p.rect(L.left - 1, selY - 1, L.gridW + 2, (this.head === 'mean' ? nh : 1) * L.rowH + 2, null, {stroke: '#e0301e', lineWidth: 2});
    p.rect(L.left - 0.5, L.gridTop - 0.5, L.gridW + 1, L.gridH + 1, null, {stroke: '#9aa5b5'});
    // 3. the top-10 candidates
    p.text(L.topX - 100, L.topTop - 16, 'top 10 next tokens (blue: drawn)', {size: 12, color: MUTED});
    step.top.slice(0, 10).forEach((c, i) => {
      const y = L.topTop + i * 20, chosen = c.id === step.id;
      p.text(L.topX - 8, y + 9, ellipsize(showToken(c.token), 90, 13, true),
             {align: 'right', size: 13, mono: true, weight: chosen ? 'bold' : 'normal'});
      p.rect(L.topX, y + 2, L.topBarW, 15, '#eef1f6');
      p.rect(L.topX, y + 2, Math.max(0.5, L.topBarW * c.p), 15, chosen ? ACCENT : '#9db3d3');
      p.text(L.topX + L.topBarW + 6, y + 9, c.p.toFixed(3), {size: 12, mono: true, weight: chosen ? 'bold' : 'normal'});
    });
  },
  render() {
    if (!S.model) return;
    const W = Math.max(480, $('#gen-host').clientWidth || 800), L = this.layout(W);
    const step = this.steps.get(this.selected);
    $('#gen-selected').innerHTML = step
      ? `Token ${tokHtml(step.token)} at position ${step.position}` + (step.window_start ? ` · window starts at ${step.window_start}` : '')
      : (this.session ? 'Select a generated token to see what it attended to.' : '');
    const ctx = sizeCanvas(this.canvas, W, step ? L.h : 40);
    this.draw(new CanvasPainter(ctx), W);
    if (step) markDrawn(this.canvas, `${this.session}|${step.position}|${this.layer}|${this.head}`);
  },
  clickGrid(ev) {
    const step = this.steps.get(this.selected);
    if (!step) return;
    const L = this.layout(this.canvas.clientWidth), [x, y] = localXY(ev, this.canvas);
    if (y < L.gridTop || y >= L.gridTop + L.gridH || x < L.left || x >= L.left + L.gridW) return;
    const rix = Math.floor((y - L.gridTop) / L.rowH), nh = S.model.n_head;
    this.layer = Math.floor(rix / nh); this.head = String(rix % nh);
    $('#gen-layer').value = String(this.layer); $('#gen-head').value = this.head;
    this.renderText(); this.render();
  },
  hover(ev) {
    const step = this.steps.get(this.selected);
    if (!step) return;
    const L = this.layout(this.canvas.clientWidth), [x, y] = localXY(ev, this.canvas), Sn = step.shape[2];
    const inBars = y >= L.barTop && y < L.barTop + L.barH + 40;
    const inGrid = y >= L.gridTop && y < L.gridTop + L.gridH && x < L.left + L.gridW;
    const j = Math.floor((x - L.left) / ((inBars ? L.barW : L.gridW) / Sn));
    if (!(inBars || inGrid) || j < 0 || j >= Sn) { tooltip.hide(); return; }
    const pos = step.window_start + j, tok = tokHtml(this.tokens[pos].text);
    if (inBars) {
      tooltip.show(ev, `position ${pos} ${tok}<br>weight <b>${this.rowOf(step)[j].toFixed(4)}</b>`);
    } else {
      const rix = Math.floor((y - L.gridTop) / L.rowH), nh = S.model.n_head;
      tooltip.show(ev, `layer ${Math.floor(rix / nh)}, head ${rix % nh}: position ${pos} ${tok}<br>weight <b>${step.att[rix * Sn + j].toFixed(4)}</b>`);
    }
  },
  figure() {
    const W = Math.max(480, $('#gen-host').clientWidth || 800), L = this.layout(W);
    return {w: W, h: this.steps.get(this.selected) ? L.h : 40, draw: p => this.draw(p, W),
            name: `generate-pos${this.selected}`, title: 'GPT explorer: what a generated token attended to'};
  },
  json() {
    return {view: 'generate', session: this.session, tokens: this.tokens.map(t => t.text),
            prompt_tokens: this.tokens.filter(t => !t.gen).length,
            steps: [...this.steps.values()].map(s => ({
              token: s.token, id: s.id, position: s.position, window_start: s.window_start, top: s.top, cache: s.cache,
              attention: range(s.shape[0]).map(l => range(s.shape[1]).map(hd =>
                Array.from(s.att.subarray((l * s.shape[1] + hd) * s.shape[2], (l * s.shape[1] + hd + 1) * s.shape[2]))))}))};
  },
  exportable() { return this.steps.size > 0 ? null : 'generate a token first'; },
};

