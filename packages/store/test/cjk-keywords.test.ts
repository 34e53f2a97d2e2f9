import { describe, expect, it } from "vitest";
import { keywordCollection } from "./keyword-fixture.js";
import { databaseServers, usePool } from "./servers.js";

const CHINESE = "检查液压泵的密封，必要时更换阀门。";
const JAPANESE = "ポンプを点検し、フィルターを交換してください。";
const KOREAN = "펌프를 점검하고 필터를 교체하십시오.";
const ENGLISH = "Check the hydraulic pump seals and replace the valve if needed.";

describe.each(databaseServers("cjk"))("keyword search in Chinese, Japanese and Korean on $name", (server) => {
  const pool = usePool(server);
  let fixture: Awaited<ReturnType<typeof keywordCollection>>;
  const store = (texts: readonly string[], name: string) => fixture.store(texts, name);
  const keyword = (query: string) => fixture.keyword(query);

  it("finds chunks stored before by a word inside a run of Han characters, once migrated", async () => {
    fixture = await keywordCollection(pool(), 6);
    await store([CHINESE, ENGLISH], "old");
    // The parser took the whole run up to the comma as one word: the pump's name alone matched nothing.
    const matches = async (word: string) => (await pool().query<{ n: number }>("SELECT count(*)::int AS n FROM chunks WHERE tsv @@ to_tsquery('english', quote_literal($1))", [word])).rows[0]?.n;
    expect(await matches("检查液压泵的密封")).toBe(1);
    expect(await matches("液压泵")).toBe(0);
    expect((await fixture.migrateRest()).slice(0, 2)).toEqual([7, 8]);
    expect(await keyword("液压泵")).toEqual([CHINESE]);
  });

  it("matches words anywhere in Chinese, Japanese and Korean text, one-character words too, and leaves other text as it was", async () => {
    await store([JAPANESE, "液压油每年更换一次。", "更换滤芯。", KOREAN], "new");
    expect(await keyword("点検")).toEqual([JAPANESE]);
    expect(await keyword("フィルター")).toEqual([JAPANESE]);
    // 更换 (replace) is in three chunks; the one sharing more of the query's words ranks first.
    expect((await keyword("更换阀门"))[0]).toBe(CHINESE);
    expect(await keyword("更换")).toHaveLength(3);
    expect(await keyword("阀")).toEqual([CHINESE]);
    expect(await keyword("滤芯")).toEqual(["更换滤芯。"]);
    expect(await keyword("氧气")).toEqual([]);
    // Korean writes particles onto its words: "펌프" (pump) is inside "펌프를".
    expect(await keyword("펌프")).toEqual([KOREAN]);
    expect(await keyword("필터 교체")).toEqual([KOREAN]);
    // English stems and stop words as before: "pumps" finds "pump", "the" alone finds nothing.
    expect(await keyword("pumps valves")).toEqual([ENGLISH]);
    expect(await keyword("the")).toEqual([]);
  });
});
