import JSZip from "jszip";

const escape = (text: string) => text.replace(/[<>&"]/g, (char) => `&#${char.charCodeAt(0)};`);
const column = (index: number) => String.fromCharCode(65 + index);

function sheetXml(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const cells = rows.map(
    (row, r) =>
      `<row r="${r + 1}">${row
        .map((value, c) => {
          const ref = `${column(c)}${r + 1}`;
          if (value === null) return "";
          return typeof value === "number" ? `<c r="${ref}"><v>${value}</v></c>` : `<c r="${ref}" t="inlineStr"><is><t>${escape(value)}</t></is></c>`;
        })
        .join("")}</row>`,
  );
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${cells.join("")}</sheetData></worksheet>`;
}

/**
 * Writes a minimal, valid Excel workbook (.xlsx: an Office Open XML zip) for test fixtures: named
 * sheets of rows, each cell a string (inline), a number or empty (null). At most 26 columns.
 */
export async function makeXlsx(sheets: ReadonlyArray<{ name: string; rows: ReadonlyArray<ReadonlyArray<string | number | null>> }>): Promise<Buffer> {
  const xml = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`;
  const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
  const zip = new JSZip();
  const overrides = sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join("");
  zip.file(
    "[Content_Types].xml",
    `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${overrides}</Types>`,
  );
  zip.file("_rels/.rels", `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>`);
  zip.file(
    "xl/workbook.xml",
    `${xml}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="${rel}"><sheets>${sheets.map((sheet, i) => `<sheet name="${escape(sheet.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("")}</sheets></workbook>`,
  );
  zip.file(
    "xl/_rels/workbook.xml.rels",
    `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${rel}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join("")}</Relationships>`,
  );
  sheets.forEach((sheet, i) => zip.file(`xl/worksheets/sheet${i + 1}.xml`, sheetXml(sheet.rows)));
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}
