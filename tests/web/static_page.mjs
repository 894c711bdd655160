// Builds the standalone page that `attn viz --out page.html` is to write, from a running explorer server:
// web/index.html with style.css and app.js inlined and window.ATTN_STATIC holding the precomputed
// responses, keyed by their canonical request lines. The browser tests use it to check the front end's
// static mode; by hand:
//
//   node tests/web/static_page.mjs http://127.0.0.1:8000/ "Call me Ishmael." page.html
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WEB = path.join(ROOT, 'web');

// The front end's script, app.js, as the build embeds it (cmake/embed_web.cmake): web/js/*.js concatenated in
// name order.
export function readAppJs(root = ROOT) {
  const dir = path.join(root, 'web/js');
  return fs.readdirSync(dir).filter(f => f.endsWith('.js')).sort()
    .map(f => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
}

async function getJson(base, method, pathAndQuery, body) {
  const res = await fetch(new URL(pathAndQuery.slice(1), base), {
    method, headers: body ? {'Content-Type': 'application/json'} : undefined, body: body ? JSON.stringify(body) : undefined});
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${pathAndQuery}: ${res.status} ${data.error}`);
  return data;
}

// The canonical request line, parameters in the contract's order.
export function requestKey(method, p, params = []) {
  return `${method} ${p}` + (params.length ? '?' + params.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&') : '');
}

// What a static page carries: info, the analysis, every layer's heads (one by one, plus mean and rollout),
// the neuron view of the default selection (layer 0, head 0, last token) and the head types.
export async function collectResponses(base, text) {
  const responses = {};
  const add = async (method, p, params, body) => {
    const key = requestKey(method, p, params);
    responses[key] = await getJson(base, method, key.slice(method.length + 1), body);
    return responses[key];
  };
  const info = await add('GET', '/api/info');
  const an = await add('POST', '/api/analyze', [], {text});
  for (let l = 0; l < info.model.n_layer; l++) {
    for (const hd of [...Array(info.model.n_head).keys(), 'mean', 'rollout']) {
      await add('GET', '/api/attention', [['id', an.id], ['layer', l], ['head', hd]]);
    }
  }
  await add('GET', '/api/neuron', [['id', an.id], ['layer', 0], ['head', 0], ['query', an.T - 1]]);
  await add('GET', '/api/head_types');
  return responses;
}

// index.html with its two asset lines replaced by inline tags. Every "</" in the JSON and in app.js is
// escaped as "<\/" (as attn viz does) so that nothing in them can close the script element.
export function inlinePage(staticData) {
  let html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
  const css = fs.readFileSync(path.join(WEB, 'style.css'), 'utf8');
  const js = readAppJs();
  const cssTag = '<link rel="stylesheet" href="style.css">', jsTag = '<script src="app.js"></script>';
  if (!html.includes(cssTag) || !html.includes(jsTag)) throw new Error('index.html lacks the exact asset lines');
  const json = JSON.stringify(staticData).replace(/<\//g, '<\\/');
  html = html.replace(cssTag, () => `<style>\n${css}</style>`);
  html = html.replace(jsTag, () => `<script>window.ATTN_STATIC = ${json};</script>\n<script>\n${js.replace(/<\//g, '<\\/')}</script>`);
  return html;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [base, text, out] = process.argv.slice(2);
  if (!base || !text || !out) {
    console.error('usage: node tests/web/static_page.mjs SERVER_URL TEXT OUT.html');
    process.exit(2);
  }
  const responses = await collectResponses(base, text);
  fs.writeFileSync(out, inlinePage({text, responses}));
  console.log(`wrote ${out} (${Object.keys(responses).length} responses)`);
}
