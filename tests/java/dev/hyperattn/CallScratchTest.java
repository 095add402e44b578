package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Calls reuse pooled native scratch (descriptors, params, stats) instead of an arena per call:
 * concurrent calls from platform and virtual threads, with different shapes, settings and
 * operations, must each see their own descriptors, also when the pool is exhausted (temporary
 * scratch) or a thread already holds one (a nested call); and no call leaks a slot.
 */
class CallScratchTest {

    @AfterEach
    void noSlotLeaks() {
        assertEquals(0, CallScratch.claimedSlots(), "a call left a pool slot claimed");
    }

    /** One problem: inputs in a shared arena and the float64 reference. */
    private record Problem(String name, Tensor q, Tensor k, Tensor v, boolean causal, float scale,
            ReferenceAttention.Result expected) {

        long[] outShape() {
            return q.shape();
        }

        long[] lseShape() {
            return new long[] {q.shape(0), q.shape(1), q.shape(2)};
        }
    }

    private static Problem problem(Arena arena, SplittableRandom rnd, long b, long hq, long hkv, long nq, long nk, long d,
            boolean causal, float scale) {
        Tensor q = Tensor.allocate(arena, DType.F32, b, hq, nq, d);
        Tensor k = Tensor.allocate(arena, DType.F32, b, hkv, nk, d);
        Tensor v = Tensor.allocate(arena, DType.F32, b, hkv, nk, d);
        TestData.fillUniform(q, rnd, 1);
        TestData.fillUniform(k, rnd, 1);
        TestData.fillUniform(v, rnd, 1);
        double s = scale != 0f ? scale : 1 / Math.sqrt(d);
        String name = "[" + b + "," + hq + "/" + hkv + "," + nq + "x" + nk + "," + d + "]" + (causal ? " causal" : "")
                + (scale != 0f ? " scale " + scale : "");
        return new Problem(name, q, k, v, causal, scale, ReferenceAttention.compute(q, k, v, causal, s));
    }

    private static List<Problem> problems(Arena arena, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        return List.of(
                problem(arena, rnd, 1, 1, 1, 1, 1, 8, false, 0f),
                problem(arena, rnd, 1, 4, 2, 5, 17, 16, true, 0.3f),
                problem(arena, rnd, 2, 2, 1, 33, 7, 64, true, 0f), // rows that see no key
                problem(arena, rnd, 1, 8, 8, 3, 130, 32, false, 0f),
                problem(arena, rnd, 1, 2, 2, 64, 64, 128, true, 0.05f));
    }

    /**
     * One call of problem {@code p} by exact or HyperAttention (exact below minSeqLen), with or
     * without LSE, into freshly poisoned outputs, checked against the reference.
     */
    private static void callAndCheck(Problem p, Arena mine, int variant, String ctx) {
        Tensor out = Tensor.allocate(mine, DType.F32, p.outShape());
        Tensor lse = (variant & 1) != 0 ? Tensor.allocate(mine, DType.F32, p.lseShape()) : null;
        TestData.poison(out);
        if (lse != null) {
            TestData.poison(lse);
        }
        if ((variant & 2) == 0) {
            ExactAttention op = Attention.exact().causal(p.causal());
            (p.scale() != 0f ? op.scale(p.scale()) : op).run(p.q(), p.k(), p.v(), out, lse);
        } else {
            HyperAttention op = Attention.hyper().causal(p.causal()).seed(variant);
            (p.scale() != 0f ? op.scale(p.scale()) : op).run(p.q(), p.k(), p.v(), out, lse);
        }
        String what = p.name() + " variant " + variant + "; " + ctx;
        Compare.assertClose("out " + what, out.toFloatArray(), p.expected().out(), p.outShape(),
                Tolerances.outAtol(DType.F32), Tolerances.outRtol(DType.F32), ctx);
        if (lse != null) {
            Compare.assertClose("lse " + what, lse.toFloatArray(), p.expected().lse(), p.lseShape(),
                    Tolerances.lseAtol(DType.F32), Tolerances.lseRtol(DType.F32), ctx);
        }
    }

    /** Platform and virtual threads calling at once, each cycling through every problem. */
    private static void hammer(List<Problem> problems, int platform, int virtual, int callsEach, String ctx)
            throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0; t < platform + virtual; t++) {
            int id = t;
            tasks.add(() -> {
                start.await();
                try (Arena mine = Arena.ofConfined()) { // outputs confined to this thread
                    for (int c = 0; c < callsEach; c++) {
                        Problem p = problems.get((id + c) % problems.size());
                        callAndCheck(p, mine, (id * 7 + c) & 3, ctx + ", thread " + id + " call " + c);
                    }
                }
                return null;
            });
        }
        try (ExecutorService platformPool = Executors.newFixedThreadPool(platform);
                ExecutorService virtualPool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Void>> futures = new ArrayList<>();
            for (int t = 0; t < tasks.size(); t++) {
                futures.add((t < platform ? platformPool : virtualPool).submit(tasks.get(t)));
            }
            start.countDown();
            for (Future<Void> f : futures) {
                f.get();
            }
        }
    }

    @Test
    void concurrentCallsFromPlatformAndVirtualThreadsMatchTheReference() throws Exception {
        long seed = TestData.nextSeed();
        try (Arena shared = Arena.ofShared()) {
            hammer(problems(shared, seed), 4, 16, 40, TestData.seedNote(seed));
        }
    }

    /**
     * With every pool slot held (by other threads, as by calls that have not returned), calls
     * run on temporary scratch, concurrently, and are still right; the slots work again after.
     */
    @Test
    void anExhaustedPoolFallsBackToTemporaryScratch() throws Exception {
        long seed = TestData.nextSeed();
        List<CallScratch> held = holdEverySlot();
        try (Arena shared = Arena.ofShared()) {
            assertEquals(CallScratch.poolSize(), CallScratch.claimedSlots());
            CallScratch extra = CallScratch.acquire();
            assertFalse(extra.isPooled(), "every slot is held: a temporary scratch");
            extra.release();
            List<Problem> problems = problems(shared, seed);
            hammer(problems, 3, 6, 10, "pool exhausted, " + TestData.seedNote(seed));
            assertEquals(CallScratch.poolSize(), CallScratch.claimedSlots(), "temporary scratch never takes a slot");
        } finally {
            held.forEach(CallScratch::release);
        }
        assertEquals(0, CallScratch.claimedSlots());
        try (Arena arena = Arena.ofConfined()) {
            callAndCheck(problems(arena, seed).get(1), arena, 1, "after the pool was freed");
        }
    }

    /** Claims every pool slot, from as many short-lived threads as it takes (slots follow thread ids). */
    private static List<CallScratch> holdEverySlot() throws InterruptedException {
        List<CallScratch> held = new ArrayList<>();
        for (int attempt = 0; attempt < 10_000 && CallScratch.claimedSlots() < CallScratch.poolSize(); attempt++) {
            Thread t = new Thread(() -> {
                while (true) {
                    CallScratch s = CallScratch.acquire();
                    if (!s.isPooled()) {
                        s.release();
                        return;
                    }
                    synchronized (held) {
                        held.add(s);
                    }
                }
            });
            t.start();
            t.join();
        }
        return held;
    }

    /** A thread that already holds scratch (as an enclosing call would) gets other scratch. */
    @Test
    void nestedClaimsGetDistinctScratchAndCallsStayCorrect() {
        long seed = TestData.nextSeed();
        Map<CallScratch, Boolean> seen = new IdentityHashMap<>();
        List<CallScratch> held = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            List<Problem> problems = problems(arena, seed);
            for (int depth = 0; depth < 12; depth++) {
                CallScratch s = CallScratch.acquire();
                assertTrue(seen.put(s, Boolean.TRUE) == null, "scratch handed out twice at depth " + depth);
                held.add(s);
                for (int i = 0; i < problems.size(); i++) {
                    callAndCheck(problems.get(i), arena, i + depth, "depth " + depth + ", " + TestData.seedNote(seed));
                }
            }
        } finally {
            held.forEach(CallScratch::release);
        }
        CallScratch a = CallScratch.acquire();
        CallScratch b = CallScratch.acquire();
        assertNotSame(a, b);
        b.release();
        a.release();
    }

    /** Failed calls, before or after claiming scratch, give their slot back. */
    @Test
    void failingCallsReleaseTheirScratch() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 4, 16);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 9, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 4, 16);
            Tensor bad = Tensor.allocate(arena, DType.F32, 1, 1, 9, 8);
            for (int i = 0; i < 1000; i++) {
                assertThrows(IllegalArgumentException.class, () -> Attention.exact().run(q, k, bad, out));
            }
            // An index built over other keys fails after the index is taken, before the call.
            Tensor other = Tensor.allocate(arena, DType.F32, 1, 1, 9, 16);
            try (KeyIndex index = KeyIndex.build(other)) {
                for (int i = 0; i < 100; i++) {
                    assertThrows(IllegalArgumentException.class, () -> Attention.hsr().index(index).run(q, k, k, out));
                }
            }
            // A non-finite key fails in the library (HSR builds its index in the call), after
            // the scratch was claimed.
            Tensor nanKeys = Tensor.allocate(arena, DType.F32, 1, 1, 9, 16);
            nanKeys.setFloat(Float.NaN, 0, 0, 3, 5);
            for (int i = 0; i < 100; i++) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Attention.hsr().run(q, nanKeys, nanKeys, out));
                assertTrue(e.getCause() instanceof HyperattnException, "from the library: " + e);
            }
            assertEquals(0, CallScratch.claimedSlots());
        }
    }
}
