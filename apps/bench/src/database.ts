import pg from "pg";

/** "PostgreSQL 15.x, pgvector 0.8.0" of the server the benchmark uses. */
export async function databaseVersions(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const server = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "unknown";
    const vector = (await client.query<{ default_version: string }>("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")).rows[0]?.default_version;
    return `PostgreSQL ${server.split(" ")[0]}, pgvector ${vector ?? "not installed"}`;
  } finally {
    await client.end();
  }
}
