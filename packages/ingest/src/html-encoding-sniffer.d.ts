// The package ships no types (and @types/html-encoding-sniffer describes an older API).
declare module "html-encoding-sniffer" {
  interface SniffOptions {
    /** Skip the HTML <meta charset> prescan: only a BOM, the transport label and the default count. */
    xml?: boolean;
    /** An encoding label from the transport layer (a Content-Type charset); a BOM overrides it. */
    transportLayerEncodingLabel?: string | undefined;
    /** Returned when nothing else decides; null returns null (undefined means the spec's default). */
    defaultEncoding?: string | null;
  }
  /** The HTML Standard's encoding sniffing: a canonical encoding name (or the default given). */
  export default function sniffEncoding(bytes: Uint8Array, options?: SniffOptions): string | null;
}
