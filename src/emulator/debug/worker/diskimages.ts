/**
 * The disk images a scenario attaches, kept as they were when the session's first run
 * started: a replay (step back, goto) must read the same bytes, so the images the runs
 * created or wrote are put back before it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from '../../scenario/ast';
import type { HostFiles } from '../../backend/hostfiles';

export class DiskImages {
  /** Disk images the scenario attaches, as they were when this run started (replays must see the same bytes). */
  private images: { file: string; content: Buffer | undefined }[] = [];
  /** Images the session's runs opened so far (real path -> created by the session): only those are restored. */
  private readonly used = new Map<string, { created: boolean }>();

  snapshot(sc: Scenario, files: HostFiles): void {
    this.images = [];
    this.used.clear();
    const dir = path.dirname(sc.file);
    for (const st of sc.steps) {
      const c = st.command;
      if (c.kind !== 'backend' || c.family !== 'disk' || c.verb !== 'attach' || typeof c.options.image !== 'string') continue;
      let file: string;
      try {
        file = files.resolve(c.options.image, dir, 'disk image');
      } catch {
        continue; // refused at its line: never read, never restored
      }
      if (this.images.some((i) => i.file === file)) continue;
      try {
        const st2 = fs.statSync(file);
        if (!st2.isFile() || st2.size > 64 * 1024 * 1024) continue;
        this.images.push({ file, content: fs.readFileSync(file) });
      } catch {
        this.images.push({ file, content: undefined });
      }
    }
  }

  /** Before a replay: put back the images the runs so far created (delete) or attached (rewrite); nothing else. */
  restore(last: HostFiles | undefined, warn: (text: string) => void): void {
    for (const [file, u] of last?.images ?? []) this.used.set(file, { created: u.created || !!this.used.get(file)?.created });
    for (const img of this.images) {
      const u = this.used.get(img.file);
      if (!u || (img.content === undefined && !u.created)) continue;
      try {
        if (img.content === undefined) fs.rmSync(img.file, { force: true });
        else fs.writeFileSync(img.file, img.content);
      } catch (e) {
        warn(`Could not restore disk image ${img.file} for the replay (${(e as Error).message}); the replay may differ.\n`);
      }
    }
  }

  /** Disk images the scenario attaches: workers replaying side by side would share them, so no checkpoints then. */
  count(): number {
    return this.images.length;
  }
}
