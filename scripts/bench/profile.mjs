/**
 * Summaries of V8 CPU profiles (.cpuprofile, from `node --cpu-prof` or the inspector):
 * self time per function, as shares of the profiled (non-idle) time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const IGNORED = new Set(['(idle)', '(program)', '(root)']);

// ---- source maps: bundle positions back to src/ files ------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64V = new Map([...B64].map((c, i) => [c, i]));

/** Decode a source map's `mappings` into per-line arrays of [genCol, src, srcLine, srcCol]. */
function decodeMappings(mappings) {
  const lines = [];
  let src = 0;
  let sLine = 0;
  let sCol = 0;
  let name = 0;
  for (const lineText of mappings.split(';')) {
    const segs = [];
    let gCol = 0;
    if (lineText) {
      for (const seg of lineText.split(',')) {
        const vals = [];
        let v = 0;
        let shift = 0;
        for (const ch of seg) {
          const d = B64V.get(ch);
          v += (d & 31) << shift;
          if (d & 32) shift += 5;
          else {
            vals.push(v & 1 ? -(v >>> 1) : v >>> 1);
            v = 0;
            shift = 0;
          }
        }
        gCol += vals[0];
        if (vals.length >= 4) {
          src += vals[1];
          sLine += vals[2];
          sCol += vals[3];
          if (vals.length >= 5) name += vals[4];
          segs.push([gCol, src, sLine, sCol]);
        }
      }
    }
    lines.push(segs);
  }
  return lines;
}

const maps = new Map();

function loadMap(jsFile) {
  if (maps.has(jsFile)) return maps.get(jsFile);
  let m;
  try {
    const raw = JSON.parse(fs.readFileSync(jsFile + '.map', 'utf8'));
    m = { sources: raw.sources.map((x) => path.resolve(path.dirname(jsFile), raw.sourceRoot ?? '', x)), lines: decodeMappings(raw.mappings) };
  } catch {
    m = undefined;
  }
  maps.set(jsFile, m);
  return m;
}

/** "src/emulator/visorbus/visorbus.ts:321" for a 0-based position in a bundle with a .map next to it. */
export function originalLocation(jsFile, line, column, root) {
  const m = loadMap(jsFile);
  const segs = m?.lines[line];
  if (!segs || !segs.length) return undefined;
  let best = segs[0];
  for (const s of segs) {
    if (s[0] <= column) best = s;
    else break;
  }
  const src = m.sources[best[1]];
  return `${root ? path.relative(root, src) : src}:${best[2] + 1}`;
}

/**
 * Top `n` functions by self time: [{ fn, where, share }] (share of non-idle samples).
 * `skip`: predicates on { fn, where } for time that is waiting, not work (left out).
 */
export function summarizeProfile(file, n = 10, root, skip = []) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const self = new Map();
  let total = 0;
  for (const node of p.nodes) {
    const t = dt.get(node.id) ?? 0;
    const cf = node.callFrame;
    const name = cf.functionName || '(anonymous)';
    if (IGNORED.has(name)) continue;
    // native frames other than GC (inspector plumbing) are not the code under test
    if (!cf.url && name !== '(garbage collector)') continue;
    total += t;
    const js = cf.url ? cf.url.replace(/^file:\/\//, '') : '';
    const where = js ? (originalLocation(js, cf.lineNumber, cf.columnNumber, root) ?? `${path.basename(js)}:${cf.lineNumber + 1}`) : '';
    if (skip.some((f) => f({ fn: name, where }))) continue;
    const key = `${name}\u0000${where}`;
    self.set(key, (self.get(key) ?? 0) + t);
  }
  return {
    profiledMs: total / 1000,
    top: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => {
        const [fn, where] = k.split('\u0000');
        return { fn, where, share: total ? t / total : 0 };
      }),
  };
}

/** The profile with the most samples in a directory (the worker thread, for the adapter). */
export function busiestProfile(dir) {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  let best;
  let bestN = -1;
  for (const f of files) {
    const full = path.join(dir, f);
    const p = JSON.parse(fs.readFileSync(full, 'utf8'));
    let busy = 0;
    const idle = new Set(p.nodes.filter((x) => x.callFrame.functionName === '(idle)').map((x) => x.id));
    for (let i = 0; i < p.samples.length; i++) if (!idle.has(p.samples[i])) busy += p.timeDeltas[i] ?? 0;
    if (busy > bestN) {
      bestN = busy;
      best = full;
    }
  }
  return best;
}
