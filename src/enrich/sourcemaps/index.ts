export { createSourcemapSymbolication, SOURCEMAP_DEFAULTS } from './symbolication.js';
export type { DownloadOptions, SourcemapOptions, Sourcemaps } from './symbolication.js';
export { createSourcemapEnricher } from './enricher.js';
export type { EnricherOptions } from './enricher.js';
export { SourceMapResolver, FRAME_RESULTS } from './resolver.js';
export type {
  FrameContext,
  FrameResult,
  LookupFailure,
  MapLookup,
  ResolverOptions,
} from './resolver.js';
export { SourceMapCache, MapTooLargeError } from './map-cache.js';
export type { MapCacheEvents, MapCacheOptions, RawSourceMap } from './map-cache.js';
export { SafeDownloader, DownloadError } from './downloader.js';
export type {
  ConnectTarget,
  Connector,
  DownloadRequest,
  Downloaded,
  DownloaderOptions,
  HostResolver,
  ResolvedAddress,
} from './downloader.js';
export { checkAddress } from './address-guard.js';
export type { AddressPolicy, AddressVerdict } from './address-guard.js';
export type { SourceMapLocation } from './locations.js';
export { originalPositionOf, symbolicateFrames } from './symbolicate.js';
export type { MinifiedPosition, OriginalPosition, SymbolicatedFrame } from './symbolicate.js';
export { createSourcemapMetrics } from './metrics.js';
export type { SourcemapMetrics } from './metrics.js';
export { openSqliteSourceMapStore } from './sqlite-store.js';
export { openPostgresSourceMapStore } from './pg-map-store.js';
export type { PostgresSourceMapStoreOptions } from './pg-map-store.js';
export { BUNDLE_ID_PATTERN, isBundleId } from './store.js';
export type { NewSourceMap, SourceMapInfo, SourceMapKey, SourceMapStore } from './store.js';
export { INVALID_MAP_ERROR, readUploadedMaps } from './upload-body.js';
export type { UploadLimits, UploadedMap } from './upload-body.js';
export {
  authenticateUpload,
  canManageSourceMaps,
  checkStackId,
  requireManagedApp,
} from './upload-auth.js';
export type { UploadCredentials } from './upload-auth.js';
export { InvalidSourceMapError } from './source-map-text.js';
export { downloadOriginsFrom, sourcemapOptionsFrom, uploadLimitsFrom } from './settings.js';
export type { SourcemapSettings } from './settings.js';
