/**
 * Work in lines by key: a piece of work starts once the one handed in before it under the same key
 * has settled, either way; work under other keys runs beside it. Holds nothing for an idle key.
 */
export class KeyedLine {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const result = before === undefined ? start(work) : before.then(work);
    const tail = result.then(settled, settled);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with work running or waiting. */
  size(): number {
    return this.tails.size;
  }
}

/** Runs `work` now; a synchronous throw becomes the rejection. */
async function start<T>(work: () => Promise<T>): Promise<T> {
  return work();
}

function settled(): void {}
