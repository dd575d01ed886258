/** Small statistics for the benchmark: nearest-rank percentiles over samples. */
export function sorted(xs) {
  return [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

export function percentile(xs, p) {
  const s = sorted(xs);
  if (!s.length) return null;
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[k];
}

export const median = (xs) => percentile(xs, 50);

export function summary(xs) {
  const s = sorted(xs);
  if (!s.length) return { n: 0, median: null, p99: null, min: null, max: null, mean: null };
  return { n: s.length, median: percentile(s, 50), p99: percentile(s, 99), min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** log-log slope between two points: 1.0 = linear growth, 2.0 = quadratic. */
export function slope(x0, y0, x1, y1) {
  if (!(y0 > 0 && y1 > 0 && x0 > 0 && x1 > 0 && x0 !== x1)) return null;
  return Math.log(y1 / y0) / Math.log(x1 / x0);
}
