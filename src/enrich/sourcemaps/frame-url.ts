/** A frame's filename without `?query` and `#fragment` (cache busters are not part of the file). */
export function withoutQuery(filename: string): string {
  const cut = filename.search(/[?#]/);
  return cut === -1 ? filename : filename.slice(0, cut);
}

/**
 * The file name an uploaded map is found by: the last path segment of the frame's filename,
 * without query or fragment, percent-decoded (a map's `file` is written unencoded).
 * `http://cdn/dist/app.min.js?v=3` → `app.min.js`. Empty when there is none (`http://cdn/`).
 */
export function minifiedBasename(filename: string): string {
  const path = withoutQuery(filename);
  const segment = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The filename as an http(s) URL (fragment removed), or undefined when it is not one. */
export function httpUrlOf(filename: string): URL | undefined {
  if (!/^https?:\/\//i.test(filename)) return undefined;
  try {
    const url = new URL(filename);
    url.hash = '';
    return url;
  } catch {
    return undefined;
  }
}
