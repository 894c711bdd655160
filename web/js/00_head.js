// The Attention Explorer: the single-page front end of `attn explore` (and of the standalone page that
// `attn viz` writes). Plain JavaScript, no libraries. The JSON API is docs/explorer_api.md.
//
// The script is app.js, made at build time by cmake/embed_web.cmake: web/js/*.js concatenated in name order
// (the only build step). It is one IIFE across the files: this one opens it and 90_boot.js closes it, so every
// file shares its scope and sees what the others define.
//
// Map of the files:
//   01_helpers         DOM, numbers, token display, f32-base64 decoding
//   02_api             one fetch layer; with window.ATTN_STATIC it answers from precomputed responses
//   03_state           the current analysis, the attention matrices fetched for it (a cache), the head types
//   04_status          the status line and each view's messages
//   05_colours         Blues / Viridis / RdBu (the stops of src/attn/viz/colormap.cpp), head colours
//   06_painters        one drawing interface, two back ends: canvas (screen, PNG) and SVG (export); ScrollArea,
//                      a canvas that draws only the visible rows of a tall figure (1024 tokens)
//   07_tooltip         the tooltip of every figure
//   10_ .. 15_         views: heads, model, matrix, neuron, generate, types: each draws a figure with a painter
//   16_export          PNG, SVG, JSON downloads
//   17_ .. 19_         translation, image, relevance: views with their own requests
//   20_ .. 25_         interventions (one tab): shared drawing, ablation grid + ablate, compare, logit lens,
//                      activation patching, the tab's view
//   30_token_strip     the analyzed tokens under the text box: click to mask one, double-click to edit it
//   90_boot            model info, analysis, tabs, start-up
// The static page (attn viz) inlines app.js and escapes every "</" in it as "<\/": harmless inside
// strings, fatal in a regular expression, so no "</" may appear outside a string in any file (tested).
'use strict';
(function () {

