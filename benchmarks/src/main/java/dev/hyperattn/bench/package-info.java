/**
 * JMH benchmarks of hyperattn through its Java API, each beside a plain-Java attention loop
 * ({@link dev.hyperattn.bench.JavaAttention}: Vector API, one query head at a time) on the same
 * off-heap segments, and beside the machine's ceilings measured in the same run:
 * {@link dev.hyperattn.bench.CallOverheadBenchmark} (per-call cost, ns),
 * {@link dev.hyperattn.bench.PrefillBenchmark} (GFLOP/s),
 * {@link dev.hyperattn.bench.DecodeBenchmark} (µs per token),
 * {@link dev.hyperattn.bench.CeilingBenchmark} (read bandwidth, FMA peak).
 * {@link dev.hyperattn.bench.PagedDecodeBenchmark} decodes over a paged {@code KvCache} beside
 * DecodeBenchmark.
 * Every benchmark's setup checks that the baseline and the library agree on its inputs.
 */
package dev.hyperattn.bench;
