/**
 * A Markdown table, padded so that it also reads well as plain text. Columns listed in `rightAligned`
 * (by index) are right-aligned, which suits figures.
 *
 * @example
 * markdownTable(['path', 'appends/s'], [['store', '1,234']], [1]);
 */
export function markdownTable(headers, rows, rightAligned = []) {
  const right = new Set(rightAligned);
  const widths = headers.map((header, column) =>
    Math.max(3, header.length, ...rows.map((row) => String(row[column]).length)),
  );
  const line = (cells) =>
    `| ${cells
      .map((cell, column) =>
        right.has(column) ? String(cell).padStart(widths[column]) : String(cell).padEnd(widths[column]),
      )
      .join(' | ')} |`;
  const rule = `| ${widths
    .map((width, column) => (right.has(column) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width)))
    .join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** A rate or count with thousands separators: `12,345`. */
export function formatCount(value) {
  return Math.round(value).toLocaleString('en-US');
}

/** Milliseconds with two decimals below 10 ms, one above. */
export function formatMs(value) {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

/** A ratio such as `0.42×`. */
export function formatRatio(value) {
  return `${value.toFixed(2)}×`;
}
