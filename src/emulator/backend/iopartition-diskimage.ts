/**
 * The image file behind a disk LUN of the IO partition: opened (or created sparse when
 * absent) and locked at `disk attach`, extended when size= asks for more, fsync'ed on
 * flush, and closed at detach, device destroy and shutdown. The file is resolved to its
 * real path before it gets here and is never followed through a link that appears later.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECTOR_SIZE } from '../guest/block';
import type { HostFiles } from './hostfiles';

export const DEFAULT_IMAGE_SIZE = 16 * 1024 * 1024;

/** A LUN: its image and what the guest sees of it. */
export interface Disk {
  lun: number;
  id: number;
  file: string;
  fd: number | undefined;
  /** Gives up the image lock (at detach and shutdown; a destroyed device keeps it). */
  unlock: () => void;
  sectors: number;
  readOnly: boolean;
  vendor: string;
  model: string;
  rev: string;
  stats: { commands: number; reads: number; writes: number; read_bytes: number; written_bytes: number; flushes: number; errors: number };
}

/** An image opened for a LUN. */
export interface OpenImage {
  fd: number;
  unlock: () => void;
  sectors: number;
}

type Note = (text: string) => void;

/** Open (or create) and lock the image of a LUN; `size` extends or sizes it. Errors are the user's. */
export function openImage(files: HostFiles, file: string, readOnly: boolean, size: number | undefined, note: Note): OpenImage {
  // Resolved to its real path already: never follow a link that appears in its place.
  const noFollow = files.policy.allowOutside ? 0 : (fs.constants.O_NOFOLLOW ?? 0);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`disk attach: cannot use image ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const created = !st;
  const { fd, bytes: found } = st ? openExisting(file, st, readOnly, noFollow) : createImage(file, readOnly, size);
  let bytes = found;
  let unlock: () => void;
  try {
    unlock = files.lock(fd, file, readOnly);
  } catch (e) {
    fs.closeSync(fd);
    if (created) fs.rmSync(file, { force: true });
    throw new Error(`disk attach: ${(e as Error).message}`);
  }
  const grow = created ? bytes : size !== undefined && size > bytes && !readOnly ? size : undefined;
  if (grow !== undefined) {
    try {
      fs.ftruncateSync(fd, grow);
    } catch (e) {
      unlock();
      fs.closeSync(fd);
      if (created) fs.rmSync(file, { force: true });
      throw new Error(
        `disk attach: cannot ${created ? 'create' : 'extend'} image ${file} to ${grow} bytes (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
    if (created) note(`created sparse image ${file} of ${grow} bytes`);
    else note(`image ${file} extended (sparse) from ${bytes} to ${grow} bytes`);
    bytes = grow;
  }
  files.noteImage(file, created);
  const sectors = Math.floor(bytes / SECTOR_SIZE);
  if (sectors === 0) {
    unlock();
    fs.closeSync(fd);
    throw new Error(`disk attach: image ${file} is empty; give size=N to extend it`);
  }
  if (bytes % SECTOR_SIZE) note(`image ${file}: the last ${bytes % SECTOR_SIZE} byte(s) beyond a whole sector are not used`);
  return { fd, unlock, sectors };
}

function openExisting(file: string, st: fs.Stats, readOnly: boolean, noFollow: number): { fd: number; bytes: number } {
  if (!st.isFile()) throw new Error(`disk attach: image ${file} is not a regular file`);
  try {
    return { fd: fs.openSync(file, (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | noFollow), bytes: st.size };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new Error(`disk attach: image ${file} is read-only (${code}); the IO partition needs to write it`);
    throw new Error(`disk attach: cannot open image ${file} (${code ?? String(e)})`);
  }
}

/** A new image file (empty until it is sized); never replaces a file that appeared meanwhile. */
function createImage(file: string, readOnly: boolean, size: number | undefined): { fd: number; bytes: number } {
  if (readOnly) throw new Error(`disk attach: image ${file} does not exist (a read-only disk needs an existing image)`);
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) throw new Error(`disk attach: cannot create image ${file}: directory ${dir} does not exist`);
  const bytes = size ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isSafeInteger(bytes) || bytes < SECTOR_SIZE) throw new Error(`disk attach: size must be at least ${SECTOR_SIZE} bytes`);
  try {
    return { fd: fs.openSync(file, 'wx+'), bytes };
  } catch (e) {
    throw new Error(`disk attach: cannot create image ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Reopen the image of a LUN whose device was created again (the lock was kept). */
export function reopenImage(d: Disk, note: Note): void {
  if (d.fd !== undefined) return;
  try {
    d.fd = fs.openSync(d.file, d.readOnly ? 'r' : 'r+');
    note(`LUN ${d.lun} (${d.file}) opened again for the re-created device`);
  } catch (e) {
    note(`LUN ${d.lun}: cannot reopen ${d.file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); the LUN is offline`);
  }
}

/** fsync a writable image; false (and a note) when that fails. */
export function syncImage(d: Disk, note: Note): boolean {
  if (d.fd === undefined || d.readOnly) return true;
  try {
    fs.fsyncSync(d.fd);
    return true;
  } catch (e) {
    note(`fsync of ${d.file} failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return false;
  }
}

/** Flush and close the image (the lock stays until `unlock`). */
export function closeImage(d: Disk, note: Note): void {
  if (d.fd === undefined) return;
  syncImage(d, note);
  try {
    fs.closeSync(d.fd);
  } catch {
    // already closed
  }
  d.fd = undefined;
}
