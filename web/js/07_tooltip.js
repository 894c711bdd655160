// ---------------------------------------------------------------- tooltip
// The one tooltip (#tooltip) that every figure shows on hover, kept inside the window.
const tooltip = {
  show(ev, html) {
    const el = $('#tooltip');
    el.innerHTML = html;
    el.hidden = false;
    const pad = 14, r = el.getBoundingClientRect();
    let x = ev.clientX + pad, y = ev.clientY + pad;
    if (x + r.width > window.innerWidth - 4) x = ev.clientX - r.width - pad;
    if (y + r.height > window.innerHeight - 4) y = ev.clientY - r.height - pad;
    el.style.left = x + 'px';
    el.style.top = y + 'px';
  },
  hide() { $('#tooltip').hidden = true; },
};
const esc = s => String(s).replace(/&/g, '&amp;').replace(/[<]/g, '&lt;').replace(/>/g, '&gt;');
const tokHtml = t => `<span class="tt-tok">${esc(showToken(t))}</span>`;
function localXY(ev, canvas) {
  const r = canvas.getBoundingClientRect();
  return [ev.clientX - r.left, ev.clientY - r.top];
}
// The canvas carries data-drawn="<what>" once a figure is on it (the browser tests wait for it).
function markDrawn(canvas, what) { canvas.dataset.drawn = what; }

function layerOptions() { return range(S.an.n_layer).map(l => [l, `${l}`]); }
function headOptions(extra) {
  const opts = range(S.an.n_head).map(hd => [hd, `${hd}`]);
  if (extra) opts.push(['mean', 'mean of heads'], ['rollout', 'rollout (layers 0…L)']);
  return opts;
}
function figureTitle(p, x, y, s, sub) {
  p.text(x, y, s, {size: 15, weight: 'bold'});
  if (sub) p.text(x + textWidth(s, 15, false, 'bold') + 12, y, sub, {size: 13, color: MUTED});
}

