// A live screen for `status --watch` on a terminal: each frame is drawn over the last
// from the top-left corner, every line cleared to its end and everything below the
// frame cleared, so nothing blinks; an unchanged frame is not written at all.

export const ANSI = {
  home: "\x1b[H",
  clearScreen: "\x1b[2J",
  clearToLineEnd: "\x1b[K",
  clearToScreenEnd: "\x1b[J",
  hideCursor: "\x1b[?25l",
  showCursor: "\x1b[?25h",
} as const;

/** The bytes that draw `lines` as a frame; the first frame also clears the screen once. */
export function ttyFrame(lines: readonly string[], first: boolean): string {
  const body = lines.map((line) => `${line}${ANSI.clearToLineEnd}`).join("\n");
  return `${first ? ANSI.hideCursor + ANSI.clearScreen : ""}${ANSI.home}${body}\n${ANSI.clearToScreenEnd}`;
}

export interface TextSink {
  write(text: string): unknown;
}

export class LiveScreen {
  readonly #out: TextSink;
  #last: string | undefined;
  #closed = false;

  constructor(out: TextSink) {
    this.#out = out;
  }

  /** Draws the frame if it differs from the one on screen; says whether it drew. */
  draw(lines: readonly string[]): boolean {
    const text = lines.join("\n");
    if (text === this.#last) return false;
    this.#out.write(ttyFrame(lines, this.#last === undefined));
    this.#last = text;
    return true;
  }

  /** Gives the cursor back; the last frame stays on screen. */
  close(): void {
    if (this.#last !== undefined && !this.#closed) this.#out.write(ANSI.showCursor);
    this.#closed = true;
  }
}
