import JSZip from "jszip";
import pptxgenjs from "pptxgenjs";
import { escapeXml } from "./xml.js";

// Its types declare an ES default export but are read as CommonJS under NodeNext; at run time the
// default import is the class itself (both of its builds export it so).
export const PptxGenJS = pptxgenjs as unknown as typeof pptxgenjs.default;
type Slide = ReturnType<InstanceType<typeof PptxGenJS>["addSlide"]>;

/** A chart for a test document, as pptxgenjs draws one. */
export interface ChartSpec {
  type: "bar" | "line" | "pie";
  title?: string;
  /** Every series over the same category labels. */
  series: ReadonlyArray<{ name: string; labels: readonly string[]; values: readonly number[] }>;
  /** Axis titles (not on a pie). */
  categoryAxis?: string;
  valueAxis?: string;
}

export interface SmartArtNode {
  text: string;
  children?: readonly SmartArtNode[];
}

export const DIAGRAM_NS = "http://schemas.openxmlformats.org/drawingml/2006/diagram";
export const CHART_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart";

/** Draws `chart` on a pptxgenjs slide: a chart part with its data cached, and an embedded workbook. */
export function addChart(slide: Slide, chart: ChartSpec): void {
  const data = chart.series.map((series) => ({ name: series.name, labels: [...series.labels], values: [...series.values] }));
  slide.addChart(chart.type, data, {
    x: 0.5,
    y: 1.4,
    w: 9,
    h: 3.5,
    ...(chart.title !== undefined ? { showTitle: true, title: chart.title } : {}),
    ...(chart.categoryAxis !== undefined ? { showCatAxisTitle: true, catAxisTitle: chart.categoryAxis } : {}),
    ...(chart.valueAxis !== undefined ? { showValAxisTitle: true, valAxisTitle: chart.valueAxis } : {}),
  });
}

/**
 * The chart part (c:chartSpace) pptxgenjs writes for `chart`, for another kind of document to
 * hold: Word and PowerPoint store charts in the same DrawingML chart part.
 */
export async function chartPart(chart: ChartSpec): Promise<string> {
  const deck = new PptxGenJS();
  addChart(deck.addSlide(), chart);
  const zip = await JSZip.loadAsync((await deck.write({ outputType: "nodebuffer" })) as Buffer);
  // pptxgenjs numbers charts across every deck of the process: the one chart part, whatever its number.
  const part = await zip.file(/^ppt\/charts\/chart\d+\.xml$/)[0]?.async("string");
  if (part === undefined) throw new Error("pptxgenjs wrote no chart part");
  return part;
}

/**
 * A SmartArt diagram's data model as PowerPoint and Word store it (neither pptxgenjs nor any
 * other npm writer makes them): the document point, a point per node with its text, the
 * transition and presentation points added around each, and the connections (parent-of,
 * ordered by srcOrd, and presentation links). The points and connections are listed in reverse,
 * as after a user moves nodes around, so only the connections' srcOrd gives the order. The
 * layout, style, colour and drawing parts that go with it hold no text of the diagram's own.
 */
export function smartArtData(nodes: readonly SmartArtNode[]): string {
  const points: string[] = [];
  const connections: string[] = [];
  let next = 0;
  const id = () => `{00000000-0000-4000-8000-${String(++next).padStart(12, "0")}}`;
  const empty = `<dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:endParaRPr lang="en-US"/></a:p></dgm:t>`;
  const docId = id();
  const docPoint = `<dgm:pt modelId="${docId}" type="doc"><dgm:prSet loTypeId="urn:microsoft.com/office/officeart/2005/8/layout/hProcess9" loCatId="process" qsTypeId="urn:microsoft.com/office/officeart/2005/8/quickstyle/simple1" qsCatId="simple" csTypeId="urn:microsoft.com/office/officeart/2005/8/colors/accent1_2" csCatId="accent1"/><dgm:spPr/>${empty}</dgm:pt>`;
  const add = (parent: string, list: readonly SmartArtNode[]) => {
    for (const [order, node] of list.entries()) {
      const [nodeId, cxnId, parTrans, sibTrans, presId] = [id(), id(), id(), id(), id()];
      points.push(
        `<dgm:pt modelId="${nodeId}"><dgm:prSet phldrT="[Text]"/><dgm:spPr/><dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US" dirty="0"/><a:t>${escapeXml(node.text)}</a:t></a:r></a:p></dgm:t></dgm:pt>`,
        `<dgm:pt modelId="${parTrans}" type="parTrans" cxnId="${cxnId}"><dgm:prSet/><dgm:spPr/>${empty}</dgm:pt>`,
        `<dgm:pt modelId="${sibTrans}" type="sibTrans" cxnId="${cxnId}"><dgm:prSet/><dgm:spPr/>${empty}</dgm:pt>`,
        `<dgm:pt modelId="${presId}" type="pres"><dgm:prSet presAssocID="${nodeId}" presName="node" presStyleLbl="node1" presStyleIdx="${order}" presStyleCnt="${list.length}"><dgm:presLayoutVars><dgm:bulletEnabled val="1"/></dgm:presLayoutVars></dgm:prSet><dgm:spPr/></dgm:pt>`,
      );
      connections.push(
        `<dgm:cxn modelId="${cxnId}" srcId="${parent}" destId="${nodeId}" srcOrd="${order}" destOrd="0" parTransId="${parTrans}" sibTransId="${sibTrans}"/>`,
        `<dgm:cxn modelId="${id()}" type="presOf" srcId="${nodeId}" destId="${presId}" srcOrd="0" destOrd="0"/>`,
        `<dgm:cxn modelId="${id()}" type="presParOf" srcId="${docId}" destId="${presId}" srcOrd="${order}" destOrd="0"/>`,
      );
      add(nodeId, node.children ?? []);
    }
  };
  add(docId, nodes);
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<dgm:dataModel xmlns:dgm="${DIAGRAM_NS}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><dgm:ptLst>${docPoint}${points.reverse().join("")}</dgm:ptLst><dgm:cxnLst>${connections.reverse().join("")}</dgm:cxnLst><dgm:bg/><dgm:whole/></dgm:dataModel>`;
}
