// ---------------------------------------------------------------- boot
// The tabs (VIEWS), the model's info, analyzing the text, and boot(), which runs when the page loads. The last
// line closes the IIFE that 00_head.js opens.
const VIEWS = {heads: headsView, model: modelView, matrix: matrixView, neuron: neuronView, generate: genView, types: typesView,
               translate: translateView, image: imageView, audio: audioView, multimodal: multimodalView, relevance: relevanceView, interventions: interventionsView};
// Views that do not need the GPT's analysis of the text.
const OWN_INPUT = new Set(['generate', 'types', 'translate', 'image', 'audio', 'multimodal']);
let current = 'heads';
function selectView(name) {
  if (!VIEWS[name]) name = 'heads';
  current = name;
  $$('#tabs [data-view]').forEach(b => {
    b.classList.toggle('active', b.dataset.view === name);
    b.setAttribute('aria-selected', String(b.dataset.view === name));
  });
  $$('main .view').forEach(s => { const on = s.dataset.view === name; s.hidden = !on; s.classList.toggle('active', on); });
  tooltip.hide();
  // (A page inside an <iframe srcdoc>, as the notebooks show it, may not change its URL: the tab still switches.)
  try { if (history.replaceState) history.replaceState(null, '', '#' + name); } catch (e) { /* about:srcdoc */ }
  if (S.an || OWN_INPUT.has(name)) VIEWS[name].show();
}

function renderInfo() {
  const m = S.model, box = $('#model-info');
  const chip = (k, v) => h('span', {class: 'chip-info'}, h('span', {class: 'k'}, k), ' ', h('b', {}, v));
  const params = m.n_params >= 1e6 ? (m.n_params / 1e6).toFixed(1) + 'M' : (m.n_params / 1e3).toFixed(0) + 'k';
  box.replaceChildren(...[
    h('span', {class: 'model-name', title: m.path}, m.name),
    chip('tokenizer', m.tokenizer), chip('layers', m.n_layer),
    chip('heads', m.n_kv_head && m.n_kv_head !== m.n_head ? `${m.n_head} (kv ${m.n_kv_head})` : m.n_head),
    chip('d_model', m.n_embd), chip('head_dim', m.head_dim), chip('context', m.block_size), chip('params', params),
    m.rope ? chip('positions', 'RoPE') : null,
    h('span', {class: 'version muted'}, 'v' + S.info.version)].filter(Boolean));
}

// POST /api/analyze with `body` ({"text"} and optionally "masked" or "ablation"): the answer with its
// thumbnails decoded, and the request kept (to make it again should the server drop it).
async function analysisOf(body) {
  const r = await api('POST', '/api/analyze', body);
  if (!Array.isArray(r.tokens) || r.tokens.length !== r.T) throw new ApiError('the analysis has tokens.length ≠ T');
  const thumbs = decodeF32(r.thumbnails);
  if (thumbs.length !== r.n_layer * r.n_head * r.thumb_size * r.thumb_size) throw new ApiError('the thumbnails do not have the announced shape');
  return Object.assign({}, r, {thumbs, body});
}

// Analyzes the text box's text, or opts.text with opts.masked positions masked (the token strip's clicks).
async function analyze(opts = {}) {
  const text = opts.text !== undefined ? opts.text : $('#text').value;
  const masked = opts.masked || [];
  if (!STATIC && !text.trim()) { setStatus('error: the text is empty', 'error'); return; }
  const seq = ++S.analyzeSeq;
  const chars = Array.from(text).length;
  const approx = S.model && S.model.tokenizer === 'char' ? Math.min(chars, S.limits.max_tokens) : null;
  const maskNote = masked.length ? `, ${masked.length} masked` : '';
  setStatus(STATIC ? 'loading the embedded analysis…' :
            approx !== null ? `analyzing ${approx} tokens${maskNote}…` : `analyzing ${chars} characters${maskNote}…`, 'busy');
  $('#analyze').disabled = true;
  const t0 = performance.now();
  try {
    const body = {text};
    if (masked.length) body.masked = masked;
    const r = await analysisOf(body);
    if (seq !== S.analyzeSeq) return;
    S.an = r;
    S.text = STATIC ? (STATIC.text || r.tokens.join('')) : text;
    S.masked = Array.isArray(r.masked) ? r.masked.slice().sort((a, b) => a - b) : [];
    S.offsets = tokenOffsets(S.text, r.tokens);
    if (STATIC) $('#text').value = S.text;
    S.mats.clear(); S.matFloats = 0;
    for (const v of Object.values(VIEWS)) v.reset();
    tokenStrip.render();
    const cut = (approx !== null && chars > r.T) || (approx === null && r.T >= S.limits.max_tokens);
    const secs = ((performance.now() - t0) / 1000).toFixed(2);
    setStatus(`${STATIC ? 'embedded analysis' : `analyzed in ${secs} s`}: ${r.T} tokens, ${r.n_layer} layers × ${r.n_head} heads` +
              (S.masked.length ? ` · ${S.masked.length} masked (no query attends to ${S.masked.length > 1 ? 'them' : 'it'})` : '') +
              (cut ? ` — cut to the model's limit of ${S.limits.max_tokens} tokens` : ''), 'ok');
    document.body.dataset.analysis = r.id;
    if (current !== 'generate') VIEWS[current].show();
  } catch (e) {
    if (seq === S.analyzeSeq) setStatus(errorText(e), 'error');
  } finally {
    if (seq === S.analyzeSeq) $('#analyze').disabled = !!STATIC;
  }
}

async function boot() {
  for (const v of Object.values(VIEWS)) v.init();
  tokenStrip.init();
  $$('.view .export').forEach(box => {
    const view = VIEWS[box.closest('.view').dataset.view];
    for (const f of ['png', 'svg', 'json']) {
      box.append(h('button', {type: 'button', class: 'small export-btn', 'data-format': f,
                              title: f === 'json' ? 'the weights shown, as JSON arrays' : `this figure as ${f.toUpperCase()}`,
                              onclick: () => exportView(view, f)}, f.toUpperCase()));
    }
  });
  $$('#tabs [data-view]').forEach(b => b.addEventListener('click', () => selectView(b.dataset.view)));
  $('#analyze-form').addEventListener('submit', ev => { ev.preventDefault(); analyze(); });
  $('#text').addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); analyze(); }
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (current === 'heads' && S.an) headsView.area.setContentHeight(headsView.contentHeight());
      if (current === 'neuron' && neuronView.data) neuronView.area.setContentHeight(neuronView.TOP + neuronView.data.n * neuronView.ROW + 34);
      if (S.an || OWN_INPUT.has(current)) VIEWS[current].show();
      if (genView.cache) genView.renderCache();
    }, 120);
  });
  if (STATIC) {
    document.body.classList.add('static');
    $('#static-banner').hidden = false;
    $('#text').readOnly = true;
    $('#analyze').disabled = true;
    if (STATIC.text) $('#text').value = STATIC.text;
  }
  // The tab to open: a standalone page may name one (attn viz --view, the notebooks' inline views), else the URL's #hash.
  const initial = (STATIC && STATIC.view) || (location.hash || '').slice(1);
  selectView(VIEWS[initial] ? initial : 'heads');
  setStatus('connecting to the server…', 'busy');
  try {
    S.info = await api('GET', '/api/info');
    S.model = S.info.model; S.limits = S.info.limits;
    renderInfo();
    genView.setupSelects();
    patchPanel.defaults();
    if (!STATIC && S.limits.max_text_bytes) $('#text').maxLength = S.limits.max_text_bytes;
    $('#gen-n').max = String(S.limits.max_new_tokens);
  } catch (e) {
    $('#model-info').textContent = 'no model information';
    setStatus(errorText(e), 'error');
    return;
  }
  await analyze();
  if (current === 'generate' || current === 'translate' || current === 'image' || current === 'audio' ||
      current === 'multimodal')
    VIEWS[current].show();
}

window.explorer = {state: S, api, apiUrl, views: VIEWS, selectView, analyze};
boot();
})();
