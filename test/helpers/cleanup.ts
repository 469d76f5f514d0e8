/**
 * Where helpers register what they must undo. A test passes its context (`t.after` runs the step when that test
 * ends); code outside a test (a benchmark) passes a `CleanupList` and runs it itself.
 */
export interface Cleanup {
  after(fn: () => unknown): unknown;
}

export class CleanupList implements Cleanup {
  private readonly steps: Array<() => unknown> = [];

  after(fn: () => unknown): void {
    this.steps.push(fn);
  }

  /** Runs every step, last registered first; every step runs even when one fails, then the first failure throws. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new Error(`${failures.length} clean-up step(s) failed`, { cause: failures[0] });
  }
}
