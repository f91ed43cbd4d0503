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

/**
 * At most `limit` pieces of work at once per key, the others started in the order handed in as
 * places free. Holds nothing for an idle key.
 */
export class KeyedLimit {
  private readonly keys = new Map<string, { active: number; waiting: Array<() => void> }>();

  async run<T>(key: string, limit: number, work: () => Promise<T>): Promise<T> {
    let state = this.keys.get(key);
    if (!state) {
      state = { active: 0, waiting: [] };
      this.keys.set(key, state);
    }
    if (state.active >= Math.max(1, limit)) {
      await new Promise<void>((resolve) => state.waiting.push(resolve));
    } else {
      state.active += 1;
    }
    try {
      return await work();
    } finally {
      // The place passes straight to the next waiter, so a newcomer cannot take it first.
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.active === 0) this.keys.delete(key);
    }
  }

  /** Keys with work running or waiting. */
  size(): number {
    return this.keys.size;
  }
}
