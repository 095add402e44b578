package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Results must not depend on who else is calling or how many threads the library uses: the
 * kernels partition work by rows, so each output element is computed by one sequence of
 * operations however the work is scheduled. Checked bit for bit.
 */
class ConcurrencyTest {

    private static final long B = 1, HQ = 8, HKV = 2, NQ = 97, NK = 131, D = 64;

    @AfterEach
    void restoreDefaults() {
        Hyperattn.setNumThreads(0);
    }

    private static TestData.Qkv inputs(Arena arena, DType dtype, long seed) {
        return TestData.randomQkv(arena, dtype, B, HQ, HKV, NQ, NK, D, new SplittableRandom(seed));
    }

    private static void run(TestData.Qkv in, Tensor out, Tensor lse) {
        Attention.exact().causal(true).run(in.q(), in.k(), in.v(), out, lse);
    }

    private static void assertBitEqual(String what, Tensor expected, Tensor actual, String ctx) {
        long at = expected.segment().mismatch(actual.segment());
        assertEquals(-1L, at, what + " differs at byte " + at + "; " + ctx);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void manyJavaThreadsMatchASingleThreadedRun(DType dtype) throws Exception {
        long seed = TestData.nextSeed();
        String ctx = dtype + ", " + TestData.seedNote(seed);
        int javaThreads = 8, callsEach = 3;
        try (Arena shared = Arena.ofShared()) {
            TestData.Qkv in = inputs(shared, dtype, seed);
            Tensor expected = Tensor.allocate(shared, dtype, B, HQ, NQ, D);
            Tensor expectedLse = Tensor.allocate(shared, DType.F32, B, HQ, NQ);
            run(in, expected, expectedLse);

            ExecutorService pool = Executors.newFixedThreadPool(javaThreads);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < javaThreads; t++) {
                    futures.add(pool.submit(() -> {
                        start.await();
                        // Each thread owns its outputs, in a confined arena of its own.
                        try (Arena mine = Arena.ofConfined()) {
                            Tensor out = Tensor.allocate(mine, dtype, B, HQ, NQ, D);
                            Tensor lse = Tensor.allocate(mine, DType.F32, B, HQ, NQ);
                            for (int c = 0; c < callsEach; c++) {
                                TestData.poison(out);
                                TestData.poison(lse);
                                run(in, out, lse);
                                assertBitEqual("out", expected, out, ctx);
                                assertBitEqual("lse", expectedLse, lse, ctx);
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void resultsDoNotDependOnTheLibraryThreadCount(DType dtype) {
        long seed = TestData.nextSeed();
        String ctx = dtype + ", " + TestData.seedNote(seed);
        try (Arena arena = Arena.ofConfined()) {
            TestData.Qkv in = inputs(arena, dtype, seed);
            Tensor one = Tensor.allocate(arena, dtype, B, HQ, NQ, D);
            Tensor two = Tensor.allocate(arena, dtype, B, HQ, NQ, D);
            Tensor lseOne = Tensor.allocate(arena, DType.F32, B, HQ, NQ);
            Tensor lseTwo = Tensor.allocate(arena, DType.F32, B, HQ, NQ);
            Hyperattn.setNumThreads(1);
            assertEquals(1, Hyperattn.numThreads());
            run(in, one, lseOne);
            Hyperattn.setNumThreads(2);
            assertEquals(2, Hyperattn.numThreads());
            TestData.poison(two);
            TestData.poison(lseTwo);
            run(in, two, lseTwo);
            assertBitEqual("out", one, two, ctx);
            assertBitEqual("lse", lseOne, lseTwo, ctx);
        }
    }
}
