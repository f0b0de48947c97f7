/**
 * Latency CDF plots for benchmark reports: drawn as SVG, rendered to PNG by
 * resvg (its WebAssembly build, so nothing native is installed) with the
 * DejaVu Sans font from npm, so text renders the same on a machine without
 * system fonts. The latency axis is logarithmic: the daemon's and the
 * subprocess path's latencies differ by orders of magnitude.
 * @module
 */
import { initWasm, Resvg } from "@resvg/resvg-wasm";

// Importing the font package's manifest makes Deno fetch the package (and
// record it in deno.lock); the .ttf itself is then read from its folder.
await import("dejavu-fonts-ttf/package.json", { with: { type: "json" } });

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
 * fraction of requests answered within it, with guides at p50, p95 and p99.
 * @returns An SVG document.
 */
export function cdfSvg(series: Series[], options: CdfOptions): string {
  const width = options.width ?? 960;
  // The legend goes under the plot, two entries a row, where no curve can run.
  const legendRows = Math.ceil(series.length / 2);
  const height = options.height ?? 560 + 26 * legendRows;
  const left = 80, right = 30, top = options.subtitle ? 78 : 56, bottom = 76 + 26 * legendRows;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const all = series.flatMap((s) => s.samples).filter((x) => x > 0);
  const lo = Math.floor(Math.log10(all.length ? Math.min(...all) : 0.1));
  const hi = Math.ceil(Math.log10(all.length ? Math.max(...all) : 1000));
  const e0 = Math.min(lo, hi - 1);
  const e1 = Math.max(hi, e0 + 1);
  const x = (ms: number) => left + ((Math.log10(Math.max(ms, 10 ** e0)) - e0) / (e1 - e0)) * pw;
  const y = (f: number) => top + (1 - f) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `font-family="DejaVu Sans" font-size="14">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="18" font-weight="bold">${
      esc(options.title)
    }</text>`,
  );
  if (options.subtitle) {
    parts.push(
      `<text x="${width / 2}" y="52" text-anchor="middle" font-size="13" fill="#444">${
        esc(options.subtitle)
      }</text>`,
    );
  }
  // Grid: decades (labelled) and their 2x/5x steps on x; tenths on y.
  for (let e = e0; e <= e1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) > e1 + 1e-9) continue;
      const gx = x(v);
      parts.push(
        `<line x1="${gx}" y1="${top}" x2="${gx}" y2="${top + ph}" stroke="${
          m === 1 ? "#ccc" : "#eee"
        }"/>`,
      );
    }
    parts.push(
      `<text x="${x(10 ** e)}" y="${top + ph + 20}" text-anchor="middle">${decadeLabel(e)}</text>`,
    );
  }
  for (let i = 0; i <= 10; i++) {
    const f = i / 10;
    parts.push(
      `<line x1="${left}" y1="${y(f)}" x2="${left + pw}" y2="${y(f)}" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${y(f) + 5}" text-anchor="end">${f.toFixed(1)}</text>`,
    );
  }
  for (const [f, name] of [[0.5, "p50"], [0.95, "p95"], [0.99, "p99"]] as const) {
    parts.push(
      `<line x1="${left}" y1="${y(f)}" x2="${left + pw}" y2="${
        y(f)
      }" stroke="#999" stroke-dasharray="2,4"/>`,
      `<text x="${left + pw - 4}" y="${
        y(f) - 4
      }" text-anchor="end" font-size="11" fill="#666">${name}</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${left + pw / 2}" y="${top + ph + 44}" text-anchor="middle">` +
      `latency per request, client round trip (log scale)</text>`,
    `<text transform="translate(22 ${top + ph / 2}) rotate(-90)" text-anchor="middle">` +
      `fraction of requests answered within</text>`,
  );
  // The curves: one step per sample, thinned to about one point per pixel.
  for (const s of series) {
    const sorted = s.samples.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    if (sorted.length === 0) continue;
    const points: string[] = [`${x(sorted[0]).toFixed(1)},${y(0).toFixed(1)}`];
    let lastX = -1;
    for (let i = 0; i < sorted.length; i++) {
      const px = x(sorted[i]);
      if (px - lastX < 0.5 && i !== sorted.length - 1) continue;
      lastX = px;
      points.push(`${px.toFixed(1)},${y(i / sorted.length).toFixed(1)}`);
      points.push(`${px.toFixed(1)},${y((i + 1) / sorted.length).toFixed(1)}`);
    }
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2.2"${
        s.dashed ? ` stroke-dasharray="7,4"` : ""
      } points="${points.join(" ")}"/>`,
    );
  }
  const colWidth = pw / 2;
  series.forEach((s, i) => {
    const lx = left + (i % 2) * colWidth;
    const ry = top + ph + 70 + 26 * Math.floor(i / 2);
    parts.push(
      `<line x1="${lx + 4}" y1="${ry - 5}" x2="${lx + 44}" y2="${ry - 5}" stroke="${s.color}" ` +
        `stroke-width="2.5"${s.dashed ? ` stroke-dasharray="7,4"` : ""}/>`,
      `<text x="${lx + 52}" y="${ry}" font-size="13">${esc(s.label)}</text>`,
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
      new URL(import.meta.resolve("@resvg/resvg-wasm/index_bg.wasm")),
    );
    await initWasm(wasm);
    return await Deno.readFile(
      new URL(import.meta.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf")),
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
