// ---------------------------------------------------------------- colours
// The colour maps (Blues, Viridis, RdBu: the stops of src/attn/viz/colormap.cpp; Inferno) and the heads' colours.
const CMAPS = {
  blues: [[247, 251, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225], [107, 174, 214], [66, 146, 198],
          [33, 113, 181], [8, 81, 156], [8, 48, 107]],
  viridis: [[68, 1, 84], [71, 13, 96], [72, 24, 106], [72, 35, 116], [71, 45, 123], [69, 54, 129], [66, 64, 134],
            [63, 73, 137], [59, 82, 139], [55, 90, 141], [51, 99, 141], [47, 106, 142], [44, 114, 142], [41, 122, 142],
            [38, 129, 142], [35, 137, 142], [33, 144, 140], [31, 152, 139], [31, 159, 136], [33, 166, 133],
            [40, 174, 128], [49, 181, 123], [62, 188, 116], [76, 194, 108], [93, 201, 99], [110, 206, 88],
            [130, 211, 76], [150, 216, 63], [171, 220, 50], [192, 223, 36], [213, 226, 26], [234, 229, 26],
            [253, 231, 37]],
  inferno: [[0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10],
            [249, 201, 50], [252, 255, 164]],
  rdbu: [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
         [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]],
};
const LUTS = {};
for (const [name, stops] of Object.entries(CMAPS)) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255 * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(x)), f = x - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]));
  }
  LUTS[name] = lut;
}
function cmapRgb(name, t) {
  const i = Math.round(clamp(Number.isFinite(t) ? t : 0, 0, 1) * 255) * 3, l = LUTS[name];
  return `rgb(${l[i]},${l[i + 1]},${l[i + 2]})`;
}
// Light text on dark cells.
function inkOn(name, t) {
  const i = Math.round(clamp(t, 0, 1) * 255) * 3, l = LUTS[name];
  return (0.299 * l[i] + 0.587 * l[i + 1] + 0.114 * l[i + 2]) < 140 ? '#fff' : INK;
}
const HEAD_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf',
                     '#bcbd22', '#7f7f7f', '#393b79', '#ad494a', '#637939', '#843c39', '#7b4173', '#3182bd'];
function headColor(hd) {
  return hd < HEAD_COLORS.length ? HEAD_COLORS[hd] : `hsl(${(hd * 137.5) % 360}, 60%, 42%)`;
}
// A heatmap spec: values data[offset + r*stride + c], t = (v - vmin)/(vmax - vmin) clamped, then t^gamma.
function heatT(spec, v) {
  let t = (v - spec.vmin) / (spec.vmax - spec.vmin || 1);
  t = Number.isFinite(t) ? clamp(t, 0, 1) : 0;
  return spec.gamma && spec.gamma !== 1 ? Math.pow(t, spec.gamma) : t;
}

