// The offline book (scripts/book.py) in Debian's Chromium, offline: every page opens, every figure loads, the
// formulas are typeset, no script fails, and no request leaves the machine (every URL asked for is file://).
// ATTN_BOOK names the book's folder (CTest builds it first: the book_build fixture).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BOOK = process.env.ATTN_BOOK || path.join(ROOT, 'build/release/book');
const CHROMIUM = process.env.ATTN_CHROMIUM || '/usr/bin/chromium';
const { chromium } = createRequire(path.join(ROOT, 'third_party/npm/'))('playwright-core');

function pages(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'assets' || e.name === 'figures' ? [] : pages(p);
    return e.name.endsWith('.html') ? [p] : [];
  });
}

let browser;
before(async () => { browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }); });
after(async () => { if (browser) await browser.close(); });

test('the book has its contents page, the lessons and the notebooks', () => {
  assert.ok(fs.existsSync(path.join(BOOK, 'index.html')), `${BOOK}/index.html is missing`);
  const all = pages(BOOK);
  assert.ok(all.filter(p => p.includes(`${path.sep}lessons${path.sep}`)).length >= 15, 'lessons');
  assert.ok(all.filter(p => p.includes(`${path.sep}notebooks${path.sep}`)).length >= 10, 'notebooks');
});

test('every page opens offline with its figures, formulas and links', { timeout: 600000 }, async () => {
  const all = pages(BOOK);
  const context = await browser.newContext();
  await context.setOffline(true);
  const outside = [];
  await context.route('**/*', route => {
    const url = route.request().url();
    if (!url.startsWith('file://') && !url.startsWith('data:')) { outside.push(url); return route.abort(); }
    return route.continue();
  });
  const index = fs.readFileSync(path.join(BOOK, 'index.html'), 'utf8');
  for (const file of all) {
    const rel = path.relative(BOOK, file);
    if (rel !== 'index.html' && !rel.startsWith('lessons/figures')) {
      assert.ok(index.includes(`href="${rel}"`), `${rel} is not in the contents`);
    }
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    const failed = [];
    page.on('requestfailed', r => failed.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const images = await page.$$eval('img', imgs => imgs.map(i => ({ src: i.src, ok: i.complete && i.naturalWidth > 0 })));
    for (const im of images) assert.ok(im.ok, `${rel}: figure ${im.src} did not load`);
    if (rel.startsWith('notebooks')) {
      // KaTeX typesets at DOMContentLoaded: no $…$ may be left in the prose (markdown cells) of a notebook page.
      const prose = await page.$$eval('.text_cell_render', cells => cells.map(c => c.textContent).join('\n'));
      const raw = prose.match(/\$[^$\n]+\$/);
      assert.equal(raw, null, `${rel}: a formula was not typeset: ${raw && raw[0]}`);
    }
    assert.deepEqual(errors, [], `${rel}: script errors`);
    assert.deepEqual(failed, [], `${rel}: requests that failed`);
    await page.close();
  }
  assert.deepEqual(outside, [], 'requests that would leave the machine');
  await context.close();
});
