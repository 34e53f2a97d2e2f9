// @types/word-extractor leaves out the getters' options (filterUnicode is needed here).
declare module "word-extractor" {
  interface TextOptions {
    /** true (the default) turns curly quotes, dashes and wide spaces into ASCII look-alikes. */
    filterUnicode?: boolean;
  }
  interface TextboxOptions extends TextOptions {
    /** Text boxes in headers and footers (default true). */
    includeHeadersAndFooters?: boolean;
    /** Text boxes in the body (default true). */
    includeBody?: boolean;
  }
  class Document {
    getBody(options?: TextOptions): string;
    getFootnotes(options?: TextOptions): string;
    getEndnotes(options?: TextOptions): string;
    getAnnotations(options?: TextOptions): string;
    getTextboxes(options?: TextboxOptions): string;
  }
  /** Reads Word 97-2003 (.doc, OLE2) and .docx files. */
  export default class WordExtractor {
    extract(source: string | Buffer): Promise<Document>;
  }
}
