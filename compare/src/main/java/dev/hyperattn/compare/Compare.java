package dev.hyperattn.compare;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.hyperattn.Attention;
import dev.hyperattn.BFloat16;
import dev.hyperattn.DType;
import dev.hyperattn.Hyperattn;
import dev.hyperattn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * One JVM, one set of inputs per case, three implementations: hyperattn, Bytedeco PyTorch SDPA
 * and ONNX Runtime's Attention op. Only the attention call is timed; building inputs, sessions
 * and reading results back happen outside the clock.
 */
public final class Compare {

    static final long B = 1, HQ = 32, HKV = 8, D = 128;

    record Case(String name, long nq, long nk, boolean causal, DType dtype) {
        boolean decode() {
            return nq == 1;
        }

        double flops() {
            double f = 4.0 * nq * nk * D * HQ;
            return causal && !decode() ? f / 2 : f;
        }

        /** K+V bytes at the true GQA head count, so every row of a case divides the same bytes. */
        double kvBytes() {
            return 2.0 * B * HKV * nk * D * dtype.byteSize();
        }
    }

    /** A competitor's prepared call: run() is what gets timed. */
    interface Prepared extends AutoCloseable {
        void run() throws Exception;

        float[] output() throws Exception;

        /** Key/value heads the competitor actually read (HKV, or HQ when it needed them expanded). */
        long kvHeads();

        @Override
        void close() throws Exception;
    }

    interface Impl {
        String name();

        Prepared prepare(Case c, Inputs in) throws Exception;
    }

    /** Inputs shared by all implementations of a case; K/V expanded to HQ heads only on demand. */
    static final class Inputs {
        final Arena arena;
        final Case c;
        final Tensor q, k, v;
        private Tensor kExpanded, vExpanded;

        Inputs(Arena arena, Case c, long seed) {
            this.arena = arena;
            this.c = c;
            q = random(arena, c.dtype, seed, HQ, c.nq);
            k = random(arena, c.dtype, seed + 1, HKV, c.nk);
            v = random(arena, c.dtype, seed + 2, HKV, c.nk);
        }

        Tensor kExpanded() {
            if (kExpanded == null) kExpanded = expand(k);
            return kExpanded;
        }

        Tensor vExpanded() {
            if (vExpanded == null) vExpanded = expand(v);
            return vExpanded;
        }

        private Tensor expand(Tensor t) {
            Tensor e = Tensor.allocate(arena, t.dtype(), B, HQ, t.shape(2), D);
            long headBytes = t.shape(2) * D * t.dtype().byteSize();
            long group = HQ / HKV;
            for (long h = 0; h < HQ; h++)
                MemorySegment.copy(t.segment(), (h / group) * headBytes, e.segment(), h * headBytes, headBytes);
            return e;
        }

        private static Tensor random(Arena arena, DType dtype, long seed, long heads, long seq) {
            Tensor t = Tensor.allocate(arena, dtype, B, heads, seq, D);
            SplittableRandom rnd = new SplittableRandom(seed);
            MemorySegment s = t.segment();
            long n = t.elementCount();
            // Gaussian entries give peaked softmax rows, which exercise the max-tracking of the
            // online softmax far more than near-uniform rows from small uniform inputs would.
            for (long i = 0; i < n; i++) {
                float x = (float) rnd.nextGaussian();
                switch (dtype) {
                    case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, i, x);
                    case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, BFloat16.fromFloat(x));
                    case F16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(x));
                }
            }
            return t;
        }
    }

    static ByteBuffer buffer(Tensor t) {
        return t.segment().asSlice(0, t.byteSpan()).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    // ---- hyperattn ------------------------------------------------------------------------

    static final class HyperattnImpl implements Impl {
        public String name() {
            return "hyperattn";
        }

        public Prepared prepare(Case c, Inputs in) {
            Tensor out = Tensor.allocate(in.arena, c.dtype, B, HQ, c.nq, D);
            var attn = Attention.exact().causal(c.causal);
            return new Prepared() {
                public void run() {
                    attn.run(in.q, in.k, in.v, out);
                }

                public float[] output() {
                    return out.toFloatArray();
                }

                public long kvHeads() {
                    return HKV;
                }

                public void close() {}
            };
        }
    }

    // ---- Bytedeco PyTorch -----------------------------------------------------------------

    static final class TorchImpl implements Impl {
        private final boolean gqa;

        TorchImpl(boolean gqa) {
            this.gqa = gqa;
        }

        public String name() {
            return gqa ? "torch sdpa" : "torch sdpa (kv expanded)";
        }

        static torch.ScalarType scalar(DType dt) {
            return switch (dt) {
                case F32 -> torch.ScalarType.Float;
                case BF16 -> torch.ScalarType.BFloat16;
                case F16 -> torch.ScalarType.Half;
            };
        }

        /** Zero-copy view: torch reads hyperattn's own buffers, so both see identical bits. */
        static org.bytedeco.pytorch.Tensor view(Tensor t) {
            return torch.from_blob(new Pointer(buffer(t)), t.shape(), new TensorOptions(scalar(t.dtype())));
        }

        public Prepared prepare(Case c, Inputs in) {
            var q = view(in.q);
            var k = view(gqa ? in.k : in.kExpanded());
            var v = view(gqa ? in.v : in.vExpanded());
            Tensor outBuf = Tensor.allocate(in.arena, c.dtype, B, HQ, c.nq, D);
            var outView = view(outBuf);
            // torch's is_causal is top-left aligned: for a 1-query decode it would see only key 0.
            // A decode step attends to every key, which is the non-causal call.
            boolean causal = c.causal && !c.decode();
            var noMask = new TensorOptional();
            var scale = new DoubleOptional(1.0 / Math.sqrt(D));
            return new Prepared() {
                org.bytedeco.pytorch.Tensor last;

                public void run() {
                    if (last != null) last.close();
                    last = torch.scaled_dot_product_attention(q, k, v, noMask, 0.0, causal, scale, gqa);
                }

                public float[] output() {
                    outView.copy_(last);
                    return outBuf.toFloatArray();
                }

                public long kvHeads() {
                    return gqa ? HKV : HQ;
                }

                public void close() {
                    if (last != null) last.close();
                    outView.close();
                    q.close();
                    k.close();
                    v.close();
                }
            };
        }
    }

    // ---- ONNX Runtime ---------------------------------------------------------------------

    static final class OrtImpl implements Impl {
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        private final boolean gqa;

        OrtImpl(boolean gqa) {
            this.gqa = gqa;
        }

        public String name() {
            return gqa ? "onnxruntime Attention" : "onnxruntime Attention (kv expanded)";
        }

        public Prepared prepare(Case c, Inputs in) throws OrtException {
            long hkv = gqa ? HKV : HQ;
            int elem = switch (c.dtype) {
                case F32 -> OnnxAttentionModel.ELEM_FLOAT;
                case BF16 -> OnnxAttentionModel.ELEM_BFLOAT16;
                case F16 -> OnnxAttentionModel.ELEM_FLOAT16;
            };
            // Same reasoning as torch: ONNX's is_causal is top-left aligned, so decode runs unmasked.
            boolean causal = c.causal && !c.decode();
            byte[] model = OnnxAttentionModel.build(elem, HQ, hkv, c.nq, c.nk, D, causal, (float) (1.0 / Math.sqrt(D)));
            var opts = new OrtSession.SessionOptions();
            opts.setIntraOpNumThreads(2);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            OrtSession session = env.createSession(model, opts);
            OnnxJavaType jt = switch (c.dtype) {
                case F32 -> OnnxJavaType.FLOAT;
                case BF16 -> OnnxJavaType.BFLOAT16;
                case F16 -> OnnxJavaType.FLOAT16;
            };
            Tensor k = gqa ? in.k : in.kExpanded();
            Tensor v = gqa ? in.v : in.vExpanded();
            OnnxTensor tq = OnnxTensor.createTensor(env, buffer(in.q), in.q.shape(), jt);
            OnnxTensor tk = OnnxTensor.createTensor(env, buffer(k), k.shape(), jt);
            OnnxTensor tv = OnnxTensor.createTensor(env, buffer(v), v.shape(), jt);
            Map<String, OnnxTensor> feeds = Map.of("Q", tq, "K", tk, "V", tv);
            return new Prepared() {
                OrtSession.Result last;

                public void run() throws OrtException {
                    if (last != null) last.close();
                    last = session.run(feeds);
                }

                public float[] output() throws OrtException {
                    OnnxTensor y = (OnnxTensor) last.get(0);
                    Tensor outBuf = Tensor.allocate(in.arena, c.dtype, B, HQ, c.nq, D);
                    ByteBuffer src = y.getByteBuffer().order(ByteOrder.nativeOrder());
                    outBuf.segment().asSlice(0, outBuf.byteSpan()).copyFrom(MemorySegment.ofBuffer(src));
                    return outBuf.toFloatArray();
                }

                public long kvHeads() {
                    return hkv;
                }

                public void close() throws OrtException {
                    if (last != null) last.close();
                    tq.close();
                    tk.close();
                    tv.close();
                    session.close();
                    opts.close();
                }
            };
        }
    }

    // ---- driver ---------------------------------------------------------------------------

    record Row(Case c, String impl, long kvHeads, double medianMs, double maxDiff, int samples, String note) {}

    public static void main(String[] args) throws Exception {
        int warmup = 1, runs = 3;
        double peak = 0, peakBf16 = 0;
        Set<String> only = null;
        Set<String> skip = new HashSet<>();
        boolean expandedToo = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--peak" -> peak = Double.parseDouble(args[++i]);
                case "--peak-bf16" -> peakBf16 = Double.parseDouble(args[++i]);
                case "--cases" -> only = new HashSet<>(Arrays.asList(args[++i].split(",")));
                case "--skip" -> skip.addAll(Arrays.asList(args[++i].split(",")));
                case "--expanded-too" -> expandedToo = true;
                case "--slow-ms" -> slowMs = Double.parseDouble(args[++i]);
                default -> {
                    System.err.println("usage: Compare [--warmup N] [--runs N] [--peak GFLOPS] [--peak-bf16 GFLOPS] "
                            + "[--cases a,b] [--skip torch,ort] [--expanded-too] [--slow-ms MS]");
                    System.exit(2);
                }
            }
        }
        final int threads = 2;
        Hyperattn.setNumThreads(threads);
        torch.set_num_threads(threads);

        List<Case> cases = new ArrayList<>();
        for (DType dt : DType.values()) {
            String t = dt.name().toLowerCase(Locale.ROOT);
            cases.add(new Case("prefill-causal-" + t, 4096, 4096, true, dt));
            cases.add(new Case("prefill-full-" + t, 4096, 4096, false, dt));
            cases.add(new Case("decode-" + t, 1, 32768, true, dt));
        }
        if (only != null) {
            Set<String> sel = only;
            cases.removeIf(c -> !sel.contains(c.name()));
        }

        List<Impl> impls = new ArrayList<>();
        impls.add(new HyperattnImpl());
        if (!skip.contains("torch")) {
            impls.add(new TorchImpl(true));
            if (expandedToo) impls.add(new TorchImpl(false));
        }
        if (!skip.contains("ort")) {
            impls.add(new OrtImpl(true));
            if (expandedToo) impls.add(new OrtImpl(false));
        }

        System.out.printf(Locale.ROOT, "hyperattn %s (isa %s) | PyTorch %s (Bytedeco) | ONNX Runtime %s%n",
                Hyperattn.version(), Hyperattn.cpuIsa(), versionOf(torch.class),
                skip.contains("ort") ? "-" : OrtEnvironment.getEnvironment().getVersion());
        System.out.printf(Locale.ROOT, "threads=%d for all; B=%d Hq=%d Hkv=%d D=%d; warm-up %d, median of %d%n",
                threads, B, HQ, HKV, D, warmup, runs);

        List<Row> rows = new ArrayList<>();
        for (Case c : cases) {
            try (Arena arena = Arena.ofShared()) {
                Inputs in = new Inputs(arena, c, 42);
                float[] ref = null;
                for (Impl impl : impls) {
                    Row r = measure(impl, c, in, warmup, runs, ref);
                    if (impl instanceof HyperattnImpl) ref = lastOutput;
                    rows.add(r);
                    System.err.printf(Locale.ROOT, "  done %s / %s: %.2f ms%n", c.name(), impl.name(), r.medianMs);
                }
            }
        }
        printTable(rows, peak, peakBf16 > 0 ? peakBf16 : peak);
    }

    private static float[] lastOutput;
    private static double slowMs = 4000;

    static Row measure(Impl impl, Case c, Inputs in, int warmup, int runs, float[] ref) {
        lastOutput = null;
        try (Prepared p = impl.prepare(c, in)) {
            double first = Double.NaN;
            for (int i = 0; i < warmup; i++) {
                long t0 = System.nanoTime();
                p.run();
                if (i == 0) first = (System.nanoTime() - t0) * 1e-6;
            }
            // A call of many seconds gains nothing from warming up and repeating it would blow
            // the time the shared bench lock may be held, so it counts as the single sample.
            boolean single = first > slowMs;
            double[] ms = new double[single ? 1 : runs];
            if (single) ms[0] = first;
            else for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                p.run();
                ms[i] = (System.nanoTime() - t0) * 1e-6;
            }
            Arrays.sort(ms);
            float[] out = p.output();
            lastOutput = out;
            double diff = ref == null ? 0 : maxAbsDiff(ref, out);
            return new Row(c, impl.name(), p.kvHeads(), ms[ms.length / 2], diff, ms.length, null);
        } catch (Throwable e) {
            String msg = String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
            return new Row(c, impl.name(), 0, Double.NaN, Double.NaN, 0,
                    e.getClass().getSimpleName() + ": " + (msg.length() > 160 ? msg.substring(0, 160) + "..." : msg));
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= m)) m = d;  // NaN propagates as the worst possible result
        }
        return m;
    }

    static String versionOf(Class<?> cls) {
        String v = cls.getPackage().getImplementationVersion();
        return v != null ? v : "?";
    }

    // peakBf16: the bf16 rows' peak, above the fp32 one where the CPU has a bf16 dot product.
    static void printTable(List<Row> rows, double peak, double peakBf16) {
        System.out.println();
        String head = String.format(Locale.ROOT, "%-18s %-35s %4s %11s %9s %7s %8s %10s",
                "case", "implementation", "kvH", "median ms", "GFLOP/s", "%peak", "GB/s", "max|diff|");
        System.out.println(head);
        System.out.println("-".repeat(head.length()));
        List<String> notes = new ArrayList<>();
        boolean overPeak = false;
        String prev = null;
        for (Row r : rows) {
            if (prev != null && !prev.equals(r.c.name())) System.out.println();
            prev = r.c.name();
            if (r.note != null) {
                System.out.printf(Locale.ROOT, "%-18s %-35s %4s %11s %9s %7s %8s %10s   [note %d]%n",
                        r.c.name(), r.impl, "-", "n/a", "-", "-", "-", "-", notes.size() + 1);
                notes.add(r.impl + " / " + r.c.name() + ": " + r.note);
                continue;
            }
            double gflops = r.c.flops() / (r.medianMs * 1e-3) * 1e-9;
            // hyperattn widens f16 to fp32 and multiplies on the fp32 FMAs: the fp32 peak bounds it.
            double rowPeak = r.c.dtype() == DType.BF16 ? peakBf16 : peak;
            String pct = percentOfPeak(gflops, rowPeak);
            overPeak |= rowPeak > 0 && gflops > rowPeak;
            String gbs = r.c.decode() ? String.format(Locale.ROOT, "%8.1f", r.c.kvBytes() / (r.medianMs * 1e-3) * 1e-9) : "-";
            String diff = r.impl.equals("hyperattn") ? "(ref)" : String.format(Locale.ROOT, "%10.2e", r.maxDiff);
            System.out.printf(Locale.ROOT, "%-18s %-35s %4d %10.2f%s %9.1f %7s %8s %10s%n",
                    r.c.name(), r.impl, r.kvHeads, r.medianMs, r.samples == 1 ? "*" : " ", gflops, pct, gbs, diff);
        }
        System.out.println();
        System.out.println("GFLOP/s = 4*Nq*Nk*D*Hq / time (halved for causal prefill); GB/s = K+V bytes at Hkv=8 / time"
                + " (decode only; a kv-expanded row actually reads Hq/Hkv = 4x that).");
        System.out.printf(Locale.ROOT, "* = one sample: the first call took over %.0f ms, so it was not repeated.%n", slowMs);
        System.out.println("max|diff| = max abs difference of the output vs hyperattn's on identical inputs.");
        for (int i = 0; i < notes.size(); i++) System.out.printf("[note %d] %s%n", i + 1, notes.get(i));
        if (overPeak) {
            System.out.println("warning: rows marked >peak! ran faster than the peak given for their dtype"
                    + " (--peak, --peak-bf16), so that peak is too low; their %peak is not shown.");
        }
    }

    // Above 100% the peak, not the implementation, is wrong (measured for another ISA, or with a
    // loop that spills): flag the row rather than print an impossible share.
    static String percentOfPeak(double gflops, double peak) {
        if (peak <= 0) return "-";
        if (gflops > peak) return ">peak!";
        return String.format(Locale.ROOT, "%6.1f%%", 100 * gflops / peak);
    }
}
