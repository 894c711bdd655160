// ---------------------------------------------------------------- export
// Downloads of a view's figure: PNG and SVG (drawn again through a painter) and JSON (the numbers shown).
function rows(m, r, c) { return range(r).map(i => Array.from(m.subarray(i * c, (i + 1) * c))); }
function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
function exportBlocker(view) {
  if (view.exportable) return view.exportable();
  if (!S.an) return 'analyze a text first';
  const ready = {heads: () => headsView.mats, matrix: () => matrixView.mat, neuron: () => neuronView.data, model: () => S.an};
  return ready[view.name] && !ready[view.name]() ? 'nothing is drawn yet' : null;
}
async function exportView(view, format) {
  const why = exportBlocker(view);
  if (why) { setStatus(`cannot export: ${why}`, 'error'); return; }
  const fig = view.figure();
  const base = `attention-${fig.name}`;
  try {
    if (format === 'svg') {
      const p = new SvgPainter(fig.w, fig.h, fig.title);
      fig.draw(p);
      download(base + '.svg', new Blob([p.toString()], {type: 'image/svg+xml'}));
    } else if (format === 'png') {
      const scale = fig.w * fig.h * 4 <= 40e6 ? 2 : 1;
      const c = document.createElement('canvas');
      c.width = Math.ceil(fig.w * scale); c.height = Math.ceil(fig.h * scale);
      const ctx = c.getContext('2d');
      ctx.scale(scale, scale);
      fig.draw(new CanvasPainter(ctx));
      const blob = await new Promise((resolve, reject) => c.toBlob(b => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/png'));
      download(base + '.png', blob);
    } else {
      const an = S.an;
      const head = {model: S.model ? S.model.name : null, tokenizer: S.model ? S.model.tokenizer : null};
      if (an && !OWN_INPUT.has(view.name)) Object.assign(head, {analysis: an.id, text: S.text, tokens: an.tokens, T: an.T});
      const body = Object.assign(head, view.json());
      download(base + '.json', new Blob([JSON.stringify(body)], {type: 'application/json'}));
    }
    setStatus(`exported ${base}.${format}`, 'ok');
  } catch (e) { setStatus(errorText(e), 'error'); }
}


