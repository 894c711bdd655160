// ---------------------------------------------------------------- status line and messages
// The status line (#status) and each view's message box (.view-msg): what the page is doing, and its errors.
function setStatus(msg, kind = 'ok') {
  const el = $('#status');
  el.className = 'status ' + kind;
  el.textContent = msg;
}
function errorText(e) {
  if (e instanceof ApiError) return e.offline ? e.message : `error: ${e.message}` + (e.status ? ` (HTTP ${e.status})` : '');
  console.error(e);
  return `error in the page: ${e && e.message ? e.message : e}`;
}
function viewMsg(view, text, kind = 'error') {
  const el = $('.view-msg', view.section);
  if (!text) { el.hidden = true; el.textContent = ''; return; }
  el.hidden = false;
  el.className = 'view-msg ' + kind;
  el.textContent = text;
}
function showError(view, e) {
  const offline = e instanceof ApiError && e.offline;
  const msg = errorText(e);
  viewMsg(view, msg, offline ? 'offline' : 'error');
  if (!offline) setStatus(msg, 'error');
}

