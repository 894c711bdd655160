// ---- the interventions tab: its four panels in one view, exported as one figure, stacked ----
const interventionsView = {
  name: 'interventions', ablation: ablationPanel, compare: comparePanel, lens: lensPanel, patch: patchPanel,
  panels() { return [ablationPanel, comparePanel, lensPanel, patchPanel]; },
  init() {
    this.section = $('#view-interventions');
    for (const p of this.panels()) p.init();
    if (STATIC) {
      viewMsg(this, 'Interventions run the model: they need the live server (attn explore), not available offline.', 'offline');
      $$('#view-interventions .panel button, #view-interventions .panel input, #view-interventions .panel select').forEach(el => { el.disabled = true; });
    }
  },
  reset() { for (const p of this.panels()) p.reset(); },
  show() {
    patchPanel.defaults();
    ablationPanel.selectionChanged();  // draws the grid (empty until run)
    for (const p of [comparePanel, lensPanel, patchPanel]) p.render();
  },
  // What was drawn, stacked: grid, compare, lens, patching.
  parts() {
    const W = $('#grid-host').clientWidth || 900, out = [];
    if (ablationPanel.grid || ablationPanel.result) out.push(ablationPanel.figure(W));
    if (comparePanel.data && comparePanel.data.mats) out.push(comparePanel.figure(W));
    if (lensPanel.data) out.push(lensPanel.figure(W));
    if (patchPanel.data) out.push(patchPanel.figure(W));
    return out;
  },
  figure() {
    const parts = this.parts(), gap = 16;
    const w = Math.max(...parts.map(f => f.w)), hgt = parts.reduce((s, f) => s + f.h + gap, -gap);
    return {w, h: hgt, name: 'interventions', title: 'Interventions',
            draw: p => {
              p.rect(0, 0, w, hgt, '#ffffff');
              let y = 0;
              for (const f of parts) { p.translate(0, y); f.draw(p); p.untranslate(); y += f.h + gap; }
            }};
  },
  json() {
    const out = {view: 'interventions'};
    if (ablationPanel.grid) out.ablation_grid = ablationPanel.grid.r;
    if (ablationPanel.result) out.ablate = ablationPanel.result.r;
    if (lensPanel.data) out.logit_lens = lensPanel.data.r;
    if (patchPanel.data) out.patch = patchPanel.data.r;
    return out;
  },
  exportable() { return this.parts().length ? null : 'run an intervention first'; },
};

