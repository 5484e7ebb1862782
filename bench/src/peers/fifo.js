/** Resolvers of requests whose responses come back in send order (raw and ws echo). */
export class Fifo {
  constructor() {
    this.items = [];
    this.head = 0;
  }

  push(item) {
    this.items.push(item);
  }

  shift() {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** Bytes of async messages a sender may have written but not yet seen confirmed: 1 MiB, Systemge's default high-water mark. */
export const HIGH_WATER_MARK = 1024 * 1024;
