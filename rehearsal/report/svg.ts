/*
 * Tiny SVG chart builders for report.html: everything is drawn here, as markup, so the file needs
 * no library and no network; the page's script only sorts and filters the archive table.
 */

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);
}

export interface Series {
  readonly name: string;
  readonly color: string;
  /** [x, y] points in data units, x ascending; drawn as steps (the value holds until the next point). */
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  /** Horizontal reference lines (a quota). */
  readonly hLines?: readonly { y: number; label: string; color: string }[];
  /** Stack the series (areas), or draw each as its own line. */
  readonly stacked?: boolean;
  readonly formatY?: (y: number) => string;
  readonly xMax?: number;
  readonly yMax?: number;
}

const PAD = { left: 76, right: 16, top: 28, bottom: 40 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A step chart (lines or stacked areas) with axes, ticks, a legend and optional reference lines. */
export function stepChart(series: readonly Series[], o: ChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 260;
  const w = width - PAD.left - PAD.right;
  const h = height - PAD.top - PAD.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const xMax = o.xMax ?? niceMax(Math.max(0, ...xs));
  // Stacked: y at each x is the sum of the series below (values hold between points).
  const allX = [...new Set(xs)].sort((a, b) => a - b);
  const valueAt = (s: Series, x: number): number => {
    let v = 0;
    for (const p of s.points) {
      if (p[0] > x) break;
      v = p[1];
    }
    return v;
  };
  const tops = o.stacked ? allX.map((x) => series.reduce((n, s) => n + valueAt(s, x), 0)) : series.flatMap((s) => s.points.map((p) => p[1]));
  const yMax = o.yMax ?? niceMax(Math.max(0, ...tops, ...(o.hLines ?? []).map((l) => l.y)));
  const X = (x: number): number => PAD.left + (xMax === 0 ? 0 : (x / xMax) * w);
  const Y = (y: number): number => PAD.top + h - (yMax === 0 ? 0 : (y / yMax) * h);
  const fy = o.formatY ?? ((y: number) => String(Math.round(y * 100) / 100));
  const parts: string[] = [];
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${w}" height="${h}" fill="#fafafa" stroke="#ccc"/>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax / 4) * i;
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + w}" y1="${Y(y)}" y2="${Y(y)}" stroke="#e4e4e4"/>`,
      `<text x="${PAD.left - 6}" y="${Y(y) + 4}" text-anchor="end" class="tick">${escapeHtml(fy(y))}</text>`);
    const x = (xMax / 4) * i;
    parts.push(`<text x="${X(x)}" y="${PAD.top + h + 16}" text-anchor="middle" class="tick">${escapeHtml(String(Math.round(x * 10) / 10))}</text>`);
  }
  if (o.stacked) {
    const below = allX.map(() => 0);
    for (const s of series) {
      const top = allX.map((x, i) => below[i] + valueAt(s, x));
      const path: string[] = [];
      allX.forEach((x, i) => {
        const next = i + 1 < allX.length ? allX[i + 1] : xMax;
        path.push(`${i === 0 ? 'M' : 'L'}${X(x)},${Y(top[i])}`, `L${X(next)},${Y(top[i])}`);
      });
      for (let i = allX.length - 1; i >= 0; i--) {
        const next = i + 1 < allX.length ? allX[i + 1] : xMax;
        path.push(`L${X(next)},${Y(below[i])}`, `L${X(allX[i])},${Y(below[i])}`);
      }
      if (allX.length > 0) parts.push(`<path d="${path.join(' ')}Z" fill="${s.color}" fill-opacity="0.85" stroke="none"><title>${escapeHtml(s.name)}</title></path>`);
      top.forEach((v, i) => (below[i] = v));
    }
  } else {
    for (const s of series) {
      if (s.points.length === 0) continue;
      const path = s.points.map((p, i) => `${i === 0 ? 'M' : `L${X(p[0])},${Y(s.points[i - 1][1])} L`}${X(p[0])},${Y(p[1])}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"><title>${escapeHtml(s.name)}</title></path>`);
      if (s.points.length === 1) parts.push(`<circle cx="${X(s.points[0][0])}" cy="${Y(s.points[0][1])}" r="3" fill="${s.color}"/>`);
    }
  }
  for (const l of o.hLines ?? []) {
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + w}" y1="${Y(l.y)}" y2="${Y(l.y)}" stroke="${l.color}" stroke-dasharray="6 4" stroke-width="2"/>`,
      `<text x="${PAD.left + w - 4}" y="${Y(l.y) - 4}" text-anchor="end" class="tick" fill="${l.color}">${escapeHtml(l.label)}</text>`);
  }
  const legend = series.map((s, i) => `<rect x="${PAD.left + i * 110}" y="8" width="10" height="10" fill="${s.color}"/>`
    + `<text x="${PAD.left + i * 110 + 14}" y="17" class="tick">${escapeHtml(s.name)}</text>`).join('');
  return `<figure><figcaption>${escapeHtml(o.title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(o.title)}">`
    + `${legend}${parts.join('')}`
    + `<text x="${PAD.left + w / 2}" y="${height - 6}" text-anchor="middle" class="axis">${escapeHtml(o.xLabel)}</text>`
    + `<text x="12" y="${PAD.top + h / 2}" text-anchor="middle" class="axis" transform="rotate(-90 12 ${PAD.top + h / 2})">${escapeHtml(o.yLabel)}</text>`
    + '</svg></figure>';
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly color?: string;
  /** Tooltip. */
  readonly note?: string;
}

/** Horizontal bars: one per label. */
export function barChart(bars: readonly Bar[], o: { title: string; width?: number }): string {
  const width = o.width ?? 720;
  const rowH = 22;
  const labelW = 220;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const barW = width - labelW - 80;
  const rows = bars.map((b, i) => {
    const y = 8 + i * rowH;
    const len = (b.value / max) * barW;
    return `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end" class="tick">${escapeHtml(b.label)}</text>`
      + `<rect x="${labelW}" y="${y + 3}" width="${Math.max(1, len)}" height="${rowH - 6}" fill="${b.color ?? '#4e79a7'}"><title>${escapeHtml(b.note ?? `${b.label}: ${b.value}`)}</title></rect>`
      + `<text x="${labelW + len + 6}" y="${y + 14}" class="tick">${b.value}</text>`;
  }).join('');
  return `<figure><figcaption>${escapeHtml(o.title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${16 + bars.length * rowH}" role="img" aria-label="${escapeHtml(o.title)}">${rows}</svg></figure>`;
}
