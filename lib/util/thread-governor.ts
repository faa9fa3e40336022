/**
 * The thread count of CPU training steps, chosen by measuring them.
 *
 * Why: a step is hundreds of short parallel loops, each ending in a barrier.
 * When another CPU-bound process shares the machine, the half of a loop on
 * the shared core runs at half speed and every barrier waits for it: on 2
 * cores with one busy competitor, two threads ran a step 1.2x (waiting
 * threads asleep) to 1.8x (spinning) slower than one thread, whatever the
 * OpenMP wait policy (bench/README.md, "Thread waiting"). No policy fixes
 * that; measuring does. While the user has not fixed the thread count
 * (`setNumThreads(n)`), the steps run at the default count, and now and then
 * a few at one thread: whichever is faster per sample is kept, and a step
 * that turns much slower than its recent past (a competitor started) probes
 * at once. On a quiet machine a probe that confirms the choice doubles the
 * wait before the next one (64 to 2048 steps), so probing costs < 1%; at one
 * thread it probes at least every 256 steps, to notice the competitor leave.
 * A switch never changes a result: the kernels' reductions are split by the
 * machine's core count, not the thread count (native/cpu/parallel.h).
 * @internal
 * @module
 */

/** Steps timed at the other thread count per probe (after one warm-up step). */
const PROBE_STEPS = 4;
/** Steps between probes: starts at the minimum, doubles each time a probe confirms the choice. */
const MIN_PERIOD = 64;
const MAX_PERIOD = 2048;
/**
 * At one thread a competitor's departure does not show in the step time, so
 * the probe for more threads stays frequent (its cost there: ~5 steps up to
 * 25% slower per 256, < 0.5%).
 */
const MAX_PERIOD_ONE_THREAD = 256;
/** A probe wins when its median time per sample is below this fraction of the current one. */
const SWITCH_BELOW = 0.93;
/** A running step this much slower than the baseline after the last decision triggers a probe. */
const SLOWDOWN = 1.3;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};

/** What {@link ThreadGovernor.decide} saw, for tests and diagnostics. */
export interface GovernorEvent {
  /** Thread counts compared: the one running, the one probed. */
  from: number;
  probed: number;
  /** Median ms per sample of each. */
  fromMs: number;
  probedMs: number;
  /** The thread count kept. */
  kept: number;
}

/**
 * Chooses between `max` threads and one from step timings. `set` applies a
 * thread count to the kernels. Drive it with {@link begin} before a step and
 * {@link end} after it.
 */
export class ThreadGovernor {
  private maxValue: number | undefined;
  private currentValue: number | undefined;
  private probing = 0; // steps left in the probe, including its warm-up step
  private until = MIN_PERIOD; // running steps before the next probe
  private period = MIN_PERIOD;
  private running: number[] = []; // ms per sample of recent running steps
  private probes: number[] = [];
  private baseline = NaN; // median of the first running steps after a decision
  /** The decisions so far (last 16). */
  readonly events: GovernorEvent[] = [];

  /** `max` may be a function, called on first use (the addon's thread count is not read at import). */
  constructor(
    private readonly maxOf: number | (() => number),
    private readonly set: (threads: number) => void,
  ) {}

  /** The thread count compared with one thread (one per core by default). */
  get max(): number {
    return (this.maxValue ??= typeof this.maxOf === 'number' ? this.maxOf : this.maxOf());
  }

  private get current(): number {
    return (this.currentValue ??= this.max);
  }

  private set current(t: number) {
    this.currentValue = t;
  }

  /** The thread count steps run at when not probing. */
  get threads(): number {
    return this.current;
  }

  private get other(): number {
    return this.current === 1 ? this.max : 1;
  }

  /** Before a step: applies the thread count the step runs at. */
  begin(): void {
    if (this.max <= 1) return;
    if (this.probing === 0 && this.until <= 0 && this.running.length >= PROBE_STEPS) this.probing = PROBE_STEPS + 1;
    this.set(this.probing > 0 ? this.other : this.current);
  }

  /** After a step of `n` samples that took `ms`: records it, and decides at the end of a probe. */
  end(n: number, ms: number): void {
    if (this.max <= 1 || !(ms > 0) || n <= 0) return;
    const perSample = ms / n;
    if (this.probing > 0) {
      if (this.probing <= PROBE_STEPS) this.probes.push(perSample); // the first probe step warms up
      if (--this.probing === 0) this.decide();
      return;
    }
    this.running.push(perSample);
    if (this.running.length > 16) this.running.shift();
    this.until--;
    if (Number.isNaN(this.baseline)) {
      if (this.running.length >= PROBE_STEPS) this.baseline = median(this.running);
    } else if (this.running.length >= 3 && median(this.running.slice(-3)) > SLOWDOWN * this.baseline) {
      this.until = 0; // the machine changed: probe now
    }
  }

  private decide(): void {
    const fromMs = median(this.running.slice(-PROBE_STEPS));
    const probedMs = median(this.probes);
    const from = this.current, probed = this.other;
    const switched = probedMs < SWITCH_BELOW * fromMs;
    if (switched) this.current = probed;
    this.period = switched ? MIN_PERIOD : Math.min(2 * this.period, this.current === 1 ? MAX_PERIOD_ONE_THREAD : MAX_PERIOD);
    this.until = this.period;
    this.events.push({ from, probed, fromMs, probedMs, kept: this.current });
    if (this.events.length > 16) this.events.shift();
    this.probes = [];
    this.running = [];
    this.baseline = NaN;
    this.set(this.current);
  }
}
