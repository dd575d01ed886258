/**
 * Host files a scenario names (disk images, driver modules): where they may be, and who
 * may write an image.
 *
 * - A name resolves inside the scenario's own folder or one of the workspace folders the
 *   host gives (`--workspace DIR`, the extension's workspace folders). `../x`, absolute
 *   paths elsewhere and symbolic links whose target is elsewhere (checked on the real path)
 *   are refused with a clear error, unless the user opted in (`--allow-outside-files`,
 *   launch attribute `allowOutsideFiles`, setting `visorbus.allowOutsideFiles`).
 * - An image attached writable is locked for the run: a lock file (pid, thread) in a
 *   per-user directory under the system temp dir, keyed by the image's device and inode.
 *   A second run (another process, another debug session) that wants the same image gets
 *   a clear error instead of mixing its writes in (LUNs of one run may share an image). A lock
 *   whose process is gone is stale and taken over.
 * - Every image the run opened is recorded (created or only attached), so that the
 *   debugger's step-back restore touches only those.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';

export interface HostFilePolicy {
  /** Folders host files may also be in, besides the scenario's own folder (the workspace). */
  roots?: readonly string[];
  /** The user opted in to host files anywhere. */
  allowOutside?: boolean;
}

export class HostFileError extends Error {}

const OPT_IN = 'allow it with --allow-outside-files, the launch attribute "allowOutsideFiles": true or the setting visorbus.allowOutsideFiles';

/** `p` is `dir` or inside it (both absolute, normalised). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel));
}

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The real path of `p`: of the file when it exists, else of its folder plus the name. */
function realTarget(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.join(realOrResolved(path.dirname(p)), path.basename(p));
  }
}

/** The folders a scenario's host files may be in. */
export function allowedFolders(baseDir: string, policy: HostFilePolicy): string[] {
  const out: string[] = [];
  for (const d of [baseDir, ...(policy.roots ?? [])]) {
    const abs = path.resolve(d);
    if (!out.includes(abs)) out.push(abs);
  }
  return out;
}

/**
 * Resolve `name` (relative to `baseDir`, the scenario's folder) to the path to open: its
 * real path when it must stay inside the allowed folders. Throws HostFileError.
 */
export function resolveHostFile(name: string, baseDir: string, policy: HostFilePolicy, what: string): string {
  const abs = path.resolve(baseDir, name);
  if (policy.allowOutside) return abs;
  const folders = allowedFolders(baseDir, policy);
  const where = folders.length === 1 ? `the scenario's folder ${folders[0]}` : `the scenario's folder or the workspace (${folders.join(', ')})`;
  if (!folders.some((f) => isInside(f, abs))) {
    throw new HostFileError(`${what} ${name}${abs === name ? '' : ` (${abs})`} is outside ${where}; a scenario's files must stay inside it (${OPT_IN})`);
  }
  const real = realTarget(abs);
  if (!folders.map(realOrResolved).some((f) => isInside(f, real))) {
    throw new HostFileError(
      `${what} ${name} is a symbolic link (or goes through one) to ${real}, outside ${where}; links out of it are not followed (${OPT_IN})`,
    );
  }
  return real;
}

// ---- image locks ------------------------------------------------------------------------

interface LockRecord {
  pid: number;
  thread: number;
  file: string;
  since: string;
}

/** Locks this thread holds: lock file -> how many attaches of this run use it (two LUNs may share an image). */
const held = new Map<string, number>();
let exitHook = false;

function lockDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = path.join(os.tmpdir(), `visorbus-locks-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
    throw new HostFileError(`the image lock directory ${dir} is not a directory of this user; remove it`);
  }
  return dir;
}

function lockFileFor(fd: number): string {
  const st = fs.fstatSync(fd);
  return path.join(lockDir(), `${st.dev}-${st.ino}.lock`);
}

function readLock(file: string): LockRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as LockRecord;
    return typeof r.pid === 'number' && typeof r.thread === 'number' ? r : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock nobody holds any more: its process is gone, or it is this thread's and not in use. */
function stale(r: LockRecord | undefined, lock: string): boolean {
  if (!r) return true;
  if (r.pid !== process.pid) return !processAlive(r.pid);
  return r.thread === threadId && !held.has(lock);
}

function describe(r: LockRecord): string {
  return r.pid === process.pid ? `another debug session of this adapter (since ${r.since})` : `another emulator (process ${r.pid}, since ${r.since})`;
}

/**
 * Lock the image open on `fd` for writing (a read-only user only checks that nobody writes it).
 * Returns the release function. Throws HostFileError when another run has it.
 */
export function lockImage(fd: number, file: string, readOnly: boolean): () => void {
  const lock = lockFileFor(fd);
  const inUse = (r: LockRecord): HostFileError =>
    new HostFileError(
      `image ${file} is in use by ${describe(r)}; two runs writing one image would mix their writes (stop the other run, or use another image)`,
    );
  if (readOnly) {
    const r = readLock(lock);
    if (r && !stale(r, lock) && !held.has(lock)) throw inUse(r);
    return () => undefined;
  }
  const mine = held.get(lock);
  if (mine) {
    held.set(lock, mine + 1);
    return releaser(lock);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const lfd = fs.openSync(lock, 'wx', 0o600);
      try {
        fs.writeSync(lfd, JSON.stringify({ pid: process.pid, thread: threadId, file, since: new Date().toISOString() } satisfies LockRecord));
      } finally {
        fs.closeSync(lfd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const r = readLock(lock);
      if (r && !stale(r, lock)) throw inUse(r);
      fs.rmSync(lock, { force: true });
    }
  }
  held.set(lock, 1);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', releaseAllImageLocks);
  }
  return releaser(lock);
}

function releaser(lock: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (held.get(lock) ?? 1) - 1;
    if (n > 0) {
      held.set(lock, n);
      return;
    }
    held.delete(lock);
    const r = readLock(lock);
    if (r && r.pid === process.pid && r.thread === threadId) fs.rmSync(lock, { force: true });
  };
}

/** Release every lock this thread holds (process exit). */
export function releaseAllImageLocks(): void {
  for (const lock of held.keys()) {
    const r = readLock(lock);
    if (r && r.pid === process.pid && r.thread === threadId) fs.rmSync(lock, { force: true });
  }
  held.clear();
}

/** A worker thread of this process ended (perhaps terminated): drop the locks it left. */
export function releaseImageLocksOfThread(thread: number): void {
  let dir: string;
  try {
    dir = lockDir();
  } catch {
    return;
  }
  for (const name of fs.readdirSync(dir)) {
    const lock = path.join(dir, name);
    const r = readLock(lock);
    if (r && r.pid === process.pid && r.thread === thread) fs.rmSync(lock, { force: true });
  }
}

// ---- one run's view -----------------------------------------------------------------------

/** The host files of one emulator run: its policy, and the images it opened. */
export class HostFiles {
  /** Images the run opened: real path -> whether the run created it. */
  readonly images = new Map<string, { created: boolean }>();

  constructor(readonly policy: HostFilePolicy = {}) {}

  resolve(name: string, baseDir: string, what: string): string {
    return resolveHostFile(name, baseDir, this.policy, what);
  }

  noteImage(file: string, created: boolean): void {
    const was = this.images.get(file);
    this.images.set(file, { created: created || !!was?.created });
  }

  lock(fd: number, file: string, readOnly: boolean): () => void {
    return lockImage(fd, file, readOnly);
  }
}
