import { randomInt } from 'node:crypto';

/**
 * Accepted idempotency keys of one replica, with their expiries, in least-recently-used order,
 * held in typed arrays: no JavaScript object or string per key.
 *
 * Every request of the Faro SDK carries a fresh key, so a busy replica always holds `capacity`
 * of them (200,000 by default). As Map entries of strings they cost ~85 bytes of heap each, were
 * promoted to the old generation and died there when evicted (docs/performance.md, finding 24).
 * Here a key is a 64-bit fingerprint: 16 bytes in a ring of entries and 4 to 8 in a hash table,
 * outside the garbage-collected heap, and accepting one allocates nothing.
 *
 * The price of fingerprints is that two keys can share one. Two distinct keys of 64 random-looking
 * bits collide with probability 2⁻⁶⁴; a request whose key shares the fingerprint of any held key
 * (one in 2⁶⁴ / 200,000 ≈ 10¹⁴ requests) would be answered as a duplicate and skipped. The seeds
 * are drawn per process, so senders cannot aim keys at one another's fingerprints.
 *
 * Layout: entries are written to a ring in the order they were last used, so the oldest live one
 * is the least recently used. Using a key again writes it anew at the head and leaves its old
 * slot dead, as does deleting one; the ring has room for `capacity` live entries plus a sixteenth
 * for dead slots, and is compacted when the head comes round to a live entry. The table maps a
 * fingerprint to its ring slot with linear probing and backward-shift deletion.
 */
export class AcceptedKeys {
  private readonly ringSize: number;
  private readonly high: Int32Array;
  private readonly low: Int32Array;
  /** Expiry of each ring slot, in the caller's time unit; NaN for a dead or empty slot. */
  private readonly expiry: Float64Array;
  /** Ring slot + 1 of the entry in each table slot; 0 for an empty one. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly seedHigh = randomInt(2 ** 31);
  private readonly seedLow = randomInt(2 ** 31);
  /** The ring slot written next. */
  private head = 0;
  /** The ring slot written longest ago that may still be live: live ones lie from here to head. */
  private tail = 0;
  private live = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    // Slack for dead slots, so that compactions are rare.
    this.ringSize = capacity + Math.ceil(capacity / 16);
    this.high = new Int32Array(this.ringSize);
    this.low = new Int32Array(this.ringSize);
    this.expiry = new Float64Array(this.ringSize).fill(NaN);
    // Load factor at most 1/2, so that probes stay short.
    const tableSize = 2 ** Math.ceil(Math.log2(this.ringSize * 2));
    this.table = new Int32Array(tableSize);
    this.mask = tableSize - 1;
  }

  get size(): number {
    return this.live;
  }

  /** The expiry recorded for `key`, or undefined. */
  get(key: string): number | undefined {
    this.fingerprint(key);
    const tableSlot = this.find();
    return tableSlot < 0 ? undefined : this.expiry[this.table[tableSlot]! - 1];
  }

  /** Records `key` as the most recently used, with `expiresAt`, forgetting the LRU one if full. */
  set(key: string, expiresAt: number): void {
    this.fingerprint(key);
    const found = this.find();
    if (found >= 0) this.removeAt(found);
    else if (this.live === this.capacity) this.deleteOldest();
    // The head must not pass the oldest live entry: move the tail onto it first...
    if (this.live === 0) this.tail = this.head;
    else while (Number.isNaN(this.expiry[this.tail]!)) this.tail = this.next(this.tail);
    // ...and when the ring came round to it, close the gaps that dead slots left.
    if (this.live > 0 && this.head === this.tail) this.compact();
    const slot = this.head;
    this.high[slot] = fingerprintHigh;
    this.low[slot] = fingerprintLow;
    this.expiry[slot] = expiresAt;
    this.head = this.next(slot);
    this.insert(slot);
    this.live++;
  }

  delete(key: string): boolean {
    this.fingerprint(key);
    const found = this.find();
    if (found < 0) return false;
    this.removeAt(found);
    return true;
  }

  /** Forgets the least recently used key; false when empty. */
  deleteOldest(): boolean {
    if (this.live === 0) return false;
    while (Number.isNaN(this.expiry[this.tail]!)) this.tail = this.next(this.tail);
    this.removeAt(this.findSlot(this.tail));
    this.tail = this.next(this.tail);
    return true;
  }

  private next(slot: number): number {
    return slot + 1 === this.ringSize ? 0 : slot + 1;
  }

  /** Sets the fingerprint globals from `key`: two 32-bit lanes, seeded, then avalanched. */
  private fingerprint(key: string): void {
    let high = this.seedHigh ^ key.length;
    let low = this.seedLow;
    for (let index = 0; index < key.length; index++) {
      const code = key.charCodeAt(index);
      high = Math.imul(high ^ code, 0x01000193);
      low = Math.imul(low ^ code, 0x5bd1e995);
      low ^= low >>> 15;
    }
    high = avalanche(high ^ Math.imul(low, 0x27d4eb2f));
    low = avalanche(low ^ Math.imul(high, 0x165667b1));
    fingerprintHigh = high;
    fingerprintLow = low;
  }

  /** The table slot holding the current fingerprint, or -1. */
  private find(): number {
    let tableSlot = fingerprintLow & this.mask;
    for (;;) {
      const entry = this.table[tableSlot]!;
      if (entry === 0) return -1;
      if (this.low[entry - 1] === fingerprintLow && this.high[entry - 1] === fingerprintHigh)
        return tableSlot;
      tableSlot = (tableSlot + 1) & this.mask;
    }
  }

  /** The table slot that points at ring slot `slot` (which is live). */
  private findSlot(slot: number): number {
    let tableSlot = this.low[slot]! & this.mask;
    while (this.table[tableSlot] !== slot + 1) tableSlot = (tableSlot + 1) & this.mask;
    return tableSlot;
  }

  private insert(slot: number): void {
    let tableSlot = this.low[slot]! & this.mask;
    while (this.table[tableSlot] !== 0) tableSlot = (tableSlot + 1) & this.mask;
    this.table[tableSlot] = slot + 1;
  }

  /**
   * Moves the live entries together, oldest first from the tail, and rebuilds the table. Runs when
   * the head meets a live entry, which leaves at least one slot in seventeen free after it: at most
   * once per `capacity / 16` sets, and only when that many keys were re-used or deleted meanwhile.
   */
  private compact(): void {
    let write = this.tail;
    for (let read = this.tail, moved = 0; moved < this.live; read = this.next(read)) {
      if (Number.isNaN(this.expiry[read]!)) continue;
      if (read !== write) {
        this.high[write] = this.high[read]!;
        this.low[write] = this.low[read]!;
        this.expiry[write] = this.expiry[read]!;
        this.expiry[read] = NaN;
      }
      write = this.next(write);
      moved++;
    }
    this.head = write;
    this.table.fill(0);
    for (let slot = this.tail, count = 0; count < this.live; slot = this.next(slot), count++)
      this.insert(slot);
  }

  /** Removes the entry of a table slot, shifting back the entries that probed past it. */
  private removeAt(tableSlot: number): void {
    this.expiry[this.table[tableSlot]! - 1] = NaN;
    this.live--;
    let hole = tableSlot;
    let next = tableSlot;
    for (;;) {
      next = (next + 1) & this.mask;
      const entry = this.table[next]!;
      if (entry === 0) break;
      const home = this.low[entry - 1]! & this.mask;
      // The entry may fill the hole unless its home lies cyclically after the hole, up to `next`.
      const homeBetween = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!homeBetween) {
        this.table[hole] = entry;
        hole = next;
      }
    }
    this.table[hole] = 0;
  }
}

// Results of `fingerprint`, passed through module state so that hashing allocates nothing.
let fingerprintHigh = 0;
let fingerprintLow = 0;

/** The 32-bit finaliser of MurmurHash3: every input bit flips each output bit about half the time. */
function avalanche(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash | 0;
}
