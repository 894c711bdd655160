// ---------------------------------------------------------------- audio (speech models: where they listen)
// GET /api/audio/recordings lists KTuberling's human recordings; POST /api/audio/analyze?index=N (or a WAV/OGG
// as the body) gives the recording as the models heard it (a WAV to play), the log-mel spectrogram (n_mels,
// frames), the Keyword Transformer's top words and its CLS attention (L, H, N tokens of frames_per_token
// frames), and Listen, Attend and Spell's spelling with one alignment row per letter (+ <eos>) over its keys
// (src/attn/explore/audio_view.h). Every strip is drawn under the spectrogram on the same time axis.
const audioView = {
  name: 'audio', data: null, seq: 0, upload: null, index: 0, list: null, ready: false,
  init() {
    this.section = $('#view-audio');
    this.canvas = $('#aud-canvas');
    $('#aud-recording').addEventListener('change', () => this.pick(+$('#aud-recording').value));
    $('#aud-prev').addEventListener('click', () => this.pick(this.index - 1));
    $('#aud-next').addEventListener('click', () => this.pick(this.index + 1));
    $('#aud-head').addEventListener('change', () => this.render());
    $('#aud-file').addEventListener('change', ev => {
      const f = ev.target.files[0];
      if (f) this.uploadFile(f);
      ev.target.value = '';
    });
    const host = $('#aud-host');
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
  },
  reset() {},  // independent of the GPT's analysis
  info() { return S.info && S.info.audio; },
  async show() {
    if (!S.info) return;
    const a = this.info();
    if (!a) {
      viewMsg(this, 'No speech model is loaded. The project ships models/kwt-words (remade by scripts/ship_audio.sh); ' +
                    'or train one (attn train audio --out DIR, --arch kwt or las) and start attn explore --kwt DIR / --las DIR.', 'info');
      for (const id of ['#aud-recording', '#aud-prev', '#aud-next', '#aud-file', '#aud-head']) $(id).disabled = true;
      return;
    }
    if (!this.ready) {
      this.ready = true;
      const parts = [];
      if (a.kwt) parts.push(`${a.kwt.name}: KWT ${a.kwt.n_layer} layers × ${a.kwt.n_head} heads, ${a.kwt.words.length} words`);
      if (a.las) parts.push(`${a.las.name}: Listen, Attend and Spell`);
      $('#aud-model').textContent = parts.join(' · ');
      fillSelect($('#aud-head'), a.kwt ? [['mean', 'mean of heads'], ...range(a.kwt.n_head).map(k => [k, `head ${k}`])] : [['mean', '—']], 'mean');
      $('#aud-head').disabled = !a.kwt;
      if (a.recordings > 0) {
        try {
          this.list = (await api('GET', '/api/audio/recordings')).recordings;
          fillSelect($('#aud-recording'), this.list.map(r => [r.index, `${r.word} (${r.file})`]), '0');
        } catch (e) { showError(this, e); return; }
      } else {
        for (const id of ['#aud-recording', '#aud-prev', '#aud-next']) $(id).disabled = true;
        viewMsg(this, 'No recordings are installed (Debian\'s ktuberling-data): drop a WAV or OGG here or choose one.', 'info');
      }
    }
    if (!this.data && !this.upload) { if (this.list) this.run(); } else this.render();
  },
  pick(i) {
    if (!this.list) return;
    this.index = clamp(i, 0, this.list.length - 1);
    this.upload = null;
    $('#aud-recording').value = String(this.index);
    this.run();
  },
  uploadFile(f) {
    if (!this.info()) return;
    const max = S.limits && S.limits.max_audio_bytes;
    if (max && f.size > max) { viewMsg(this, `error: ${f.name} has ${fmtBytes(f.size)}; the limit is ${fmtBytes(max)}`); return; }
    this.upload = {blob: f, name: f.name};
    this.run();
  },
  async run() {
    const seq = ++this.seq;
    viewMsg(this, '');
    setStatus(this.upload ? `listening to ${this.upload.name}…` : `listening to recording ${this.index}…`, 'busy');
    try {
      const r = this.upload ? await api('POST', '/api/audio/analyze', this.upload.blob)
                            : await api('POST', apiUrl('/api/audio/analyze', [['index', this.index]]));
      if (seq !== this.seq) return;
      const sp = r.spectrogram, spec = decodeF32(sp.values);
      if (spec.length !== sp.n_mels * sp.frames) throw new ApiError('the spectrogram does not have the announced shape');
      const d = {r, spec};
      if (r.kwt) {
        d.att = decodeF32(r.kwt.cls_attention);
        if (d.att.length !== r.kwt.n_layer * r.kwt.n_head * r.kwt.tokens) throw new ApiError('the KWT attention does not have the announced shape');
      }
      if (r.las) {
        d.align = decodeF32(r.las.alignment);
        if (d.align.length !== r.las.rows * r.las.keys) throw new ApiError('the LAS alignment does not have the announced shape');
      }
      this.data = d;
      d.picture = this.spectrogramCanvas();
      $('#aud-player').src = 'data:audio/wav;base64,' + r.wav;
      const heard = [];
      if (r.kwt) heard.push(`heard "${r.kwt.top[0].word}" (${fmt(100 * r.kwt.top[0].probability, 1)}%)`);
      if (r.las) heard.push(`spelled "${r.las.text}"`);
      setStatus(`${this.upload ? this.upload.name : r.source}: ${heard.join(', ')}` + (r.label ? `; the word: ${r.label}` : ''), 'ok');
      this.render();
      document.body.dataset.audio = String(seq);
    } catch (e) { if (seq === this.seq) showError(this, e); }
  },
  spectrogramCanvas() {
    const d = this.data, sp = d.r.spectrogram, M = sp.n_mels, F = sp.frames, lut = LUTS.viridis;
    let lo = Infinity, hi = -Infinity;
    for (const x of d.spec) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    const c = h('canvas', {width: F, height: M}), ctx = c.getContext('2d'), img = ctx.createImageData(F, M);
    for (let m = 0; m < M; m++) {
      for (let t = 0; t < F; t++) {
        const v = hi > lo ? (d.spec[m * F + t] - lo) / (hi - lo) : 0, li = Math.round(clamp(v, 0, 1) * 255) * 3;
        const i = (M - 1 - m) * F + t;  // low frequencies at the bottom
        img.data.set([lut[li], lut[li + 1], lut[li + 2], 255], 4 * i);
      }
    }
    ctx.putImageData(img, 0, 0);
    return c;
  },
  kwtRow(l) {  // (N) CLS attention of layer l: one head, or the mean of heads
    const d = this.data, k = d.r.kwt, N = k.tokens, sel = $('#aud-head').value;
    if (sel !== 'mean') return d.att.subarray((l * k.n_head + +sel) * N, (l * k.n_head + +sel + 1) * N);
    const out = new Float32Array(N);
    for (let hd = 0; hd < k.n_head; hd++) for (let j = 0; j < N; j++) out[j] += d.att[(l * k.n_head + hd) * N + j] / k.n_head;
    return out;
  },
  layout(W) {
    const d = this.data, r = d.r, left = 80, top = 64, specH = 170, strip = 22, gap = 5;
    const w = Math.max(W, 760), plotW = w - left - 24;
    const kwtRows = r.kwt ? r.kwt.n_layer : 0, lasRows = r.las ? r.las.rows : 0;
    const kwtTop = top + specH + 30, lasTop = kwtTop + (kwtRows ? kwtRows * (strip + gap) + 34 : 0);
    return {left, top, specH, strip, gap, w, plotW, kwtTop, lasTop, h: lasTop + (lasRows ? lasRows * (strip + gap) + 34 : 0) + 40};
  },
  draw(p, W) {
    const d = this.data, r = d.r, lay = this.layout(W), hits = [];
    const sp = r.spectrogram, secs = sp.frames * sp.seconds_per_frame, X = t => lay.left + lay.plotW * t / sp.frames;
    p.rect(0, 0, lay.w, lay.h, '#ffffff');
    const heard = [];
    if (r.kwt) heard.push('KWT: ' + r.kwt.top.map(t => `${t.word} ${fmt(100 * t.probability, 1)}%`).join(', '));
    if (r.las) heard.push(`LAS spelled: "${r.las.text}"${r.las.known_word ? '' : ' (not one of its words)'}`);
    figureTitle(p, 12, 16, `${this.upload ? this.upload.name : r.source} — ${fmt(r.seconds, 2)} s` + (r.label ? ` · the word: ${r.label}` : ''),
                heard.join(' · '));
    p.text(12, lay.top - 8, 'log-mel spectrogram the models read (standardized dB; low frequencies at the bottom)', {size: 12, weight: 'bold'});
    p.image(d.picture, lay.left, lay.top, lay.plotW, lay.specH);
    p.rect(lay.left, lay.top, lay.plotW, lay.specH, null, {stroke: GRID});
    hits.push({x: lay.left, y: lay.top, w: lay.plotW, h: lay.specH, kind: 'spec'});
    const strips = (rows, y0, n, per, labelOf, kind) => {
      for (let i = 0; i < rows.length; i++) {
        const a = rows[i], y = y0 + i * (lay.strip + lay.gap);
        let mx = 0;
        for (const v of a) mx = Math.max(mx, v);
        for (let k = 0; k < n; k++) {
          const x0 = X(k * per), x1 = Math.min(X((k + 1) * per), lay.left + lay.plotW);
          if (x1 > x0) p.rect(x0, y, x1 - x0 + 0.3, lay.strip, cmapRgb('blues', mx > 0 ? a[k] / mx : 0));
        }
        p.rect(lay.left, y, lay.plotW, lay.strip, null, {stroke: GRID});
        p.text(lay.left - 6, y + lay.strip / 2 + 4, labelOf(i), {size: 11, color: MUTED, align: 'right'});
        hits.push({x: lay.left, y, w: lay.plotW, h: lay.strip, kind, row: i, per, n});
      }
    };
    if (r.kwt) {
      const sel = $('#aud-head').value;
      p.text(12, lay.kwtTop - 8, `Keyword Transformer: what the CLS token attends to, per layer (${sel === 'mean' ? 'mean of heads' : 'head ' + sel}; each row scaled to its maximum)`,
             {size: 12, weight: 'bold'});
      strips(range(r.kwt.n_layer).map(l => this.kwtRow(l)), lay.kwtTop, r.kwt.tokens, r.kwt.frames_per_token, l => `layer ${l}`, 'kwt');
    }
    if (r.las) {
      p.text(12, lay.lasTop - 8, 'Listen, Attend and Spell: each spelled letter\'s alignment over the sound (location-aware attention)',
             {size: 12, weight: 'bold'});
      const rows = range(r.las.rows).map(i => d.align.subarray(i * r.las.keys, (i + 1) * r.las.keys));
      strips(rows, lay.lasTop, r.las.keys, r.las.frames_per_key,
             i => i < r.las.text.length ? (r.las.text[i] === ' ' ? 'space' : r.las.text[i]) : '<eos>', 'las');
    }
    const axisY = lay.h - 30;
    for (let s = 0; s <= secs + 1e-9; s += 0.2) {
      const x = lay.left + lay.plotW * s / secs;
      p.text(x, axisY + 12, fmt(s, 1), {size: 10, color: MUTED, align: 'center'});
    }
    p.text(lay.left + lay.plotW / 2, axisY + 26, 'time (s)', {size: 11, color: MUTED, align: 'center'});
    this.hits = hits;
  },
  render() {
    if (!this.data) return;
    const W = $('#aud-host').clientWidth || 1000, lay = this.layout(W);
    const ctx = sizeCanvas(this.canvas, lay.w, lay.h);
    this.draw(new CanvasPainter(ctx), W);
    markDrawn(this.canvas, `audio|${this.seq}|${$('#aud-head').value}`);
  },
  hover(ev) {
    const hit = boxAt(this.hits || [], ev, this.canvas), d = this.data;
    if (!hit || !d) { tooltip.hide(); return; }
    const [x] = localXY(ev, this.canvas), sp = d.r.spectrogram;
    const frame = Math.min(sp.frames - 1, Math.floor((x - hit.x) / hit.w * sp.frames)), t = frame * sp.seconds_per_frame;
    if (hit.kind === 'spec') { tooltip.show(ev, `t = ${fmt(t, 2)} s`); return; }
    const k = Math.min(hit.n - 1, Math.floor(frame / hit.per));
    const v = hit.kind === 'kwt' ? this.kwtRow(hit.row)[k] : d.align[hit.row * d.r.las.keys + k];
    const what = hit.kind === 'kwt' ? `layer ${hit.row}, token ${k}` : `letter ${hit.row + 1}, key ${k}`;
    tooltip.show(ev, `${esc(what)} (t = ${fmt(k * hit.per * sp.seconds_per_frame, 2)} s): <b>${fmt(v, 4)}</b>`);
  },
  figure() {
    const W = $('#aud-host').clientWidth || 1000, lay = this.layout(W);
    return {w: lay.w, h: lay.h, draw: p => this.draw(p, W), name: 'audio', title: `Where speech models listen: ${this.data.r.source}`};
  },
  json() {
    const d = this.data, r = d.r, sp = r.spectrogram;
    const out = {view: 'audio', source: this.upload ? this.upload.name : r.source, label: r.label, seconds: r.seconds,
                 spectrogram: {n_mels: sp.n_mels, frames: sp.frames, seconds_per_frame: sp.seconds_per_frame,
                               values: rows(d.spec, sp.n_mels, sp.frames)}};
    if (r.kwt) out.kwt = {top: r.kwt.top, frames_per_token: r.kwt.frames_per_token,
                          cls_attention: range(r.kwt.n_layer).map(l => range(r.kwt.n_head).map(hd =>
                            Array.from(d.att.subarray((l * r.kwt.n_head + hd) * r.kwt.tokens, (l * r.kwt.n_head + hd + 1) * r.kwt.tokens))))};
    if (r.las) out.las = {text: r.las.text, known_word: r.las.known_word, frames_per_key: r.las.frames_per_key,
                          alignment: rows(d.align, r.las.rows, r.las.keys)};
    return out;
  },
  exportable() { return this.data ? null : 'no recording is analyzed yet'; },
};
