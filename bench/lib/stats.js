/** The nearest-rank percentile (`q` in 0..1) of `samples`, which it sorts in place. */
export function percentile(samples, q) {
  if (samples.length === 0) return Number.NaN;
  samples.sort((a, b) => a - b);
  return samples[Math.min(samples.length - 1, Math.max(0, Math.ceil(q * samples.length) - 1))];
}

/** The median of a few figures, one per round. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Concatenates per-round latency arrays so percentiles cover every round. */
export function pooled(arrays) {
  const all = new Float64Array(arrays.reduce((total, array) => total + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    all.set(array, offset);
    offset += array.length;
  }
  return all;
}
