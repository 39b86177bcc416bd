import { humanBytes } from './io.js';

/** One reading of long work: what is done so far and, where known, of how much. */
export interface ProgressState {
  label: string;
  bytes: number;
  /** Unknown (an export hashing many files learns sizes by reading): progress counts files. */
  totalBytes?: number | undefined;
  files: number;
  totalFiles?: number | undefined;
}

export interface ProgressBar {
  update(s: ProgressState): void;
  /** Erase the bar: the terminal is left as it was. */
  done(): void;
}

const NONE: ProgressBar = { update() {}, done() {} };

/** Whether a progress bar belongs on this stderr: a terminal, and not --quiet or --json. */
export function wantProgress(flags: { quiet?: boolean | undefined; json?: boolean | undefined }, stream: NodeJS.WriteStream = process.stderr): boolean {
  return !flags.quiet && !flags.json && stream.isTTY === true;
}

/**
 * A one-line bar on stderr, redrawn at most ten times a second: bytes and files done,
 * rate, time left. Nothing at all when `enabled` is false, so callers need no branches.
 */
export function progressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): ProgressBar {
  if (!enabled) return NONE;
  const start = now();
  let last = 0;
  let shown = false;
  let label = '';
  let labelStart = start;
  return {
    update(s) {
      const t = now();
      if (s.label !== label) {
        label = s.label;
        labelStart = t;
      } else if (t - last < 100 && fraction(s) < 1) return;
      last = t;
      const width = Math.max(20, (stream.columns || 80) - 1);
      const line = renderProgress(s, (t - labelStart) / 1000, width);
      stream.write(`\r${line.slice(0, width)}\x1b[K`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * The text of one redraw; `elapsed` in seconds since this label started. The bar takes
 * what the figures leave of `width` (10 to 30 cells).
 */
export function renderProgress(s: ProgressState, elapsed: number, width = 100): string {
  const frac = fraction(s);
  const rate = elapsed > 0 ? s.bytes / elapsed : 0;
  const files = s.totalFiles !== undefined ? `${s.files}/${s.totalFiles} files` : `${s.files} files`;
  // Time left from the fraction done so far, in bytes or else in files.
  const eta = frac >= 1 ? '0:00' : frac > 0 && elapsed > 0 ? formatSeconds((elapsed * (1 - frac)) / frac) : '--:--';
  const bytes = s.totalBytes !== undefined ? `${humanBytes(s.bytes)}/${humanBytes(s.totalBytes)}` : humanBytes(s.bytes);
  const figures = `${String(Math.floor(frac * 100)).padStart(3)}% ${bytes} ${files} ${humanBytes(Math.round(rate))}/s ETA ${eta}`;
  const cells = Math.max(10, Math.min(30, width - s.label.length - figures.length - 4));
  const filled = Math.round(frac * cells);
  return `${s.label} [${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] ${figures}`;
}

function fraction(s: ProgressState): number {
  if (s.totalBytes !== undefined && s.totalBytes > 0) return Math.min(1, s.bytes / s.totalBytes);
  // No bytes to count (empty inputs only): the files tell how far it is.
  if (s.totalFiles) return Math.min(1, s.files / s.totalFiles);
  return s.totalBytes === 0 ? 1 : 0;
}

function formatSeconds(sec: number): string {
  const s = Math.ceil(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The export's bar: the hashing pass, then the writing pass. */
export function exportProgressBar(flags: { quiet?: boolean | undefined; json?: boolean | undefined }): {
  onProgress: (p: { phase: 'hash' | 'write'; bytes: number; totalBytes: number | undefined; files: number; totalFiles: number }) => void;
  done: () => void;
} {
  const bar = progressBar(wantProgress(flags));
  return {
    onProgress: (p) => bar.update({ label: p.phase === 'hash' ? 'hashing' : 'writing', ...p }),
    done: () => bar.done(),
  };
}
