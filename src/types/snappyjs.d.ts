/** snappyjs 0.7: a pure-JavaScript snappy block codec (no bundled types). */
declare module 'snappyjs' {
  /** Compresses to the raw snappy block format; a Buffer in gives a Buffer out. */
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(
    compressed: T,
    maxLength?: number,
  ): T;
}
