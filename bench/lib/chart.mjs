/**
 * One SVG bar chart per scenario, written by hand (no dependencies): a horizontal bar per
 * server at its median, a whisker from the minimum to the maximum round, and the value.
 */
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Formats a number with k/M suffixes for the chart labels. */
export function short(v) {
  if (!Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 1 : 2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(a >= 10 ? 1 : 2);
}

/**
 * rows: [{ label, median, min, max, highlight }]; returns the SVG text.
 * Bars that failed (no median) show "failed".
 */
export function barChart({ title, unit, rows, note = "" }) {
  const width = 720;
  const labelW = 170;
  const valueW = 130;
  const top = 44;
  const rowH = 30;
  const plotW = width - labelW - valueW - 20;
  const height = top + rows.length * rowH + (note ? 34 : 18);
  const maxV = Math.max(1e-9, ...rows.flatMap((r) => [r.max, r.median].filter(Number.isFinite)));
  const x = (v) => labelW + (v / maxV) * plotW;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold" fill="#222">${esc(title)}</text>`);
  out.push(`<text x="12" y="38" font-size="11" fill="#666">${esc(unit)} — bar: median of rounds, whisker: min–max</text>`);
  for (let f = 0; f <= 4; f++) {
    const gx = labelW + (plotW * f) / 4;
    out.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${top + rows.length * rowH}" stroke="#eee"/>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${y + 19}" text-anchor="end" fill="#222">${esc(r.label)}</text>`);
    if (!Number.isFinite(r.median)) {
      out.push(`<text x="${labelW + 4}" y="${y + 19}" fill="#b00">failed</text>`);
      return;
    }
    const color = r.highlight ? "#2f6fd6" : r.ceiling ? "#9aa3ad" : "#e07b39";
    out.push(`<rect x="${labelW}" y="${y + 6}" width="${Math.max(1, x(r.median) - labelW).toFixed(1)}" height="${rowH - 12}" fill="${color}" rx="2"/>`);
    if (Number.isFinite(r.min) && Number.isFinite(r.max)) {
      const cy = y + rowH / 2;
      out.push(`<line x1="${x(r.min).toFixed(1)}" y1="${cy}" x2="${x(r.max).toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1.5"/>`);
      out.push(`<line x1="${x(r.min).toFixed(1)}" y1="${cy - 5}" x2="${x(r.min).toFixed(1)}" y2="${cy + 5}" stroke="#222" stroke-width="1.5"/>`);
      out.push(`<line x1="${x(r.max).toFixed(1)}" y1="${cy - 5}" x2="${x(r.max).toFixed(1)}" y2="${cy + 5}" stroke="#222" stroke-width="1.5"/>`);
    }
    const tx = Math.max(x(r.median), Number.isFinite(r.max) ? x(r.max) : 0) + 6;
    out.push(`<text x="${tx.toFixed(1)}" y="${y + 19}" fill="#222">${esc(short(r.median))}${r.ratio ? ` (${esc(r.ratio)})` : ""}</text>`);
  });
  if (note) out.push(`<text x="12" y="${height - 10}" font-size="11" fill="#666">${esc(note)}</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
