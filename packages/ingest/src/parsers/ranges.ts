/** Page (or slide) numbers as short ranges, the first `most` of them: "3, 7-9, 12", "1, 3, 5, … (40 pages)". */
export function pageRanges(pages: readonly number[], most = 20, noun = "pages"): string {
  const ranges: string[] = [];
  for (let i = 0; i < pages.length; ) {
    let j = i;
    while (j + 1 < pages.length && pages[j + 1] === (pages[j] as number) + 1) j += 1;
    ranges.push(j > i ? `${pages[i]}-${pages[j]}` : String(pages[i]));
    i = j + 1;
  }
  return ranges.length > most ? `${ranges.slice(0, most).join(", ")}, … (${pages.length} ${noun})` : ranges.join(", ");
}
