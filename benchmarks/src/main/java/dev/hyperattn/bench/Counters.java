package dev.hyperattn.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Control;

/**
 * Secondary results of the throughput benchmarks. In {@code Mode.Throughput} with seconds as the
 * output unit JMH reports a counter field as its sum per second over all threads, so
 * {@code gflop} reads as GFLOP/s and {@code gbyte} as GB/s (10^9 bytes). Work is counted only
 * inside the measured window ({@link Control}): with {@code -t 2} JMH keeps each thread running
 * until all have finished, and counting those calls too overstated long calls by a third. Even
 * so, with {@code -t 2} and calls of a few hundred ms (the Java prefill) the counter still
 * disagreed with the primary result (calls/s) by up to a quarter: read calls/s × work per call
 * there. Short calls (the ceilings) agree.
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

        void add(Control control, double g) {
            if (control.startMeasurement && !control.stopMeasurement) {
                gflop += g;
            }
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

        void add(Control control, double g) {
            if (control.startMeasurement && !control.stopMeasurement) {
                gbyte += g;
            }
        }
    }
}
