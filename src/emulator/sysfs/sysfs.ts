/**
 * A small sysfs: directories, attribute files whose content is computed on every read
 * (so it always reflects the model), and relative symlinks. Writes go to attribute
 * writers, which reject bad values with the kernel's errno.
 */

export class SysfsError extends Error {
  constructor(
    readonly path: string,
    readonly errno: string,
    text: string,
  ) {
    super(`${path}: ${text}`);
  }
}

interface DirNode {
  kind: 'dir';
  children: Map<string, Node>;
}
interface FileNode {
  kind: 'file';
  read?: () => string;
  write?: (value: string) => void;
}
interface LinkNode {
  kind: 'link';
  target: string;
}
type Node = DirNode | FileNode | LinkNode;

export interface SysfsEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file' | 'link';
  value?: string;
  target?: string;
  writable: boolean;
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p.length > 0);
}

export function normalize(path: string): string {
  const out: string[] = [];
  for (const p of split(path)) {
    if (p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return '/' + out.join('/');
}

export class Sysfs {
  private readonly root: DirNode = { kind: 'dir', children: new Map() };

  mkdir(path: string): void {
    let d = this.root;
    for (const p of split(path)) {
      let c = d.children.get(p);
      if (!c) {
        c = { kind: 'dir', children: new Map() };
        d.children.set(p, c);
      }
      if (c.kind !== 'dir') throw new Error(`sysfs: ${path}: not a directory`);
      d = c;
    }
  }

  private parentOf(path: string): [DirNode, string] {
    const parts = split(path);
    const name = parts.pop()!;
    this.mkdir('/' + parts.join('/'));
    let d = this.root;
    for (const p of parts) d = d.children.get(p) as DirNode;
    return [d, name];
  }

  file(path: string, read: (() => string) | undefined, write?: (value: string) => void): void {
    const [d, name] = this.parentOf(path);
    d.children.set(name, { kind: 'file', read, write });
  }

  link(path: string, target: string): void {
    const [d, name] = this.parentOf(path);
    d.children.set(name, { kind: 'link', target });
  }

  remove(path: string): void {
    const parts = split(path);
    const name = parts.pop();
    let d: Node | undefined = this.root;
    for (const p of parts) {
      d = d?.kind === 'dir' ? d.children.get(p) : undefined;
    }
    if (d?.kind === 'dir' && name) d.children.delete(name);
  }

  /** Resolve a path, following links (the last component too unless `noFollowLast`). */
  private resolve(path: string, noFollowLast = false, depth = 0): { node: Node } {
    if (depth > 16) throw new SysfsError(path, 'ELOOP', 'Too many levels of symbolic links');
    const parts = split(normalize(path));
    let node: Node = this.root;
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== 'dir') throw new SysfsError(path, 'ENOTDIR', 'Not a directory');
      const next = node.children.get(parts[i]);
      if (!next) throw new SysfsError(path, 'ENOENT', 'No such file or directory');
      cur += '/' + parts[i];
      const last = i === parts.length - 1;
      if (next.kind === 'link' && !(last && noFollowLast)) {
        const target = normalize(cur.slice(0, cur.lastIndexOf('/')) + '/' + next.target);
        const rest = parts.slice(i + 1).join('/');
        return this.resolve(target + (rest ? '/' + rest : ''), noFollowLast, depth + 1);
      }
      node = next;
    }
    return { node };
  }

  exists(path: string): boolean {
    try {
      this.resolve(path);
      return true;
    } catch {
      return false;
    }
  }

  /** `cat`: the file's content (with its trailing newline, as the kernel prints it). */
  read(path: string): string {
    const { node } = this.resolve(path);
    if (node.kind === 'dir') throw new SysfsError(path, 'EISDIR', 'Is a directory');
    if (node.kind !== 'file' || !node.read) throw new SysfsError(path, 'EACCES', 'Permission denied (write-only attribute)');
    return node.read();
  }

  /** `echo value > path`. Writers throw SysfsError/Error to reject. */
  write(path: string, value: string): void {
    const { node } = this.resolve(path);
    if (node.kind !== 'file') throw new SysfsError(path, 'EISDIR', 'Is a directory');
    if (!node.write) throw new SysfsError(path, 'EACCES', 'Permission denied (read-only attribute)');
    node.write(value);
  }

  readlink(path: string): string | undefined {
    try {
      const { node } = this.resolve(path, true);
      return node.kind === 'link' ? node.target : undefined;
    } catch {
      return undefined;
    }
  }

  /** `ls`: the entries of a directory, sorted by name, with values of readable files. */
  list(path: string, withValues = true): SysfsEntry[] {
    const { node } = this.resolve(path);
    if (node.kind !== 'dir') throw new SysfsError(path, 'ENOTDIR', 'Not a directory');
    const base = normalize(path) === '/' ? '' : normalize(path);
    const out: SysfsEntry[] = [];
    for (const name of [...node.children.keys()].sort()) {
      const c = node.children.get(name)!;
      const p = `${base}/${name}`;
      if (c.kind === 'dir') out.push({ name, path: p, kind: 'dir', writable: false });
      else if (c.kind === 'link') out.push({ name, path: p, kind: 'link', target: c.target, writable: false });
      else {
        let value: string | undefined;
        if (withValues && c.read) {
          try {
            value = c.read().replace(/\n$/, '');
          } catch (e) {
            value = `<${e instanceof Error ? e.message : String(e)}>`;
          }
        }
        out.push({ name, path: p, kind: 'file', value, writable: !!c.write });
      }
    }
    return out;
  }

  /** Every readable file under `path` (not following links) -> its value; for `run --json`. */
  snapshot(path = '/sys'): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (p: string) => {
      let entries: SysfsEntry[];
      try {
        entries = this.list(p);
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.kind === 'dir') walk(e.path);
        else if (e.kind === 'link') out[e.path] = `-> ${e.target}`;
        else if (e.value !== undefined) out[e.path] = e.value;
      }
    };
    walk(path);
    return out;
  }
}
