import yauzl from "yauzl";

/**
 * The bytes a zip archive's entries say they expand to, read from its central directory without
 * inflating anything (yauzl). A few compressed megabytes can hold gigabytes; what the archive
 * declares is what an honest one expands to. A dishonest one (sizes that lie) is still bounded by
 * the parse thread's heap limit (ParsePool).
 */
export async function declaredExpandedBytes(bytes: Uint8Array): Promise<number> {
  const zip = await yauzl.fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { lazyEntries: true });
  try {
    return await new Promise<number>((resolve, reject) => {
      let total = 0;
      zip.on("entry", (entry: yauzl.Entry) => {
        total += entry.uncompressedSize;
        zip.readEntry();
      });
      zip.on("end", () => resolve(total));
      zip.on("error", reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}
