package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The findings of the adversarial audit (issue 14), from Java: memory stays alive for the whole
 * call, the non-finite policy, n_k = 0, and one exception type per kind of error.
 */
class PolicyAndLifetimeTest {

    @AfterEach
    void restoreDefaults() {
        Hyperattn.setNumThreads(0);
    }

    /**
     * A thread closes the shared arena of a running call: close must fail with the JDK's own
     * IllegalStateException until the call has returned (the segments are downcall arguments),
     * never free memory the library is reading.
     */
    @Test
    void closingASharedArenaDuringACallFailsInsteadOfFreeingMemoryInUse() throws Exception {
        Arena shared = Arena.ofShared();
        long h = 4, n = 8192, d = 64;
        Tensor q = Tensor.allocate(shared, DType.F32, 1, h, n, d);
        Tensor k = Tensor.allocate(shared, DType.F32, 1, h, n, d);
        Tensor v = Tensor.allocate(shared, DType.F32, 1, h, n, d);
        Tensor out = Tensor.allocate(shared, DType.F32, 1, h, n, d);
        SplittableRandom rnd = new SplittableRandom(14);
        TestData.fillUniform(q, rnd, 1);
        TestData.fillUniform(k, rnd, 1);
        TestData.fillUniform(v, rnd, 1);
        AtomicInteger order = new AtomicInteger();
        AtomicInteger returnedAt = new AtomicInteger(-1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread caller = new Thread(() -> {
            started.countDown();
            try {
                Attention.exact().run(q, k, v, out);
                returnedAt.set(order.incrementAndGet());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        caller.start();
        started.await();
        Thread.sleep(30); // well inside a call of several hundred milliseconds
        int refused = 0;
        int closedAt = -1;
        while (closedAt < 0) {
            try {
                shared.close();
                closedAt = order.incrementAndGet();
            } catch (IllegalStateException e) {
                refused++;
                Thread.sleep(2);
            }
        }
        caller.join();
        if (failure.get() != null) {
            // The close won before the downcall began: the call must then have been refused too.
            assertInstanceOf(IllegalStateException.class, failure.get());
            return;
        }
        // The call returned normally. (Its return and the first successful close may land in
        // either order on the counter: the arena may close as soon as the downcall has returned,
        // before the caller's next statement runs. What matters is that no close succeeded
        // while it ran: every attempt in its first ~30 ms+ was refused, below.)
        assertTrue(returnedAt.get() > 0, "the call did not return normally");
        assertTrue(refused > 0, "close() was never refused: the call was too short to test anything");
    }

    /** The same for a KeyIndex build and an HSR call, whose operands include stats arrays. */
    @Test
    void hsrStatsAndOperandsStayAliveDuringTheCall() throws Exception {
        Arena shared = Arena.ofShared();
        Tensor q = Tensor.allocate(shared, DType.F32, 1, 8, 512, 64);
        Tensor k = Tensor.allocate(shared, DType.F32, 1, 1, 65536, 64);
        Tensor v = Tensor.allocate(shared, DType.F32, 1, 1, 65536, 64);
        Tensor out = Tensor.allocate(shared, DType.F32, 1, 8, 512, 64);
        SplittableRandom rnd = new SplittableRandom(15);
        TestData.fillUniform(q, rnd, 1);
        TestData.fillUniform(k, rnd, 1);
        TestData.fillUniform(v, rnd, 1);
        HsrStats stats = HsrStats.allocateFor(shared, q);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread caller = new Thread(() -> {
            started.countDown();
            try {
                Attention.hsr().softmax(1e-3).run(q, k, v, out, stats);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        caller.start();
        started.await();
        Thread.sleep(20);
        boolean refused = false;
        while (caller.isAlive()) {
            try {
                shared.close();
                break;
            } catch (IllegalStateException e) {
                refused = true;
                Thread.sleep(2);
            }
        }
        caller.join();
        if (failure.get() != null) {
            assertInstanceOf(IllegalStateException.class, failure.get());
        } else {
            assertTrue(refused || !shared.scope().isAlive(), "no close attempt overlapped the call");
        }
        if (shared.scope().isAlive()) {
            shared.close();
        }
    }

    @Test
    void nonFiniteScoresMakeTheRowNaNNeverEmpty() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 1, 4, 16);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 10, 16);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 10, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, 4, 16);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 1, 4);
            SplittableRandom rnd = new SplittableRandom(3);
            TestData.fillUniform(q, rnd, 1);
            TestData.fillUniform(k, rnd, 1);
            TestData.fillUniform(v, rnd, 1);
            k.setFloat(Float.NaN, 0, 0, 6, 2);
            Attention.exact().run(q, k, v, out, lse);
            for (int i = 0; i < 4; i++) {
                assertTrue(Float.isNaN(out.getFloat(0, 0, i, 0)), "row " + i);
                assertTrue(Float.isNaN(lse.getFloat(0, 0, i)), "lse row " + i);
            }
            // HyperAttention's approximate path agrees (a non-finite k makes the call exact).
            Tensor out2 = Tensor.allocate(arena, DType.F32, 1, 1, 4, 16);
            Attention.hyper().minSeqLen(1).blockSize(2).sampleSize(2).run(q, k, v, out2);
            assertTrue(Float.isNaN(out2.getFloat(0, 0, 3, 5)));
        }
    }

    @Test
    void hsrGivesANaNRowWithoutACertificateForANonFiniteQuery() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 3, 16);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 200, 16);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 200, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 3, 16);
            SplittableRandom rnd = new SplittableRandom(4);
            TestData.fillUniform(q, rnd, 1);
            TestData.fillUniform(k, rnd, 1);
            TestData.fillUniform(v, rnd, 1);
            q.setFloat(Float.POSITIVE_INFINITY, 0, 1, 2, 0);
            HsrStats stats = HsrStats.allocateFor(arena, q);
            Attention.hsr().run(q, k, v, out, stats);
            assertTrue(Float.isNaN(out.getFloat(0, 1, 2, 7)));
            assertEquals(Float.POSITIVE_INFINITY, stats.errorBound(5));
            assertEquals(Float.POSITIVE_INFINITY, stats.droppedMass(5));
            assertTrue(Float.isFinite(out.getFloat(0, 0, 0, 0)));
            assertTrue(stats.errorBound(0) < Float.POSITIVE_INFINITY);
        }
    }

    @Test
    void dataErrorsAreIllegalArgumentExceptions() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 100, 16);
            k.setFloat(Float.NaN, 0, 0, 42, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeyIndex.build(k));
            assertTrue(e.getMessage().contains("k: non-finite"), e.getMessage());
            assertInstanceOf(HyperattnException.class, e.getCause());
            k.setFloat(0f, 0, 0, 42, 3);
            try (KeyIndex index = KeyIndex.build(k)) {
                Tensor q = Tensor.allocate(arena, DType.F32, 1, 1, 2, 16);
                q.setFloat(Float.NaN, 0, 0, 1, 0);
                IllegalArgumentException r = assertThrows(IllegalArgumentException.class, () -> index.report(q, 0f));
                assertTrue(r.getMessage().contains("q: non-finite"), r.getMessage());
            }
        }
    }

    @Test
    void threadCountAboveTheCapIsRejected() {
        int before = Hyperattn.numThreads();
        assertThrows(IllegalArgumentException.class, () -> Hyperattn.setNumThreads(Hyperattn.MAX_THREADS + 1));
        assertEquals(before, Hyperattn.numThreads());
        Hyperattn.setNumThreads(Hyperattn.MAX_THREADS);
        assertEquals(Hyperattn.MAX_THREADS, Hyperattn.numThreads());
    }

    /** n_k = 0 (an empty cache) is expressible: rows see no key, output 0 and LSE -inf. */
    @Test
    void zeroKeysAreExpressible() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 3, 16);
            TestData.fillUniform(q, new SplittableRandom(5), 1);
            Tensor cache = Tensor.allocate(arena, DType.F32, 1, 1, 64, 16);
            Tensor k = cache.slice(2, 0, 0);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 0, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 3, 16);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 2, 3);
            TestData.poison(out);
            Attention.exact().run(q, k, v, out, lse);
            assertEquals(0f, out.getFloat(0, 1, 2, 15));
            assertEquals(Float.NEGATIVE_INFINITY, lse.getFloat(0, 1, 2));
            try (KeyIndex index = KeyIndex.build(k, v)) {
                assertEquals(0, index.report(q, 0f).total());
                TestData.poison(out);
                Attention.hsr().index(index).run(q, k, v, out);
                assertEquals(0f, out.getFloat(0, 0, 0, 0));
            }
            Tensor noHeads = Tensor.allocate(arena, DType.F32, 1, 0, 3, 16);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exact().run(noHeads, k, v, out));
            assertTrue(e.getMessage().contains("q: heads must be >= 1"), e.getMessage());
        }
    }

    @Test
    void closedIndexIsIllegalStateEverywhere() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 100, 16);
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 1, 2, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, 2, 16);
            KeyIndex index = KeyIndex.build(k);
            index.close();
            assertThrows(IllegalStateException.class, () -> index.report(q, 0f));
            assertThrows(IllegalStateException.class, index::info);
            assertThrows(IllegalStateException.class, () -> Attention.hsr().index(index).run(q, k, k, out));
            assertFalse(!index.isClosed());
        }
    }
}
