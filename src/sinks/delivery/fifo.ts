/**
 * A first-in first-out list with O(1) push and shift (an array with a moving head, compacted
 * now and then), for queues of many small entries.
 */
export class Fifo<E> {
  private entries: E[] = [];
  private head = 0;

  get length(): number {
    return this.entries.length - this.head;
  }

  push(entry: E): void {
    this.entries.push(entry);
  }

  /** The entry `index` places from the front. */
  peek(index = 0): E | undefined {
    return index < this.length ? this.entries[this.head + index] : undefined;
  }

  shift(): E | undefined {
    if (this.head >= this.entries.length) return undefined;
    const entry = this.entries[this.head];
    this.entries[this.head] = undefined as E;
    this.head++;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Removes and returns every entry. */
  takeAll(): E[] {
    const all = this.entries.slice(this.head);
    this.entries = [];
    this.head = 0;
    return all;
  }
}
