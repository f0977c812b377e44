// rpbtool's interactive figure (src/core/html_figure.js, include/rpb/html_figure.hpp). It reads
// the JSON of the script element "rpb-data", decodes the base64 float32 values, and builds the
// figure: title, controls, the panel grid (one canvas per panel: cells, frame, ticks), axis
// labels, the colour bar, and the tooltip. Everything is drawn here: the page loads nothing.
//
// For tests and scripts it sets window.rpbFigure: cellCenter(p, r, c) gives the client
// coordinates of value (r, c) of panel p when shown, tipText() the tooltip's text, and show(p)
// selects a panel (-1: all), as the selector does.
(function () {
'use strict';
const D = JSON.parse(document.getElementById('rpb-data').textContent);
const dpr = window.devicePixelRatio || 1;
const FONT = '12px sans-serif';

function decode(b64) {
  const s = atob(b64);
  const a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; ++i) a[i] = s.charCodeAt(i);
  return new DataView(a.buffer);
}
const values = decode(D.values);
const entries = D.entries === null ? null : decode(D.entries);
const value = (p, dr, dc) =>
  values.getFloat32(4 * ((p * D.drawn_rows + dr) * D.drawn_cols + dc), true);
const entry = (r, c) => entries.getInt32(4 * (r * D.cols + c), true);
const colors = [];
for (let e = 0; e < 256; ++e) {
  colors.push([0, 2, 4].map((o) => parseInt(D.colors.substr(6 * e + o, 2), 16)));
}

// matplotlib's lookup, as the PNG: min(floor(t * 256), 255), t clamped to [0, 1].
function colorIndex(v) {
  let t;
  if (D.scale === 'symmetric') t = D.value_max === 0 ? 0.5 : 0.5 + 0.5 * v / D.value_max;
  else t = D.value_max === D.value_min ? 0 : (v - D.value_min) / (D.value_max - D.value_min);
  if (!(t > 0)) return 0;
  return Math.min(Math.floor(t * 256), 255);
}
// The shortest text that reads back to the same float32.
function exact(v) {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  for (let p = 1; p <= 9; ++p) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return s;
  }
  return v.toPrecision(9);
}
const g3 = (v) => String(Number(v.toPrecision(3)));
function barText(v, top) {
  if (D.scale === 'ids') return v.toFixed(0);
  if (D.scale === 'symmetric') return v === 0 ? '0' : (top ? '+' : '-') + g3(Math.abs(v));
  return g3(v);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
const measure = document.createElement('canvas').getContext('2d');
measure.font = FONT;
const textWidth = (t) => measure.measureText(t).width;

// --- static parts -------------------------------------------------------------------------
const body = document.body;
body.appendChild(el('h1', '', D.title));
if (D.k > 1) {
  body.appendChild(el('p', 'note', 'reduced 1:' + D.k + ' (each cell shows ' +
    (D.scale === 'ids' ? 'the top-left id' : 'the mean') + ' of a ' + D.k + 'x' + D.k +
    ' block of the ' + D.rows + ' x ' + D.cols + ' values)'));
}
const controls = el('div', 'controls');
const select = el('select');
select.id = 'rpb-panel';
select.appendChild(new Option(D.panels.length > 1 ? 'all panels' : D.panels[0].title, '-1'));
const panelName = (p) => {
  const row = Math.floor(D.panels[p].slot / D.grid_columns);
  const label = D.row_labels[row];
  return label ? label + ', ' + D.panels[p].title : D.panels[p].title;
};
if (D.panels.length > 1) {
  D.panels.forEach((_, p) => select.appendChild(new Option(panelName(p), String(p))));
}
controls.append(el('label', '', 'Show '), select, el('span', '', ' Zoom '));
const buttons = {};
for (const [name, text, title] of [['in', '+', 'zoom in'], ['out', '\u2212', 'zoom out'],
                                   ['reset', 'reset', 'whole panels']]) {
  buttons[name] = el('button', '', text);
  buttons[name].title = title;
  controls.appendChild(buttons[name]);
}
controls.appendChild(el('span', 'hint', 'hover a cell for its values; wheel: zoom, drag: pan'));
body.appendChild(controls);

const figure = el('div', 'figure');
const ylabel = el('div', 'ylabel', D.y_label);
const grid = el('div', 'grid');
const bar = el('canvas', 'bar');
const xlabel = el('div', 'xlabel', D.x_label);
figure.append(ylabel, grid, bar, xlabel);
body.appendChild(figure);
const tip = el('div', 'tip');
tip.id = 'rpb-tip';
tip.hidden = true;
body.appendChild(tip);

// One small image per panel, a pixel per embedded cell, scaled when drawn.
const images = D.panels.map((_, p) => {
  const c = document.createElement('canvas');
  c.width = D.drawn_cols;
  c.height = D.drawn_rows;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(D.drawn_cols, D.drawn_rows);
  for (let i = 0; i < D.drawn_rows * D.drawn_cols; ++i) {
    const rgb = colors[colorIndex(value(p, Math.floor(i / D.drawn_cols), i % D.drawn_cols))];
    img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c;
});

// --- state: which panels, their size, and the view shared by all panels --------------------
let shown = D.panels.map((_, p) => p);
let view = { x0: 0, y0: 0, zoom: 1 };
let layout = null;     // sizes of the panel canvases
let hover = null;      // { p, dr, dc } under the cursor
const canvases = [];   // { p, canvas }
const maxZoom = Math.max(1, Math.max(D.rows, D.cols) / 2);
const viewW = () => D.cols / view.zoom;
const viewH = () => D.rows / view.zoom;

function clampView() {
  view.zoom = Math.min(Math.max(view.zoom, 1), maxZoom);
  view.x0 = Math.min(Math.max(view.x0, 0), D.cols - viewW());
  view.y0 = Math.min(Math.max(view.y0, 0), D.rows - viewH());
}

function tickLabels(first, count) {
  return [String(first), String(first + count - 1)];
}
function computeLayout() {
  const ml = 10 + Math.max(...tickLabels(D.y_first, D.rows).map(textWidth));
  const mr = 4 + Math.max(...tickLabels(D.x_first, D.cols).map(textWidth)) / 2;
  const mt = 8; // room for the half of the first y tick label above the cells
  const mb = 22;
  const room = Math.max(320, window.innerWidth - 200 - ml - mr);
  let box;
  if (shown.length === 1) {
    box = [Math.min(room, 1100), Math.max(260, Math.min(window.innerHeight - 190, 820))];
  } else {
    const perRow = D.grid_columns + (D.row_labels.length ? 0.6 : 0);
    box = [Math.min(480, Math.max(110, room / perRow - ml - mr - 18)), 480];
  }
  let cell = Math.min(box[0] / D.cols, box[1] / D.rows, 48);
  if (cell >= 3) cell = Math.floor(cell); // whole pixels per value: crisp cells
  return { ml, mr, mt, mb, cell, pw: cell * D.cols, ph: cell * D.rows };
}

// Ticks at multiples of 1, 2, 5, 10, ... of the labels, far enough apart to read.
function ticks(first, v0, span, pxPerValue, horizontal) {
  const lo = Math.ceil(v0 - 0.5);
  const hi = Math.floor(v0 + span - 0.5);
  const widest = Math.max(...tickLabels(first + lo, hi - lo + 1).map(textWidth));
  const need = horizontal ? widest + 10 : 22;
  for (let step = 1; ; step *= 10) {
    for (const m of [1, 2, 5]) {
      const s = step * m;
      const n = Math.floor((first + hi) / s) - Math.floor((first + lo - 1) / s);
      if ((s * pxPerValue >= need && n <= 8) || s > hi - lo) {
        const out = [];
        for (let label = Math.ceil((first + lo) / s) * s; label <= first + hi; label += s) {
          out.push({ at: (label - first + 0.5 - v0) * pxPerValue, text: String(label) });
        }
        return out;
      }
    }
  }
}

function drawPanel(p, canvas) {
  const L = layout;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  const k = D.k;
  ctx.drawImage(images[p], view.x0 / k, view.y0 / k, viewW() / k, viewH() / k,
                L.ml, L.mt, L.pw, L.ph);
  const ppv = L.pw / viewW();
  if (hover && hover.p === p) {
    const x = L.ml + (hover.dc * k - view.x0) * ppv;
    const y = L.mt + (hover.dr * k - view.y0) * ppv;
    ctx.save();
    ctx.beginPath();
    ctx.rect(L.ml, L.mt, L.pw, L.ph);
    ctx.clip();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#fff';
    ctx.strokeRect(x - 1, y - 1, k * ppv + 2, k * ppv + 2);
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#000';
    ctx.strokeRect(x - 2.5, y - 2.5, k * ppv + 5, k * ppv + 5);
    ctx.restore();
  }
  ctx.strokeStyle = '#5a5a5a';
  ctx.lineWidth = 1;
  ctx.strokeRect(L.ml - 0.5, L.mt - 0.5, L.pw + 1, L.ph + 1);
  ctx.fillStyle = '#222';
  ctx.font = FONT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of ticks(D.x_first, view.x0, viewW(), ppv, true)) {
    ctx.fillRect(L.ml + t.at - 0.5, L.mt + L.ph + 0.5, 1, 4);
    ctx.fillText(t.text, L.ml + t.at, L.mt + L.ph + 7);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks(D.y_first, view.y0, viewH(), ppv, false)) {
    ctx.fillRect(L.ml - 4.5, L.mt + t.at - 0.5, 4, 1);
    ctx.fillText(t.text, L.ml - 7, L.mt + t.at);
  }
}

// The bar spans the cells of the grid, from the first row's top to the last row's bottom.
function cellsSpan() {
  let top = Infinity, bottom = -Infinity;
  for (const c of canvases) {
    const r = c.canvas.getBoundingClientRect();
    top = Math.min(top, r.top + layout.mt);
    bottom = Math.max(bottom, r.top + layout.mt + layout.ph);
  }
  return { top: top - grid.getBoundingClientRect().top, height: bottom - top };
}

function drawBar() {
  const L = layout;
  const span = cellsSpan();
  const h = Math.round(Math.max(160, span.height));
  const labels = [barText(D.value_max, true), barText(D.value_min, false)];
  if (D.scale === 'symmetric') labels.push('0');
  const w = 18 + 8 + Math.max(...labels.map(textWidth)) + (D.value_label ? 26 : 4);
  bar.width = Math.ceil(w * dpr);
  bar.height = Math.ceil((h + 12) * dpr);
  bar.style.width = Math.ceil(w) + 'px';
  bar.style.height = Math.ceil(h + 12) + 'px';
  bar.style.marginTop = Math.max(0, span.top - 6) + 'px';
  const ctx = bar.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const top = 6;
  for (let r = 0; r < h; ++r) {
    const e = Math.round((h - 1 - r) * 255 / (h - 1));
    ctx.fillStyle = 'rgb(' + colors[e].join(',') + ')';
    ctx.fillRect(0, top + r, 18, 1);
  }
  ctx.strokeStyle = '#5a5a5a';
  ctx.strokeRect(0.5, top - 0.5, 17, h + 1);
  ctx.fillStyle = '#222';
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  const at = [top, top + h - 1, top + (h - 1) / 2];
  labels.forEach((t, i) => {
    ctx.fillRect(18, at[i] - 0.5, 4, 1);
    ctx.fillText(t, 26, at[i]);
  });
  if (hover) {
    const e = colorIndex(value(hover.p, hover.dr, hover.dc));
    const y = top + (h - 1) * (1 - e / 255);
    ctx.beginPath();
    ctx.moveTo(18, y);
    ctx.lineTo(25, y - 5);
    ctx.lineTo(25, y + 5);
    ctx.closePath();
    ctx.fill();
    ctx.fillRect(0, y - 0.5, 18, 1);
  }
  if (D.value_label) {
    ctx.save();
    ctx.translate(w - 8, top + h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(D.value_label, 0, 0);
    ctx.restore();
  }
}
function redraw() {
  for (const c of canvases) drawPanel(c.p, c.canvas);
  drawBar();
}

function build() {
  layout = computeLayout();
  const L = layout;
  grid.replaceChildren();
  canvases.length = 0;
  const single = shown.length === 1;
  const labelled = !single && D.row_labels.length > 0;
  const offset = labelled ? 1 : 0;
  grid.style.gridTemplateColumns =
    (labelled ? 'auto ' : '') + 'repeat(' + (single ? 1 : D.grid_columns) + ', auto)';
  if (labelled) {
    D.row_labels.forEach((label, r) => {
      const e = el('div', 'rowlabel', label);
      e.style.gridRow = String(r + 1);
      e.style.gridColumn = '1';
      grid.appendChild(e);
    });
  }
  for (const p of shown) {
    const box = el('div', 'panel');
    const title = el('div', 'ptitle', single ? panelName(p) : D.panels[p].title);
    title.style.width = L.pw + 'px';
    title.style.marginLeft = L.ml + 'px';
    const canvas = el('canvas', 'cells');
    canvas.width = Math.ceil((L.ml + L.pw + L.mr) * dpr);
    canvas.height = Math.ceil((L.mt + L.ph + L.mb) * dpr);
    canvas.style.width = (L.ml + L.pw + L.mr) + 'px';
    canvas.style.height = (L.mt + L.ph + L.mb) + 'px';
    canvas.dataset.panel = String(p);
    box.append(title, canvas);
    if (!single) {
      const slot = D.panels[p].slot;
      box.style.gridRow = String(Math.floor(slot / D.grid_columns) + 1);
      box.style.gridColumn = String(slot % D.grid_columns + 1 + offset);
    }
    grid.appendChild(box);
    canvases.push({ p, canvas });
    attach(p, canvas);
  }
  xlabel.style.marginLeft = L.ml + 'px';
  redraw();
}

// --- what a cell stands for ----------------------------------------------------------------
function range(a, b) {
  return a === b ? String(a) : a + ' to ' + b;
}
function token(t) {
  const pr = D.pairs;
  if (pr.cls_token && t === 0) return null;
  const q = t - (pr.cls_token ? 1 : 0);
  return [Math.floor(q / pr.window_w), q % pr.window_w];
}
// Lines [name, value] for embedded cell (dr, dc) of panel p.
function describe(p, dr, dc) {
  const k = D.k;
  const r0 = dr * k, r1 = Math.min(r0 + k, D.rows) - 1;
  const c0 = dc * k, c1 = Math.min(c0 + k, D.cols) - 1;
  const lines = [];
  lines.push([D.row_name, range(D.y_first + r0, D.y_first + r1)]);
  lines.push([D.col_name, range(D.x_first + c0, D.x_first + c1)]);
  const pr = D.pairs;
  if (pr && pr.type === 't5') {
    lines.push(['key - query', range(c0 - r1 - pr.offset, c1 - r0 - pr.offset)]);
  } else if (pr && pr.type === '1d') {
    lines.push(['query - key', range(r0 - c1, r1 - c0)]);
  } else if (pr && pr.type === '2d' && k === 1) {
    const a = token(r0), b = token(c0);
    const name = (t) => t === null ? 'class token' : '(' + t[0] + ', ' + t[1] + ')';
    lines.push(['query patch (row, col)', name(a)]);
    lines.push(['key patch (row, col)', name(b)]);
    if (a !== null && b !== null) {
      lines.push(['offset (dy, dx)', '(' + (a[0] - b[0]) + ', ' + (a[1] - b[1]) + ')']);
    }
  }
  if (entries !== null) lines.push([D.entry_label, String(entry(r0, c0))]);
  const v = exact(value(p, dr, dc));
  const label = D.value_label || 'value';
  if (k === 1) {
    lines.push([label, v]);
  } else if (D.scale === 'ids') {
    lines.push([label + ' at (' + (D.y_first + r0) + ', ' + (D.x_first + c0) + '), sampled', v]);
  } else {
    lines.push(['mean ' + label + ' of ' + (r1 - r0 + 1) + ' x ' + (c1 - c0 + 1) + ' values',
                v]);
  }
  return lines;
}

function showTip(p, dr, dc, clientX, clientY) {
  tip.replaceChildren(el('div', 'head', panelName(p)));
  for (const [name, text] of describe(p, dr, dc)) {
    const line = el('div');
    line.append(name + ' = ', el('span', 'value', text));
    tip.appendChild(line);
  }
  tip.dataset.panel = String(p);
  tip.dataset.row = String(dr);
  tip.dataset.col = String(dc);
  tip.hidden = false;
  const w = tip.offsetWidth, h = tip.offsetHeight;
  const x = clientX + 16 + w > window.innerWidth ? clientX - 12 - w : clientX + 16;
  const y = clientY + 16 + h > window.innerHeight ? clientY - 12 - h : clientY + 16;
  tip.style.left = Math.max(0, x) + 'px';
  tip.style.top = Math.max(0, y) + 'px';
}

// --- input ---------------------------------------------------------------------------------
function cellAt(canvas, clientX, clientY) {
  const L = layout;
  const rect = canvas.getBoundingClientRect();
  const px = clientX - rect.left - L.ml, py = clientY - rect.top - L.mt;
  if (px < 0 || py < 0 || px >= L.pw || py >= L.ph) return null;
  const ppv = L.pw / viewW();
  const c = Math.min(Math.floor(view.x0 + px / ppv), D.cols - 1);
  const r = Math.min(Math.floor(view.y0 + py / ppv), D.rows - 1);
  return { fx: px / L.pw, fy: py / L.ph, dr: Math.floor(r / D.k), dc: Math.floor(c / D.k) };
}
function zoomBy(factor, fx, fy) {
  const x = view.x0 + fx * viewW(), y = view.y0 + fy * viewH();
  view.zoom *= factor;
  clampView();
  view.x0 = x - fx * viewW();
  view.y0 = y - fy * viewH();
  clampView();
  redraw();
}
let drag = null;
function attach(p, canvas) {
  canvas.addEventListener('mousemove', (e) => {
    if (drag) {
      const ppv = layout.pw / viewW();
      view.x0 = drag.x0 - (e.clientX - drag.x) / ppv;
      view.y0 = drag.y0 - (e.clientY - drag.y) / ppv;
      clampView();
    }
    const cell = cellAt(canvas, e.clientX, e.clientY);
    hover = cell ? { p, dr: cell.dr, dc: cell.dc } : null;
    if (cell) showTip(p, cell.dr, cell.dc, e.clientX, e.clientY);
    else tip.hidden = true;
    redraw();
  });
  canvas.addEventListener('mouseleave', () => {
    hover = null;
    tip.hidden = true;
    redraw();
  });
  canvas.addEventListener('mousedown', (e) => {
    drag = { x: e.clientX, y: e.clientY, x0: view.x0, y0: view.y0 };
    canvas.classList.add('dragging');
    e.preventDefault();
  });
  canvas.addEventListener('wheel', (e) => {
    const cell = cellAt(canvas, e.clientX, e.clientY);
    if (!cell) return;
    e.preventDefault();
    zoomBy(e.deltaY < 0 ? 1.25 : 0.8, cell.fx, cell.fy);
  }, { passive: false });
}
window.addEventListener('mouseup', () => {
  drag = null;
  for (const c of canvases) c.canvas.classList.remove('dragging');
});
buttons.in.addEventListener('click', () => zoomBy(2, 0.5, 0.5));
buttons.out.addEventListener('click', () => zoomBy(0.5, 0.5, 0.5));
buttons.reset.addEventListener('click', () => {
  view = { x0: 0, y0: 0, zoom: 1 };
  redraw();
});
function show(p) {
  shown = p < 0 ? D.panels.map((_, i) => i) : [p];
  select.value = String(p);
  hover = null;
  tip.hidden = true;
  build();
}
select.addEventListener('change', () => show(Number(select.value)));
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(build, 100);
});
build();

window.rpbFigure = {
  data: D,
  show,
  tipText: () => (tip.hidden ? '' : tip.innerText),
  cellCenter(p, r, c) {
    const found = canvases.find((x) => x.p === p);
    if (!found) return null;
    const rect = found.canvas.getBoundingClientRect();
    const ppv = layout.pw / viewW();
    return { x: rect.left + layout.ml + (c + 0.5 - view.x0) * ppv,
             y: rect.top + layout.mt + (r + 0.5 - view.y0) * ppv };
  },
};
})();
