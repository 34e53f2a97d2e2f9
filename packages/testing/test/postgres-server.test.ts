import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { PostgresServer } from "../src/postgres-server.js";

async function show(url: string, setting: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]?.[setting];
  } finally {
    await client.end();
  }
}

describe.skipIf(!PostgresServer.available())("a private PostgreSQL server", () => {
  const toClose: PostgresServer[] = [];
  afterEach(() => {
    for (const server of toClose.splice(0)) server.close();
  });

  it("starts with the settings it is given and restarts with new ones", async () => {
    const server = await PostgresServer.start({ shared_buffers: "32MB" });
    toClose.push(server);
    expect(await show(server.url, "shared_buffers")).toBe("32MB");
    server.stop();
    server.restart({ shared_buffers: "48MB" });
    expect(await show(server.url, "shared_buffers")).toBe("48MB");
    // A restart without settings keeps the last ones.
    server.stop();
    server.restart();
    expect(await show(server.url, "shared_buffers")).toBe("48MB");
  });

  it("refuses a setting that would change the server's command line beyond one -c", async () => {
    const server = await PostgresServer.start();
    toClose.push(server);
    server.stop();
    expect(() => server.restart({ shared_buffers: "1GB -c fsync=on" })).toThrow(/not a server setting/);
    expect(() => server.restart({ "shared_buffers=1GB -c x": "1" })).toThrow(/not a server setting/);
  });
});
