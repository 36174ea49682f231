// Markdown tables as the benchmarks print them: either plain (`| a | b |`, `|---|---|`,
// as docs/performance.md takes them) or with columns padded to a width, so the table
// reads as one in a terminal. Pure.

export interface Column {
  header: string;
  /** Pad every cell to this width; unset: no padding. */
  width?: number;
  /** Where padding goes; default left-aligned text. */
  align?: "left" | "right";
}

/** The header, the separator and one line per row. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const cell = (text: string, column: Column | undefined) =>
    column?.width === undefined
      ? text
      : column.align === "right"
        ? text.padStart(column.width)
        : text.padEnd(column.width);
  const line = (cells: readonly string[]) =>
    `| ${cells.map((text, index) => cell(text, columns[index])).join(" | ")} |`;
  const separator = columns.map((column) =>
    column.width === undefined ? "---" : "-".repeat(column.width + 2),
  );
  return [
    line(columns.map((column) => column.header)),
    `|${separator.join("|")}|`,
    ...rows.map((row) => line(row)),
  ];
}
