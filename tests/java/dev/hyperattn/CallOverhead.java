package dev.hyperattn;

import dev.hyperattn.ffi.ha_tensor;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Per-call overhead of a trivial exact call (q, k, v, out {@code [1, 1, 1, 8]} F32, warm), in
 * nanoseconds per call: medians over several timed runs of a plain loop. Not a test (the build
 * does not run it); a JMH benchmark gives better-controlled figures. After {@code mvn
 * test-compile}:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp java/target/classes:tests/target/test-classes \
 *     dev.hyperattn.CallOverhead [calls per run, default 2000000] [runs, default 7] [library threads]
 * </pre>
 *
 * Each line is one loop, timed as wall time and as the calling thread's CPU time (steadier on a
 * loaded machine), the loops interleaved run by run so that all see the same background load:
 * <ul>
 *   <li>{@code api}: {@code op.run(q, k, v, out)} (and with an LSE output), everything included;
 *   <li>{@code bare}: the downcall alone with descriptors built once: what the library and the
 *       FFM transition cost, without any Java-side work;
 *   <li>the same two for {@code Nq = 0} (q and out {@code [1, 1, 0, 8]}), where the library
 *       checks its arguments and returns: most of what remains is the Java side.
 * </ul>
 * The Java-side overhead is api minus bare, paired run by run.
 */
public final class CallOverhead {

    private CallOverhead() {
    }

    /** A loop of {@code calls} calls. */
    private record Loop(String name, Runnable body) {
    }

    public static void main(String[] args) {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        if (args.length > 2) {
            Hyperattn.setNumThreads(Integer.parseInt(args[2]));
        }
        System.out.println("library threads: " + Hyperattn.numThreads() + "; " + runs + " runs x " + calls
                + " calls per loop");
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 1, 1, 8);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 1, 8);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 1, 8);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, 1, 8);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 1, 1);
            Tensor q0 = Tensor.allocate(arena, DType.F32, 1, 1, 0, 8);
            Tensor out0 = Tensor.allocate(arena, DType.F32, 1, 1, 0, 8);
            q.fill(0.5f);
            k.fill(0.25f);
            v.fill(1f);
            ExactAttention op = Attention.exact();

            Loop[] loops = {
                    new Loop("api  run(q, k, v, out)", () -> {
                        for (int i = 0; i < calls; i++) {
                            op.run(q, k, v, out);
                        }
                    }),
                    new Loop("bare ha_attention_exact", bare(arena, calls, q, k, v, out)),
                    new Loop("api  run(q, k, v, out, lse)", () -> {
                        for (int i = 0; i < calls; i++) {
                            op.run(q, k, v, out, lse);
                        }
                    }),
                    new Loop("api  Nq = 0", () -> {
                        for (int i = 0; i < calls; i++) {
                            op.run(q0, k, v, out0);
                        }
                    }),
                    new Loop("bare Nq = 0", bare(arena, calls, q0, k, v, out0)),
            };
            double[][] wall = new double[loops.length][runs];
            double[][] cpu = new double[loops.length][runs];
            for (Loop loop : loops) {
                loop.body().run(); // warm-up
            }
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            for (int r = 0; r < runs; r++) {
                for (int l = 0; l < loops.length; l++) {
                    long c0 = mx.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    loops[l].body().run();
                    wall[l][r] = (System.nanoTime() - t0) / (double) calls;
                    cpu[l][r] = (mx.getCurrentThreadCpuTime() - c0) / (double) calls;
                }
            }
            for (int l = 0; l < loops.length; l++) {
                System.out.printf("%-28s wall median %7.1f ns/call (min %7.1f)   thread cpu median %7.1f (min %7.1f)%n",
                        loops[l].name(), median(wall[l]), min(wall[l]), median(cpu[l]), min(cpu[l]));
            }
            System.out.printf("java side, 1x1x1x8 (api - bare, thread cpu): median %.1f ns/call%n",
                    median(difference(cpu[0], cpu[1])));
            System.out.printf("java side, Nq = 0   (api - bare, thread cpu): median %.1f ns/call%n",
                    median(difference(cpu[3], cpu[4])));
            if (out.getFloat(0, 0, 0, 3) != 1f) {
                throw new AssertionError("wrong result " + out.getFloat(0, 0, 0, 3));
            }
        }
    }

    /** The downcall alone, with descriptors built once and no checks. */
    private static Runnable bare(Arena arena, int calls, Tensor q, Tensor k, Tensor v, Tensor out) {
        MemorySegment dq = descriptor(arena, q), dk = descriptor(arena, k), dv = descriptor(arena, v),
                dout = descriptor(arena, out);
        MemorySegment sq = q.segment(), sk = k.segment(), sv = v.segment(), so = out.segment();
        return () -> {
            for (int i = 0; i < calls; i++) {
                int st = hyperattn_h.ha_attention_exact(dq, dk, dv, dout, MemorySegment.NULL, MemorySegment.NULL,
                        sq, sk, sv, so, MemorySegment.NULL);
                if (st != 0) {
                    throw new AssertionError("status " + st);
                }
            }
        };
    }

    // Written field by field, independently of the library's Descriptors.
    private static MemorySegment descriptor(Arena arena, Tensor t) {
        MemorySegment d = ha_tensor.allocate(arena);
        ha_tensor.data(d, t.segment());
        for (int i = 0; i < 4; i++) {
            ha_tensor.shape(d, i, t.shape(i));
            ha_tensor.strides(d, i, t.stride(i));
        }
        return d;
    }

    private static double[] difference(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double min(double[] xs) {
        return Arrays.stream(xs).min().orElse(Double.NaN);
    }
}
