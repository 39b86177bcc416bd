/**
 * A reader that goes away early (`verify … | head -1`) is not an error of ours: stop
 * quietly with the exit code already decided, instead of printing an EPIPE stack trace.
 * In its own module, so start-up loads nothing else for it.
 */
export function installPipeGuard(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw e;
  });
}
