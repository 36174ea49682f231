// Tables and ages as kubectl prints them, so `glidepath list` reads like `kubectl get`.

/** Columns left-aligned, three spaces apart, no trailing spaces (kubectl's printer). */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(displayWidth(header), ...rows.map((row) => displayWidth(row[column] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell + " ".repeat((widths[column] ?? 0) - displayWidth(cell)),
      )
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Characters as a terminal shows them: combining marks take no column. */
export function displayWidth(text: string): number {
  return [...text.normalize("NFC")].filter((char) => !/\p{Mn}/u.test(char)).length;
}

/**
 * kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration): "45s", "3m12s",
 * "42m", "5h3m", "2d4h", "1y30d". Up to 2 s in the future (clock skew) reads as "0s".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The age of a timestamp at `nowMs`, or "<unknown>" without one. */
export function age(timestamp: string | undefined, nowMs: number): string {
  if (!timestamp) return "<unknown>";
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? "<unknown>" : humanDuration(nowMs - at);
}
