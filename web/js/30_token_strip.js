// ---------------------------------------------------------------- token strip: mask or edit a token
// The analyzed tokens, under the text box. A click masks a token (exBERT's masking for a causal model:
// POST /api/analyze {"masked": [...]} removes it as a key in every layer; no query attends to it and every
// token keeps its position); a second click unmasks it. A double-click edits the token's text in place and
// analyzes the edited text. Either way a new analysis replaces the current one, and every view follows.

// Where each token lies in the text: [start, end) in UTF-16 units, or null for a token that does not spell
// a piece of it (a byte-level BPE token holding part of a character shows as U+FFFD); after such tokens the
// next one is looked for a few characters on.
function tokenOffsets(text, tokens) {
  const out = [];
  let pos = 0, lost = 0;
  for (const t of tokens) {
    const s = String(t);
    if (s && text.startsWith(s, pos)) { out.push([pos, pos + s.length]); pos += s.length; lost = 0; continue; }
    const at = lost && s && !s.includes('\uFFFD') ? text.indexOf(s, pos) : -1;
    if (at >= 0 && at - pos <= 4 * lost + 4) { out.push([at, at + s.length]); pos = at + s.length; lost = 0; continue; }
    out.push(null);
    lost++;
  }
  return out;
}
const tokenStrip = {
  timer: 0,
  init() {
    const box = $('#an-tokens');
    box.addEventListener('click', ev => {
      const el = ev.target.closest('.tok');
      if (!el || STATIC || ev.detail > 1) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.toggle(+el.dataset.i), 250);  // unless it is the start of a double-click
    });
    box.addEventListener('dblclick', ev => {
      const el = ev.target.closest('.tok');
      if (!el || STATIC) return;
      clearTimeout(this.timer);
      ev.preventDefault();
      this.edit(el);
    });
    $('#an-unmask').addEventListener('click', () => analyze({text: S.text}));
  },
  render() {
    const an = S.an;
    $('#an-bar').hidden = !an;
    if (!an) return;
    const masked = new Set(S.masked);
    const spans = an.tokens.flatMap((t, i) => {
      const last = i === an.T - 1, m = masked.has(i);
      const title = STATIC ? `position ${i}` : `position ${i}: ` +
        (last ? 'the last token (its prediction is what the views explain: it cannot be masked); double-click to edit'
              : `click to ${m ? 'unmask' : 'mask'}, double-click to edit`);
      const span = h('span', {class: 'tok' + (m ? ' masked' : '') + (last ? ' last' : ''), 'data-i': i, title}, flowToken(t));
      return String(t).includes('\n') ? [span, h('br')] : [span];
    });
    $('#an-tokens').replaceChildren(...spans);
    $('#an-unmask').hidden = !masked.size;
    $('#an-help-text').innerHTML = STATIC ? 'The analyzed tokens (masking and editing need the live server).'
      : masked.size ? `<b>${masked.size}</b> token${masked.size > 1 ? 's' : ''} masked (struck through): no query attends to ` +
                      `${masked.size > 1 ? 'them' : 'it'} in any layer. Click again to unmask; double-click a token to edit it.`
      : 'Click a token to <b>mask</b> it (no query may attend to it, in any layer), double-click to <b>edit</b> it; every view is analyzed again.';
  },
  toggle(i) {
    const an = S.an;
    if (!an) return;
    if (i >= an.T - 1) { setStatus('the last token cannot be masked: its next-token prediction is what the views explain', 'error'); return; }
    const m = new Set(S.masked);
    if (m.has(i)) m.delete(i); else m.add(i);
    analyze({text: S.text, masked: [...m].sort((a, b) => a - b)});
  },
  edit(el) {
    const i = +el.dataset.i, o = S.offsets && S.offsets[i];
    if (!o) { setStatus('this token holds part of a character (its bytes are split between tokens): edit the text box instead', 'error'); return; }
    const old = S.text.slice(o[0], o[1]);
    const input = h('input', {type: 'text', class: 'tok-edit', value: old, 'data-i': i, size: Math.max(3, Array.from(old).length + 2),
                              'aria-label': `new text for token ${i}`, title: 'Enter: analyze the edited text · Escape: cancel'});
    el.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = commit => {
      if (done) return;
      done = true;
      if (commit && input.value !== old) {
        const text = S.text.slice(0, o[0]) + input.value + S.text.slice(o[1]);
        if (!STATIC) $('#text').value = text;
        analyze({text});
      } else this.render();
    };
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') { ev.preventDefault(); finish(true); }
      else if (ev.key === 'Escape') { ev.preventDefault(); finish(false); }
    });
    input.addEventListener('blur', () => finish(false));
  },
};

