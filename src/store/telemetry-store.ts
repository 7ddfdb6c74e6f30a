import { EventEmitter } from 'node:events';
import { xxh3 } from '@node-rs/xxhash';
import Database from 'better-sqlite3';
import { ErrorGroupStore } from '../enrich/fingerprint/store-groups.js';
import type { AcceptedBatch, ItemKind } from '../model/index.js';
import { itemRows } from './rows.js';
import { migrateStore } from './schema.js';

/** One item as the read API returns it: the item exactly as received, with where and when. */
export interface StoredItem {
  id: number;
  kind: ItemKind;
  tenantId: string;
  appId: string;
  /** Item time (its `timestamp`, or span start), ms since the epoch; receive time when it had none. */
  time: number;
  receivedAt: number;
  sessionId: string | null;
  traceId: string | null;
  item: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Spans only. */
  resource?: Record<string, unknown>;
  scope?: Record<string, unknown>;
}

export interface ItemQuery {
  appId: string;
  kind?: ItemKind | undefined;
  /** Inclusive lower bound on `time`, ms. */
  from?: number | undefined;
  /** Exclusive upper bound on `time`, ms. */
  to?: number | undefined;
  sessionId?: string | undefined;
  traceId?: string | undefined;
  /** Level (logs), type (exceptions, measurements) or name (events, spans). */
  name?: string | undefined;
  /** Substring of the item's JSON. */
  text?: string | undefined;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
  /** Continue after this position (`time`, `id`) in the chosen order. */
  cursor?: { time: number; id: number } | undefined;
  /** Only items with a larger id (following new items). */
  afterId?: number | undefined;
  limit: number;
}

export interface WriteResult {
  items: number;
  byKind: Partial<Record<ItemKind, number>>;
  lastId: number;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
  sizeBytes: number;
}

interface ItemDbRow {
  id: number;
  kind: ItemKind;
  tenant_id: string;
  app_id: string;
  time: number;
  received_at: number;
  session_id: string | null;
  trace_id: string | null;
  body: string;
  extra: string | null;
  meta: string;
}

const DELETE_CHUNK = 5000;

/**
 * The embedded telemetry store: one SQLite file holding every accepted item with its meta
 * (deduplicated: a session sends the same meta many times), indexed for the read API.
 */
export class TelemetryStore {
  private readonly db: Database.Database;
  /** Error groups, written in the same transaction as the exception items. */
  readonly errorGroups: ErrorGroupStore;
  private readonly events = new EventEmitter();
  /** meta hash → row id, for metas seen recently; cleared when retention deletes metas. */
  private readonly metaIds = new Map<string, number>();
  private readonly statements;

  constructor(file: string) {
    this.db = new Database(file);
    // auto_vacuum must be chosen before anything is written (the WAL switch included); it lets
    // retention hand freed pages back to the file system.
    if ((this.db.pragma('page_count', { simple: true }) as number) === 0) {
      this.db.pragma('auto_vacuum = INCREMENTAL');
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrateStore(this.db);
    this.errorGroups = new ErrorGroupStore(this.db);
    this.events.setMaxListeners(0);
    this.statements = {
      findMeta: this.db.prepare<[string], { id: number }>('SELECT id FROM metas WHERE hash = ?'),
      insertMeta: this.db.prepare<[string, string]>('INSERT INTO metas (hash, meta) VALUES (?, ?)'),
      insertItem: this.db.prepare(
        `INSERT INTO items (tenant_id, app_id, kind, time, received_at, name, session_id, page_id, trace_id, span_id, meta_id, body, extra)
         VALUES (@tenantId, @appId, @kind, @time, @receivedAt, @name, @sessionId, @pageId, @traceId, @spanId, @metaId, @body, @extra)`,
      ),
    };
  }

  /** Writes batches in one transaction. Synchronous: callers schedule it off the request path. */
  write(batches: readonly AcceptedBatch[]): WriteResult {
    const result: WriteResult = { items: 0, byKind: {}, lastId: 0 };
    this.db.transaction(() => {
      for (const batch of batches) {
        const metaId = this.metaId(JSON.stringify(batch.payload.meta ?? {}));
        const exceptionIds: number[] = [];
        for (const row of itemRows(batch)) {
          const { lastInsertRowid } = this.statements.insertItem.run({
            ...row,
            tenantId: batch.tenantId,
            appId: batch.appId,
            receivedAt: batch.receivedAt,
            metaId,
          });
          result.items++;
          result.byKind[row.kind] = (result.byKind[row.kind] ?? 0) + 1;
          result.lastId = Number(lastInsertRowid);
          if (row.kind === 'exception') exceptionIds.push(result.lastId);
        }
        this.errorGroups.record(batch, exceptionIds);
      }
    })();
    if (result.items > 0) this.events.emit('commit', result.lastId);
    return result;
  }

  private metaId(json: string): number {
    const hash = xxh3.xxh128(json).toString(16);
    const cached = this.metaIds.get(hash);
    if (cached !== undefined) return cached;
    const id =
      this.statements.findMeta.get(hash)?.id ??
      Number(this.statements.insertMeta.run(hash, json).lastInsertRowid);
    if (this.metaIds.size >= 10_000) this.metaIds.clear();
    this.metaIds.set(hash, id);
    return id;
  }

  query(query: ItemQuery): StoredItem[] {
    const where: string[] = ['i.app_id = @appId'];
    const order = query.order ?? 'desc';
    const params: Record<string, unknown> = { appId: query.appId, limit: query.limit };
    const add = (clause: string, name: string, value: unknown) => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    add('i.kind = @kind', 'kind', query.kind);
    add('i.time >= @from', 'from', query.from);
    add('i.time < @to', 'to', query.to);
    add('i.session_id = @sessionId', 'sessionId', query.sessionId);
    add('i.trace_id = @traceId', 'traceId', query.traceId?.toLowerCase());
    add('i.name = @name', 'name', query.name);
    add('instr(i.body, @text) > 0', 'text', query.text);
    add('i.id > @afterId', 'afterId', query.afterId);
    if (query.cursor) {
      where.push(
        order === 'desc'
          ? '(i.time, i.id) < (@cursorTime, @cursorId)'
          : '(i.time, i.id) > (@cursorTime, @cursorId)',
      );
      params.cursorTime = query.cursor.time;
      params.cursorId = query.cursor.id;
    }
    const direction = order === 'desc' ? 'DESC' : 'ASC';
    const sql = `SELECT i.id, i.kind, i.tenant_id, i.app_id, i.time, i.received_at, i.session_id, i.trace_id, i.body, i.extra, m.meta
      FROM items i JOIN metas m ON m.id = i.meta_id
      WHERE ${where.join(' AND ')}
      ORDER BY i.time ${direction}, i.id ${direction}
      LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as ItemDbRow[]).map(toStoredItem);
  }

  /** Items written after `afterId`, oldest first, for following an app live. */
  since(appId: string, afterId: number, limit: number): StoredItem[] {
    const rows = this.db
      .prepare(
        `SELECT i.id, i.kind, i.tenant_id, i.app_id, i.time, i.received_at, i.session_id, i.trace_id, i.body, i.extra, m.meta
         FROM items i JOIN metas m ON m.id = i.meta_id
         WHERE i.id > ? AND i.app_id = ? ORDER BY i.id LIMIT ?`,
      )
      .all(afterId, appId, limit) as ItemDbRow[];
    return rows.map(toStoredItem);
  }

  lastId(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM items').get() as { id: number })
      .id;
  }

  /** Counts items per kind for an app (or all apps). */
  counts(appId?: string): Partial<Record<ItemKind, number>> {
    const rows = (
      appId === undefined
        ? this.db.prepare('SELECT kind, COUNT(*) AS n FROM items GROUP BY kind').all()
        : this.db
            .prepare('SELECT kind, COUNT(*) AS n FROM items WHERE app_id = ? GROUP BY kind')
            .all(appId)
    ) as { kind: ItemKind; n: number }[];
    return Object.fromEntries(rows.map((row) => [row.kind, row.n]));
  }

  /** Calls `listener` with the last id after every write; returns the unsubscribe function. */
  onCommit(listener: (lastId: number) => void): () => void {
    this.events.on('commit', listener);
    return () => this.events.off('commit', listener);
  }

  /** Bytes of pages in use (free pages are reused before the file grows). */
  sizeBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /**
   * Deletes items received before `maxAgeMs` ago, then the oldest items until the store uses at
   * most `maxBytes`; removes metas no item uses any more and returns free pages to the OS.
   * Works in chunks so that each transaction stays short.
   */
  applyRetention({
    now,
    maxAgeMs,
    maxBytes,
  }: {
    now: number;
    maxAgeMs: number;
    maxBytes: number;
  }): RetentionResult {
    let deletedByAge = 0;
    const byAge = this.db.prepare(
      'DELETE FROM items WHERE id IN (SELECT id FROM items WHERE received_at < ? ORDER BY received_at LIMIT ?)',
    );
    for (let changes = DELETE_CHUNK; changes === DELETE_CHUNK;) {
      changes = byAge.run(now - maxAgeMs, DELETE_CHUNK).changes;
      deletedByAge += changes;
    }
    // Groups not seen within the age limit go too (their items are gone); size-based deletion
    // leaves them: a group is one small row, and its counts stay true.
    this.errorGroups.deleteLastSeenBefore(now - maxAgeMs);

    let deletedBySize = 0;
    const oldest = this.db.prepare(
      'DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY id LIMIT ?)',
    );
    // Ids grow with time, so the id range estimates the row count without a full COUNT(*).
    const rowsLeft = () => {
      const row = this.db.prepare('SELECT MIN(id) AS low, MAX(id) AS high FROM items').get() as {
        low: number | null;
        high: number | null;
      };
      return row.low === null || row.high === null ? 0 : row.high - row.low + 1;
    };
    while (this.sizeBytes() > maxBytes) {
      // Remove about a twentieth of what is left per step, then measure again.
      const step = Math.min(DELETE_CHUNK, Math.max(1, Math.ceil(rowsLeft() / 20)));
      const { changes } = oldest.run(step);
      deletedBySize += changes;
      if (changes === 0) break;
    }

    if (deletedByAge + deletedBySize > 0) {
      this.db
        .prepare(
          'DELETE FROM metas WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.meta_id = metas.id)',
        )
        .run();
      this.metaIds.clear();
      this.db.pragma('incremental_vacuum');
    }
    return { deletedByAge, deletedBySize, sizeBytes: this.sizeBytes() };
  }

  close(): void {
    this.events.removeAllListeners();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

function toStoredItem(row: ItemDbRow): StoredItem {
  const stored: StoredItem = {
    id: row.id,
    kind: row.kind,
    tenantId: row.tenant_id,
    appId: row.app_id,
    time: row.time,
    receivedAt: row.received_at,
    sessionId: row.session_id,
    traceId: row.trace_id,
    item: JSON.parse(row.body) as Record<string, unknown>,
    meta: JSON.parse(row.meta) as Record<string, unknown>,
  };
  if (row.extra !== null) {
    const extra = JSON.parse(row.extra) as {
      resource: Record<string, unknown>;
      scope: Record<string, unknown>;
    };
    stored.resource = extra.resource;
    stored.scope = extra.scope;
  }
  return stored;
}
