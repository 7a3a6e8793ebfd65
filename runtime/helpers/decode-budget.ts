// sharp decodes on libuv's thread pool, several images at once, each sized by its header: a
// budget of bytes in flight, taken before a decode and given back after, makes the memory of
// many concurrent decodes a bound instead of a sum. Decodes past it wait, first come first served.
export class DecodeBudget {
  private used = 0;
  private readonly waiting: Array<{ cost: number; start: () => void }> = [];

  constructor(readonly capacity: number) {}

  /** Runs `decode` once `cost` bytes are free; a cost over the whole capacity is the caller's to refuse. */
  async run<T>(cost: number, decode: () => Promise<T>): Promise<T> {
    const take = Math.min(cost, this.capacity);
    if (this.waiting.length > 0 || this.used + take > this.capacity) {
      await new Promise<void>((start) => this.waiting.push({ cost: take, start }));
    } else {
      this.used += take;
    }
    try {
      return await decode();
    } finally {
      this.used -= take;
      this.admit();
    }
  }

  get inFlight(): number {
    return this.used;
  }

  private admit(): void {
    for (let next = this.waiting[0]; next && this.used + next.cost <= this.capacity; next = this.waiting[0]) {
      this.waiting.shift();
      this.used += next.cost;
      next.start();
    }
  }
}
