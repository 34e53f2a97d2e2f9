import { openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";

/**
 * PGlite has no postmaster.pid: two processes opening one data directory would corrupt it. This
 * lock file (`<dataDir>.lock`, holding the owner's pid) refuses the second one with a clear error,
 * and is taken over when its owner is gone (a kill -9 leaves it behind).
 */
export function lockDataDir(dataDir: string): () => void {
  const path = `${dataDir.replace(/\/+$/, "")}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new Error(`the embedded database in ${dataDir} is in use by process ${owner}; stop it first, or set DATABASE_URL to share a Postgres server`, { cause: error });
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock ${path}`);
}

/** The pid of the live process holding `dataDir`, if any. */
export function dataDirOwner(dataDir: string): number | undefined {
  try {
    const owner = Number(readFileSync(`${dataDir.replace(/\/+$/, "")}.lock`, "utf8").trim());
    return Number.isInteger(owner) && owner > 0 && isAlive(owner) ? owner : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
