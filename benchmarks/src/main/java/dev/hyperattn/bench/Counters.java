package dev.hyperattn.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Secondary results of the ceiling benchmarks. In {@code Mode.Throughput} with seconds as the
 * output unit JMH reports a counter field as its sum per second over all threads, so
 * {@code gflop} reads as GFLOP/s and {@code gbyte} as GB/s (10^9 bytes). This holds for calls
 * far shorter than an iteration (the ceilings' are about a millisecond); for calls of a good
 * fraction of a second the counters disagreed with the calls/s JMH measured (by up to a third,
 * either way, with and without counting only inside Control's measured window), which is why
 * {@link PrefillBenchmark} scales its primary result instead.
 */
public final class Counters {

    private Counters() {
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Gflop {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Gbyte {
        public double gbyte;

        @Setup(Level.Iteration)
        public void reset() {
            gbyte = 0;
        }
    }
}
