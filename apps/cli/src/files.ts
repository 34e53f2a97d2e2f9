import { readFile, readdir, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";

export interface LocalFile {
  /** Document id: the path relative to the folder given (or the file name), with "/" separators. */
  id: string;
  path: string;
  size: number;
}

async function walk(root: string, dir: string, out: LocalFile[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(root, path, out);
    else if (entry.isFile()) out.push({ id: relative(root, path).split(sep).join("/"), path, size: (await stat(path)).size });
  }
}

/** Every file under the folders and every file named, hidden files skipped, sorted by id. */
export async function collectFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new Error(`no such file or folder: ${path}`);
    if (info.isDirectory()) await walk(path, path, files);
    else files.push({ id: basename(path), path, size: info.size });
  }
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.id)) throw new Error(`two files would get the same document id "${file.id}"; ingest them from different folders`);
    seen.add(file.id);
  }
  return files.sort((a, b) => a.id.localeCompare(b.id));
}

/** Groups files into uploads of at most `maxFiles` files and about `maxBytes` bytes. */
export function batches(files: readonly LocalFile[], maxFiles: number, maxBytes: number): LocalFile[][] {
  const out: LocalFile[][] = [];
  let current: LocalFile[] = [];
  let bytes = 0;
  for (const file of files) {
    if (current.length > 0 && (current.length >= maxFiles || bytes + file.size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export async function readBytes(file: LocalFile): Promise<Uint8Array> {
  return new Uint8Array(await readFile(file.path));
}
