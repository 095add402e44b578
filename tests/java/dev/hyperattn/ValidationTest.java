package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * Every bad input is rejected in Java before the downcall, with the documented exception type
 * and a message naming the argument; afterwards a valid call still works (the JVM and the
 * library are fine).
 */
class ValidationTest {

    private static final long B = 1, HQ = 4, HKV = 2, N = 16, D = 32;
    private static Arena arena;
    private static Tensor q, k, v, out, lse;

    @BeforeAll
    static void setUp() {
        arena = Arena.ofShared();
        q = t(DType.F32, B, HQ, N, D);
        k = t(DType.F32, B, HKV, N, D);
        v = t(DType.F32, B, HKV, N, D);
        out = t(DType.F32, B, HQ, N, D);
        lse = t(DType.F32, B, HQ, N);
        q.fill(0.25f);
        k.fill(0.5f);
        v.fill(1f);
    }

    @AfterAll
    static void tearDown() {
        arena.close();
    }

    private static Tensor t(DType dtype, long... shape) {
        return Tensor.allocate(arena, dtype, shape);
    }

    private static Tensor t(long... shape) {
        return t(DType.F32, shape);
    }

    private static void exact(Tensor q, Tensor k, Tensor v, Tensor out) {
        Attention.exact().run(q, k, v, out);
    }

    private record Bad(String name, Class<? extends Throwable> type, Executable call, String... expected) {
    }

    private static Bad iae(String name, Executable call, String... expected) {
        return new Bad(name, IllegalArgumentException.class, call, expected);
    }

    private static List<Bad> cases() {
        MemorySegment raw = arena.allocate(4096 * 16, 64);
        return List.of(
                iae("head_dim mismatch", () -> exact(q, t(B, HKV, N, 64), v, out), "k: head_dim 64 differs from q's 32"),
                iae("v head_dim mismatch", () -> exact(q, k, t(B, HKV, N, 16), out), "v: head_dim 16 differs from q's 32"),
                iae("batch mismatch", () -> exact(q, t(2, HKV, N, D), v, out), "k: batch 2"),
                iae("kv seq mismatch", () -> exact(q, k, t(B, HKV, N + 1, D), out), "v: seq 17 differs from k's 16"),
                iae("k/v heads mismatch", () -> exact(q, k, t(B, 1, N, D), out), "v: heads 1 differs from k's 2"),
                iae("heads not divisible", () -> exact(t(B, 30, N, D), t(B, 8, N, D), t(B, 8, N, D), t(B, 30, N, D)),
                        "q: heads 30 not divisible by kv heads 8"),
                iae("out shape", () -> exact(q, k, v, t(B, HQ, N + 1, D)), "out: shape"),
                iae("mixed dtypes", () -> exact(q, t(DType.BF16, B, HKV, N, D), v, out),
                        "k: dtype BF16 differs from q's F32"),
                iae("out dtype", () -> exact(q, k, v, t(DType.BF16, B, HQ, N, D)), "out: dtype BF16"),
                iae("segment too small", () -> Tensor.wrap(arena.allocate(96), DType.F32, 1, 1, 5, 5),
                        "segment:", "too small"),
                iae("strides reach past the end",
                        () -> Tensor.wrap(arena.allocate(4 * 64), DType.F32, new long[] {1, 1, 4, 16},
                                new long[] {0, 0, 32, 1}), "segment:", "too small"),
                iae("misaligned", () -> exact(Tensor.wrap(raw.asSlice(2), DType.F32, B, HQ, N, D), k, v, out),
                        "q: address", "not a multiple of the F32 element size 4"),
                iae("misaligned bf16", () -> {
                    Tensor qb = Tensor.wrap(raw.asSlice(1), DType.BF16, B, HQ, N, D);
                    exact(qb, t(DType.BF16, B, HKV, N, D), t(DType.BF16, B, HKV, N, D), t(DType.BF16, B, HQ, N, D));
                }, "q: address", "element size 2"),
                iae("read-only out", () -> exact(q, k, v,
                        Tensor.wrap(t(B, HQ, N, D).segment().asReadOnly(), DType.F32, B, HQ, N, D)),
                        "out: memory is read-only"),
                iae("out is q", () -> exact(q, k, v, q), "out: overlaps q"),
                iae("out overlaps v", () -> {
                    Tensor big = t(2 * B, HQ, N, D);
                    Tensor kvView = Tensor.wrap(big.segment(), DType.F32, B, HKV, N, D);
                    Tensor outView = Tensor.wrap(big.segment().asSlice(64), DType.F32, B, HQ, N, D);
                    exact(q, k, kvView, outView);
                }, "out: overlaps v"),
                iae("out elements share memory", () -> exact(q, k, v,
                        Tensor.wrap(t(B, HQ, N, D).segment(), DType.F32, new long[] {B, HQ, N, D},
                                new long[] {0, 0, 1, 1})), "out: strides"),
                iae("wrong rank", () -> exact(t(HQ, N, D), k, v, out), "q: rank 3"),
                iae("wrong rank out", () -> exact(q, k, v, t(B * HQ * N * D)), "out: rank 1"),
                iae("negative strides", () -> Tensor.wrap(raw, DType.F32, new long[] {1, 1, 4, 4},
                        new long[] {16, 16, 4, -1}), "strides:", "negative"),
                iae("rank 5", () -> Tensor.allocate(arena, DType.F32, 1, 1, 1, 1, 1), "shape:", "rank 5"),
                iae("negative extent", () -> Tensor.allocate(arena, DType.F32, 1, -1, 1, 1), "shape:", "negative"),
                // Zero extents are tensors (n_k = 0: an empty cache); zero heads are an argument error.
                iae("zero heads", () -> Attention.exact().run(Tensor.allocate(arena, DType.F32, B, 0, N, D), k, v, out),
                        "q: heads must be >= 1"),
                iae("lse shape", () -> Attention.exact().run(q, k, v, out, t(B, HQ, N + 1)), "lse: shape"),
                iae("lse trailing extent", () -> Attention.exact().run(q, k, v, out, t(B, HQ, N, 2)), "lse: shape"),
                iae("lse dtype", () -> Attention.exact().run(q, k, v, out, t(DType.BF16, B, HQ, N)), "lse: dtype BF16"),
                iae("lse overlaps out", () -> Attention.exact().run(q, k, v, out,
                        Tensor.wrap(out.segment(), DType.F32, B, HQ, N)), "lse: overlaps out"),
                iae("head_dim too large",
                        () -> exact(t(1, 1, 2, 300), t(1, 1, 2, 300), t(1, 1, 2, 300), t(1, 1, 2, 300)),
                        "q: head_dim 300 outside 1..256"),
                iae("heap segment", () -> exact(Tensor.wrap(MemorySegment.ofArray(new float[(int) (B * HQ * N * D)]),
                        DType.F32, B, HQ, N, D), k, v, out), "q: memory is a Java heap segment"),
                iae("scale zero", () -> Attention.exact().scale(0f), "scale: 0.0"),
                iae("scale negative", () -> Attention.exact().scale(-1f), "scale: -1.0"),
                iae("scale NaN", () -> Attention.exact().scale(Float.NaN), "scale: NaN"),
                iae("scale infinite", () -> Attention.exact().scale(Float.POSITIVE_INFINITY), "scale: Infinity"),
                iae("threads negative", () -> Hyperattn.setNumThreads(-1), "n: -1"),
                iae("merge out partially overlaps outA", () -> {
                    Tensor outA = t(B, HQ, N, D + 1);
                    Tensor a = Tensor.wrap(outA.segment(), DType.F32, B, HQ, N, D);
                    Tensor o = Tensor.wrap(outA.segment().asSlice(4), DType.F32, B, HQ, N, D);
                    Attention.merge(a, lse, out, t(B, HQ, N), o, null);
                }, "out: overlaps outA"),
                iae("merge lse shape", () -> Attention.merge(q, t(B, HQ, N - 1), out, lse, t(B, HQ, N, D), null),
                        "lseA: shape"),
                iae("merge dtype", () -> Attention.merge(q, lse, t(DType.BF16, B, HQ, N, D), lse, t(B, HQ, N, D), null),
                        "outB: dtype BF16 differs from outA's F32"),
                iae("merge shape", () -> Attention.merge(q, lse, t(B, HQ, N, D), lse, t(B, HQ, N, D + 1), null),
                        "out: shape"),
                iae("merge lse partially overlaps lseA", () -> {
                    Tensor l = t(B, HQ, N + 1);
                    Tensor la = Tensor.wrap(l.segment(), DType.F32, B, HQ, N);
                    Tensor lo = Tensor.wrap(l.segment().asSlice(4), DType.F32, B, HQ, N);
                    Attention.merge(q, la, out, t(B, HQ, N), t(B, HQ, N, D), lo);
                }, "lse: overlaps lseA"),
                new Bad("closed arena", IllegalStateException.class, () -> {
                    Tensor dead;
                    try (Arena a = Arena.ofConfined()) {
                        dead = Tensor.allocate(a, DType.F32, B, HQ, N, D);
                    }
                    exact(q, k, v, dead);
                }, "out:", "arena", "closed"),
                new Bad("closed arena in merge", IllegalStateException.class, () -> {
                    Tensor dead;
                    try (Arena a = Arena.ofConfined()) {
                        dead = Tensor.allocate(a, DType.F32, B, HQ, N);
                    }
                    Attention.merge(q, dead, out, lse, t(B, HQ, N, D), null);
                }, "lseA:", "closed"),
                new Bad("memory of another thread", WrongThreadException.class, () -> {
                    try (Arena mine = Arena.ofConfined()) {
                        Tensor confined = Tensor.allocate(mine, DType.F32, B, HQ, N, D);
                        ExecutorService ex = Executors.newSingleThreadExecutor();
                        try {
                            Future<?> f = ex.submit(() -> exact(q, k, v, confined));
                            try {
                                f.get();
                            } catch (java.util.concurrent.ExecutionException e) {
                                throw e.getCause();
                            }
                        } finally {
                            ex.shutdown();
                        }
                    }
                }, "out:", "another thread"));
    }

    @TestFactory
    Stream<DynamicTest> badInputsAreRejectedAndTheJvmLives() {
        return cases().stream().map(bad -> dynamicTest(bad.name(), () -> {
            Throwable e = assertThrows(bad.type(), bad.call(), bad.name());
            for (String part : bad.expected()) {
                assertTrue(e.getMessage() != null && e.getMessage().contains(part),
                        bad.name() + ": message '" + e.getMessage() + "' should contain '" + part + "'");
            }
            // The library and the JVM survive: a valid call right after works.
            out.fill(Float.NaN);
            exact(q, k, v, out);
            assertEquals(1f, out.getFloat(0, 3, N - 1, D - 1), 1e-6);
        }));
    }
}
