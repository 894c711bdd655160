// Browser tests of the Attention Explorer (web/): Debian's Chromium, headless, driven by playwright-core
// (both installed by scripts/setup.sh). Run from the repository root:
//
//   node --test tests/web/
//
// The server under test is ATTN_EXPLORE_CMD when set (a shell command that prints
// "explorer: http://HOST:PORT/" once listening, e.g. "build/release/bin/attn explore --port 0 --model DIR");
// otherwise build/release/bin/attn explore when that binary has the subcommand and its default model
// (models/gpt-moby-dick) exists, otherwise the mock, web/test/mock_server.js. When the server is attn
// explore, its `attn viz` is tested too (or ATTN_VIZ_CMD). Note that attn embeds web/ when it is built:
// rebuild it after changing web/. The page may not reach anything but that server (other requests fail the
// test). Screenshots of every view go to build/web-screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectResponses, inlinePage, readAppJs } from './static_page.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = process.env.ATTN_SCREENSHOTS || path.join(ROOT, 'build/web-screenshots');
const CHROMIUM = process.env.ATTN_CHROMIUM || '/usr/bin/chromium';
const MOCK = 'node web/test/mock_server.js --port 0';
const TEXT = 'The whale! The whale! Call me Ishmael, said the sailor to the whale.';

const require = createRequire(path.join(ROOT, 'third_party/npm/'));
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  throw new Error('playwright-core is missing from third_party/npm: run scripts/setup.sh');
}
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh (Debian package chromium)`);

function serverCommand() {
  if (process.env.ATTN_EXPLORE_CMD) return process.env.ATTN_EXPLORE_CMD;
  const bin = path.join(ROOT, 'build/release/bin/attn');
  if (fs.existsSync(bin) && fs.existsSync(path.join(ROOT, 'models/gpt-moby-dick/config.json')) &&
      spawnSync(bin, ['explore', '--help'], {timeout: 20000, stdio: 'ignore'}).status === 0) {
    return `${bin} explore --port 0`;
  }
  return MOCK;
}

// `attn viz` beside the `attn explore` under test (same binary and model), or ATTN_VIZ_CMD; null for the mock.
function vizCommand(serverCmd) {
  if (process.env.ATTN_VIZ_CMD) return process.env.ATTN_VIZ_CMD;
  const m = /^(\S*attn)\s+explore\b(.*)$/.exec(serverCmd.trim());
  if (!m) return null;
  return `${m[1]} viz${m[2].replace(/--(port|host|translation|clip)(=|\s+)\S+/g, '')}`;
}

// Starts `cmd` (through sh, as its only process) and waits for its "explorer: URL" line.
function startServer(cmd, timeoutMs = 60000) {
  const proc = spawn('/bin/sh', ['-c', `exec ${cmd}`], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '', err = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "explorer: http://..." line within ${timeoutMs / 1000} s from: ${cmd}\n${out}${err}`)), timeoutMs);
    proc.stdout.on('data', d => {
      out += d;
      const m = /explorer: (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1].endsWith('/') ? m[1] : m[1] + '/'); }
    });
    proc.stderr.on('data', d => { err += d; });
    proc.on('exit', code => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening: ${cmd}\n${err}`)); });
  });
  return {proc, url, stderr: () => err};
}
function stopServer(s) {
  if (s && s.proc.exitCode === null) s.proc.kill('SIGTERM');
}

async function getJson(base, p) {
  const res = await fetch(new URL(p, base));
  return res.json();
}

// A page that may only talk to `base` (or nothing, for base = null); counts page errors and blocked requests.
async function openPage(browser, base) {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}, deviceScaleFactor: 1, acceptDownloads: true});
  const page = await context.newPage();
  page.errors = [];
  page.blocked = [];
  page.on('pageerror', e => page.errors.push(e.message));
  page.on('console', m => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) page.errors.push(m.text()); });
  await context.route('**/*', route => {
    const u = route.request().url();
    if ((base && u.startsWith(base)) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    page.blocked.push(u);
    return route.abort();
  });
  return page;
}
// Waits for a selector, but fails at once on an uncaught error in the page (a broken script draws nothing).
function waitOrError(page, sel, timeout) {
  let onError;
  const failed = new Promise((_, reject) => {
    onError = e => reject(new Error(`page error while waiting for ${sel}: ${e.message}`));
    page.on('pageerror', onError);
  });
  const found = page.waitForSelector(sel, {timeout});
  found.catch(() => {});  // when the page error wins the race, this one must not reject unheard later
  return Promise.race([found, failed]).finally(() => page.off('pageerror', onError));
}
// No request in flight, and two frames drawn since.
async function idle(page) {
  await page.waitForFunction(() => document.documentElement.dataset.pending === '0', null, {timeout: 30000});
  await page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
}
// Pixels of a canvas that are not (near) white, and how many distinct colours it uses.
function canvasInk(page, sel) {
  return page.evaluate(sel => {
    const c = document.querySelector(sel);
    if (!c || !c.width || !c.height) return {w: 0, h: 0, ink: 0, colors: 0};
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    const colors = new Set();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) {
        ink++;
        colors.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | (d[i + 2] >> 4));
      }
    }
    return {w: c.width, h: c.height, ink, colors: colors.size};
  }, sel);
}
async function assertDrawn(page, sel, minInk = 500) {
  const r = await canvasInk(page, sel);
  assert.ok(r.w > 0 && r.h > 0, `${sel} has no size`);
  assert.ok(r.ink >= minInk, `${sel} is (nearly) blank: ${r.ink} inked pixels of ${r.w}×${r.h}`);
  return r;
}
async function tab(page, view) {
  await page.click(`#tabs [data-view=${view}]`);
  await page.waitForSelector(`#view-${view}:not([hidden])`);
  await idle(page);
}
async function shot(page, name) {
  fs.mkdirSync(SHOTS, {recursive: true});
  await page.screenshot({path: path.join(SHOTS, name + '.png')});
}
// The box of an element scrolled into view (page.mouse works in the viewport's coordinates).
async function visibleBox(page, sel) {
  await page.locator(sel).scrollIntoViewIfNeeded();
  return page.locator(sel).boundingBox();
}
async function download(page, sel) {
  const [dl] = await Promise.all([page.waitForEvent('download', {timeout: 20000}), page.click(sel)]);
  const file = await dl.path();
  return {name: dl.suggestedFilename(), data: fs.readFileSync(file)};
}
// Parses an SVG in the page: no parser error, and the number of each element kind.
function svgCheck(page, text) {
  return page.evaluate(t => {
    const doc = new DOMParser().parseFromString(t, 'image/svg+xml');
    return {error: doc.getElementsByTagName('parsererror').length > 0, root: doc.documentElement.nodeName,
            rect: doc.getElementsByTagName('rect').length, line: doc.getElementsByTagName('line').length,
            text: doc.getElementsByTagName('text').length};
  }, text);
}

const T0 = 30000;

// A 60 × 40 PNG drawn in the page: a white square on black, as Fashion-MNIST draws its clothes.
async function drawnPng(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 60; c.height = 40;
    const x = c.getContext('2d');
    x.fillStyle = '#000'; x.fillRect(0, 0, 60, 40);
    x.fillStyle = '#fff'; x.fillRect(15, 5, 30, 30);
    return c.toDataURL('image/png').split(',')[1];
  });
  return Buffer.from(b64, 'base64');
}

test('app.js (web/js/*.js concatenated) still parses with every "</" escaped as "<\\/" (as attn viz inlines it)', () => {
  const js = readAppJs(ROOT);
  assert.doesNotThrow(() => new Function(js.replace(/<\//g, '<\\/')));
});

describe('explorer against ' + serverCommand(), {timeout: 600000}, () => {
  let server, base, browser, page, info;

  before(async () => {
    server = startServer(serverCommand());
    base = await server.url;
    info = await getJson(base, 'api/info');
    browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']});
    page = await openPage(browser, base);
  }, {timeout: 90000});

  after(async () => {
    if (browser) await browser.close();
    stopServer(server);
  });

  test('loads, shows the model info and analyzes the default text', {timeout: T0}, async () => {
    const drawn = waitOrError(page, '#heads-canvas[data-drawn]', T0);
    await page.goto(base);
    await drawn;
    const infoText = await page.textContent('#model-info');
    assert.match(infoText, new RegExp(info.model.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(infoText, new RegExp(`layers\\s*${info.model.n_layer}`));
    assert.match(infoText, new RegExp(`tokenizer\\s*${info.model.tokenizer}`));
    assert.match(await page.textContent('#status'), /\d+ tokens/);
  });

  test('serves app.js as web/js/*.js concatenated, and not the pieces', {timeout: T0}, async () => {
    const res = await fetch(new URL('app.js', base));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/javascript/);
    assert.equal(await res.text(), readAppJs(ROOT));
    assert.equal((await fetch(new URL('js/90_boot.js', base))).status, 404);
  });

  test('analyzes typed text, saying what the server is doing', {timeout: T0}, async () => {
    await page.evaluate(() => {
      window.__status = [];
      new MutationObserver(() => window.__status.push(document.querySelector('#status').textContent))
        .observe(document.querySelector('#status'), {childList: true, characterData: true, subtree: true});
    });
    const before = await page.getAttribute('body', 'data-analysis');
    await page.fill('#text', TEXT);
    await page.click('#analyze');
    await page.waitForFunction(b => document.body.dataset.analysis && document.body.dataset.analysis !== b, before, {timeout: T0});
    await idle(page);
    const log = await page.evaluate(() => window.__status);
    assert.ok(log.some(s => /^analyzing \d+ (tokens|characters)…$/.test(s)), `status never said "analyzing N tokens…": ${JSON.stringify(log)}`);
    const T = await page.evaluate(() => window.explorer.state.an.T);
    assert.match(await page.textContent('#status'), new RegExp(`${T} tokens`));
    if (info.model.tokenizer === 'char') assert.equal(T, Array.from(TEXT).length);
  });

  test('shows the server\'s error message', {timeout: T0}, async () => {
    // over the server's limit (the text box's maxlength would stop a person typing it)
    await page.evaluate(n => {
      const el = document.querySelector('#text');
      el.removeAttribute('maxlength');
      el.value = 'x'.repeat(n);
    }, info.limits.max_text_bytes + 10);
    await page.click('#analyze');
    await page.waitForSelector('#status.error', {timeout: T0});
    assert.match(await page.textContent('#status'), /^error: .+\(HTTP 4\d\d\)$/);
    // the previous analysis stays on screen; analyze the test text again
    await page.fill('#text', TEXT);
    await page.click('#analyze');
    await page.waitForSelector('#status.ok', {timeout: T0});
    await idle(page);
  });

  test('head view: lines for every head, layer selector, head toggles, hover isolates a token', {timeout: T0}, async () => {
    await tab(page, 'heads');
    const an = await page.evaluate(() => ({id: window.explorer.state.an.id, T: window.explorer.state.an.T}));
    await page.waitForSelector(`#heads-canvas[data-drawn="${an.id}|0"]`, {timeout: T0});
    assert.equal(await page.locator('#heads-chips .chip').count(), info.model.n_head);
    assert.equal(await page.locator('#heads-layer option').count(), info.model.n_layer);
    const all = await assertDrawn(page, '#heads-canvas', 2000);
    assert.ok(all.colors >= Math.min(4, info.model.n_head), `expected several head colours, got ${all.colors}`);
    await shot(page, 'heads');

    // hover the query token at row 5: only its lines remain, and the note names what it attends to
    const box = await page.locator('#heads-canvas').boundingBox();
    const L = await page.evaluate(w => window.explorer.views.heads.layout(w), box.width);
    const V = await page.evaluate(() => ({ROW: window.explorer.views.heads.ROW, TOP: window.explorer.views.heads.TOP}));
    await page.mouse.move(box.x + L.x1 - 10, box.y + V.TOP + 5.5 * V.ROW);
    await page.waitForFunction(() => /^Query /.test(document.querySelector('#heads-note').textContent), null, {timeout: 5000});
    await idle(page);
    const hovered = await canvasInk(page, '#heads-canvas');
    assert.ok(hovered.ink < all.ink, `hovering should thin the lines out (${hovered.ink} vs ${all.ink})`);
    await shot(page, 'heads-hover');
    await page.mouse.move(box.x + 2, box.y + box.height - 2);

    // one head only, then none: the canvas keeps its tokens but loses colour
    await page.click('#heads-none');
    await page.click('#heads-chips .chip[data-head="0"]');
    await idle(page);
    assert.equal(await page.getAttribute('#heads-chips .chip[data-head="0"]', 'aria-pressed'), 'true');
    await page.click('#heads-all');

    const last = info.model.n_layer - 1;
    await page.selectOption('#heads-layer', String(last));
    await page.waitForSelector(`#heads-canvas[data-drawn="${an.id}|${last}"]`, {timeout: T0});
    await assertDrawn(page, '#heads-canvas', 2000);
    await page.selectOption('#heads-layer', '0');
  });

  test('model view: a thumbnail per layer and head; a click opens the matrix view', {timeout: T0}, async () => {
    await tab(page, 'model');
    const r = await assertDrawn(page, '#model-canvas', 5000);
    await shot(page, 'model');
    // the thumbnail of layer 1 (or 0), head 1 (or 0)
    const l = Math.min(1, info.model.n_layer - 1), hd = Math.min(1, info.model.n_head - 1);
    const L = await page.evaluate(() => window.explorer.views.model.layout(document.querySelector('#model-host').clientWidth));
    const box = await page.locator('#model-canvas').boundingBox();
    assert.ok(r.w >= L.w - 1);
    await page.mouse.click(box.x + L.left + hd * (L.cell + L.gap) + L.cell / 2, box.y + L.top + l * (L.cell + L.gap) + L.cell / 2);
    await page.waitForSelector('#view-matrix:not([hidden])', {timeout: 5000});
    assert.equal(await page.inputValue('#matrix-layer'), String(l));
    assert.equal(await page.inputValue('#matrix-head'), String(hd));
    await idle(page);
  });

  test('matrix view: heatmap, tooltips, zoom, mean and rollout', {timeout: T0}, async () => {
    await tab(page, 'matrix');
    const id = await page.evaluate(() => window.explorer.state.an.id);
    await page.selectOption('#matrix-layer', '0');
    await page.selectOption('#matrix-head', '0');
    await page.waitForSelector(`#matrix-canvas[data-drawn="${id}|0|0"]`, {timeout: T0});
    await assertDrawn(page, '#matrix-canvas', 5000);
    await shot(page, 'matrix');

    // hover the cell (row 3, col 1): the tooltip gives its exact weight
    const L = await page.evaluate(() => window.explorer.views.matrix.layout());
    const T = await page.evaluate(() => window.explorer.state.an.T);
    const box = await page.locator('#matrix-canvas').boundingBox();
    const cell = L.A / T;
    await page.mouse.move(box.x + L.left + 1.5 * cell, box.y + L.top + 3.5 * cell);
    await page.waitForSelector('#tooltip:not([hidden])', {timeout: 5000});
    const tip = await page.textContent('#tooltip');
    const w = await page.evaluate(() => window.explorer.views.matrix.mat[3 * window.explorer.state.an.T + 1]);
    assert.match(tip, /query 3 .*→ key 1/);
    assert.ok(tip.includes(w.toFixed(4)), `tooltip ${tip} lacks ${w.toFixed(4)}`);

    // zoom: buttons and wheel
    // Two clicks of ×1.5, capped where a cell reaches 48 px (a short text — few word tokens — caps early).
    const maxZoom = Math.max(1, 48 * T / L.A);
    await page.click('#matrix-zoom-in');
    await page.click('#matrix-zoom-in');
    const z2 = Math.min(2.25, maxZoom);
    assert.equal(await page.textContent('#matrix-zoom-label'), z2 > 1.001 ? `zoom ×${z2.toFixed(1)}` : 'whole matrix');
    if (maxZoom > 2.3) {
      await page.mouse.move(box.x + L.left + L.A / 3, box.y + L.top + L.A / 3);
      await page.mouse.wheel(0, -400);
      await page.waitForFunction(() => window.explorer.views.matrix.zoom > 2.3, null, {timeout: 5000});
    }
    await idle(page);
    await assertDrawn(page, '#matrix-canvas', 5000);
    await shot(page, 'matrix-zoom');
    await page.click('#matrix-zoom-fit');
    assert.match(await page.textContent('#matrix-zoom-label'), /whole matrix/);

    for (const agg of ['mean', 'rollout']) {
      await page.selectOption('#matrix-head', agg);
      await page.waitForSelector(`#matrix-canvas[data-drawn="${id}|0|${agg}"]`, {timeout: T0});
      await assertDrawn(page, '#matrix-canvas', 5000);
    }
    // the rollout rows still sum to 1
    const sums = await page.evaluate(() => {
      const m = window.explorer.views.matrix.mat, T = window.explorer.state.an.T, out = [];
      for (let i = 0; i < T; i++) { let s = 0; for (let j = 0; j < T; j++) s += m[i * T + j]; out.push(s); }
      return out;
    });
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-3, `a rollout row sums to ${s}`);
    await page.selectOption('#matrix-head', '0');
    await idle(page);
  });

  test('neuron view: q, k, q⊙k, scores and weights for a chosen query', {timeout: T0}, async () => {
    await tab(page, 'neuron');
    const id = await page.evaluate(() => window.explorer.state.an.id);
    await page.click('#neuron-tokens .tok[data-i="5"]');
    await page.waitForSelector(`#neuron-canvas[data-drawn="${id}|0|0|5"]`, {timeout: T0});
    assert.equal(await page.inputValue('#neuron-query'), '5');
    await assertDrawn(page, '#neuron-canvas', 3000);
    const d = await page.evaluate(() => window.explorer.views.neuron.data.r);
    assert.equal(d.keys, 6);
    assert.equal(d.weights.length, 6);
    assert.ok(Math.abs(d.weights.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    await page.click('#neuron-next');
    await page.waitForSelector(`#neuron-canvas[data-drawn="${id}|0|0|6"]`, {timeout: T0});
    await shot(page, 'neuron');
    // without qk, scores and weights (derivable from q and k) the view computes the same numbers
    const same = await page.evaluate(() => {
      const v = window.explorer.views.neuron, r = v.data.r;
      const d = v.prepare({layer: r.layer, head: r.head, query: r.query, head_dim: r.head_dim, keys: r.keys, q: r.q, k: r.k}).r;
      const close = (a, b) => a.every((x, i) => Math.abs(x - b[i]) < 1e-4 * Math.max(1, Math.abs(b[i])));
      return close(d.scores, r.scores) && close(d.weights, r.weights) && close(d.qk.flat(), r.qk.flat());
    });
    assert.ok(same, 'q ⊙ k, scores and weights recomputed from q and k differ from the server\'s');
  });

  test('head types: three score maps and the labels', {timeout: 120000}, async () => {
    await tab(page, 'types');
    await page.waitForSelector('#types-canvas[data-drawn]', {timeout: 110000});
    await assertDrawn(page, '#types-canvas', 3000);
    const ht = await page.evaluate(() => window.explorer.views.types.data);
    assert.equal(ht.heads.length, info.model.n_layer * info.model.n_head);
    assert.equal(await page.locator('#types-labels .head-tag').count(), ht.labels.length);
    await shot(page, 'types');
  });

  test('GPT explorer: start, three tokens, attention of a chosen token, KV cache grows', {timeout: 60000}, async () => {
    await tab(page, 'generate');
    await page.fill('#gen-prompt', 'Call me Ishmael.');
    await page.fill('#gen-temperature', '0.8');
    await page.fill('#gen-seed', '1');
    await page.click('#gen-start');
    await page.waitForSelector('#gen-next:not([disabled])', {timeout: T0});
    const promptTokens = await page.locator('#gen-text .tok.prompt').count();
    assert.ok(promptTokens > 0);
    const kv0 = Number((await page.textContent('#kv-tokens')).split('/')[0]);
    const bar0 = await page.evaluate(() => parseFloat(document.querySelector('#kv-bar').style.width));
    assert.equal(kv0, promptTokens);

    await page.click('#gen-next');
    await page.waitForFunction(() => document.querySelectorAll('#gen-text .tok.gen').length === 1, null, {timeout: T0});
    await page.waitForSelector('#gen-run:not([disabled])', {timeout: T0});
    await page.fill('#gen-n', '2');
    await page.click('#gen-run');
    await page.waitForFunction(() => document.querySelectorAll('#gen-text .tok.gen').length === 3, null, {timeout: T0});
    await page.waitForSelector('#gen-run:not([disabled])', {timeout: T0});
    await idle(page);

    const kv1 = Number((await page.textContent('#kv-tokens')).split('/')[0]);
    const bar1 = await page.evaluate(() => parseFloat(document.querySelector('#kv-bar').style.width));
    assert.ok(kv1 >= kv0 + 2, `KV cache tokens ${kv0} -> ${kv1}`);
    assert.ok(bar1 > bar0, `KV bar ${bar0}% -> ${bar1}%`);
    assert.match(await page.textContent('#kv-bytes'), /KiB|MiB|B \//);

    // the newest token is selected; choose the first generated one instead
    const first = await page.locator('#gen-text .tok.gen').first();
    const pos = await first.getAttribute('data-pos');
    await first.click();
    await page.waitForSelector(`#gen-text .tok.sel[data-pos="${pos}"]`, {timeout: 5000});
    await page.waitForFunction(p => (document.querySelector('#gen-canvas').dataset.drawn || '').split('|')[1] === p, pos, {timeout: 5000});
    await assertDrawn(page, '#gen-canvas', 3000);
    // the prompt tokens before it are shaded by their weight
    assert.ok(await page.locator('#gen-text .tok.prompt[style*="background"]').count() > 0);
    const step = await page.evaluate(p => {
      const s = window.explorer.views.generate.steps.get(Number(p));
      return {shape: s.shape, top: s.top.length};
    }, pos);
    assert.deepEqual(step.shape, [info.model.n_layer, info.model.n_head, Number(pos)]);
    assert.ok(step.top >= 1 && step.top <= 10);
    await page.selectOption('#gen-head', '0');
    await idle(page);
    await shot(page, 'generate');
  });

  test('exports every view as SVG and PNG, and the weights as JSON', {timeout: 90000}, async () => {
    const T = await page.evaluate(() => window.explorer.state.an.T);
    for (const view of ['heads', 'model', 'matrix', 'neuron', 'generate', 'types']) {
      await tab(page, view);
      const svg = await download(page, `#view-${view} .export-btn[data-format=svg]`);
      assert.match(svg.name, /\.svg$/);
      const s = await svgCheck(page, svg.data.toString('utf8'));
      assert.equal(s.error, false, `${view}: the SVG does not parse`);
      assert.equal(s.root, 'svg');
      assert.ok(s.rect > 2, `${view}: the SVG has ${s.rect} rects`);
      assert.ok(s.text > 2, `${view}: the SVG has ${s.text} texts`);
      if (view === 'heads') assert.ok(s.line > 10, `heads: the SVG has ${s.line} lines`);
      const png = await download(page, `#view-${view} .export-btn[data-format=png]`);
      assert.deepEqual([...png.data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${view}: not a PNG`);
      assert.ok(png.data.length > 2000, `${view}: PNG of ${png.data.length} bytes`);
    }
    await tab(page, 'matrix');
    const json = JSON.parse((await download(page, '#view-matrix .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(json.tokens.length, T);
    assert.equal(json.matrix.length, T);
    for (const row of json.matrix) {
      assert.equal(row.length, T);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-3);
    }
    await tab(page, 'heads');
    const hj = JSON.parse((await download(page, '#view-heads .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(Object.keys(hj.attention).length, info.model.n_head);
    assert.equal(hj.attention[0].length, T);
    await tab(page, 'generate');
    const gj = JSON.parse((await download(page, '#view-generate .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(gj.steps.length, 3);
    assert.equal(gj.steps[0].attention.length, info.model.n_layer);
    await page.click('#gen-stop');
    await page.waitForSelector('#gen-next[disabled]', {timeout: T0});
  });

  test('GPT explorer: past the context length the window slides', {timeout: 120000}, async t => {
    const block = info.model.block_size;
    if (block > 256) { t.skip(`block_size ${block}: too many tokens for a quick test`); return; }
    await tab(page, 'generate');
    await page.fill('#gen-prompt', 'Call me Ishmael.');
    await page.click('#gen-start');
    await page.waitForSelector('#gen-run:not([disabled])', {timeout: T0});
    const prompt = await page.locator('#gen-text .tok.prompt').count();
    const n = block - prompt + 3;
    await page.fill('#gen-n', String(n));
    await page.click('#gen-run');
    await page.waitForFunction(k => document.querySelectorAll('#gen-text .tok.gen').length === k, n, {timeout: 100000});
    await page.waitForSelector('#gen-run:not([disabled])', {timeout: T0});
    await idle(page);
    const last = await page.evaluate(() => {
      const v = window.explorer.views.generate, s = v.steps.get(v.selected);
      return {position: s.position, window_start: s.window_start, S: s.shape[2], cache: s.cache};
    });
    assert.equal(last.position, prompt + n - 1);
    assert.ok(last.window_start > 0, `window_start ${last.window_start} at position ${last.position}`);
    assert.equal(last.S, last.position - last.window_start);
    assert.ok(last.S <= block && last.cache.tokens <= last.cache.capacity);
    assert.match(await page.textContent('#kv-window'), new RegExp(`starts at position ${last.window_start}`));
    assert.ok(await page.locator('#gen-text .tok.outside').count() >= last.window_start);
    await assertDrawn(page, '#gen-canvas', 3000);
    await shot(page, 'generate-slid');
    await page.click('#gen-stop');
    await page.waitForSelector('#gen-next[disabled]', {timeout: T0});
  });

  test('translation: the encoder-decoder view draws cross-, encoder and decoder attention', {timeout: 120000}, async () => {
    await tab(page, 'translate');
    if (!info.translation) {
      // No translation model behind this server: the tab says how to get one.
      await page.waitForSelector('#view-translate .view-msg:not([hidden])', {timeout: T0});
      assert.match(await page.textContent('#view-translate .view-msg'), /--translation DIR/);
      return;
    }
    await page.waitForFunction(() => document.body.dataset.translation, null, {timeout: 60000});
    await page.fill('#tr-text', 'Der Hund bellt.');
    const before = await page.getAttribute('body', 'data-translation');
    await page.click('#tr-run');
    await page.waitForFunction(b => document.body.dataset.translation !== b, before, {timeout: 60000});
    await idle(page);
    const d = await page.evaluate(() => {
      const v = window.explorer.views.translate;
      return {kinds: Object.keys(v.data.mats), S: v.data.S, T: v.data.T, L: v.data.L, src: v.data.r.source_tokens};
    });
    assert.ok(d.src.some(t => /Hund/.test(t)) || d.src.length >= 3, JSON.stringify(d.src));
    assert.match(await page.textContent('#tr-output'), /^→ /);
    assert.match(await page.textContent('#tr-model'), new RegExp(info.translation.arch));
    const expected = info.translation.arch === 'transformer' ? ['cross', 'encoder', 'decoder', 'relevance'] : info.translation.arch === 'gru' ? [] : ['cross'];
    assert.deepEqual(d.kinds, expected);
    for (const kind of expected) {
      await page.selectOption('#tr-kind', kind);
      await idle(page);
      await assertDrawn(page, '#tr-canvas', 300);
      // The mean of a row over layers and heads is still a distribution.
      const sums = await page.evaluate(() => {
        const m = window.explorer.views.translate.matrix();
        return Array.from({length: m.R}, (_, i) => m.w.subarray(i * m.C, (i + 1) * m.C).reduce((a, b) => a + b, 0));
      });
      if (kind === 'relevance') {  // rows scaled to their maximum: each row's largest entry is 1
        const maxes = await page.evaluate(() => {
          const m = window.explorer.views.translate.matrix();
          return Array.from({length: m.R}, (_, i) => Math.max(...m.w.subarray(i * m.C, (i + 1) * m.C)));
        });
        for (const mx of maxes) assert.ok(mx === 0 || Math.abs(mx - 1) < 1e-6, `a relevance row peaks at ${mx}`);
      } else {
        for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-3, `a row sums to ${s}`);
      }
      await shot(page, `translate-${kind}`);
    }
    if (expected.length && d.L > 1) {
      await page.selectOption('#tr-kind', 'cross');  // relevance has no layer or head to choose
      await page.selectOption('#tr-layer', '0');
      await page.selectOption('#tr-head', '1');
      await idle(page);
      await assertDrawn(page, '#tr-canvas', 300);
    }
    // A server error reaches the view: an empty sentence never leaves the page; a bad beam is refused.
    await page.fill('#tr-text', '   ');
    await page.click('#tr-run');
    await page.waitForSelector('#view-translate .view-msg:not([hidden])', {timeout: T0});
    assert.match(await page.textContent('#view-translate .view-msg'), /empty/);
  });

  test('image: a ViT explained — prediction, every method\'s map, its curves, each head\'s CLS attention, uploads', {timeout: 180000}, async () => {
    await tab(page, 'image');
    if (!info.vit) {
      // No ViT behind this server: the tab says how to get one.
      await page.waitForSelector('#view-image .view-msg:not([hidden])', {timeout: T0});
      assert.match(await page.textContent('#view-image .view-msg'), /--vit DIR/);
      return;
    }
    const v = info.vit;
    const state = () => page.evaluate(() => {
      const d = window.explorer.views.image.data;
      return {source: d.r.source, label: d.r.label, predicted: d.r.predicted, target: d.r.target, top: d.r.top,
              methods: Object.keys(d.maps), L: d.L, H: d.H, N: d.N, sums: Array.from({length: d.L * d.H}, (_, i) =>
                d.att.subarray(i * d.N, (i + 1) * d.N).reduce((a, b) => a + b, 0)), curves: Object.keys(d.r.curves)};
    });
    const next = async action => {
      const before = await page.getAttribute('body', 'data-image');
      await action();
      await page.waitForFunction(b => document.body.dataset.image && document.body.dataset.image !== b, before, {timeout: 60000});
      await idle(page);
    };
    const drawn = await drawnPng(page);
    if (v.test) await page.waitForFunction(() => document.body.dataset.image, null, {timeout: 60000});
    else await next(() => page.setInputFiles('#img-file', {name: 'first.png', mimeType: 'image/png', buffer: drawn}));
    await idle(page);
    let d = await state();
    assert.deepEqual(d.methods, v.methods);
    assert.deepEqual(d.curves.sort(), [...v.methods, 'random'].sort());
    assert.equal(d.L, v.n_layer);
    assert.equal(d.H, v.n_head);
    assert.equal(d.N, v.grid * v.grid);
    // The CLS token's weights over the patches: what is left of 1 went to the CLS token itself.
    for (const s of d.sums) assert.ok(s > 0 && s <= 1 + 1e-4, `CLS attention over the patches sums to ${s}`);
    assert.equal(d.top[0].class, d.predicted);
    assert.equal(d.target, d.predicted);
    await assertDrawn(page, '#img-canvas', 20000);
    await shot(page, 'image');
    if (v.test) {
      assert.equal(await page.locator('#img-gallery .thumb-btn').count(), Math.min(40, v.test.size));
      await next(() => page.click('#img-gallery .thumb-btn[data-index="3"]'));
      d = await state();
      assert.match(d.source, /test picture 3$/);
      assert.ok(d.label !== null);
      assert.equal(await page.inputValue('#img-index'), '3');
      await next(() => page.click('#img-next'));
      assert.match((await state()).source, /test picture 4$/);
      // Another class to explain: the maps follow it, the prediction stays.
      const other = String((d.predicted + 1) % v.classes.length);
      await next(() => page.selectOption('#img-class', other));
      const e = await state();
      assert.equal(String(e.target), other);
    }
    // Curves of another method: a click on its map.
    const box = await page.evaluate(() => window.explorer.views.image.hits.find(b => b.method === 'rollout'));
    const rect = await page.locator('#img-canvas').boundingBox();
    await page.mouse.click(rect.x + box.x + box.w / 2, rect.y + box.y + box.h / 2);
    assert.equal(await page.inputValue('#img-method'), 'rollout');
    await page.mouse.move(rect.x + box.x + 3, rect.y + box.y + 3);
    await page.waitForSelector('#tooltip:not([hidden])', {timeout: 5000});
    assert.match(await page.textContent('#tooltip'), /rollout.*patch 0/);
    // A picture of one's own: any size, resized to what the model reads.
    await next(() => page.setInputFiles('#img-file', {name: 'drawn.png', mimeType: 'image/png', buffer: drawn}));
    d = await state();
    assert.match(d.source, /uploaded PNG \(60x40, resized to \d+x\d+\)/);
    assert.equal(d.label, null);
    await assertDrawn(page, '#img-canvas', 20000);
    await shot(page, 'image-upload');
    // Exports: SVG with the pictures in it, PNG, and the maps as JSON.
    const svg = await download(page, '#view-image .export-btn[data-format=svg]');
    const s = await svgCheck(page, svg.data.toString('utf8'));
    assert.equal(s.error, false, 'the image view\'s SVG does not parse');
    assert.ok((svg.data.toString('utf8').match(/<image /g) || []).length >= 1 + v.methods.length + v.n_layer * (v.n_head + 1));
    const png = await download(page, '#view-image .export-btn[data-format=png]');
    assert.deepEqual([...png.data.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const j = JSON.parse((await download(page, '#view-image .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(j.view, 'image');
    assert.deepEqual(Object.keys(j.maps), v.methods);
    assert.equal(j.attention.length, v.n_layer);
    assert.equal(j.attention[0][0].length, v.grid * v.grid);
    // Not a PNG: the server's message reaches the view.
    await page.setInputFiles('#img-file', {name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('this is not a picture')});
    await page.waitForSelector('#view-image .view-msg:not([hidden])', {timeout: T0});
    assert.match(await page.textContent('#view-image .view-msg'), /not a PNG picture/);
  });

  test('multimodal: words find emoji, a click explains the match — relevance per word, token bars, export', {timeout: 180000}, async () => {
    await tab(page, 'multimodal');
    if (!info.clip) {
      await page.waitForSelector('#view-multimodal .view-msg:not([hidden])', {timeout: T0});
      assert.match(await page.textContent('#view-multimodal .view-msg'), /--clip DIR/);
      return;
    }
    const c = info.clip;
    const state = () => page.evaluate(() => {
      const v = window.explorer.views.multimodal, d = v.data;
      return {query: d.r.query, index: d.r.index, name: d.r.name, sim: d.r.similarity, words: d.r.words.map(w => w.word),
              maps: d.maps.map(([k, m]) => [k, m.length]), tokens: d.r.tokens, results: v.results.results.map(r => r.index),
              sims: v.results.results.map(r => r.similarity), splits: v.results.results.map(r => r.split)};
    });
    const next = async action => {
      const before = await page.getAttribute('body', 'data-multimodal');
      await action();
      await page.waitForFunction(b => document.body.dataset.multimodal && document.body.dataset.multimodal !== b, before, {timeout: 60000});
      await idle(page);
    };
    // The tab searches its default words when first shown, and explains the best hit.
    await page.waitForFunction(() => document.body.dataset.multimodal, null, {timeout: 60000});
    await idle(page);
    let d = await state();
    assert.equal(d.query, 'a happy cat');
    assert.equal(d.results.length, 15);
    for (let i = 1; i < d.sims.length; i++) assert.ok(d.sims[i - 1] >= d.sims[i], 'results sorted by similarity');
    assert.equal(d.index, d.results[0]);
    assert.deepEqual(d.words, ['a', 'happy', 'cat']);
    assert.equal(d.maps.length, 2 + 3);  // all the words, the raw attention, each word alone
    for (const [, n] of d.maps) assert.equal(n, c.grid * c.grid);
    assert.equal(d.tokens[0], '<s>');
    assert.equal(d.tokens[d.tokens.length - 1], '</s>');
    await assertDrawn(page, '#mm-canvas', 20000);
    await shot(page, 'multimodal');
    // Other words, among the held-out emoji only: every hit is a test or validation emoji.
    await page.fill('#mm-query', 'red heart');
    await next(() => page.selectOption('#mm-split', 'test'));
    d = await state();
    assert.equal(d.query, 'red heart');
    assert.ok(d.splits.every(s => s === 'test'), `splits ${d.splits}`);
    // A click on the third result explains that one.
    const third = d.results[2];
    await next(() => page.click(`#mm-results .thumb-btn[data-index="${third}"]`));
    assert.equal((await state()).index, third);
    // Exports.
    const svg = await download(page, '#view-multimodal .export-btn[data-format=svg]');
    assert.equal((await svgCheck(page, svg.data.toString('utf8'))).error, false, 'the multimodal view\'s SVG does not parse');
    const j = JSON.parse((await download(page, '#view-multimodal .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(j.view, 'multimodal');
    assert.equal(j.query, 'red heart');
    assert.equal(Object.keys(j.maps).length, 2 + 2);
    // Empty words: said so, nothing sent.
    await page.fill('#mm-query', '   ');
    await page.click('#mm-search');
    await page.waitForSelector('#view-multimodal .view-msg:not([hidden])', {timeout: T0});
    assert.match(await page.textContent('#view-multimodal .view-msg'), /type some words/);
  });

  test('audio: a real recording heard — spectrogram, the KWT\'s words and CLS attention, playback, uploads, export', {timeout: 180000}, async () => {
    await tab(page, 'audio');
    if (!info.audio) {
      await page.waitForSelector('#view-audio .view-msg:not([hidden])', {timeout: T0});
      assert.match(await page.textContent('#view-audio .view-msg'), /--kwt DIR/);
      return;
    }
    const a = info.audio;
    const state = () => page.evaluate(() => {
      const d = window.explorer.views.audio.data, r = d.r;
      return {source: r.source, label: r.label, seconds: r.seconds, spec: d.spec.length, M: r.spectrogram.n_mels,
              F: r.spectrogram.frames, kwt: r.kwt ? {top: r.kwt.top, n: d.att.length, L: r.kwt.n_layer, H: r.kwt.n_head,
              N: r.kwt.tokens, sums: Array.from({length: r.kwt.n_layer * r.kwt.n_head}, (_, i) =>
                d.att.subarray(i * r.kwt.tokens, (i + 1) * r.kwt.tokens).reduce((x, y) => x + y, 0))} : null,
              las: r.las ? {text: r.las.text, rows: r.las.rows} : null};
    });
    const next = async action => {
      const before = await page.getAttribute('body', 'data-audio');
      await action();
      await page.waitForFunction(b => document.body.dataset.audio && document.body.dataset.audio !== b, before, {timeout: 60000});
      await idle(page);
    };
    assert.ok(a.recordings > 0, 'the test machine has Debian\'s ktuberling-data');
    await page.waitForFunction(() => document.body.dataset.audio, null, {timeout: 60000});
    await idle(page);
    let d = await state();
    assert.equal(d.source, 'moon_alien.ogg');  // recording 0: "alien"
    assert.equal(d.label, 'alien');
    assert.equal(d.spec, d.M * d.F);
    assert.equal(await page.locator('#aud-recording option').count(), a.recordings);
    if (a.kwt) {
      assert.equal(d.kwt.n, d.kwt.L * d.kwt.H * d.kwt.N);
      assert.equal(d.kwt.top.length, 5);
      // The CLS token's weights over the time tokens: what is left of 1 went to the CLS token itself.
      for (const s of d.kwt.sums) assert.ok(s > 0 && s <= 1 + 1e-4, `CLS attention over time sums to ${s}`);
    }
    // The page plays what the server heard: a WAV.
    const src = await page.getAttribute('#aud-player', 'src');
    assert.ok(src.startsWith('data:audio/wav;base64,UklGR'), 'the player holds a RIFF/WAV data URL');
    await assertDrawn(page, '#aud-canvas', 20000);
    await shot(page, 'audio');
    await next(() => page.selectOption('#aud-recording', '5'));
    d = await state();
    assert.equal(d.label, 'ball');
    await next(() => page.click('#aud-next'));
    assert.equal((await state()).label, 'bicycle');
    if (a.kwt) {
      const before = await page.getAttribute('#aud-canvas', 'data-drawn');
      await page.selectOption('#aud-head', '1');
      await page.waitForFunction(b => document.querySelector('#aud-canvas').dataset.drawn !== b, before, {timeout: 10000});
    }
    // A recording of one's own: a WAV the test writes (a 0.5 s tone with a rising pitch, 8 kHz stereo).
    const rate = 8000, n = 4000, wav = Buffer.alloc(44 + n * 4);
    wav.write('RIFF', 0); wav.writeUInt32LE(36 + n * 4, 4); wav.write('WAVEfmt ', 8); wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20); wav.writeUInt16LE(2, 22); wav.writeUInt32LE(rate, 24); wav.writeUInt32LE(rate * 4, 28);
    wav.writeUInt16LE(4, 32); wav.writeUInt16LE(16, 34); wav.write('data', 36); wav.writeUInt32LE(n * 4, 40);
    for (let i = 0; i < n; i++) {
      const v = Math.round(12000 * Math.sin(2 * Math.PI * (300 + 0.1 * i) * i / rate));
      wav.writeInt16LE(v, 44 + i * 4); wav.writeInt16LE(v, 46 + i * 4);
    }
    await next(() => page.setInputFiles('#aud-file', {name: 'tone.wav', mimeType: 'audio/wav', buffer: wav}));
    d = await state();
    assert.equal(d.label, null);
    assert.ok(Math.abs(d.seconds - 0.5) < 0.01, `the upload lasts ${d.seconds} s`);
    await shot(page, 'audio-upload');
    // Exports: SVG, PNG, and the spectrogram and attention as JSON.
    const svg = await download(page, '#view-audio .export-btn[data-format=svg]');
    assert.equal((await svgCheck(page, svg.data.toString('utf8'))).error, false, 'the audio view\'s SVG does not parse');
    const png = await download(page, '#view-audio .export-btn[data-format=png]');
    assert.deepEqual([...png.data.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const j = JSON.parse((await download(page, '#view-audio .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(j.view, 'audio');
    assert.equal(j.spectrogram.values.length, d.M);
    if (a.kwt) assert.equal(j.kwt.cls_attention.length, d.kwt.L);
    // Not sound: the server's message reaches the view.
    await page.setInputFiles('#aud-file', {name: 'fake.wav', mimeType: 'audio/wav', buffer: Buffer.from('this is not a recording')});
    await page.waitForSelector('#view-audio .view-msg:not([hidden])', {timeout: T0});
    assert.match(await page.textContent('#view-audio .view-msg'), /not a sound file/);
  });

  test('relevance: every method scores the text\'s tokens for the next token; another candidate; curves; export', {timeout: 180000}, async () => {
    await tab(page, 'relevance');
    await page.waitForFunction(() => document.body.dataset.relevance, null, {timeout: 120000});
    await idle(page);
    const state = () => page.evaluate(() => {
      const d = window.explorer.views.relevance.data;
      return {T: d.r.T, methods: d.r.methods, top: d.r.top, target: d.r.target, predicted: d.r.predicted,
              lens: Object.values(d.scores).map(s => s.length), curves: Object.keys(d.r.curves)};
    });
    let d = await state();
    assert.equal(d.T, await page.evaluate(() => window.explorer.state.an.T));
    assert.ok(d.methods.length >= 5, JSON.stringify(d.methods));
    for (const n of d.lens) assert.equal(n, d.T);
    assert.ok(d.curves.includes('random'));
    assert.equal(d.target, d.predicted);
    assert.equal(d.top[0].id, d.predicted);
    await assertDrawn(page, '#rel-canvas', 5000);
    await shot(page, 'relevance');
    // Explain the second most likely token instead.
    const before = await page.getAttribute('body', 'data-relevance');
    await page.locator('#rel-top button').nth(1).click();
    await page.waitForFunction(b => document.body.dataset.relevance !== b, before, {timeout: 120000});
    await idle(page);
    d = await state();
    assert.equal(d.target, d.top[1].id);
    assert.notEqual(d.target, d.predicted);
    // Hover a token of the rollout row: its score.
    const box = await page.evaluate(() => window.explorer.views.relevance.hits.find(b => b.method === 'rollout' && b.i === 0));
    const rect = await page.locator('#rel-canvas').boundingBox();
    await page.mouse.move(rect.x + box.x + 2, rect.y + box.y + 4);
    await page.waitForSelector('#tooltip:not([hidden])', {timeout: 5000});
    assert.match(await page.textContent('#tooltip'), /rollout.*position 0/);
    const j = JSON.parse((await download(page, '#view-relevance .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(j.view, 'relevance');
    assert.equal(j.scores.rollout.length, d.T);
    const svg = await download(page, '#view-relevance .export-btn[data-format=svg]');
    assert.equal((await svgCheck(page, svg.data.toString('utf8'))).error, false);
  });

  // ---- interventions (docs/explorer_api.md, "Interventions") ----
  const iv = fn => page.evaluate(fn);  // reads window.explorer.views.interventions state

  test('interventions: ablation grid → select → ablate → intact and ablated attention compared', {timeout: 60000}, async () => {
    await tab(page, 'interventions');
    await page.selectOption('#abl-method', 'zero');
    await page.click('#grid-run');
    await page.waitForSelector('#grid-canvas[data-drawn^="grid|zero|"]', {timeout: T0});
    await idle(page);
    const g = await iv(() => window.explorer.views.interventions.ablation.grid.r);
    const L = info.model.n_layer, H = info.model.n_head;
    assert.equal(g.head_delta.length, L);
    for (const row of g.head_delta) assert.equal(row.length, H);
    assert.equal(g.mlp_delta.length, L);
    assert.equal(await page.textContent('#grid-loss'), g.loss.toFixed(3));
    assert.equal(await page.textContent('#grid-ms'), g.elapsed_ms.toFixed(1));
    const drawn = await assertDrawn(page, '#grid-canvas', 3000);
    assert.ok(drawn.colors >= 3, `the grid has ${drawn.colors} colours`);

    // The head that matters most: its tooltip gives its Δloss; a click selects it, and the last MLP too.
    let best = [0, 0];
    g.head_delta.forEach((row, l) => row.forEach((v, hd) => { if (v > g.head_delta[best[0]][best[1]]) best = [l, hd]; }));
    const [bl, bh] = best;
    const hits = await iv(() => window.explorer.views.interventions.ablation.hits);
    const box = await visibleBox(page, '#grid-canvas');
    const at = hit => [box.x + hit.x + hit.w / 2, box.y + hit.y + hit.h / 2];
    const cell = hits.find(x => x.layer === bl && x.head === bh), mlpCell = hits.find(x => x.layer === L - 1 && x.head === null);
    await page.mouse.move(...at(cell));
    await page.waitForSelector('#tooltip:not([hidden])', {timeout: 5000});
    const v = g.head_delta[bl][bh];
    assert.ok((await page.textContent('#tooltip')).includes((v > 0 ? '+' : '') + v.toFixed(4)), await page.textContent('#tooltip'));
    await page.mouse.click(...at(cell));
    await page.mouse.click(...at(mlpCell));
    assert.match(await page.textContent('#abl-selection'), new RegExp(`head L${bl} H${bh} and MLP ${L - 1}`));
    await shot(page, 'interventions-grid');

    // Ablate them together: the loss before and after, as the server computed them.
    const before = await page.getAttribute('body', 'data-ablation');
    await page.click('#abl-run');
    await page.waitForFunction(b => document.body.dataset.ablation && document.body.dataset.ablation !== b, before, {timeout: T0});
    const r = await iv(() => window.explorer.views.interventions.ablation.result.r);
    assert.deepEqual(r.heads, [[bl, bh]]);
    assert.deepEqual(r.mlps, [L - 1]);
    assert.equal(await page.textContent('#abl-loss-intact'), r.loss.toFixed(3));
    assert.equal(await page.textContent('#abl-loss-ablated'), r.loss_ablated.toFixed(3));
    assert.ok(Math.abs(r.loss - g.loss) < 2e-3, `the grid's intact loss ${g.loss} differs from /api/ablate's ${r.loss}`);
    assert.equal(r.position, r.T - 1);
    // The top-k lists side by side, each row with both probabilities.
    assert.equal(await page.locator('#abl-top tbody tr').count(), r.top.length);
    assert.equal(await page.locator('#abl-top-ablated tbody tr').count(), r.top_ablated.length);
    const firstRow = await page.locator('#abl-top tbody tr').first().locator('td.num').allTextContents();
    assert.deepEqual(firstRow, [r.top[0].p.toFixed(4), r.top[0].p_ablated.toFixed(4)]);
    const firstAbl = await page.locator('#abl-top-ablated tbody tr').first().locator('td.num').allTextContents();
    assert.deepEqual(firstAbl, [r.top_ablated[0].p.toFixed(4), r.top_ablated[0].p_ablated.toFixed(4)]);
    // One token per position, coloured by KL; then by Δ loss.
    assert.equal(await page.locator('#abl-strip .tok').count(), r.T);
    assert.ok(await page.locator('#abl-strip .tok[style*="background"]').count() >= r.T - 1);
    await page.selectOption('#abl-strip-by', 'dloss');
    const t1 = await page.getAttribute('#abl-strip .tok[data-i="1"]', 'title');
    assert.ok(t1.includes(r.token_loss[0].toFixed(3)) && t1.includes(r.token_loss_ablated[0].toFixed(3)), t1);
    await page.selectOption('#abl-strip-by', 'kl');

    // The ablated model's attention beside the intact one (POST /api/analyze {"ablation"}).
    await page.waitForSelector('#cmp-canvas[data-drawn^="cmp|"]', {timeout: T0});
    await idle(page);
    const c = await iv(() => {
      const d = window.explorer.views.interventions.compare.data;
      return {intact: d.intact.id, ablated: d.ablated.id, ablation: d.ablated.ablation, masked: d.ablated.masked,
              change: Array.from(d.change), T: d.ablated.T};
    });
    assert.notEqual(c.intact, c.ablated);
    assert.deepEqual(c.ablation, {heads: [[bl, bh]], mlps: [L - 1], method: 'zero', seed: 0});
    assert.deepEqual(c.masked, []);
    // An ablated head still attends as before: no attention changes at or below its layer (the last MLP
    // comes after every attention); above it, the stream differs.
    for (let l = 0; l <= bl; l++) for (let hd = 0; hd < H; hd++) {
      assert.ok(c.change[l * H + hd] < 1e-5, `layer ${l} head ${hd} changed by ${c.change[l * H + hd]} below the ablation`);
    }
    if (bl < L - 1) assert.ok(Math.max(...c.change.slice((bl + 1) * H)) > 0, 'no layer above the ablated head changed');
    // The matrices drawn are the server's: the ablated one as GET /api/attention gives it.
    const lay = String(L - 1);
    await page.selectOption('#cmp-layer', lay);
    await page.selectOption('#cmp-head', '0');
    await page.waitForSelector(`#cmp-canvas[data-drawn="cmp|${c.ablated}|${lay}|0"]`, {timeout: T0});
    const same = await page.evaluate(async id => {
      const x = window.explorer, m = x.views.interventions.compare.data.mats;
      const r = await x.api('GET', x.apiUrl('/api/attention', [['id', id], ['layer', m.layer], ['head', 0]]));
      const bin = atob(r.matrix), f = new Float32Array(Uint8Array.from(bin, ch => ch.charCodeAt(0)).buffer);
      return f.length === m.b.length && f.every((v, i) => v === m.b[i]);
    }, c.ablated);
    assert.ok(same, 'the ablated matrix drawn is not the one the server has');
    await assertDrawn(page, '#cmp-canvas', 3000);
    await page.locator('#abl-result').evaluate(e => e.scrollIntoView());
    await shot(page, 'interventions-ablate');

    // A click on a token reads the top-k there (the same parts ablated).
    const b2 = await page.getAttribute('body', 'data-ablation');
    await page.click('#abl-strip .tok[data-i="3"]');
    await page.waitForFunction(b => document.body.dataset.ablation !== b, b2, {timeout: T0});
    assert.equal(await iv(() => window.explorer.views.interventions.ablation.result.r.position), 3);
    assert.match(await page.textContent('#abl-top caption'), /position 3\)/);
    assert.equal(await page.locator('#abl-strip .tok.pos[data-i="3"]').count(), 1);

    // Out of range: the server says which head does not exist.
    const err = await page.evaluate(async n => {
      try { await window.explorer.api('POST', '/api/ablate', {text: 'Call me Ishmael.', heads: [[n, 0]]}); return null; }
      catch (e) { return {status: e.status, message: e.message}; }
    }, L);
    assert.equal(err.status, 400);
    assert.match(err.message, new RegExp(`\\[${L},\\s*0\\]`));
  });

  test('interventions: logit lens — rank of the next token per layer and position, top-1 table, top-k on click', {timeout: T0}, async () => {
    await tab(page, 'interventions');
    await page.fill('#lens-k', '3');
    await page.click('#lens-run');
    await page.waitForSelector('#lens-canvas[data-drawn^="lens|"]', {timeout: T0});
    await idle(page);
    const r = await iv(() => window.explorer.views.interventions.lens.data.r);
    const T = await page.evaluate(() => window.explorer.state.an.T);
    assert.equal(r.T, T);
    assert.equal(r.n_rows, info.model.n_layer + 1);
    assert.equal(r.k, 3);
    assert.equal(r.top_ids[0][0].length, 3);
    assert.equal(r.target_rank.length, r.n_rows);
    assert.equal(r.target_rank[0].length, T - 1);
    const last = r.target_rank[r.n_rows - 1];
    assert.equal(await page.textContent('#lens-first'), String(last.filter(x => x === 0).length));
    await assertDrawn(page, '#lens-canvas', 2000);
    // The table: one row per layer, one cell per position, each the lens's first choice.
    const heads = await page.locator('#lens-table tbody th').allTextContents();
    assert.deepEqual(heads, Array.from({length: r.n_rows}, (_, l) => (l === 0 ? 'embed' : `after block ${l - 1}`)));
    assert.equal(await page.locator('#lens-table tbody tr').first().locator('td').count(), T);
    const shown = t => {  // as the page shows a token (app.js showToken)
      const s = String(t).replace(/\r/g, '').replace(/\n/g, '↵').replace(/\t/g, '⇥')
        .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');
      return /^ +$/.test(s) ? s.replace(/ /g, '␣') : s;
    };
    const t0 = Math.min(2, T - 1), l0 = r.n_rows - 1;
    const cellText = await page.textContent(`#lens-table td[data-l="${l0}"][data-t="${t0}"]`);
    assert.equal(cellText, shown(r.labels[String(r.top_ids[l0][t0][0])]));
    // Click a heatmap cell: its top-k and the next token's rank.
    const L = await page.evaluate(() => {
      const v = window.explorer.views.interventions.lens;
      return v.layout(document.querySelector('#lens-host').clientWidth || 900);
    });
    const box = await visibleBox(page, '#lens-canvas');
    await page.mouse.click(box.x + L.left + (t0 + 0.5) * L.cw, box.y + L.top + (l0 + 0.5) * L.ch);
    await page.waitForSelector('#lens-detail:not([hidden])', {timeout: 5000});
    assert.equal(await page.locator('#lens-detail .row').count(), 3);
    assert.match(await page.textContent('#lens-detail'), new RegExp(`rank ${r.target_rank[l0][t0]} `));
    assert.equal(await page.locator(`#lens-table td.sel[data-l="${l0}"][data-t="${t0}"]`).count(), 1);
    await page.hover(`#lens-table td[data-l="0"][data-t="${t0}"]`);
    await page.waitForSelector('#tooltip:not([hidden])', {timeout: 5000});
    assert.match(await page.textContent('#tooltip'), /embed · position/);
    await page.locator('#iv-lens').evaluate(e => e.scrollIntoView());
    await shot(page, 'interventions-lens');
    await page.mouse.move(0, 0);
  });

  test('interventions: activation patching, and a prompt pair of unequal length refused in the page', {timeout: T0}, async () => {
    await tab(page, 'interventions');
    const clean = await page.inputValue('#patch-clean'), corrupt = await page.inputValue('#patch-corrupt');
    assert.ok(clean && corrupt, 'the prompts are prefilled with an example');
    if (info.model.tokenizer === 'char') assert.equal(Array.from(clean).length, Array.from(corrupt).length);
    else assert.match(clean, /Starbuck/);
    await page.fill('#patch-target', '');
    await page.click('#patch-run');
    await page.waitForSelector('#patch-canvas[data-drawn^="patch|"]', {timeout: T0});
    await idle(page);
    const r = await iv(() => window.explorer.views.interventions.patch.data.r);
    assert.equal(r.resid.length, info.model.n_layer + 1);
    assert.equal(r.mlp.length, info.model.n_layer);
    assert.equal(r.heads[0].length, info.model.n_head);
    assert.equal(r.clean_tokens.length, r.T);
    assert.equal(await page.textContent('#patch-p-clean'), r.p_clean.toFixed(4));
    assert.equal(await page.textContent('#patch-p-corrupt'), r.p_corrupt.toFixed(4));
    assert.ok(r.differ.length >= 1);
    for (const t of r.differ) assert.notEqual(r.clean_tokens[t], r.corrupt_tokens[t]);
    // Patching the embedding where the prompts differ (one position) restores the clean run exactly.
    if (r.differ.length === 1 && Math.abs(r.p_clean - r.p_corrupt) > 1e-4) {
      const rec = await iv(() => { const d = window.explorer.views.interventions.patch.data; return d.resid[d.r.differ[0]]; });
      assert.ok(Math.abs(rec - 1) < 1e-2, `recovered ${rec} at block 0's input where the prompts differ`);
    }
    await assertDrawn(page, '#patch-canvas', 3000);
    // Hover a cell: p and recovered.
    const hit = await iv(() => window.explorer.views.interventions.patch.hits.find(x => x.name === 'resid'));
    const box = await visibleBox(page, '#patch-canvas');
    await page.mouse.move(box.x + hit.x + hit.w * (r.differ[0] + 0.5) / hit.cols, box.y + hit.y + 0.5 * hit.h / hit.rows);
    await page.waitForSelector('#tooltip:not([hidden])', {timeout: 5000});
    assert.match(await page.textContent('#tooltip'), /recovered/);
    await page.mouse.move(0, 0);
    await page.locator('#iv-patch').evaluate(e => e.scrollIntoView());
    await shot(page, 'interventions-patch');
    // A target by id.
    await page.fill('#patch-target', '#5');
    await page.click('#patch-run');
    await page.waitForFunction(() => window.explorer.views.interventions.patch.data.r.target === 5, null, {timeout: T0});
    await page.fill('#patch-target', '');
    // Unequal token counts: the server's 400 message appears in the panel; the last result stays drawn.
    const drawnBefore = await page.getAttribute('#patch-canvas', 'data-drawn');
    await page.fill('#patch-corrupt', corrupt + corrupt);
    await page.click('#patch-run');
    await page.waitForSelector('#iv-patch .view-msg.error:not([hidden])', {timeout: T0});
    const msg = await page.textContent('#iv-patch .view-msg');
    assert.match(msg, /the clean prompt has \d+ tokens and the corrupted one \d+.*\(HTTP 400\)/);
    assert.match(await page.textContent('#status'), /^error: the clean prompt has/);
    assert.equal(await page.getAttribute('#patch-canvas', 'data-drawn'), drawnBefore);
    await page.locator('#iv-patch').evaluate(e => e.scrollIntoView());
    await shot(page, 'interventions-patch-error');
    // The page still works: the equal pair again clears the message.
    await page.fill('#patch-corrupt', corrupt);
    await page.click('#patch-run');
    await page.waitForSelector('#iv-patch .view-msg[hidden]', {state: 'attached', timeout: T0});
    await page.waitForFunction(d => document.querySelector('#patch-canvas').dataset.drawn !== d, drawnBefore, {timeout: T0});
    await idle(page);
    // Export: every figure drawn so far stacked in one SVG / PNG, the server's answers as JSON.
    const svg = await download(page, '#view-interventions .export-btn[data-format=svg]');
    const sv = await svgCheck(page, svg.data.toString('utf8'));
    assert.equal(sv.error, false, 'the interventions SVG does not parse');
    assert.ok(sv.rect > 50 && sv.text > 50, JSON.stringify(sv));
    const png = await download(page, '#view-interventions .export-btn[data-format=png]');
    assert.deepEqual([...png.data.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const j = JSON.parse((await download(page, '#view-interventions .export-btn[data-format=json]')).data.toString('utf8'));
    assert.equal(j.view, 'interventions');
    for (const k of ['ablation_grid', 'ablate', 'logit_lens', 'patch']) assert.ok(j[k], `the JSON export lacks ${k}`);
    assert.equal(j.patch.p_clean, r.p_clean);
  });

  test('token strip: a click masks a token (re-analyzed, marked, no query attends to it); a second click unmasks it', {timeout: T0}, async () => {
    await tab(page, 'matrix');
    await page.selectOption('#matrix-layer', '0');
    await page.selectOption('#matrix-head', '0');
    const T = await page.evaluate(() => window.explorer.state.an.T);
    assert.equal(await page.locator('#an-tokens .tok').count(), T);
    const before = await page.getAttribute('body', 'data-analysis');
    await page.click('#an-tokens .tok[data-i="2"]');
    await page.waitForFunction(b => document.body.dataset.analysis !== b, before, {timeout: T0});
    const id = await page.getAttribute('body', 'data-analysis');
    const st = await page.evaluate(() => ({masked: window.explorer.state.masked, an: window.explorer.state.an.masked, T: window.explorer.state.an.T}));
    assert.deepEqual(st.masked, [2]);
    assert.deepEqual(st.an, [2]);
    assert.equal(st.T, T);
    assert.deepEqual(await page.$$eval('#an-tokens .tok.masked', els => els.map(e => e.dataset.i)), ['2']);
    assert.match(await page.textContent('#status'), /1 masked/);
    assert.ok(await page.isVisible('#an-unmask'));
    // Every view follows: the matrix view draws the new analysis, where no query attends to token 2.
    await page.waitForSelector(`#matrix-canvas[data-drawn="${id}|0|0"]`, {timeout: T0});
    const col = await page.evaluate(() => {
      const m = window.explorer.views.matrix.mat, T = window.explorer.state.an.T;
      let c = 0;
      const sums = [];
      for (let i = 0; i < T; i++) { c = Math.max(c, m[i * T + 2]); let s = 0; for (let j = 0; j < T; j++) s += m[i * T + j]; sums.push(s); }
      return {c, sums};
    });
    assert.equal(col.c, 0, 'a query still attends to the masked token');
    col.sums.forEach((s, i) => assert.ok(Math.abs(s - 1) < 1e-3, `row ${i} sums to ${s}`));
    await shot(page, 'mask');
    // The last token cannot be masked: said, and nothing is sent.
    await page.click(`#an-tokens .tok[data-i="${T - 1}"]`);
    await page.waitForFunction(() => /cannot be masked/.test(document.querySelector('#status').textContent), null, {timeout: 5000});
    assert.equal(await page.getAttribute('body', 'data-analysis'), id);
    // Unmask.
    await page.click('#an-tokens .tok[data-i="2"]');
    await page.waitForFunction(b => document.body.dataset.analysis !== b, id, {timeout: T0});
    assert.deepEqual(await page.evaluate(() => window.explorer.state.masked), []);
    assert.equal(await page.locator('#an-tokens .tok.masked').count(), 0);
    assert.ok(!(await page.isVisible('#an-unmask')));
    await idle(page);
  });

  test('token strip: a double-click edits a token and analyzes the edited text; Escape cancels', {timeout: T0}, async () => {
    const s = await page.evaluate(() => ({text: window.explorer.state.text, o: window.explorer.state.offsets[4],
                                          tokens: window.explorer.state.an.tokens}));
    await page.dblclick('#an-tokens .tok[data-i="4"]');
    await page.waitForSelector('#an-tokens input.tok-edit', {timeout: 5000});
    assert.equal(await page.inputValue('#an-tokens input.tok-edit'), s.tokens[4]);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#an-tokens input.tok-edit', {state: 'detached', timeout: 5000});
    assert.equal(await page.locator('#an-tokens .tok').count(), s.tokens.length);

    const before = await page.getAttribute('body', 'data-analysis');
    await page.dblclick('#an-tokens .tok[data-i="4"]');
    await page.fill('#an-tokens input.tok-edit', 'Wh');
    await page.keyboard.press('Enter');
    await page.waitForFunction(b => document.body.dataset.analysis !== b, before, {timeout: T0});
    await idle(page);
    const edited = s.text.slice(0, s.o[0]) + 'Wh' + s.text.slice(s.o[1]);
    assert.equal(await page.evaluate(() => window.explorer.state.text), edited);
    assert.equal(await page.inputValue('#text'), edited);
    assert.deepEqual(await page.evaluate(() => window.explorer.state.masked), []);
    const tokens = await page.evaluate(() => window.explorer.state.an.tokens);
    assert.equal(tokens.join(''), edited.slice(0, tokens.join('').length));
    if (info.model.tokenizer === 'char') assert.deepEqual(tokens.slice(4, 6), ['W', 'h']);
    assert.equal(await page.locator('#an-tokens .tok').count(), tokens.length);
    await shot(page, 'edit');
    // back to the test text for what follows
    await page.fill('#text', TEXT);
    await page.click('#analyze');
    await page.waitForFunction(t => window.explorer.state.text === t && document.querySelector('#status.ok'), TEXT, {timeout: T0});
    await idle(page);
  });

  test('the page asked nothing of any other host, and raised no errors', () => {
    assert.deepEqual(page.blocked, []);
    assert.deepEqual(page.errors, []);
  });

  test('static mode: one standalone file, offline', {timeout: 120000}, async () => {
    const responses = await collectResponses(base, 'Call me Ishmael.');
    const html = inlinePage({text: 'Call me Ishmael.', responses});
    assert.ok(!html.includes('src="app.js"') && !html.includes('href="style.css"'));
    fs.mkdirSync(SHOTS, {recursive: true});
    const file = path.join(SHOTS, 'static.html');
    fs.writeFileSync(file, html);
    const sp = await openPage(browser, 'file://');
    await sp.context().setOffline(true);
    const drawn = waitOrError(sp, '#heads-canvas[data-drawn]', T0);
    await sp.goto('file://' + file);
    await drawn;
    assert.match(await sp.textContent('#model-info'), new RegExp(`layers\\s*${info.model.n_layer}`));
    assert.equal(await sp.inputValue('#text'), 'Call me Ishmael.');
    assert.ok(await sp.isVisible('#static-banner'));
    await assertDrawn(sp, '#heads-canvas', 2000);
    await shot(sp, 'static');
    await tab(sp, 'matrix');
    await sp.selectOption('#matrix-head', 'rollout');
    await sp.waitForSelector('#matrix-canvas[data-drawn$="|rollout"]', {timeout: T0});
    await tab(sp, 'neuron');
    await sp.waitForSelector('#neuron-canvas[data-drawn]', {timeout: T0});  // the embedded default selection
    await sp.click('#neuron-tokens .tok[data-i="1"]');                       // not embedded
    await sp.waitForSelector('#view-neuron .view-msg.offline:not([hidden])', {timeout: T0});
    assert.match(await sp.textContent('#view-neuron .view-msg'), /not available offline/);
    await tab(sp, 'types');
    await sp.waitForSelector('#types-canvas[data-drawn]', {timeout: T0});
    await tab(sp, 'generate');
    assert.match(await sp.textContent('#view-generate .view-msg'), /not available offline/);
    assert.ok(await sp.isDisabled('#gen-start'));
    await tab(sp, 'interventions');  // they run the model: off, and said so
    assert.match(await sp.textContent('#view-interventions .view-msg'), /not available offline/);
    assert.ok(await sp.isDisabled('#grid-run') && await sp.isDisabled('#patch-run'));
    assert.equal(await sp.locator('#an-tokens .tok').count(), await sp.evaluate(() => window.explorer.state.an.T));
    assert.deepEqual(sp.errors, []);
    await sp.context().close();
  });

  test('attn viz: its standalone page works offline', {timeout: 180000}, async t => {
    const cmd = vizCommand(serverCommand());
    if (!cmd) { t.skip('the server under test is not attn explore (set ATTN_VIZ_CMD to test a viz command)'); return; }
    fs.mkdirSync(SHOTS, {recursive: true});
    const file = path.join(SHOTS, 'viz.html');
    fs.rmSync(file, {force: true});
    const r = spawnSync('/bin/sh', ['-c', `${cmd} --text 'Call me Ishmael. Some years ago' --out '${file}'`],
                        {cwd: ROOT, timeout: 150000, encoding: 'utf8'});
    assert.equal(r.status, 0, `${cmd} failed: ${r.stderr}`);
    const sp = await openPage(browser, 'file://');
    await sp.context().setOffline(true);
    const drawn = waitOrError(sp, '#heads-canvas[data-drawn]', 60000);
    await sp.goto('file://' + file);
    await drawn;
    assert.equal(await sp.inputValue('#text'), 'Call me Ishmael. Some years ago');
    assert.match(await sp.textContent('#model-info'), new RegExp(`layers\\s*${info.model.n_layer}`));
    await assertDrawn(sp, '#heads-canvas', 2000);
    await shot(sp, 'viz');
    for (const view of ['model', 'matrix', 'neuron', 'types']) {
      await tab(sp, view);
      await sp.waitForSelector(`#${view}-canvas[data-drawn]`, {timeout: T0});
      await assertDrawn(sp, `#${view}-canvas`, 2000);
    }
    await tab(sp, 'relevance');  // precomputed by attn viz for the model's own next token
    await sp.waitForSelector('#rel-canvas[data-drawn]', {timeout: T0});
    await assertDrawn(sp, '#rel-canvas', 2000);
    await tab(sp, 'generate');
    assert.match(await sp.textContent('#view-generate .view-msg'), /not available offline/);
    assert.deepEqual(sp.errors, []);
    await sp.context().close();
  });

  test('attn viz --view model: opens on that tab, also inside an <iframe srcdoc> as the notebooks show it', {timeout: 180000}, async t => {
    const cmd = vizCommand(serverCommand());
    if (!cmd) { t.skip('the server under test is not attn explore'); return; }
    fs.mkdirSync(SHOTS, {recursive: true});
    const file = path.join(SHOTS, 'viz-model.html');
    const r = spawnSync('/bin/sh', ['-c', `${cmd} --text 'Call me Ishmael.' --view model --out '${file}'`],
                        {cwd: ROOT, timeout: 150000, encoding: 'utf8'});
    assert.equal(r.status, 0, `${cmd} failed: ${r.stderr}`);
    const html = fs.readFileSync(file, 'utf8');
    assert.ok(html.includes('<script>\n' + readAppJs(ROOT).replace(/<\//g, '<\\/') + '\n</script>'),
              'the page inlines web/js/*.js, concatenated');
    const sp = await openPage(browser, 'file://');
    await sp.context().setOffline(true);
    const escaped = html.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    await sp.setContent(`<iframe id="f" srcdoc="${escaped}" style="width:1200px;height:800px" sandbox="allow-scripts"></iframe>`);
    const frame = await (await sp.waitForSelector('#f')).contentFrame();
    await frame.waitForSelector('#model-canvas[data-drawn]', {timeout: 60000});
    assert.equal(await frame.getAttribute('#tabs [data-view="model"]', 'class'), 'active');
    assert.deepEqual(sp.errors, []);
    await sp.context().close();
  });

  test('attn viz --generate: the GPT explorer steps through the recorded generation offline', {timeout: 180000}, async t => {
    const cmd = vizCommand(serverCommand());
    if (!cmd) { t.skip('the server under test is not attn explore'); return; }
    fs.mkdirSync(SHOTS, {recursive: true});
    const file = path.join(SHOTS, 'viz-generate.html');
    const r = spawnSync('/bin/sh', ['-c', `${cmd} --text 'Call me Ishmael.' --view generate --generate 4 --out '${file}'`],
                        {cwd: ROOT, timeout: 150000, encoding: 'utf8'});
    assert.equal(r.status, 0, `${cmd} failed: ${r.stderr}`);
    const sp = await openPage(browser, 'file://');
    await sp.context().setOffline(true);
    await sp.goto('file://' + file);
    await sp.waitForSelector('#gen-start:not([disabled])', {timeout: 60000});
    assert.equal(await sp.inputValue('#gen-prompt'), 'Call me Ishmael.');
    assert.match(await sp.textContent('#view-generate .view-msg'), /Recorded when this page was made: 4 tokens/);
    await sp.click('#gen-start');
    await sp.waitForSelector('#gen-next:not([disabled])', {timeout: T0});
    await sp.click('#gen-next');
    await sp.waitForFunction(() => document.querySelectorAll('#gen-text .tok.gen').length === 1, null, {timeout: T0});
    await sp.waitForSelector('#gen-run:not([disabled])', {timeout: T0});
    await sp.fill('#gen-n', '3');
    await sp.click('#gen-run');
    await sp.waitForFunction(() => document.querySelectorAll('#gen-text .tok.gen').length === 4, null, {timeout: T0});
    await assertDrawn(sp, '#gen-canvas', 3000);
    // the recorded tokens are the greedy continuation the file holds, in order
    const recorded = await sp.evaluate(() => window.ATTN_STATIC.generation.steps.map(s => s.token));
    const shown = await sp.evaluate(() => [...document.querySelectorAll('#gen-text .tok.gen')].map(e => e.textContent));
    assert.equal(shown.length, recorded.length);
    // past the last recorded token: a clear message, no crash
    await sp.waitForSelector('#gen-next:not([disabled])', {timeout: T0});
    await sp.click('#gen-next');
    await sp.waitForFunction(() => /recorded 4 tokens/.test(document.querySelector('#view-generate .view-msg').textContent), null, {timeout: T0});
    // Start rewinds to the prompt
    await sp.click('#gen-start');
    await sp.waitForFunction(() => document.querySelectorAll('#gen-text .tok.gen').length === 0, null, {timeout: T0});
    assert.deepEqual(sp.errors, []);
    await sp.context().close();
  });
});

describe('explorer with 1024 tokens (mock GPT-2)', {timeout: 300000}, () => {
  let server, base, browser, page;

  before(async () => {
    server = startServer(MOCK + ' --tokenizer gpt2-bpe --max-tokens 1024');
    base = await server.url;
    browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']});
    page = await openPage(browser, base);
  }, {timeout: 60000});

  after(async () => {
    if (browser) await browser.close();
    stopServer(server);
  });

  test('head view and matrix view stay responsive', {timeout: 240000}, async () => {
    await page.goto(base + '#matrix');
    await page.waitForSelector('#matrix-canvas[data-drawn]', {timeout: 60000});
    const words = 'Call me Ishmael. Some years ago never mind how long precisely having little or no money in my purse'.split(' ');
    const text = Array.from({length: 1100}, (_, i) => words[i % words.length]).join(' ');
    await page.evaluate(t => { document.querySelector('#text').value = t; }, text);
    await page.click('#analyze');
    await page.waitForFunction(() => window.explorer.state.an && window.explorer.state.an.T === 1024, null, {timeout: 120000});
    await page.waitForSelector('#matrix-canvas[data-drawn]', {timeout: 60000});
    await idle(page);
    assert.match(await page.textContent('#status'), /1024 tokens.* cut to the model's limit of 1024 tokens/);
    await assertDrawn(page, '#matrix-canvas', 5000);
    // zoomed in far enough, the labels appear
    for (let k = 0; k < 9; k++) await page.click('#matrix-zoom-in');
    await idle(page);
    await shot(page, 'matrix-1024-zoom');

    await tab(page, 'heads');
    await page.waitForSelector('#heads-canvas[data-drawn]', {timeout: 120000});
    const timing = await page.evaluate(async () => {
      const v = window.explorer.views.heads, host = document.querySelector('#heads-area');
      const times = [];
      for (const top of [0, 5000, 12000, 20000]) {
        host.scrollTop = top;
        const t0 = performance.now();
        v.area.redraw();
        times.push(performance.now() - t0);
      }
      v.focus = {side: 'k', i: 3};
      const t0 = performance.now();
      v.area.redraw();
      times.push(performance.now() - t0);
      v.focus = null;
      host.scrollTop = 0;
      v.area.redraw();
      return times;
    });
    for (const t of timing) assert.ok(t < 250, `a head-view redraw took ${t.toFixed(0)} ms: ${timing.map(x => x.toFixed(0))}`);
    await assertDrawn(page, '#heads-canvas', 2000);
    await shot(page, 'heads-1024');
    assert.deepEqual(page.blocked, []);
    assert.deepEqual(page.errors, []);
  });

  test('interventions and the token strip at 1024 tokens: the grid refused (too costly), the logit lens and its table', {timeout: 120000}, async () => {
    // the 1024-token analysis of the test above (the text was cut to the context: so are the interventions')
    assert.equal(await page.evaluate(() => window.explorer.state.an.T), 1024);
    assert.equal(await page.locator('#an-tokens .tok').count(), 1024);
    await tab(page, 'interventions');
    // A grid over 1024 tokens of GPT-2 would take minutes: the server's 413 says how many tokens fit.
    await page.click('#grid-run');
    await page.waitForSelector('#iv-ablation .view-msg.error:not([hidden])', {timeout: 60000});
    assert.match(await page.textContent('#iv-ablation .view-msg'), /an ablation grid of 1024 tokens .*use at most \d+ tokens \(HTTP 413\)/);
    assert.ok(await page.isEnabled('#grid-run'));
    await assertDrawn(page, '#grid-canvas', 2000);  // the grid, empty, still takes a selection
    await page.click('#lens-run');
    await page.waitForSelector('#lens-canvas[data-drawn^="lens|"]', {timeout: 60000});
    await idle(page);
    const d = await page.evaluate(() => {
      const v = window.explorer.views.interventions.lens, t0 = performance.now();
      v.render();
      const t1 = performance.now();
      v.renderTable();
      return {T: v.data.r.T, rows: v.data.r.n_rows, draw: t1 - t0, table: performance.now() - t1,
              cells: document.querySelectorAll('#lens-table td').length, w: document.querySelector('#lens-canvas').width};
    });
    assert.equal(d.T, 1024);
    assert.equal(d.cells, d.rows * 1024);
    assert.ok(d.draw < 500 && d.table < 3000, `the lens took ${d.draw.toFixed(0)} ms to draw, its table ${d.table.toFixed(0)} ms`);
    await assertDrawn(page, '#lens-canvas', 5000);
    await shot(page, 'interventions-1024');
    assert.deepEqual(page.blocked, []);
    assert.deepEqual(page.errors, []);
  });
});
