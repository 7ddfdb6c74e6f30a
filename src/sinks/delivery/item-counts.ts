import { ITEM_KINDS, type ItemKind } from '../../model/index.js';
import type { ItemCounts } from './types.js';

/** Adds `counts` into `total` (mutates and returns it). */
export function addItemCounts(total: ItemCounts, counts: ItemCounts): ItemCounts {
  for (const kind of ITEM_KINDS) {
    const count = counts[kind];
    if (count) total[kind] = (total[kind] ?? 0) + count;
  }
  return total;
}

export function totalItems(counts: ItemCounts): number {
  let total = 0;
  for (const kind of ITEM_KINDS) total += counts[kind] ?? 0;
  return total;
}

/** The kinds with a positive count, for per-kind metrics. */
export function eachKind(counts: ItemCounts): Array<[ItemKind, number]> {
  const entries: Array<[ItemKind, number]> = [];
  for (const kind of ITEM_KINDS) {
    const count = counts[kind];
    if (count) entries.push([kind, count]);
  }
  return entries;
}

/** Whether `value` is an ItemCounts as the spool writes it (known kinds, non-negative integers). */
export function isItemCounts(value: unknown): value is ItemCounts {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const [kind, count] of Object.entries(value)) {
    if (!(ITEM_KINDS as readonly string[]).includes(kind)) return false;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return false;
  }
  return true;
}
