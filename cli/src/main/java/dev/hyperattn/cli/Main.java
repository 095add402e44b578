package dev.hyperattn.cli;

import dev.hyperattn.Attention;
import dev.hyperattn.DType;
import dev.hyperattn.ExactAttention;
import dev.hyperattn.HsrAttention;
import dev.hyperattn.HsrStats;
import dev.hyperattn.HyperAttention;
import dev.hyperattn.Hyperattn;
import dev.hyperattn.HyperattnException;
import dev.hyperattn.KeyIndex;
import dev.hyperattn.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code java -jar hyperattn.jar}: exact attention on a realistic shape (by default Llama-style
 * GQA prefill: Hq=32, Hkv=8, D=128, N=4096, causal, fp32) on the CPU, with timing, throughput
 * and an accuracy check against a float64 reference; then HyperAttention and HSR sparse
 * attention on the same inputs beside it (time, speedup over exact, error, keys touched).
 * Part 2 ({@link Tradeoff}): exact, HyperAttention, HSR softmax and approximate attention with
 * an error target on long causal inputs of several {@link InputFamily families}, a table and an
 * SVG chart; PASS needs exact to match its reference and approx's target to hold.
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
            if (o.threads > 0) {
                Hyperattn.setNumThreads(o.threads);
            }
            Hyperattn.setCpuIsa(o.isa);
            out.printf(Locale.ROOT, "hyperattn %s (ABI %d), java %s%n", Hyperattn.version(), Hyperattn.abiVersion(),
                    Runtime.version());
            out.printf(Locale.ROOT, "cpu: %s; ISA path %s%s; threads %d%n", cpuModel(), Hyperattn.cpuIsa(),
                    o.isa == dev.hyperattn.CpuIsa.AUTO ? " (auto)" : " (forced)", Hyperattn.numThreads());
            boolean pass = true;
            if (o.exactPart) {
                pass = benchmark(o, out);
            }
            if (o.tradeoff) {
                pass &= tradeoff(o, out, err);
            }
            out.println(pass ? "PASS" : "FAIL");
            return pass ? 0 : 1;
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

    /**
     * Part 2: the trade-off table and chart; false if exact missed its reference or approx its
     * target on some input.
     */
    private static boolean tradeoff(Options o, PrintStream out, PrintStream err) {
        long t0 = System.nanoTime();
        Tradeoff.Result r = Tradeoff.run(o, out, err);
        double seconds = (System.nanoTime() - t0) / 1e9;
        out.printf(Locale.ROOT, "trade-off: exact %s its float64 reference on every input (max e_i <= %.0e)%n",
                r.exactOk() ? "matches" : "DOES NOT MATCH", Tradeoff.EXACT_TOLERANCE);
        if (!r.targetChecked()) {
            out.printf(Locale.ROOT, "trade-off: approx's target %.3g not checked: approx is not available in this"
                    + " library build on some input (n/a rows above)%n", o.target);
        } else {
            out.printf(Locale.ROOT, "trade-off: approx's target %.3g %s (>= 99%% of evaluated rows with e_i <= target"
                    + " on every input)%n", o.target, r.targetHeld() ? "held" : "MISSED");
        }
        out.printf(Locale.ROOT, "trade-off: %.1f s%n", seconds);
        if (r.chart() != null) {
            out.println("chart: " + r.chart().toAbsolutePath().normalize());
        }
        return r.exactOk() && (!r.targetChecked() || r.targetHeld());
    }

    private static boolean benchmark(Options o, PrintStream out) {
        out.printf(Locale.ROOT, "problem: exact attention %s [%s] B=%d Hq=%d Hkv=%d Nq=%d Nk=%d D=%d %s, %s inputs%n",
                o.dtype.name().toLowerCase(Locale.ROOT), o.bshd ? "b,s,h,d" : "b,h,s,d", o.batch, o.heads,
                o.kvHeads, o.n, o.nk, o.d, o.causal ? "causal" : "non-causal", o.structured ? "structured" : "uniform");

        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom rnd = new SplittableRandom(o.seed);
            Tensor q = operand(arena, o, o.heads, o.n);
            Tensor k = operand(arena, o, o.kvHeads, o.nk);
            Tensor v = operand(arena, o, o.kvHeads, o.nk);
            Tensor result = operand(arena, o, o.heads, o.n);
            if (o.structured) {
                InputData.structured(q, k, v, rnd);
            } else {
                InputData.uniform(q, rnd);
                InputData.uniform(k, rnd);
                InputData.uniform(v, rnd);
            }
            ExactAttention op = Attention.exact().causal(o.causal);

            double[] ms = time(o.iters, true, () -> op.run(q, k, v, result));
            double median = ms[0];
            double flops = 4.0 * o.batch * o.heads * o.d * visiblePairs(o.n, o.nk, o.causal);
            out.printf(Locale.ROOT, "time: median %.3f ms of %d runs (min %.3f, max %.3f) after 1 warm-up%n",
                    median, o.iters, ms[1], ms[2]);
            out.printf(Locale.ROOT, "throughput: %.1f GFLOP/s (%.2f GFLOP per run = 4*B*Hq*D*%s)%n",
                    flops / (median * 1e6), flops / 1e9, o.causal ? "unmasked (row,key) pairs, ~Nq*Nk/2" : "Nq*Nk");

            SampledReference.Result r = SampledReference.check(q, k, v, result, o.causal,
                    op.scaleFor(o.d), o.samples(), o.seed);
            double tol = tolerance(o.dtype, o.nk);
            boolean pass = r.maxAbsError() <= tol;
            out.printf(Locale.ROOT, "check: %d sampled (batch,head,row) vs float64 reference: max abs error %.3e,"
                    + " max rel error %.3e (row-relative); tolerance %.1e abs for %s (seed %d)%n",
                    r.rows(), r.maxAbsError(), r.maxRelError(), tol, o.dtype, o.seed);

            if (o.hyper || o.hsr) {
                out.println();
                out.printf(Locale.ROOT, "approximate and sparse attention on the same inputs (%d timed run%s each;"
                        + " speedup = exact's median / its time):%n", o.approxIters, o.approxIters == 1 ? "" : "s");
                out.printf(Locale.ROOT, "%-34s %11s %8s  %s%n", "operation", "ms", "speedup", "accuracy");
                out.printf(Locale.ROOT, "%-34s %11.3f %7.2fx  %s%n", "exact", median, 1.0,
                        "the reference below (checked above)");
                int extra = o.approxIters;
                if (o.hyper) {
                    hyperRow(o, out, arena, q, k, v, result, median, extra);
                }
                if (o.hsr) {
                    pass &= hsrRows(o, out, arena, q, k, v, result, median, extra, rnd);
                }
            }
            out.println("exact part: " + (pass ? "pass" : "FAIL"));
            return pass;
        }
    }

    private static void hyperRow(Options o, PrintStream out, Arena arena, Tensor q, Tensor k, Tensor v,
            Tensor exact, double exactMs, int iters) {
        HyperAttention op = Attention.hyper().causal(o.causal).lshProjections(o.hyperProjections)
                .blockSize(o.hyperBlock).sampleSize(o.hyperSamples).minSeqLen(o.hyperMinSeqLen).seed(o.seed);
        String label = String.format(Locale.ROOT, "hyper r=%d b=%d m=%d min=%d", o.hyperProjections, o.hyperBlock,
                o.hyperSamples, o.hyperMinSeqLen);
        Tensor approx = operand(arena, o, o.heads, o.n);
        double[] ms;
        try {
            ms = time(iters, false, () -> op.run(q, k, v, approx));
        } catch (HyperattnException e) {
            if (e.status() != HyperattnException.Status.UNSUPPORTED) {
                throw e;
            }
            out.printf(Locale.ROOT, "%-34s %11s %8s  %s%n", label, "n/a", "n/a", "n/a: " + e.nativeMessage());
            return;
        }
        double err = Frobenius.relativeError(approx, exact);
        out.printf(Locale.ROOT, "%-34s %11.3f %7.2fx  rel. error ||O - O_exact||_F/||O_exact||_F = %.2e%s%n",
                label, ms[0], exactMs / ms[0], err, o.nk <= o.hyperMinSeqLen ? " (exact: Nk <= min)" : "");
    }

    /** The HSR rows; false if the ReLU output is off its reference or a softmax bound is broken. */
    private static boolean hsrRows(Options o, PrintStream out, Arena arena, Tensor q, Tensor k, Tensor v,
            Tensor exact, double exactMs, int iters, SplittableRandom rnd) {
        float scale = (float) (1 / Math.sqrt(o.d));
        double bias = o.hsrBias;
        String biasNote = "";
        if (Double.isNaN(bias)) {
            double sigma = InputData.scoreSigma(q, k, scale, rnd);
            bias = sigma * Math.sqrt(0.4 * Math.log(o.nk));
            biasNote = String.format(Locale.ROOT, " (paper's sigma*sqrt(0.4 ln Nk), sigma=%.3f)", sigma);
        }
        String reluLabel = String.format(Locale.ROOT, "hsr relu^%d bias=%.3f", o.hsrAlpha, bias);
        String softLabel = String.format(Locale.ROOT, "hsr softmax eps=%.0e", o.hsrEps);
        long rows = o.batch * o.heads * o.n;
        double visible = o.batch * o.heads * visiblePairs(o.n, o.nk, o.causal);
        KeyIndex index;
        long t0 = System.nanoTime();
        try {
            index = KeyIndex.build(k, v, KeyIndex.Options.DEFAULTS.withCopyKeys(o.hsrKeyCopy));
        } catch (HyperattnException e) {
            if (e.status() != HyperattnException.Status.UNSUPPORTED) {
                throw e;
            }
            out.printf(Locale.ROOT, "%-34s %11s %8s  %s%n", reluLabel, "n/a", "n/a", "n/a: " + e.nativeMessage());
            out.printf(Locale.ROOT, "%-34s %11s %8s  %s%n", softLabel, "n/a", "n/a", "n/a: " + e.nativeMessage());
            return true;
        }
        boolean pass = true;
        try (index) {
            double buildMs = (System.nanoTime() - t0) / 1e6;
            KeyIndex.Info info = index.info();
            out.printf(Locale.ROOT, "%-34s %11.3f %8s  %d sealed blocks of %d keys, %.1f MiB (%s)%n",
                    "hsr key index build", buildMs, "", info.blocks(), info.blockSize(), info.bytes() / 1048576.0,
                    o.hsrKeyCopy ? "keys copied" : "keys read in place");
            HsrStats stats = HsrStats.allocate(arena, rows);
            Tensor sparse = operand(arena, o, o.heads, o.n);

            HsrAttention relu = Attention.hsr().relu(o.hsrAlpha, (float) bias).causal(o.causal).index(index);
            double[] ms = time(iters, false, () -> relu.run(q, k, v, sparse, stats));
            SampledReference.Result r = SampledReference.check(q, k, v, sparse, o.causal, scale, o.samples(), o.seed,
                    o.hsrAlpha, bias);
            double tol = tolerance(o.dtype, o.nk);
            boolean reluOk = r.maxAbsError() <= tol;
            pass &= reluOk;
            out.printf(Locale.ROOT, "%-34s %11.3f %7.2fx  %.2f%% of keys touched; vs float64 ReLU^%d reference on %d"
                    + " sampled rows: max abs error %.2e (%s)%s%n", reluLabel, ms[0], exactMs / ms[0],
                    100 * stats.totalKeysTouched() / visible, o.hsrAlpha, r.rows(), r.maxAbsError(),
                    reluOk ? "ok" : "FAIL, tolerance " + tol, biasNote);

            HsrAttention soft = Attention.hsr().softmax(o.hsrEps).causal(o.causal).index(index);
            ms = time(iters, false, () -> soft.run(q, k, v, sparse, stats));
            // The bound certifies against exact arithmetic; the two float results each carry their
            // own rounding on top.
            double slack = 2 * tolerance(o.dtype, o.nk);
            Frobenius.BoundCheck b = Frobenius.checkRowBounds(sparse, exact, stats, slack);
            pass &= b.violations() == 0;
            out.printf(Locale.ROOT, "%-34s %11.3f %7.2fx  %.2f%% of keys touched; rel. error %.2e; max |O - O_exact|"
                    + " %.2e, max bound %.2e: %s%n", softLabel, ms[0], exactMs / ms[0],
                    100 * stats.totalKeysTouched() / visible, Frobenius.relativeError(sparse, exact), b.maxError(),
                    b.maxBound(), b.violations() == 0 ? "bound holds on all " + rows + " rows"
                            : "BOUND BROKEN on " + b.violations() + " of " + rows + " rows");
        } catch (HyperattnException e) {
            if (e.status() != HyperattnException.Status.UNSUPPORTED) {
                throw e;
            }
            out.printf(Locale.ROOT, "%-34s %11s %8s  %s%n", "hsr", "n/a", "n/a", "n/a: " + e.nativeMessage());
        }
        return pass;
    }

    /** An optional warm-up, then {@code iters} timed runs: {median, min, max} in ms. */
    private static double[] time(int iters, boolean warmUp, Runnable call) {
        if (warmUp) {
            call.run(); // page faults, thread pool start, JIT of the Java side
        }
        double[] ms = new double[iters];
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            call.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        double median = ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        return new double[] {median, ms[0], ms[ms.length - 1]};
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
     * Inputs are uniform in [-1, 1] (or structured with values near [-1, 1]), so every output,
     * a convex combination of v rows, is O(1) and an absolute tolerance is relative to the
     * data's scale. fp32: rounding in the score dot products stays ~1e-6, and the softmax
     * denominator and P·V accumulators, sums over Nk keys, gather rounding ~ε·√Nk relative: 2e-5
     * up to Nk = 4096 (room for fast exp approximations), growing as √Nk beyond. bf16: the output
     * itself is rounded to 8 significant bits (2^-8 relative), and kernels round probabilities to
     * bf16 for the P·V product, so ~1e-2. f16: computed as fp32 from exact inputs, then the
     * output rounded to 11 significant bits (2^-11 relative, <= 4.9e-4 on O(1) values): the
     * fp32 bound plus 2e-3.
     */
    static double tolerance(DType dtype, long nk) {
        double f32 = 2e-5 * Math.max(1, Math.sqrt(nk / 4096.0));
        return switch (dtype) {
            case F32 -> f32;
            case BF16 -> 1.6e-2;
            case F16 -> f32 + 2e-3;
        };
    }

    // [B, H, S, D] logical view over a bhsd or bshd buffer.
    private static Tensor operand(Arena arena, Options o, long heads, long seq) {
        long b = o.batch, d = o.d;
        long elems = Math.multiplyExact(Math.multiplyExact(b * heads, seq), d);
        MemorySegment seg = arena.allocate(Math.multiplyExact(elems, (long) o.dtype.byteSize()), Tensor.ALIGNMENT);
        long[] shape = {b, heads, seq, d};
        long[] strides = o.bshd ? new long[] {seq * heads * d, d, heads * d, 1}
                : new long[] {heads * seq * d, seq * d, d, 1};
        return Tensor.wrap(seg, o.dtype, shape, strides);
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
