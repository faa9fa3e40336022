/**
 * Stopping a training run from outside. The first Ctrl-C (SIGINT) aborts
 * the fit, which saves a checkpoint after the current step; the second
 * exits at once. SIGTERM (kill, docker stop, a job scheduler's time limit)
 * saves the same way: those send SIGKILL only after a grace period, and one
 * step is short. Exit codes: 130 after Ctrl-C, 143 after SIGTERM.
 * @module
 */
import { EXIT_INTERRUPTED, EXIT_TERMINATED } from './errors';

export class StopSignals {
  private readonly controller = new AbortController();
  private received = 0;
  private fitDone = false;
  private code = EXIT_INTERRUPTED;

  /** Listens for SIGINT and SIGTERM from now on; `log` prints a line of its own. */
  constructor(private readonly log: (line: string) => void) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Aborted by the first signal: the fit's `signal`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The exit code of a run the first signal stopped (130 for SIGINT, 143 for SIGTERM). */
  get exitCode(): number {
    return this.code;
  }

  /**
   * The fit is over: a signal from now on exits at once. The listeners stay
   * until the process exits, so a late second Ctrl-C still exits with 130
   * instead of the default signal death.
   */
  fitEnded(): void {
    this.fitDone = true;
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.received++;
    if (this.received === 1 && !this.fitDone) {
      if (signal === 'SIGTERM') this.code = EXIT_TERMINATED;
      this.log(
        signal === 'SIGTERM'
          ? 'imix: terminated (SIGTERM): saving a checkpoint after this step'
          : 'imix: interrupted: saving a checkpoint after this step (Ctrl-C again to quit without saving)',
      );
      this.controller.abort();
    } else {
      if (!this.fitDone) this.log('imix: quitting without saving');
      process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : this.code);
    }
  };
}
