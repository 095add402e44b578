package dev.hyperattn.cli;

import dev.hyperattn.Attention;
import dev.hyperattn.BFloat16;
import dev.hyperattn.DType;
import dev.hyperattn.ExactAttention;
import dev.hyperattn.Hyperattn;
import dev.hyperattn.HyperattnException;
import dev.hyperattn.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code java -jar hyperattn.jar}: exact attention on a realistic shape (by default Llama-style
 * GQA prefill: Hq=32, Hkv=8, D=128, N=4096, causal, fp32) on the CPU, with timing, throughput
 * and an accuracy check against a float64 reference.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** The whole CLI; returns the exit status (0 PASS, 1 FAIL or runtime error, 2 bad options). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (UsageException e) {
            err.println("hyperattn: " + e.getMessage());
            err.println("Try --help.");
            return 2;
        }
        if (o.help) {
            out.print(Options.USAGE);
            return 0;
        }
        try {
            return benchmark(o, out);
        } catch (IllegalArgumentException e) {
            // The API rejected the requested shape: an option problem, not a crash.
            err.println("hyperattn: invalid problem: " + e.getMessage());
            return 2;
        } catch (HyperattnException e) {
            err.println("hyperattn: " + e.getMessage());
            return e.status() == HyperattnException.Status.UNSUPPORTED ? 2 : 1;
        } catch (UnsatisfiedLinkError e) {
            err.println("hyperattn: " + e.getMessage());
            return 1;
        } catch (OutOfMemoryError e) {
            err.println("hyperattn: not enough memory for this problem size (" + e.getMessage() + ")");
            return 1;
        }
    }

    private static int benchmark(Options o, PrintStream out) {
        if (o.threads > 0) {
            Hyperattn.setNumThreads(o.threads);
        }
        Hyperattn.setCpuIsa(o.isa);

        out.printf(Locale.ROOT, "hyperattn %s (ABI %d), java %s%n", Hyperattn.version(), Hyperattn.abiVersion(),
                Runtime.version());
        out.printf(Locale.ROOT, "cpu: %s; ISA path %s%s; threads %d%n", cpuModel(), Hyperattn.cpuIsa(),
                o.isa == dev.hyperattn.CpuIsa.AUTO ? " (auto)" : " (forced)", Hyperattn.numThreads());
        out.printf(Locale.ROOT, "problem: exact attention %s [%s] B=%d Hq=%d Hkv=%d Nq=%d Nk=%d D=%d %s%n",
                o.dtype.name().toLowerCase(Locale.ROOT), o.bshd ? "b,s,h,d" : "b,h,s,d", o.batch, o.heads,
                o.kvHeads, o.n, o.nk, o.d, o.causal ? "causal" : "non-causal");

        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom rnd = new SplittableRandom(o.seed);
            Tensor q = operand(arena, o, o.heads, o.n, rnd);
            Tensor k = operand(arena, o, o.kvHeads, o.nk, rnd);
            Tensor v = operand(arena, o, o.kvHeads, o.nk, rnd);
            Tensor result = operand(arena, o, o.heads, o.n, null);
            ExactAttention op = Attention.exact().causal(o.causal);

            op.run(q, k, v, result); // warm-up: page faults, thread pool start, JIT of the Java side
            double[] ms = new double[o.iters];
            for (int i = 0; i < o.iters; i++) {
                long t0 = System.nanoTime();
                op.run(q, k, v, result);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
            double flops = 4.0 * o.batch * o.heads * o.d * visiblePairs(o.n, o.nk, o.causal);
            out.printf(Locale.ROOT, "time: median %.3f ms of %d runs (min %.3f, max %.3f) after 1 warm-up%n",
                    median, o.iters, sorted[0], sorted[sorted.length - 1]);
            out.printf(Locale.ROOT, "throughput: %.1f GFLOP/s (%.2f GFLOP per run = 4*B*Hq*D*%s)%n",
                    flops / (median * 1e6), flops / 1e9, o.causal ? "unmasked (row,key) pairs, ~Nq*Nk/2" : "Nq*Nk");

            SampledReference.Result r = SampledReference.check(q, k, v, result, o.causal,
                    op.scaleFor(o.d), o.samples(), o.seed);
            double tol = tolerance(o.dtype);
            boolean pass = r.maxAbsError() <= tol;
            out.printf(Locale.ROOT, "check: %d sampled (batch,head,row) vs float64 reference: max abs error %.3e,"
                    + " max rel error %.3e (row-relative); tolerance %.1e abs for %s (seed %d)%n",
                    r.rows(), r.maxAbsError(), r.maxRelError(), tol, o.dtype, o.seed);
            out.println(pass ? "PASS" : "FAIL");
            return pass ? 0 : 1;
        }
    }

    /**
     * (query, key) pairs the mask lets through. For causal Nq = Nk this is N(N+1)/2, the usual
     * "halved" count; counting exactly keeps decode-like shapes (Nq = 1 sees every key) honest.
     */
    static double visiblePairs(long nq, long nk, boolean causal) {
        if (!causal) {
            return (double) nq * nk;
        }
        double pairs = 0;
        for (long i = 0; i < nq; i++) {
            pairs += Math.max(0, Math.min(nk, i + nk - nq + 1));
        }
        return pairs;
    }

    /**
     * Inputs are uniform in [-1, 1], so every output (a convex combination of v rows) is within
     * [-1, 1] and an absolute tolerance is relative to the data's scale. fp32: rounding in
     * the score dot products and the running sums stays ~1e-6; 2e-5 leaves room for fast exp
     * approximations. bf16: the output itself is rounded to 8 significant bits (2^-8 relative),
     * and kernels round probabilities to bf16 for the P·V product, so ~1e-2.
     */
    static double tolerance(DType dtype) {
        return dtype == DType.F32 ? 2e-5 : 1.6e-2;
    }

    // [B, H, S, D] logical view over a bhsd or bshd buffer; random contents unless rnd is null.
    private static Tensor operand(Arena arena, Options o, long heads, long seq, SplittableRandom rnd) {
        long b = o.batch, d = o.d;
        long elems = Math.multiplyExact(Math.multiplyExact(b * heads, seq), d);
        MemorySegment seg = arena.allocate(Math.multiplyExact(elems, (long) o.dtype.byteSize()), Tensor.ALIGNMENT);
        if (rnd != null) {
            fillUniform(seg, elems, o.dtype, rnd);
        }
        long[] shape = {b, heads, seq, d};
        long[] strides = o.bshd ? new long[] {seq * heads * d, d, heads * d, 1}
                : new long[] {heads * seq * d, seq * d, d, 1};
        return Tensor.wrap(seg, o.dtype, shape, strides);
    }

    private static void fillUniform(MemorySegment seg, long elems, DType dtype, SplittableRandom rnd) {
        for (long i = 0; i < elems; i++) {
            float x = (float) (rnd.nextDouble() * 2 - 1);
            if (dtype == DType.F32) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, x);
            } else {
                seg.setAtIndex(ValueLayout.JAVA_SHORT, i, BFloat16.fromFloat(x));
            }
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + ", "
                            + Runtime.getRuntime().availableProcessors() + " logical CPUs";
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc unreadable: the model name is informational only.
        }
        return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " logical CPUs";
    }
}
