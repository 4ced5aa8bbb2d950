import { chmodSync, createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';

/**
 * Writes `file` through `write`, atomically: into a temporary file beside it,
 * renamed over `file` only when `write` finished. On any error (the head answered 409, the connection
 * broke) the temporary file is removed and an existing `file` is left as it was (issue 17, item 10).
 */
export async function writeFileAtomically(file: string, write: (out: Writable) => Promise<void>): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.part-${process.pid}-${Date.now().toString(36)}`);
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  try {
    await once(out, 'open');
    await write(out);
    // a download that piped into `out` may have ended it already, and 'finish' may have fired: waiting
    // for it then would leave nothing on the event loop and the process would exit 0 with no file
    if (!out.writableFinished) {
      const finished = once(out, 'finish');
      out.end();
      await finished;
    }
    chmodSync(tmp, 0o644); // an output for the user, not a secret (the head's umask is 077)
    renameSync(tmp, file);
  } catch (err) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw err;
  }
}
