package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * Every bad parameter or operand of HyperAttention, HSR, the key index and reporting is rejected
 * in Java, before any native call, with IllegalArgumentException naming it.
 */
class HyperHsrValidationTest {

    private static final long B = 1, HQ = 4, HKV = 2, N = 16, D = 32;
    private static Arena arena;
    private static Tensor q, k, v, out, lse;

    @BeforeAll
    static void setUp() {
        arena = Arena.ofShared();
        q = t(B, HQ, N, D);
        k = t(B, HKV, N, D);
        v = t(B, HKV, N, D);
        out = t(B, HQ, N, D);
        lse = t(B, HQ, N);
    }

    @AfterAll
    static void tearDown() {
        arena.close();
    }

    private static Tensor t(long... shape) {
        return Tensor.allocate(arena, DType.F32, shape);
    }

    private static Tensor t(DType dtype, long... shape) {
        return Tensor.allocate(arena, dtype, shape);
    }

    private record Bad(String name, Executable call, String expected) {
    }

    private static List<Bad> cases() {
        HyperAttention hyper = Attention.hyper();
        HsrAttention hsr = Attention.hsr();
        return List.of(
                new Bad("lshProjections 0", () -> hyper.lshProjections(0), "lshProjections: 0 outside 1..16"),
                new Bad("lshProjections 17", () -> hyper.lshProjections(17), "lshProjections: 17 outside 1..16"),
                new Bad("lshProjections negative", () -> hyper.lshProjections(-3), "lshProjections: -3"),
                new Bad("blockSize 0", () -> hyper.blockSize(0), "blockSize: 0 must be >= 1"),
                new Bad("blockSize negative", () -> hyper.blockSize(-256), "blockSize: -256"),
                new Bad("sampleSize 0", () -> hyper.sampleSize(0), "sampleSize: 0 must be >= 1"),
                new Bad("sampleSize negative", () -> hyper.sampleSize(-1), "sampleSize: -1"),
                new Bad("minSeqLen 0", () -> hyper.minSeqLen(0), "minSeqLen: 0 must be >= 1"),
                new Bad("hyper scale NaN", () -> hyper.scale(Float.NaN), "scale: NaN"),
                new Bad("hyper scale 0", () -> hyper.scale(0f), "scale: 0.0"),
                new Bad("hyper scale infinite", () -> hyper.scale(Float.POSITIVE_INFINITY), "scale: Infinity"),
                new Bad("hyper head_dim mismatch", () -> hyper.run(q, t(B, HKV, N, 64), v, out),
                        "k: head_dim 64 differs from q's 32"),
                new Bad("hyper heads not divisible", () -> hyper.run(t(B, 3, N, D), k, v, t(B, 3, N, D)),
                        "q: heads 3 not divisible by kv heads 2"),
                new Bad("hyper out overlaps q", () -> hyper.run(q, k, v, q), "out: overlaps q"),
                new Bad("hyper lse shape", () -> hyper.run(q, k, v, out, t(B, HQ, N + 1)), "lse: shape"),
                new Bad("hyper mixed dtypes", () -> hyper.run(q, t(DType.BF16, B, HKV, N, D), v, out),
                        "k: dtype BF16 differs from q's F32"),
                new Bad("hyper head_dim 300", () -> hyper.run(t(1, 1, 2, 300), t(1, 1, 2, 300), t(1, 1, 2, 300),
                        t(1, 1, 2, 300)), "q: head_dim 300 outside 1..256"),

                new Bad("alpha 0", () -> hsr.relu(0, 0f), "alpha: 0 must be >= 1"),
                new Bad("alpha negative", () -> hsr.relu(-2, 0f), "alpha: -2"),
                new Bad("bias NaN", () -> hsr.relu(1, Float.NaN), "bias: NaN must be finite"),
                new Bad("bias infinite", () -> hsr.relu(1, Float.NEGATIVE_INFINITY), "bias: -Infinity"),
                new Bad("epsilon 0", () -> hsr.softmax(0), "epsilon: 0.0 outside (0, 1)"),
                new Bad("epsilon 1", () -> hsr.softmax(1), "epsilon: 1.0 outside (0, 1)"),
                new Bad("epsilon negative", () -> hsr.softmax(-1e-3), "epsilon: -0.001"),
                new Bad("epsilon NaN", () -> hsr.softmax(Double.NaN), "epsilon: NaN"),
                new Bad("epsilon above 1", () -> hsr.softmax(2.5), "epsilon: 2.5"),
                new Bad("hsr scale", () -> hsr.scale(-1f), "scale: -1.0"),
                new Bad("hsr shape", () -> hsr.run(q, k, t(B, HKV, N + 1, D), out), "v: seq 17 differs from k's 16"),
                new Bad("hsr out dtype", () -> hsr.run(q, k, v, t(DType.BF16, B, HQ, N, D)), "out: dtype BF16"),
                new Bad("hsr stats rows", () -> hsr.run(q, k, v, out, HsrStats.allocate(arena, B * HQ * N - 1)),
                        "stats: 63 rows, but q has B*Hq*Nq = 64"),
                new Bad("stats rows 0", () -> HsrStats.allocate(arena, 0), "rows: 0"),
                new Bad("stats q rank", () -> HsrStats.allocateFor(arena, t(4, 4)), "q: rank 2"),

                new Bad("index blockSize 7", () -> KeyIndex.Options.DEFAULTS.withBlockSize(7),
                        "blockSize: 7 outside 8..1024"),
                new Bad("index blockSize 1025", () -> new KeyIndex.Options(1025, 4, 0), "blockSize: 1025"),
                new Bad("index kmeans -1", () -> KeyIndex.Options.DEFAULTS.withKmeansIterations(-1),
                        "kmeansIterations: -1 outside 0..64"),
                new Bad("index k rank", () -> KeyIndex.build(t(HKV, N, D)), "k: rank 3"),
                new Bad("index v shape", () -> KeyIndex.build(k, t(B, HKV, N + 1, D)), "v: shape"),
                new Bad("index v dtype", () -> KeyIndex.build(k, t(DType.BF16, B, HKV, N, D)), "v: dtype BF16"),
                new Bad("index heap k", () -> KeyIndex.build(Tensor.wrap(
                        java.lang.foreign.MemorySegment.ofArray(new float[(int) (B * HKV * N * D)]), DType.F32, B, HKV,
                        N, D)), "k: memory is a Java heap segment"),
                new Bad("report NaN threshold", () -> HalfSpaceReport.of(k, q, Float.NaN), "threshold: NaN must be finite"),
                new Bad("report infinite threshold", () -> HalfSpaceReport.of(k, q, Float.NEGATIVE_INFINITY),
                        "threshold: -Infinity must be finite"),
                new Bad("index head_dim 300", () -> KeyIndex.build(t(1, 1, 2, 300)), "k: head_dim 300 outside 1..256"),
                new Bad("index kmeans 65", () -> KeyIndex.Options.DEFAULTS.withKmeansIterations(65),
                        "kmeansIterations: 65 outside 0..64"),
                new Bad("report q head_dim", () -> HalfSpaceReport.of(k, t(B, HQ, 1, D + 1), 0f),
                        "q: head_dim 33 differs from k's 32"),
                new Bad("report q heads", () -> HalfSpaceReport.of(k, t(B, 3, 1, D), 0f),
                        "q: heads 3 not divisible by kv heads 2"),
                new Bad("report q dtype", () -> HalfSpaceReport.of(k, t(DType.BF16, B, HQ, 1, D), 0f),
                        "q: dtype BF16 differs from k's F32"),
                new Bad("report q batch", () -> HalfSpaceReport.of(k, t(2, HQ, 1, D), 0f), "q: batch 2"),
                new Bad("slice past the end", () -> k.slice(2, 10, 7), "start, length"),
                new Bad("copy shape", () -> q.copyFrom(out.slice(2, 0, 3)), "src: shape"));
    }

    @TestFactory
    Stream<DynamicTest> badParametersAreIllegalArguments() {
        return cases().stream().map(bad -> dynamicTest(bad.name(), () -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad.call(), bad.name());
            assertTrue(e.getMessage() != null && e.getMessage().contains(bad.expected()),
                    bad.name() + ": message '" + e.getMessage() + "' should contain '" + bad.expected() + "'");
        }));
    }

    @Test
    void buildersAreImmutableAndReportTheirSettings() {
        HyperAttention h = Attention.hyper();
        assertEquals(HyperAttention.DEFAULT_LSH_PROJECTIONS, h.lshProjections());
        assertEquals(7, h.lshProjections());
        assertEquals(256, h.blockSize());
        assertEquals(256, h.sampleSize());
        assertEquals(4096, h.minSeqLen());
        assertEquals(0L, h.seed());
        HyperAttention h2 = h.causal(true).seed(5).lshProjections(16).blockSize(1).sampleSize(1).minSeqLen(1);
        assertEquals(7, h.lshProjections(), "setters return new instances");
        assertTrue(h2.isCausal() && h2.seed() == 5 && h2.lshProjections() == 16 && h2.blockSize() == 1);
        assertEquals((float) (1 / Math.sqrt(64)), h.scaleFor(64));

        HsrAttention s = Attention.hsr();
        assertEquals(HsrAttention.Weighting.SOFTMAX, s.weighting());
        assertEquals(1e-3, s.epsilon());
        HsrAttention r = s.relu(3, -0.5f);
        assertEquals(HsrAttention.Weighting.SOFTMAX, s.weighting());
        assertEquals(HsrAttention.Weighting.RELU, r.weighting());
        assertEquals(3, r.alpha());
        assertEquals(-0.5f, r.bias());
        assertEquals(HsrAttention.Weighting.SOFTMAX, r.softmax(0.5).weighting());
        assertEquals(new KeyIndex.Options(64, 4, 0), KeyIndex.Options.DEFAULTS);
        assertEquals(new KeyIndex.Options(64, 4, 0, true), KeyIndex.Options.DEFAULTS);
        assertTrue(KeyIndex.Options.DEFAULTS.copyKeys());
        KeyIndex.Options noCopy = KeyIndex.Options.DEFAULTS.withCopyKeys(false);
        assertEquals(new KeyIndex.Options(64, 4, 0, false), noCopy);
        assertEquals(new KeyIndex.Options(32, 0, 9, false), noCopy.withBlockSize(32).withKmeansIterations(0).withSeed(9),
                "withers keep copyKeys");
    }

    @Test
    void closedStatsArenaIsAnIllegalState() {
        HsrStats dead;
        try (Arena a = Arena.ofConfined()) {
            dead = HsrStats.allocate(a, B * HQ * N);
        }
        HsrStats stats = dead;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Attention.hsr().run(q, k, v, out, stats));
        assertTrue(e.getMessage().contains("stats:"), e.getMessage());
    }
}
