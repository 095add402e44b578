package dev.hyperattn.cli;

import dev.hyperattn.ApproxAttention;
import dev.hyperattn.ApproxStats;
import dev.hyperattn.Attention;
import dev.hyperattn.DType;
import dev.hyperattn.HsrAttention;
import dev.hyperattn.HsrStats;
import dev.hyperattn.HyperAttention;
import dev.hyperattn.HyperattnException;
import dev.hyperattn.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The demo's main comparison: exact attention, HyperAttention (defaults), HSR softmax
 * (ε = 1e-3, temporary index) and error-targeted approximate attention on long causal inputs of
 * several {@link InputFamily families} and lengths, each timed once and scored with the
 * {@link RowErrors} metric on sampled rows against a float64 reference; a table on stdout and
 * an SVG chart.
 */
final class Tradeoff {

    /** The compared methods, in table and chart order. */
    enum Method {
        EXACT("exact"), HYPER("hyper"), HSR("hsr eps=1e-3"), APPROX("approx");

        final String label;

        Method(String label) {
            this.label = label;
        }
    }

    /**
     * One (family, n, method) measurement. {@code ms} NaN (and {@code errors} null) when the
     * library answered UNSUPPORTED ({@code note} says why); {@code estimate}, {@code keysTouched}
     * NaN where the method has none.
     */
    record Row(InputFamily family, long n, Method method, double ms, double speedup, RowErrors.Summary errors,
            double trivialError, double estimate, double keysTouched, double underEstimated, String note) {

        boolean measured() {
            return errors != null;
        }
    }

    /**
     * The rows, whether exact matched its reference everywhere, and the target check of approx:
     * {@code targetChecked} false when approx was unavailable on some input.
     */
    record Result(List<Row> rows, boolean exactOk, boolean targetChecked, boolean targetHeld, Path chart) {
    }

    /** e_i an exact float32 result must stay within (rounding only; the unit is value-norm relative). */
    static final double EXACT_TOLERANCE = 1e-4;

    private Tradeoff() {
    }

    static Result run(Options o, PrintStream out, PrintStream err) {
        List<InputFamily> families = o.families;
        long[] sizes = o.tradeoffSizes;
        int perConfig = 1 + Method.values().length;
        Progress progress = new Progress(err, families.size() * sizes.length * perConfig + 1);
        List<Row> rows = new ArrayList<>();
        boolean exactOk = true;
        boolean targetChecked = true;
        boolean targetHeld = true;
        out.println();
        out.printf(Locale.ROOT, "trade-off: causal attention, f32, B=1 Hq=%d Hkv=%d D=%d; families %s; n = %s;"
                + " each method timed once; errors on %d sampled rows vs float64 (seed %d)%n", o.tradeoffHeads,
                o.tradeoffKvHeads, o.tradeoffD, labels(families), sizesText(sizes), o.evalRows, o.seed);
        out.printf(Locale.ROOT, "  e_i = ||o^_i - o_i|| / sqrt(sum_j p_ij ||v_j||^2); trivial = every row the mean"
                + " of the V rows it sees; approx target %.3g (held if >= 99%% of rows have e_i <= target)%n",
                o.target);
        progress.begin("warm-up");
        warmUp(o);
        progress.done();
        for (InputFamily family : families) {
            for (long n : sizes) {
                List<Row> config = measure(o, family, n, progress);
                rows.addAll(config);
                for (Row r : config) {
                    if (r.method() == Method.EXACT && r.measured() && !(r.errors().max() <= EXACT_TOLERANCE)) {
                        exactOk = false;
                    }
                    if (r.method() == Method.APPROX) {
                        if (!r.measured()) {
                            targetChecked = false;
                        } else if (r.errors().fractionWithin(o.target) < 0.99) {
                            targetHeld = false;
                        }
                    }
                }
            }
        }
        progress.clear();
        printTable(out, rows, o);
        Path chart = null;
        try {
            chart = TradeoffChart.write(o.chart, rows, families, o);
        } catch (IOException e) {
            out.println("chart: could not write " + o.chart + ": " + e.getMessage());
        }
        return new Result(rows, exactOk, targetChecked, targetHeld, chart);
    }

    /** Library load, thread pool start and JIT of the Java side, on a small problem. */
    private static void warmUp(Options o) {
        try (Arena arena = Arena.ofConfined()) {
            long n = 512;
            Tensor q = Tensor.allocate(arena, DType.F32, 1, o.tradeoffHeads, n, o.tradeoffD);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, o.tradeoffKvHeads, n, o.tradeoffD);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, o.tradeoffKvHeads, n, o.tradeoffD);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, o.tradeoffHeads, n, o.tradeoffD);
            InputFamily.DIFFUSE.fill(q, k, v, 1);
            Attention.exact().causal(true).run(q, k, v, out);
            Attention.hyper().causal(true).run(q, k, v, out);
            try {
                Attention.hsr().causal(true).run(q, k, v, out);
            } catch (HyperattnException e) {
                // reported per row below
            }
            try {
                Attention.approx().causal(true).targetError(o.target).run(q, k, v, out);
            } catch (HyperattnException e) {
                // reported per row below
            }
        }
    }

    private static List<Row> measure(Options o, InputFamily family, long n, Progress progress) {
        String where = family.label() + " n=" + n;
        List<Row> rows = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            progress.begin(where + ": inputs and float64 reference");
            Tensor q = Tensor.allocate(arena, DType.F32, 1, o.tradeoffHeads, n, o.tradeoffD);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, o.tradeoffKvHeads, n, o.tradeoffD);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, o.tradeoffKvHeads, n, o.tradeoffD);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, o.tradeoffHeads, n, o.tradeoffD);
            long seed = o.seed + 31L * n + family.ordinal();
            family.fill(q, k, v, seed);
            float scale = (float) (1 / Math.sqrt(o.tradeoffD));
            long[] sample = RowErrors.sampleRows(q, k, true, o.evalRows, seed);
            RowErrors ref = RowErrors.reference(q, k, v, true, scale, sample,
                    done -> progress.within((double) done / sample.length));
            double trivial = ref.trivial().mean();
            long rowCount = o.tradeoffHeads * n;
            double visible = o.tradeoffHeads * Main.visiblePairs(n, n, true);
            progress.done();

            progress.begin(where + ": exact");
            double exactMs = time(() -> Attention.exact().causal(true).run(q, k, v, out));
            rows.add(new Row(family, n, Method.EXACT, exactMs, 1, ref.evaluate(out), trivial, Double.NaN, 1,
                    Double.NaN, ""));
            progress.done();

            progress.begin(where + ": hyper");
            HyperAttention hyper = Attention.hyper().causal(true).seed(seed);
            Tensor hyperError = Tensor.allocate(arena, DType.F32, 1, o.tradeoffHeads, n);
            // Timed without the per-row estimates; then once more (same seed, same output) with them.
            rows.add(timed(family, n, Method.HYPER, exactMs, ref, trivial, out,
                    () -> hyper.run(q, k, v, out), () -> {
                        hyper.run(q, k, v, out, null, hyperError);
                        float[] est = hyperError.toFloatArray();
                        return new double[] {mean(est), Double.NaN, underEstimated(ref, out, est)};
                    }, n <= hyper.minSeqLen() ? "exact (n <= minSeqLen)" : ""));
            progress.done();

            progress.begin(where + ": hsr softmax eps=1e-3 (temporary index)");
            HsrStats hsrStats = HsrStats.allocate(arena, rowCount);
            HsrAttention hsr = Attention.hsr().softmax(1e-3).causal(true);
            rows.add(timed(family, n, Method.HSR, exactMs, ref, trivial, out, () -> hsr.run(q, k, v, out, hsrStats),
                    () -> new double[] {Double.NaN, hsrStats.totalKeysTouched() / visible, Double.NaN}, ""));
            progress.done();

            progress.begin(where + ": approx target " + o.target);
            ApproxStats stats = ApproxStats.allocate(arena, rowCount);
            ApproxAttention approx = Attention.approx().causal(true).targetError(o.target).seed(seed);
            rows.add(timed(family, n, Method.APPROX, exactMs, ref, trivial, out,
                    () -> approx.run(q, k, v, out, null, stats),
                    () -> new double[] {stats.meanRowError(), stats.totalKeysTouched() / visible,
                            underEstimated(ref, out, stats.rowErrorArray())}, ""));
            progress.done();
        }
        return rows;
    }

    /**
     * e_i of float32 rounding alone: an exactly computed row has estimate 0 and a true e_i of
     * about 1e-6 at 32k keys, which is not an under-estimate.
     */
    static final double ROUNDING = 1e-4;

    /** Share of the evaluated rows whose true e_i exceeds twice the estimate (plus rounding). */
    private static double underEstimated(RowErrors ref, Tensor out, float[] estimates) {
        double[] e = ref.rowErrors(out);
        long[] rows = ref.rows();
        int bad = 0;
        for (int i = 0; i < rows.length; i++) {
            if (e[i] > 2 * estimates[(int) rows[i]] + ROUNDING) {
                bad++;
            }
        }
        return rows.length == 0 ? 0 : (double) bad / rows.length;
    }

    /** The mean of the finite values (NaN if none). */
    private static double mean(float[] values) {
        double sum = 0;
        int n = 0;
        for (float x : values) {
            if (Float.isFinite(x)) {
                sum += x;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Runs, times and scores one method; UNSUPPORTED becomes an n/a row. */
    private static Row timed(InputFamily family, long n, Method m, double exactMs, RowErrors ref, double trivial,
            Tensor out, Runnable call, java.util.function.Supplier<double[]> extra, String note) {
        out.fill(Float.NaN);
        double ms;
        try {
            ms = time(call);
        } catch (HyperattnException e) {
            if (e.status() != HyperattnException.Status.UNSUPPORTED) {
                throw e;
            }
            return new Row(family, n, m, Double.NaN, Double.NaN, null, trivial, Double.NaN, Double.NaN, Double.NaN,
                    "n/a: " + e.nativeMessage());
        }
        double[] x = extra.get();
        return new Row(family, n, m, ms, exactMs / ms, ref.evaluate(out), trivial, x[0], x[1], x[2], note);
    }

    private static double time(Runnable call) {
        long t0 = System.nanoTime();
        call.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    private static void printTable(PrintStream out, List<Row> rows, Options o) {
        out.printf(Locale.ROOT, "%-9s %6s %-13s %10s %8s %9s %9s %9s %9s %9s %7s  %s%n", "family", "n", "method",
                "ms", "speedup", "mean e_i", "p99 e_i", "frob err", "trivial", "est mean", "keys%", "note");
        for (Row r : rows) {
            if (!r.measured()) {
                out.printf(Locale.ROOT, "%-9s %6d %-13s %10s %8s %9s %9s %9s %9s %9s %7s  %s%n", r.family().label(),
                        r.n(), r.method().label, "n/a", "", "", "", "", sci(r.trivialError()), "", "", r.note());
                continue;
            }
            String note = r.note();
            if (r.method() == Method.APPROX) {
                note = String.format(Locale.ROOT, "%.1f%% of rows e_i <= %.3g; %.1f%% rows e_i > 2x estimate + 1e-4%s",
                        100 * r.errors().fractionWithin(o.target), o.target, 100 * r.underEstimated(),
                        note.isEmpty() ? "" : "; " + note);
            } else if (r.method() == Method.HYPER && !Double.isNaN(r.underEstimated())) {
                note = String.format(Locale.ROOT, "%.1f%% rows e_i > 2x estimate + 1e-4%s", 100 * r.underEstimated(),
                        note.isEmpty() ? "" : "; " + note);
            }
            out.printf(Locale.ROOT, "%-9s %6d %-13s %10.1f %7.2fx %9s %9s %9s %9s %9s %7s  %s%n", r.family().label(),
                    r.n(), r.method().label, r.ms(), r.speedup(), sci(r.errors().mean()), sci(r.errors().p99()),
                    sci(r.errors().frobenius()), sci(r.trivialError()), sci(r.estimate()),
                    Double.isNaN(r.keysTouched()) ? "-" : String.format(Locale.ROOT, "%.1f", 100 * r.keysTouched()),
                    note);
        }
    }

    private static String sci(double x) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.2e", x);
    }

    static String labels(List<InputFamily> families) {
        return String.join(",", families.stream().map(InputFamily::label).toList());
    }

    static String sizesText(long[] sizes) {
        StringBuilder sb = new StringBuilder();
        for (long s : sizes) {
            sb.append(sb.length() == 0 ? "" : ",").append(s);
        }
        return sb.toString();
    }
}
