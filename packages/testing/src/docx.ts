import JSZip from "jszip";

export type DocxBlock = { heading: 1 | 2 | 3; text: string } | { text: string; footnote?: string } | { table: string[][] };

const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
/** Text as XML character data or an attribute value. */
export const escapeXml = (text: string) => text.replace(/[<>&"]/g, (char) => `&#${char.charCodeAt(0)};`);
const run = (text: string) => `<w:r><w:t xml:space="preserve">${escapeXml(text)}</w:t></w:r>`;
const paragraph = (text: string, style?: string) => `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ""}${run(text)}</w:p>`;

function body(block: DocxBlock, footnotes: string[]): string {
  if ("table" in block) return `<w:tbl>${block.table.map((row) => `<w:tr>${row.map((cell) => `<w:tc>${paragraph(cell)}</w:tc>`).join("")}</w:tr>`).join("")}</w:tbl>`;
  if ("footnote" in block && block.footnote !== undefined) {
    footnotes.push(block.footnote);
    return `<w:p>${run(block.text)}<w:r><w:footnoteReference w:id="${footnotes.length}"/></w:r></w:p>`;
  }
  return paragraph(block.text, "heading" in block ? `Heading${block.heading}` : undefined);
}

/**
 * Writes a minimal, valid Word document (.docx: an Office Open XML zip) for test fixtures:
 * headings with Word's built-in "Heading N" styles, paragraphs (with a footnote) and tables.
 */
export async function makeDocx(blocks: readonly DocxBlock[]): Promise<Buffer> {
  const footnotes: string[] = [];
  const document = blocks.map((block) => body(block, footnotes)).join("");
  const xml = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`;
  const relationship = (id: string, type: string, target: string) => `<Relationship Id="${id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/${type}" Target="${target}"/>`;
  const part = (name: string, type: string) => `<Override PartName="/word/${name}.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.${type}+xml"/>`;
  const zip = new JSZip();
  zip.file(
    "[Content_Types].xml",
    `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>${part("document", "document.main")}${part("styles", "styles")}${part("footnotes", "footnotes")}</Types>`,
  );
  zip.file("_rels/.rels", `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${relationship("rId1", "officeDocument", "word/document.xml")}</Relationships>`);
  zip.file("word/_rels/document.xml.rels", `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${relationship("rId1", "styles", "styles.xml")}${relationship("rId2", "footnotes", "footnotes.xml")}</Relationships>`);
  const styles = [1, 2, 3].map((level) => `<w:style w:type="paragraph" w:styleId="Heading${level}"><w:name w:val="heading ${level}"/></w:style>`).join("");
  zip.file("word/styles.xml", `${xml}<w:styles xmlns:w="${W}">${styles}</w:styles>`);
  zip.file("word/footnotes.xml", `${xml}<w:footnotes xmlns:w="${W}">${footnotes.map((note, i) => `<w:footnote w:id="${i + 1}">${paragraph(note)}</w:footnote>`).join("")}</w:footnotes>`);
  zip.file("word/document.xml", `${xml}<w:document xmlns:w="${W}"><w:body>${document}</w:body></w:document>`);
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}
