// ---------------------------------------------------------------- interventions (what a part does)
// Attention maps show where a model looks; interventions show what a part does, by changing it and watching
// the output (src/attn/explain/interventions.h; docs/explorer_api.md, "Interventions"):
//   POST /api/ablation_grid  Δloss = loss(part ablated) − loss(intact) for every head (layer × head) and every
//                            MLP alone: which parts the model needs on this text
//   POST /api/ablate         a chosen set ablated together: the loss, −log p of each token, KL(intact ‖ ablated)
//                            of each position's next-token distribution, the top-k before and after
//   POST /api/analyze        with {"ablation"}: the ablated model's attention, drawn beside the intact one
//   POST /api/logit_lens     each block's input read through ln_f and the unembedding: the rank of the true
//                            next token per (layer, position)
//   POST /api/patch          the corrupted prompt run with one activation from the clean run: how much of
//                            p(target) each (layer, position) or head brings back
// Each panel is a small object whose section is its own <div class="panel"> (so that its .view-msg takes its
// errors); interventionsView shows them in one tab and exports what they drew, stacked.

// The text the interventions run on: the analyzed text (a text the server cut to the context is cut here
// the same way, when its tokens spell it).
function analyzedText() {
  const an = S.an, o = S.offsets;
  if (!an) return '';
  const end = o && o[an.T - 1] ? o[an.T - 1][1] : S.text.length;
  return an.T >= S.limits.max_tokens && end < S.text.length ? S.text.slice(0, end) : S.text;
}
const signed = (x, d = 3) => (x > 0 ? '+' : '') + x.toFixed(d);
function absMax(a) {
  let m = 0;
  for (const v of a) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m || 1e-9;
}
// "heads L1 H4, L2 H0 and MLP 3": a set of parts in words.
function partsText(heads, mlps) {
  const parts = [];
  if (heads.length) parts.push(`head${heads.length > 1 ? 's' : ''} ` + heads.map(([l, hd]) => `L${l} H${hd}`).join(', '));
  if (mlps.length) parts.push(`MLP${mlps.length > 1 ? 's' : ''} ` + mlps.join(', '));
  return parts.join(' and ') || 'nothing';
}
// The height (at most maxH) that columnLabels needs above cells of width cw.
function columnLabelHeight(tokens, cw, maxH = 80) {
  const fs = Math.min(12, Math.floor(cw) - 1);
  if (fs < 8) return 26;
  let w = 0, upright = true;
  for (const t of tokens) {
    const tw = textWidth(showToken(t), fs, true);
    w = Math.max(w, tw);
    if (tw > cw - 1) upright = false;
  }
  return upright ? 20 : Math.min(maxH, Math.ceil(w) + 10);
}
// Column labels over the cells of width cw from x, their baseline at y: the tokens upright when each fits
// its cell, turned when cells are at least 9 px wide, position ticks otherwise (a long text). mark(c): a
// colour for a column to stress, or null.
function columnLabels(p, tokens, x, y, cw, maxH, mark) {
  const n = tokens.length, fs = Math.min(12, Math.floor(cw) - 1);
  const colour = c => (mark && mark(c)) || null;
  if (fs >= 8) {
    const labels = tokens.map(showToken);
    const upright = labels.every(s => textWidth(s, fs, true) <= cw - 1);
    labels.forEach((s, c) => {
      const o = {size: fs, mono: true, color: colour(c) || INK, weight: colour(c) ? 'bold' : 'normal'};
      if (upright) p.text(x + (c + 0.5) * cw, y - 4, s, Object.assign(o, {align: 'center', baseline: 'bottom'}));
      else p.text(x + (c + 0.5) * cw, y - 4, ellipsize(s, maxH - 8, fs, true), Object.assign(o, {rotate: -90}));
    });
    return;
  }
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500].find(s => s * cw >= 30) || 1000;
  for (let c = 0; c < n; c += step) p.text(x + (c + 0.5) * cw, y - 6, String(c), {align: 'center', size: 10, color: MUTED});
  for (let c = 0; c < n; c++) if (colour(c)) p.text(x + (c + 0.5) * cw, y - 18, '▼', {align: 'center', size: 9, color: colour(c)});
}
// White lines between the cells of a rows × cols grid at (x, y) (only when the cells are big enough to see).
function cellBorders(p, x, y, rows, cols, cw, ch) {
  if (cw < 6 || ch < 6) return;
  const segs = [];
  for (let r = 0; r <= rows; r++) segs.push(x, y + r * ch, x + cols * cw, y + r * ch);
  for (let c = 0; c <= cols; c++) segs.push(x + c * cw, y, x + c * cw, y + rows * ch);
  p.lines(segs, '#ffffff', 1);
}

