import type { Static } from '@sinclair/typebox';
import type {
  AppCreated,
  AppDeleted,
  AppSchema,
  AuditPage,
  KeyRevoked,
  KeySchema,
  LimitsView,
  RotateResult,
  TenantDeleted,
  TenantSchema,
  TokenCreated,
  TokenSchema,
} from '../admin/schemas.js';

// The API's answers, typed from the schemas the server serialises them with (types only: the
// CLI loads none of the server's code).
export type Tenant = Static<typeof TenantSchema>;
export type App = Static<typeof AppSchema>;
export type AppWithKey = Static<typeof AppCreated>;
export type Key = Static<typeof KeySchema>;
export type Token = Static<typeof TokenSchema>;
export type NewToken = Static<typeof TokenCreated>;
export type LimitsAnswer = Static<typeof LimitsView>;
export type Limits = LimitsAnswer['limits'];
export type RateLimit = NonNullable<Limits['requests']>;
export type Audit = Static<typeof AuditPage>;
export type Rotated = Static<typeof RotateResult>;
export type RevokedKey = Static<typeof KeyRevoked>;
export type DeletedApp = Static<typeof AppDeleted>;
export type DeletedTenant = Static<typeof TenantDeleted>;
