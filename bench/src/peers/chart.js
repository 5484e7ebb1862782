/**
 * A grouped bar chart as plain SVG: one group per measurement (e.g. "async 100 B"), one bar per
 * system, log-scale y axis with decade grid lines, a legend, and a label for skipped systems.
 */

const COLORS = ['#6b7280', '#2563eb', '#1e3a8a', '#f59e0b', '#b45309', '#16a34a', '#db2777', '#7c3aed'];

const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function short(n) {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return `${Math.round(n)}`;
}

/**
 * groups: [{ label, values: Map(systemLabel → number | undefined) }]; systems: ordered labels;
 * unit: appended to a bar's value in its tooltip.
 * Returns the SVG text.
 */
export function groupedBarChart({ title, subtitle, yLabel, groups, systems, unit = '/s' }) {
  const barW = 14;
  const gap = 26;
  const groupW = systems.length * barW + gap;
  const left = 70;
  const top = 70;
  const plotH = 300;
  const width = Math.max(640, left + groups.length * groupW + 20);
  const legendRows = Math.ceil(systems.length / 4);
  const height = top + plotH + 60 + legendRows * 18 + 10;
  const all = groups.flatMap((g) => [...g.values.values()]).filter((v) => v !== undefined && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1e3)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const y = (v) => top + plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`);
  if (subtitle) out.push(`<text x="${left}" y="40" fill="#4b5563">${escape(subtitle)}</text>`);
  for (let d = lo; d <= hi; d *= 10) {
    const yy = y(d).toFixed(1);
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${yy}" y2="${yy}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#374151">${short(d)}</text>`);
  }
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${escape(yLabel)}</text>`);
  groups.forEach((g, gi) => {
    const x0 = left + gap / 2 + gi * groupW;
    systems.forEach((s, si) => {
      const v = g.values.get(s);
      const x = x0 + si * barW;
      if (v === undefined || !(v > 0)) {
        out.push(`<text x="${x + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" font-size="9" fill="#9ca3af">–</text>`);
        return;
      }
      const yy = y(v);
      out.push(
        `<rect x="${x}" y="${yy.toFixed(1)}" width="${barW - 2}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${escape(`${s}, ${g.label}: ${short(v)}${unit}`)}</title></rect>`,
      );
      out.push(
        `<text transform="translate(${x + barW / 2} ${(yy - 3).toFixed(1)}) rotate(-90)" font-size="8" fill="#111827">${short(v)}</text>`,
      );
    });
    out.push(
      `<text x="${x0 + (systems.length * barW) / 2}" y="${top + plotH + 16}" text-anchor="middle" fill="#111827">${escape(g.label)}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#374151"/>`);
  systems.forEach((s, si) => {
    const lx = left + (si % 4) * 150;
    const ly = top + plotH + 40 + Math.floor(si / 4) * 18;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/>`);
    out.push(`<text x="${lx + 14}" y="${ly}">${escape(s)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
