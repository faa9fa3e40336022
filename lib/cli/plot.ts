/**
 * loss.svg: a hand-written SVG line chart of a run: the training loss (per
 * step, faint, and per-epoch mean, solid) on the left axis, and on a second
 * axis at the right the kNN monitor accuracy and the collapse monitor per
 * epoch (as std·√d, 1 for embeddings spread over the sphere and 0 for
 * collapsed ones, so both live on [0, 1]), against epochs.
 * @module
 */

export interface PlotData {
  title: string;
  /** Per-epoch points; `epoch` is 1-based (the epoch just finished). */
  epochs: Array<{ epoch: number; loss: number; knn?: number; collapse?: number }>;
  /** Per-step losses; `x` in epochs (step / steps per epoch). */
  steps?: Array<{ x: number; loss: number }>;
  /** √d for embeddings of width d: the collapse monitor is plotted times this (1 = spread); default 1 (as recorded). */
  collapseScale?: number;
}

const W = 720, H = 400;
const M = { left: 70, right: 70, top: 48, bottom: 56 };
const PW = W - M.left - M.right, PH = H - M.top - M.bottom;
const LOSS = '#1f77b4', STEPLOSS = '#9ecae1', KNN = '#e6550d', SPREAD = '#31a354';

/** Round numbers covering [lo, hi] with about `count` intervals. */
export function niceTicks(lo: number, hi: number, count = 5): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const a = Number((Math.floor(lo / step + 1e-9) * step).toPrecision(12)), b = Number((Math.ceil(hi / step - 1e-9) * step).toPrecision(12));
  const ticks: number[] = [];
  for (let v = a; v <= b + step * 1e-6; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo: a, hi: b, step, ticks };
}

function fmt(v: number, step: number): string {
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(digits);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** Averages consecutive points down to at most `max` points. */
function downsample(pts: Array<{ x: number; loss: number }>, max: number): Array<{ x: number; loss: number }> {
  if (pts.length <= max) return pts;
  const out: Array<{ x: number; loss: number }> = [];
  const per = pts.length / max;
  for (let b = 0; b < max; b++) {
    const s = Math.floor(b * per), e = Math.floor((b + 1) * per);
    let sx = 0, sl = 0;
    for (let i = s; i < e; i++) {
      sx += pts[i]!.x;
      sl += pts[i]!.loss;
    }
    out.push({ x: sx / (e - s), loss: sl / (e - s) });
  }
  return out;
}

/** What is plotted: the finite points of each series, and the right axis's values (kNN accuracy and spread). */
interface Series {
  steps: Array<{ x: number; loss: number }>;
  epochs: PlotData['epochs'];
  knn: Array<{ epoch: number; knn: number }>;
  spread: Array<{ epoch: number; v: number }>;
  /** The collapse monitor's scale (√d, or 1). */
  scale: number;
  right: number[];
}

/** The axes: ticks of x (epochs), of the loss (left) and of the right axis (null without kNN or spread), and the maps to pixels. */
interface Axes {
  xt: ReturnType<typeof niceTicks>;
  yt: ReturnType<typeof niceTicks>;
  kt: ReturnType<typeof niceTicks> | null;
  X: (v: number) => number;
  Y: (v: number) => number;
  K: (v: number) => number;
}

/** The series of `d`, without non-finite points; the per-step losses averaged down to at most 600 points. */
function plotSeries(d: PlotData): Series {
  const steps = downsample((d.steps ?? []).filter((p) => Number.isFinite(p.loss) && Number.isFinite(p.x)), 600);
  const epochs = d.epochs.filter((e) => Number.isFinite(e.loss));
  const knn = d.epochs.filter((e) => typeof e.knn === 'number' && Number.isFinite(e.knn)) as Array<{ epoch: number; knn: number }>;
  const scale = d.collapseScale ?? 1;
  const spread = d.epochs.flatMap((e) => (typeof e.collapse === 'number' && Number.isFinite(e.collapse) ? [{ epoch: e.epoch, v: e.collapse * scale }] : []));
  const right = [...knn.map((e) => e.knn), ...spread.map((e) => e.v)];
  return { steps, epochs, knn, spread, scale, right };
}

/** Axes covering every series, and the maps from values to pixels. */
function plotAxes({ steps, epochs, knn, spread, right }: Series): Axes {
  const xmaxData = Math.max(1, ...epochs.map((e) => e.epoch), ...steps.map((p) => p.x), ...knn.map((e) => e.epoch), ...spread.map((e) => e.epoch));
  const xt = niceTicks(0, xmaxData, Math.min(10, Math.max(2, Math.ceil(xmaxData))));
  // Integer epoch ticks when there are few epochs.
  if (xt.step < 1) {
    xt.step = 1;
    xt.hi = Math.ceil(xmaxData);
    xt.ticks = Array.from({ length: xt.hi + 1 }, (_, i) => i);
  }
  const losses = [...epochs.map((e) => e.loss), ...steps.map((p) => p.loss)];
  const yt = losses.length ? niceTicks(Math.min(...losses), Math.max(...losses)) : niceTicks(0, 1);
  const rmax = Math.max(...right);
  const kt = right.length ? niceTicks(Math.max(0, Math.min(...right) - 0.02), rmax <= 1 ? Math.min(1, rmax + 0.02) : rmax + 0.02, 5) : null;
  const X = (v: number) => r2(M.left + ((v - xt.lo) / (xt.hi - xt.lo)) * PW);
  const Y = (v: number) => r2(M.top + PH - ((v - yt.lo) / (yt.hi - yt.lo)) * PH);
  const K = (v: number) => r2(M.top + PH - ((v - kt!.lo) / (kt!.hi - kt!.lo)) * PH);
  return { xt, yt, kt, X, Y, K };
}

/** The document's opening: the svg element, its title, background and heading. */
function svgHead(title: string): string[] {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
}

/** The grid lines of the loss ticks, the axes and their tick marks. */
function svgAxes({ xt, yt, kt, X, Y, K }: Axes): string[] {
  const o: string[] = [];
  o.push(`<g stroke="#e5e5e5" stroke-width="1">`);
  for (const v of yt.ticks) o.push(`<line x1="${M.left}" y1="${Y(v)}" x2="${M.left + PW}" y2="${Y(v)}"/>`);
  o.push(`</g>`);
  o.push(`<g stroke="#333333" stroke-width="1" fill="none">`);
  o.push(`<line x1="${M.left}" y1="${M.top + PH}" x2="${M.left + PW}" y2="${M.top + PH}"/>`);
  o.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + PH}"/>`);
  if (kt) o.push(`<line x1="${M.left + PW}" y1="${M.top}" x2="${M.left + PW}" y2="${M.top + PH}"/>`);
  for (const v of xt.ticks) o.push(`<line x1="${X(v)}" y1="${M.top + PH}" x2="${X(v)}" y2="${M.top + PH + 5}"/>`);
  for (const v of yt.ticks) o.push(`<line x1="${M.left - 5}" y1="${Y(v)}" x2="${M.left}" y2="${Y(v)}"/>`);
  if (kt) for (const v of kt.ticks) o.push(`<line x1="${M.left + PW}" y1="${K(v)}" x2="${M.left + PW + 5}" y2="${K(v)}"/>`);
  o.push(`</g>`);
  return o;
}

/** The tick labels and the axis titles (the right one names the series it carries). */
function svgLabels({ xt, yt, kt, X, Y, K }: Axes, { knn, spread, scale }: Series): string[] {
  const o: string[] = [];
  o.push(`<g fill="#333333">`);
  for (const v of xt.ticks) o.push(`<text x="${X(v)}" y="${M.top + PH + 19}" text-anchor="middle">${fmt(v, xt.step)}</text>`);
  for (const v of yt.ticks) o.push(`<text x="${M.left - 8}" y="${Y(v) + 4}" text-anchor="end">${fmt(v, yt.step)}</text>`);
  if (kt) for (const v of kt.ticks) o.push(`<text x="${M.left + PW + 8}" y="${K(v) + 4}" text-anchor="start">${fmt(v, kt.step)}</text>`);
  o.push(`<text x="${M.left + PW / 2}" y="${H - 12}" text-anchor="middle">epoch</text>`);
  o.push(`<text transform="translate(18 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle" fill="${LOSS}">training loss</text>`);
  const rightTitle = [knn.length ? 'kNN accuracy' : '', spread.length ? (scale !== 1 ? 'spread (std·√d)' : 'collapse (std)') : ''].filter(Boolean).join(', ');
  if (kt) o.push(`<text transform="translate(${W - 14} ${M.top + PH / 2}) rotate(90)" text-anchor="middle" fill="${knn.length ? KNN : SPREAD}">${esc(rightTitle)}</text>`);
  o.push(`</g>`);
  return o;
}

/** The lines and markers of each series, or a note when there is nothing to draw yet. */
function svgSeries({ kt, X, Y, K }: Axes, { steps, epochs, knn, spread }: Series): string[] {
  const o: string[] = [];
  if (steps.length > 1)
    o.push(`<polyline fill="none" stroke="${STEPLOSS}" stroke-width="1" points="${steps.map((p) => `${X(p.x)},${Y(p.loss)}`).join(' ')}"/>`);
  if (epochs.length) {
    o.push(`<polyline fill="none" stroke="${LOSS}" stroke-width="2" points="${epochs.map((e) => `${X(e.epoch)},${Y(e.loss)}`).join(' ')}"/>`);
    o.push(`<g fill="${LOSS}">${epochs.map((e) => `<circle cx="${X(e.epoch)}" cy="${Y(e.loss)}" r="3"/>`).join('')}</g>`);
  }
  if (kt && knn.length) {
    o.push(`<polyline fill="none" stroke="${KNN}" stroke-width="2" stroke-dasharray="6 3" points="${knn.map((e) => `${X(e.epoch)},${K(e.knn)}`).join(' ')}"/>`);
    o.push(`<g fill="${KNN}">${knn.map((e) => `<rect x="${X(e.epoch) - 3}" y="${K(e.knn) - 3}" width="6" height="6"/>`).join('')}</g>`);
  }
  if (kt && spread.length) {
    o.push(`<polyline fill="none" stroke="${SPREAD}" stroke-width="2" stroke-dasharray="2 3" points="${spread.map((e) => `${X(e.epoch)},${K(e.v)}`).join(' ')}"/>`);
    o.push(`<g fill="${SPREAD}">${spread.map((e) => `<circle cx="${X(e.epoch)}" cy="${K(e.v)}" r="2.5"/>`).join('')}</g>`);
  }
  if (!epochs.length && steps.length < 2)
    o.push(`<text x="${M.left + PW / 2}" y="${M.top + PH / 2}" text-anchor="middle" fill="#999999">no finished epoch yet</text>`);
  return o;
}

/** The legend above the plot: both losses, and kNN and spread where they are plotted. */
function svgLegend({ knn, spread, scale }: Series): string[] {
  const lx = M.left + 10;
  const o: string[] = [];
  o.push(`<g font-size="11">`);
  o.push(`<line x1="${lx}" y1="36" x2="${lx + 20}" y2="36" stroke="${STEPLOSS}" stroke-width="1"/><text x="${lx + 25}" y="40">loss per step</text>`);
  o.push(`<line x1="${lx + 120}" y1="36" x2="${lx + 140}" y2="36" stroke="${LOSS}" stroke-width="2"/><text x="${lx + 145}" y="40">loss per epoch</text>`);
  if (knn.length)
    o.push(`<line x1="${lx + 250}" y1="36" x2="${lx + 270}" y2="36" stroke="${KNN}" stroke-width="2" stroke-dasharray="6 3"/><text x="${lx + 275}" y="40">kNN accuracy (right axis)</text>`);
  if (spread.length) {
    const sx = lx + (knn.length ? 430 : 250);
    o.push(`<line x1="${sx}" y1="36" x2="${sx + 20}" y2="36" stroke="${SPREAD}" stroke-width="2" stroke-dasharray="2 3"/><text x="${sx + 25}" y="40">${scale !== 1 ? 'spread std·√d' : 'collapse std'} (right)</text>`);
  }
  o.push(`</g>`);
  return o;
}

/** The SVG document for `d`. */
export function renderPlot(d: PlotData): string {
  const series = plotSeries(d);
  const axes = plotAxes(series);
  const o = [...svgHead(d.title), ...svgAxes(axes), ...svgLabels(axes, series), ...svgSeries(axes, series), ...svgLegend(series), `</svg>`];
  return o.join('\n') + '\n';
}
