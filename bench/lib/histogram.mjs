// A fixed-resolution latency histogram (10 µs buckets up to 10 s): millions of
// deliveries are recorded without keeping a sample each.
const RESOLUTION = 100; // buckets per ms
const BUCKETS = 10_000 * RESOLUTION;

export class Histogram {
  counts = new Uint32Array(BUCKETS + 1);
  total = 0;
  max = 0;
  record(ms) {
    const bucket = ms <= 0 ? 0 : Math.min(BUCKETS, Math.floor(ms * RESOLUTION));
    this.counts[bucket]++;
    this.total++;
    if (ms > this.max) this.max = ms;
  }
  percentile(p) {
    if (this.total === 0) return null;
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return (i + 1) / RESOLUTION;
    }
    return this.max;
  }
  summary() {
    return { p50: this.percentile(50), p99: this.percentile(99), max: this.total ? this.max : null };
  }
}
