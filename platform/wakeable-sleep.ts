/**
 * A pause a loop takes between rounds that another call can end early (a stop, new work): `sleep(ms)` resolves
 * after `ms` or at the next `wake()`, whichever comes first. The timer is unref'd, so a sleeping loop never keeps
 * the process alive. A `wake()` with no one sleeping is not remembered: callers check their own state first.
 */
export class WakeableSleep {
  private wakeUp: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  wake(): void {
    this.wakeUp?.();
  }
}
