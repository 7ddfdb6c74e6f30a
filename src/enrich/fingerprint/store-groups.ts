import type Database from 'better-sqlite3';
import type { AcceptedBatch, FaroException } from '../../model/index.js';
import { culpritOf, fingerprintException, pharosFingerprintOf } from './fingerprint.js';
import { DEFAULT_SKETCH_SIZE, estimateSessions, sessionHash } from './session-sketch.js';

/**
 * Error groups in the embedded store: one row per app and fingerprint, updated in the same
 * transaction as the exception items, so the group counts and the items never disagree.
 *
 * Append this to the store's MIGRATIONS (src/store/schema.ts): it is one migration step.
 */
export const ERROR_GROUPS_MIGRATION = `
  CREATE TABLE error_groups (
    app_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    culprit TEXT,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    first_release TEXT,
    last_release TEXT,
    count INTEGER NOT NULL,
    sessions INTEGER NOT NULL DEFAULT 0,
    session_rows INTEGER NOT NULL DEFAULT 0,
    sessions_saturated INTEGER NOT NULL DEFAULT 0,
    last_item_id INTEGER,
    PRIMARY KEY (app_id, fingerprint)
  ) WITHOUT ROWID;
  CREATE INDEX error_groups_by_last_seen ON error_groups (app_id, last_seen, fingerprint);
  CREATE INDEX error_groups_by_count ON error_groups (app_id, count, fingerprint);
  CREATE INDEX error_groups_by_sessions ON error_groups (app_id, sessions, fingerprint);
  CREATE INDEX error_groups_by_age ON error_groups (last_seen);
  CREATE TABLE error_group_sessions (
    app_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    hash INTEGER NOT NULL,
    PRIMARY KEY (app_id, fingerprint, hash)
  ) WITHOUT ROWID;
`;

/** One error group as the read API returns it. */
export interface ErrorGroup {
  fingerprint: string;
  tenantId: string;
  appId: string;
  type: string;
  /** `Type: message` of the latest occurrence (as stored: after the privacy rules). */
  title: string;
  /** Top in-app frame of the latest occurrence, `function (file)`; null without one. */
  culprit: string | null;
  /** Receive times, ms since the epoch (server clock: client clocks skew). */
  firstSeen: number;
  lastSeen: number;
  firstRelease: string | null;
  lastRelease: string | null;
  count: number;
  /** Distinct sessions affected: exact while `sessionsExact`, else an estimate (±3 %). */
  sessions: number;
  sessionsExact: boolean;
  /** Store id of the latest occurrence (`GET /api/v1/apps/:app/exceptions?q=<fingerprint>` lists all). */
  lastItemId: number | null;
}

export const ERROR_GROUP_SORTS = ['lastSeen', 'count', 'sessions'] as const;
export type ErrorGroupSort = (typeof ERROR_GROUP_SORTS)[number];

export interface ErrorGroupQuery {
  appId: string;
  /** Largest first (default `lastSeen`). */
  sort?: ErrorGroupSort;
  /** Only groups seen at or after this time, ms. */
  since?: number | undefined;
  /** Continue after this group, in the chosen order. */
  cursor?: { value: number; fingerprint: string } | undefined;
  limit: number;
}

export interface ErrorGroupStoreOptions {
  /** Sessions counted exactly per group before the count becomes an estimate (default 1000). */
  sketchSize?: number;
}

interface GroupDbRow {
  app_id: string;
  fingerprint: string;
  tenant_id: string;
  type: string;
  title: string;
  culprit: string | null;
  first_seen: number;
  last_seen: number;
  first_release: string | null;
  last_release: string | null;
  count: number;
  sessions: number;
  sessions_saturated: number;
  last_item_id: number | null;
}

const SORT_COLUMNS: Record<ErrorGroupSort, string> = {
  lastSeen: 'last_seen',
  count: 'count',
  sessions: 'sessions',
};
const TITLE_MAX = 300;

/** Occurrences of one group within one batch. */
interface Occurrences {
  count: number;
  latest: FaroException;
  latestItemId: number | null;
}

export class ErrorGroupStore {
  private readonly k: number;
  private readonly statements;

  /** `db` must have had ERROR_GROUPS_MIGRATION applied. */
  constructor(
    private readonly db: Database.Database,
    options: ErrorGroupStoreOptions = {},
  ) {
    this.k = Math.max(2, options.sketchSize ?? DEFAULT_SKETCH_SIZE);
    this.statements = {
      upsert: db.prepare<
        [Record<string, unknown>],
        { session_rows: number; sessions_saturated: number }
      >(
        `INSERT INTO error_groups (app_id, fingerprint, tenant_id, type, title, culprit, first_seen, last_seen,
           first_release, last_release, count, last_item_id)
         VALUES (@appId, @fingerprint, @tenantId, @type, @title, @culprit, @seen, @seen,
           @release, @release, @count, @itemId)
         ON CONFLICT (app_id, fingerprint) DO UPDATE SET
           type = excluded.type, title = excluded.title, culprit = excluded.culprit,
           first_seen = MIN(first_seen, excluded.first_seen),
           last_seen = MAX(last_seen, excluded.last_seen),
           first_release = COALESCE(first_release, excluded.first_release),
           last_release = COALESCE(excluded.last_release, last_release),
           count = count + excluded.count,
           last_item_id = COALESCE(excluded.last_item_id, last_item_id)
         RETURNING session_rows, sessions_saturated`,
      ),
      largestSession: db.prepare<[string, string], { hash: number | null }>(
        'SELECT MAX(hash) AS hash FROM error_group_sessions WHERE app_id = ? AND fingerprint = ?',
      ),
      insertSession: db.prepare<[string, string, number]>(
        'INSERT OR IGNORE INTO error_group_sessions (app_id, fingerprint, hash) VALUES (?, ?, ?)',
      ),
      evictLargest: db.prepare<[string, string, string, string]>(
        `DELETE FROM error_group_sessions WHERE app_id = ? AND fingerprint = ? AND hash =
           (SELECT MAX(hash) FROM error_group_sessions WHERE app_id = ? AND fingerprint = ?)`,
      ),
      updateSessions: db.prepare<[number, number, number, string, string]>(
        `UPDATE error_groups SET sessions = ?, session_rows = ?, sessions_saturated = ?
         WHERE app_id = ? AND fingerprint = ?`,
      ),
      get: db.prepare<[string, string], GroupDbRow>(
        'SELECT * FROM error_groups WHERE app_id = ? AND fingerprint = ?',
      ),
      deleteSessionsOfStale: db.prepare<[number]>(
        `DELETE FROM error_group_sessions WHERE (app_id, fingerprint) IN
           (SELECT app_id, fingerprint FROM error_groups WHERE last_seen < ?)`,
      ),
      deleteStale: db.prepare<[number]>('DELETE FROM error_groups WHERE last_seen < ?'),
    };
  }

  /**
   * Counts the exceptions of a batch into their groups. Call it inside the transaction that
   * writes the batch's items; `exceptionItemIds` are the store ids of its exception rows, in
   * payload order (empty if unknown).
   */
  record(batch: AcceptedBatch, exceptionItemIds: readonly number[] = []): void {
    const exceptions = batch.payload.exceptions;
    if (!exceptions || exceptions.length === 0) return;
    const byFingerprint = new Map<string, Occurrences>();
    exceptions.forEach((exception, index) => {
      const fingerprint = pharosFingerprintOf(exception) ?? fingerprintException(exception);
      const itemId = exceptionItemIds[index] ?? null;
      const seen = byFingerprint.get(fingerprint);
      if (seen) {
        seen.count++;
        seen.latest = exception;
        seen.latestItemId = itemId ?? seen.latestItemId;
      } else {
        byFingerprint.set(fingerprint, { count: 1, latest: exception, latestItemId: itemId });
      }
    });

    const sessionId = batch.payload.meta?.session?.id;
    const app = batch.payload.meta?.app;
    const release = app?.release ?? app?.version ?? null;
    const releaseTokens = [app?.release, app?.version, app?.bundleId].filter(
      (token): token is string => typeof token === 'string',
    );
    for (const [fingerprint, occurrences] of byFingerprint) {
      const { latest } = occurrences;
      const type = latest.type?.trim() || 'Error';
      const state = this.statements.upsert.get({
        appId: batch.appId,
        fingerprint,
        tenantId: batch.tenantId,
        type,
        title: truncate(latest.value ? `${type}: ${latest.value}` : type, TITLE_MAX),
        culprit: culpritOf(latest, { releaseTokens }),
        seen: batch.receivedAt,
        release,
        count: occurrences.count,
        itemId: occurrences.latestItemId,
      });
      if (state && sessionId) this.countSession(batch.appId, fingerprint, sessionId, state);
    }
  }

  private countSession(
    appId: string,
    fingerprint: string,
    sessionId: string,
    state: { session_rows: number; sessions_saturated: number },
  ): void {
    const hash = sessionHash(sessionId);
    let rows = state.session_rows;
    let saturated = state.sessions_saturated === 1;
    if (saturated) {
      // A full sketch keeps only the k smallest hashes: a larger one changes nothing.
      const largest = this.statements.largestSession.get(appId, fingerprint)?.hash ?? null;
      if (largest !== null && hash >= largest) return;
    }
    if (this.statements.insertSession.run(appId, fingerprint, hash).changes === 0) return;
    rows++;
    if (rows > this.k) {
      this.statements.evictLargest.run(appId, fingerprint, appId, fingerprint);
      rows = this.k;
      saturated = true;
    }
    const largest = saturated
      ? (this.statements.largestSession.get(appId, fingerprint)?.hash ?? null)
      : null;
    const sessions = estimateSessions(rows, largest, saturated, this.k);
    this.statements.updateSessions.run(sessions, rows, saturated ? 1 : 0, appId, fingerprint);
  }

  get(appId: string, fingerprint: string): ErrorGroup | undefined {
    const row = this.statements.get.get(appId, fingerprint);
    return row ? toErrorGroup(row) : undefined;
  }

  /** Groups of an app, largest first by the chosen column; ties broken by fingerprint. */
  list(query: ErrorGroupQuery): ErrorGroup[] {
    const column = SORT_COLUMNS[query.sort ?? 'lastSeen'];
    const where = ['app_id = @appId'];
    const params: Record<string, unknown> = { appId: query.appId, limit: query.limit };
    if (query.since !== undefined) {
      where.push('last_seen >= @since');
      params.since = query.since;
    }
    if (query.cursor) {
      where.push(`(${column}, fingerprint) < (@cursorValue, @cursorFingerprint)`);
      params.cursorValue = query.cursor.value;
      params.cursorFingerprint = query.cursor.fingerprint;
    }
    const rows = this.db
      .prepare<[Record<string, unknown>], GroupDbRow>(
        `SELECT * FROM error_groups WHERE ${where.join(' AND ')}
         ORDER BY ${column} DESC, fingerprint DESC LIMIT @limit`,
      )
      .all(params);
    return rows.map(toErrorGroup);
  }

  /** Deletes groups not seen since `cutoff` (ms) with their session sketches; returns how many. */
  deleteLastSeenBefore(cutoff: number): number {
    return this.db.transaction(() => {
      this.statements.deleteSessionsOfStale.run(cutoff);
      return this.statements.deleteStale.run(cutoff).changes;
    })();
  }
}

/** The value of a group in a sort order, for cursors. */
export function sortValueOf(group: ErrorGroup, sort: ErrorGroupSort): number {
  return sort === 'count' ? group.count : sort === 'sessions' ? group.sessions : group.lastSeen;
}

function toErrorGroup(row: GroupDbRow): ErrorGroup {
  return {
    fingerprint: row.fingerprint,
    tenantId: row.tenant_id,
    appId: row.app_id,
    type: row.type,
    title: row.title,
    culprit: row.culprit,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    firstRelease: row.first_release,
    lastRelease: row.last_release,
    count: row.count,
    sessions: row.sessions,
    sessionsExact: row.sessions_saturated === 0,
    lastItemId: row.last_item_id,
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
