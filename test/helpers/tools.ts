import { spawnSync } from './spawn.js';

/** mkfifo is installed (POSIX mkfifo has no --version to ask): FIFO cases skip only without it. */
export const HAS_MKFIFO = spawnSync('sh', ['-c', 'command -v mkfifo'], { stdio: 'ignore' }).status === 0;
