/**
 * Latency CDF plots for benchmark reports: drawn as SVG, rendered to PNG by
 * resvg (its WebAssembly build, so nothing native is installed) with the
 * DejaVu Sans font from npm, so text renders the same on a machine without
 * system fonts. The latency axis is logarithmic: the daemon's and the
 * subprocess path's latencies differ by orders of magnitude.
 * @module
 */
import { initWasm, Resvg } from "npm:@resvg/resvg-wasm@2.6.2";

// Importing the font package's manifest makes Deno fetch the package (and
// record it in npm.lock); the .ttf itself is then read from its folder.
await import("npm:dejavu-fonts-ttf@2.37.3/package.json", { with: { type: "json" } });

/** One line of a plot: latency samples in ms. */
export interface Series {
  label: string;
  samples: number[];
  color: string;
  dashed?: boolean;
}

/** Options of {@link cdfSvg}. */
export interface CdfOptions {
  title: string;
  subtitle?: string;
  width?: number;
  height?: number;
}

const esc = (t: string) =>
  t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** "0.1 ms", "1 ms", ..., "1 s", "10 s". */
function decadeLabel(e: number): string {
  const v = 10 ** e;
  if (v >= 1000) return `${v / 1000} s`;
  return `${v >= 1 ? v.toFixed(0) : v.toFixed(-e)} ms`;
}

/**
 * Draws the empirical CDF of each series: x is latency on a log scale, y the
 * fraction of requests answered within it, with guides at p50, p95 and p99;
 * below it, the tail on a log scale (the fraction of requests slower than
 * x), where p99 and beyond can be read.
 * @returns An SVG document.
 */
export function cdfSvg(series: Series[], options: CdfOptions): string {
  const width = options.width ?? 960;
  const legendRows = Math.ceil(series.length / 2);
  const left = 86, right = 30, top = options.subtitle ? 78 : 56;
  const cdfHeight = 340, gap = 26, tailHeight = 220;
  const tailTop = top + cdfHeight + gap;
  const axisBottom = tailTop + tailHeight;
  // The legend goes under the axes, two entries a row, where no curve can run.
  const height = options.height ?? axisBottom + 76 + 26 * legendRows;
  const pw = width - left - right;
  const all = series.flatMap((s) => s.samples).filter((x) => x > 0);
  const lo = Math.floor(Math.log10(all.length ? Math.min(...all) : 0.1));
  const hi = Math.ceil(Math.log10(all.length ? Math.max(...all) : 1000));
  const e0 = Math.min(lo, hi - 1);
  const e1 = Math.max(hi, e0 + 1);
  const x = (ms: number) => left + ((Math.log10(Math.max(ms, 10 ** e0)) - e0) / (e1 - e0)) * pw;
  const y = (f: number) => top + (1 - f) * cdfHeight;
  // The tail's decades: down to one sample in the largest series, at most 10^-3.
  const most = Math.max(1, ...series.map((s) => s.samples.length));
  const k = Math.max(1, Math.min(3, Math.ceil(Math.log10(most))));
  const yTail = (q: number) => tailTop + (-Math.log10(Math.max(q, 10 ** -k)) / k) * tailHeight;
  const line = (x1: number, y1: number, x2: number, y2: number, style: string) =>
    `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${
      y2.toFixed(1)
    }" ${style}/>`;
  const text = (tx: number, ty: number, body: string, style = "") =>
    `<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" ${style}>${esc(body)}</text>`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="DejaVu Sans" font-size="14">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    text(width / 2, 28, options.title, `text-anchor="middle" font-size="18" font-weight="bold"`),
  ];
  if (options.subtitle) {
    parts.push(
      text(width / 2, 52, options.subtitle, `text-anchor="middle" font-size="13" fill="#444"`),
    );
  }
  // Vertical grid on both panels: decades (labelled under the tail) and their 2x/5x steps.
  for (let e = e0; e <= e1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) > e1 + 1e-9) continue;
      const style = `stroke="${m === 1 ? "#ccc" : "#eee"}"`;
      parts.push(
        line(x(v), top, x(v), top + cdfHeight, style),
        line(x(v), tailTop, x(v), axisBottom, style),
      );
    }
    parts.push(text(x(10 ** e), axisBottom + 20, decadeLabel(e), `text-anchor="middle"`));
  }
  for (let i = 0; i <= 10; i++) {
    const f = i / 10;
    parts.push(
      line(left, y(f), left + pw, y(f), `stroke="#eee"`),
      text(left - 8, y(f) + 5, f.toFixed(1), `text-anchor="end"`),
    );
  }
  for (let d = 0; d <= k; d++) {
    const q = 10 ** -d;
    parts.push(
      line(left, yTail(q), left + pw, yTail(q), `stroke="#ddd"`),
      text(left - 8, yTail(q) + 5, d === 0 ? "all" : `${100 * q}%`, `text-anchor="end"`),
    );
  }
  const guide = `stroke="#999" stroke-dasharray="2,4"`;
  const guideText = `text-anchor="end" font-size="11" fill="#666"`;
  for (const [f, name] of [[0.5, "p50"], [0.95, "p95"], [0.99, "p99"]] as const) {
    parts.push(
      line(left, y(f), left + pw, y(f), guide),
      text(left + pw - 4, y(f) - 4, name, guideText),
    );
    if (f > 0.5 && 1 - f >= 10 ** -k) {
      parts.push(
        line(left, yTail(1 - f), left + pw, yTail(1 - f), guide),
        text(left + pw - 4, yTail(1 - f) - 4, name, guideText),
      );
    }
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${pw}" height="${cdfHeight}" fill="none" stroke="#333"/>`,
    `<rect x="${left}" y="${tailTop}" width="${pw}" height="${tailHeight}" fill="none" stroke="#333"/>`,
    text(
      left + pw / 2,
      axisBottom + 44,
      "latency per request, client round trip (log scale)",
      `text-anchor="middle"`,
    ),
    `<text transform="translate(22 ${top + cdfHeight / 2}) rotate(-90)" text-anchor="middle">` +
      `fraction answered within</text>`,
    `<text transform="translate(22 ${
      tailTop + tailHeight / 2
    }) rotate(-90)" text-anchor="middle">` +
      `slower than (log)</text>`,
  );
  // The curves: one step per sample, thinned to about one point per pixel.
  for (const s of series) {
    const sorted = s.samples.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    const n = sorted.length;
    if (n === 0) continue;
    const cdf: string[] = [`${x(sorted[0]).toFixed(1)},${y(0).toFixed(1)}`];
    const tail: string[] = [`${x(sorted[0]).toFixed(1)},${yTail(1).toFixed(1)}`];
    let lastX = -1;
    for (let i = 0; i < n; i++) {
      const px = x(sorted[i]).toFixed(1);
      if (x(sorted[i]) - lastX < 0.5 && i !== n - 1) continue;
      lastX = x(sorted[i]);
      cdf.push(`${px},${y(i / n).toFixed(1)}`, `${px},${y((i + 1) / n).toFixed(1)}`);
      tail.push(`${px},${yTail((n - i) / n).toFixed(1)}`);
      // Nothing is slower than the slowest sample: the tail ends at its last step.
      if (i < n - 1) tail.push(`${px},${yTail((n - i - 1) / n).toFixed(1)}`);
    }
    const style = `fill="none" stroke="${s.color}" stroke-width="2.2"${
      s.dashed ? ` stroke-dasharray="7,4"` : ""
    }`;
    parts.push(
      `<polyline ${style} points="${cdf.join(" ")}"/>`,
      `<polyline ${style} points="${tail.join(" ")}"/>`,
    );
  }
  const colWidth = pw / 2;
  series.forEach((s, i) => {
    const lx = left + (i % 2) * colWidth;
    const ry = axisBottom + 70 + 26 * Math.floor(i / 2);
    parts.push(
      line(
        lx + 4,
        ry - 5,
        lx + 44,
        ry - 5,
        `stroke="${s.color}" stroke-width="2.5"${s.dashed ? ` stroke-dasharray="7,4"` : ""}`,
      ),
      text(lx + 52, ry, s.label, `font-size="13"`),
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

let ready: Promise<Uint8Array> | undefined;

/** Loads resvg's WebAssembly once and returns the font's bytes. */
function init(): Promise<Uint8Array> {
  ready ??= (async () => {
    const wasm = await Deno.readFile(
      new URL(import.meta.resolve("npm:@resvg/resvg-wasm@2.6.2/index_bg.wasm")),
    );
    await initWasm(wasm);
    return await Deno.readFile(
      new URL(import.meta.resolve("npm:dejavu-fonts-ttf@2.37.3/ttf/DejaVuSans.ttf")),
    );
  })();
  return ready;
}

/**
 * Renders an SVG document to PNG bytes (text in DejaVu Sans, no system fonts).
 * @throws {Error} When resvg cannot parse the SVG.
 */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const font = await init();
  const r = new Resvg(svg, {
    font: { fontBuffers: [font], loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" },
    background: "white",
  });
  const image = r.render();
  const png = image.asPng();
  image.free();
  r.free();
  return png;
}
