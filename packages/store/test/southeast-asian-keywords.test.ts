import { describe, expect, it } from "vitest";
import { keywordCollection } from "./keyword-fixture.js";
import { databaseServers, usePool } from "./servers.js";

// "Check the hydraulic pump and replace the seal every year" / "Clean the oil filter every month".
const THAI_PUMP = "ตรวจสอบปั๊มไฮดรอลิกและเปลี่ยนซีลทุกปี";
const THAI_FILTER = "ล้างไส้กรองน้ำมันทุกเดือน";
// "Check the oil pump" (Lao), "Check the water pump every month" (Khmer, Burmese).
const LAO = "ກວດເບິ່ງປັ໊ມນ້ຳມັນ";
const KHMER = "ពិនិត្យម៉ាស៊ីនបូមទឹកជារៀងរាល់ខែ";
const BURMESE = "ရေစုပ်စက်ကို လစဉ် စစ်ဆေးပါ။";
const CHINESE = "检查液压泵的密封，必要时更换阀门。";
const ENGLISH = "Check the hydraulic pump seals and replace the valve if needed.";

describe.each(databaseServers("sea"))("keyword search in Thai, Lao, Khmer and Burmese on $name", (server) => {
  const pool = usePool(server);
  let fixture: Awaited<ReturnType<typeof keywordCollection>>;
  const store = (texts: readonly string[], name: string) => fixture.store(texts, name);
  const keyword = (query: string) => fixture.keyword(query);

  it("finds chunks stored before by a word inside a Thai phrase, once migrated", async () => {
    fixture = await keywordCollection(pool(), 7);
    await store([THAI_PUMP, ENGLISH], "old");
    // The parser took the whole phrase as one word: the pump alone matched nothing.
    expect(await keyword(THAI_PUMP)).toEqual([THAI_PUMP]);
    expect(await keyword("ปั๊ม")).toEqual([]);
    expect((await fixture.migrateRest())[0]).toBe(8);
    expect(await keyword("ปั๊ม")).toEqual([THAI_PUMP]);
  });

  it("matches words anywhere in a phrase, cutting between letters and never inside one with its marks", async () => {
    await store([THAI_FILTER, LAO, KHMER, BURMESE, CHINESE], "new");
    // ไส้กรอง (filter element) shares one pair, รอ, with ไฮดรอลิก (hydraulic): found too, ranked below.
    expect(await keyword("ไส้กรอง")).toEqual([THAI_FILTER, THAI_PUMP]);
    expect(await keyword("ซีล")).toEqual([THAI_PUMP]);
    expect(await keyword("น้ำมัน")).toEqual([THAI_FILTER]);
    // "every" is in both Thai chunks; the one sharing more of the query ranks first.
    expect(await keyword("ทุกเดือน")).toEqual([THAI_FILTER, THAI_PUMP]);
    expect(await keyword("ປັ໊ມ")).toEqual([LAO]);
    expect(await keyword("ម៉ាស៊ីនបូមទឹក")).toEqual([KHMER]);
    expect(await keyword("ពិនិត្យ")).toEqual([KHMER]);
    expect(await keyword("ရေစုပ်စက်")).toEqual([BURMESE]);
    // A query of one letter with its marks is a word of its own: ปี (year).
    expect(await keyword("ปี")).toEqual([THAI_PUMP]);
    // "restaurant" and "book" share no letter pair with any chunk.
    expect(await keyword("ร้านอาหาร")).toEqual([]);
    expect(await keyword("សៀវភៅ")).toEqual([]);
    // Chinese and English as before.
    expect(await keyword("液压泵")).toEqual([CHINESE]);
    expect(await keyword("pumps valves")).toEqual([ENGLISH]);
  });

  it("cuts a Thai phrase into letters with their vowel signs and tone marks", async () => {
    const text = async (value: string, indexing: boolean) => (await pool().query<{ t: string }>("SELECT herd_search_text($1, $2) AS t", [value, indexing])).rows[0]?.t.trim().split(/\s+/);
    // ปั๊ม is ป with two marks (ปั๊), then ม: one pair, never a piece starting with a bare mark.
    expect(await text("ปั๊ม", false)).toEqual(["ปั๊ม"]);
    expect(await text("ปั๊ม", true)).toEqual(["ปั๊", "ปั๊ม", "ม"]);
    // Khmer stacks a consonant under another with a coeng (្): ត្យ is one piece.
    expect(await text("ពិនិត្យ", false)).toEqual(["ពិនិ", "និត្យ"]);
  });
});
