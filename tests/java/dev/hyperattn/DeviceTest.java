package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Constructor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Devices and device tensors. What can be checked anywhere (absent devices, mixing devices, no
 * Java access to device memory) runs everywhere; the cases that need a GPU assume one and are
 * reported as skipped without it.
 */
class DeviceTest {

    private static final long B = 1, HQ = 4, HKV = 2, N = 16, D = 32;

    /** A device ordinal that is absent on every machine. */
    private static Device absent() {
        return Device.cuda(Device.cudaDeviceCount());
    }

    /**
     * A CUDA tensor made from a made-up device address: never dereferenced, because every use
     * is rejected before a native call (mixing, or the device being absent).
     */
    private static Tensor fakeCuda(Device device, DType dtype, long... shape) {
        return Tensor.wrapDevice(MemorySegment.ofAddress(0x7f00_0000_0000L), device, dtype, shape,
                Tensor.contiguousStrides(shape));
    }

    /**
     * A stream of the absent device {@code device} around a made-up handle. Streams are otherwise
     * only created on a present device; this one lets the stream checks, which run before any
     * native call, be tested without a GPU. Closing it (here or by its cleaner) calls
     * ha_stream_destroy, which refuses the absent device before it looks at the handle.
     */
    private static CudaStream fakeStream(Device device) throws ReflectiveOperationException {
        assertTrue(device.isCuda() && device.index() >= Device.cudaDeviceCount(), device + " must be absent");
        Constructor<CudaStream> c = CudaStream.class.getDeclaredConstructor(Device.class, MemorySegment.class);
        c.setAccessible(true);
        return c.newInstance(device, MemorySegment.ofAddress(0x7f00_0000_1000L));
    }

    private static String assertIae(Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should contain '" + p + "'");
        }
        return e.getMessage();
    }

    @Test
    void deviceNamesAndOrdinals() {
        assertEquals("cpu", Device.CPU.toString());
        assertEquals("cuda:3", Device.cuda(3).toString());
        assertEquals(Device.cuda(1), Device.cuda(1));
        assertNotEquals(Device.cuda(0), Device.cuda(1));
        assertNotEquals(Device.CPU, Device.cuda(0));
        assertTrue(Device.cuda(0).isCuda() && !Device.cuda(0).isCpu());
        assertIae(() -> Device.cuda(-1), "ordinal: -1");
    }

    @Test
    void deviceCountIsConsistentWithTheReason() {
        int count = Device.cudaDeviceCount();
        assertTrue(count >= 0);
        if (count == 0) {
            assertFalse(Device.cudaUnavailableReason().isBlank(), "no device: CUDA's reason should be given");
        } else {
            assertEquals("", Device.cudaUnavailableReason());
        }
    }

    /** On a machine without a GPU: no devices, and using cuda:0 says why, in CUDA's words. */
    @Test
    void withoutAGpuCuda0IsAbsentWithCudasReason() {
        assumeTrue(Device.cudaDeviceCount() == 0, "this machine has a CUDA device");
        String reason = Device.cudaUnavailableReason();
        try (Arena arena = Arena.ofConfined()) {
            assertIae(() -> Tensor.allocate(arena, Device.cuda(0), DType.BF16, 1, 2, 3, 4), "device:", "cuda:0",
                    "absent", reason);
            assertIae(() -> CudaStream.create(Device.cuda(0)), "cuda:0", reason);
            assertIae(() -> Device.cuda(0).properties(), "cuda:0", reason);
        }
    }

    @Test
    void absentDevicesAreIllegalArguments() {
        Device gone = absent();
        try (Arena arena = Arena.ofConfined()) {
            assertIae(() -> Tensor.allocate(arena, gone, DType.F32, 4, 4), "device:", gone.toString(), "absent");
            assertIae(() -> CudaStream.create(gone), gone.toString(), "absent");
            Tensor q = fakeCuda(gone, DType.BF16, B, HQ, N, D);
            Tensor k = fakeCuda(gone, DType.BF16, B, HKV, N, D);
            Tensor v = fakeCuda(gone, DType.BF16, B, HKV, N, D);
            Tensor out = fakeCuda(gone, DType.BF16, B, HQ, N, D);
            assertIae(() -> Attention.exact().run(q, k, v, out), "q:", gone.toString(), "absent");
            assertIae(() -> Attention.hyper().run(q, k, v, out), "q:", gone.toString(), "absent");
            Tensor lseGone = fakeCuda(gone, DType.F32, B, HQ, N);
            assertIae(() -> Attention.hyper().causal(true).run(q, k, v, out, lseGone), "q:", gone.toString(),
                    "absent");
            Tensor lse = fakeCuda(gone, DType.F32, B, HQ, N);
            assertIae(() -> Attention.merge(q, lse, out, lse, out, null), "outA:", "absent");
            Tensor host = Tensor.allocate(arena, DType.BF16, B, HQ, N, D);
            assertIae(() -> host.copyFrom(q), "src:", "absent");
            assertIae(() -> q.copyFrom(host), "dst:", "absent");
        }
    }

    @Test
    void mixingDevicesIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, B, HQ, N, D);
            Tensor k = Tensor.allocate(arena, DType.F32, B, HKV, N, D);
            Tensor v = Tensor.allocate(arena, DType.F32, B, HKV, N, D);
            Tensor out = Tensor.allocate(arena, DType.F32, B, HQ, N, D);
            Tensor lse = Tensor.allocate(arena, DType.F32, B, HQ, N);
            Device cuda0 = Device.cuda(0);
            Tensor kGpu = fakeCuda(cuda0, DType.F32, B, HKV, N, D);
            Tensor outGpu = fakeCuda(cuda0, DType.F32, B, HQ, N, D);
            Tensor lseGpu = fakeCuda(cuda0, DType.F32, B, HQ, N);
            assertIae(() -> Attention.exact().run(q, kGpu, v, out), "k: on cuda:0 but q is on cpu");
            assertIae(() -> Attention.exact().run(q, k, v, outGpu), "out: on cuda:0 but q is on cpu");
            assertIae(() -> Attention.exact().run(q, k, v, out, lseGpu), "lse: on cuda:0 but q is on cpu");
            assertIae(() -> Attention.merge(out, lse, outGpu, lse, Tensor.allocate(arena, DType.F32, B, HQ, N, D),
                    null), "outB: on cuda:0 but outA is on cpu");
            // Two CUDA devices do not mix either.
            Tensor q1 = fakeCuda(Device.cuda(1), DType.F32, B, HQ, N, D);
            assertIae(() -> Attention.exact().run(q1, kGpu, kGpu, q1), "k: on cuda:0 but q is on cuda:1");
            // HyperAttention checks devices as exact attention does: the same message each time.
            HyperAttention hyper = Attention.hyper();
            ExactAttention exact = Attention.exact();
            assertEquals(assertIae(() -> exact.run(q, kGpu, v, out)),
                    assertIae(() -> hyper.run(q, kGpu, v, out), "k: on cuda:0 but q is on cpu"));
            assertEquals(assertIae(() -> exact.run(q, k, v, outGpu)),
                    assertIae(() -> hyper.run(q, k, v, outGpu), "out: on cuda:0 but q is on cpu"));
            assertEquals(assertIae(() -> exact.run(q, k, v, out, lseGpu)),
                    assertIae(() -> hyper.run(q, k, v, out, lseGpu), "lse: on cuda:0 but q is on cpu"));
            assertEquals(assertIae(() -> exact.run(q1, kGpu, kGpu, q1)),
                    assertIae(() -> hyper.run(q1, kGpu, kGpu, q1), "k: on cuda:0 but q is on cuda:1"));
            Tensor v1 = fakeCuda(Device.cuda(1), DType.F32, B, HKV, N, D);
            assertEquals(assertIae(() -> exact.run(q1, v1, kGpu, q1)),
                    assertIae(() -> hyper.run(q1, v1, kGpu, q1), "v: on cuda:0 but q is on cuda:1"));
            // The CPU-only operations name the device.
            Tensor qGpu = fakeCuda(cuda0, DType.F32, B, HQ, N, D);
            assertIae(() -> Attention.hsr().run(qGpu, kGpu, kGpu, outGpu), "q: on cuda:0", "CPU only");
            assertIae(() -> Attention.approx().run(qGpu, kGpu, kGpu, outGpu), "q: on cuda:0", "CPU only");
            assertIae(() -> KeyIndex.build(kGpu), "k: on cuda:0", "CPU only");
        }
    }

    /**
     * HyperAttention's error estimates exist on the CPU only: a rowError output with CUDA operands
     * is refused in Java, naming rowError, before any other check (so also without a GPU), wherever
     * the rowError tensor itself lives.
     */
    @Test
    void hyperRowErrorWithCudaOperandsIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            for (Device device : new Device[] {Device.cuda(0), absent()}) {
                Tensor q = fakeCuda(device, DType.BF16, B, HQ, N, D);
                Tensor k = fakeCuda(device, DType.BF16, B, HKV, N, D);
                Tensor out = fakeCuda(device, DType.BF16, B, HQ, N, D);
                Tensor lse = fakeCuda(device, DType.F32, B, HQ, N);
                Tensor hostError = Tensor.allocate(arena, DType.F32, B, HQ, N, 1);
                Tensor deviceError = fakeCuda(device, DType.F32, B, HQ, N, 1);
                for (Tensor rowError : new Tensor[] {hostError, deviceError}) {
                    assertIae(() -> Attention.hyper().run(q, k, k, out, lse, rowError), "rowError:",
                            "error estimates are computed only on the CPU backend", "q is on " + device);
                    assertIae(() -> Attention.hyper().causal(true).run(q, k, k, out, null, rowError), "rowError:",
                            "only on the CPU backend");
                }
            }
            // A CUDA rowError with CPU operands is a device mismatch.
            Tensor q = Tensor.allocate(arena, DType.F32, B, HQ, N, D);
            Tensor k = Tensor.allocate(arena, DType.F32, B, HKV, N, D);
            Tensor v = Tensor.allocate(arena, DType.F32, B, HKV, N, D);
            Tensor out = Tensor.allocate(arena, DType.F32, B, HQ, N, D);
            assertIae(() -> Attention.hyper().run(q, k, v, out, null, fakeCuda(Device.cuda(0), DType.F32, B, HQ, N,
                    1)), "rowError: on cuda:0 but q is on cpu");
        }
    }

    /**
     * A stream with CPU operands is refused naming stream, by HyperAttention as by exact
     * attention (the same message), before any native call.
     */
    @Test
    void hyperStreamWithCpuOperandsIsRejected() throws ReflectiveOperationException {
        Device gone = absent();
        try (Arena arena = Arena.ofConfined(); CudaStream stream = fakeStream(gone)) {
            Tensor q = Tensor.allocate(arena, DType.BF16, B, HQ, N, D);
            Tensor k = Tensor.allocate(arena, DType.BF16, B, HKV, N, D);
            Tensor v = Tensor.allocate(arena, DType.BF16, B, HKV, N, D);
            Tensor out = Tensor.allocate(arena, DType.BF16, B, HQ, N, D);
            Tensor lse = Tensor.allocate(arena, DType.F32, B, HQ, N);
            Tensor rowError = Tensor.allocate(arena, DType.F32, B, HQ, N);
            HyperAttention hyper = Attention.hyper().causal(true).stream(stream);
            String expected = "stream: a CUDA stream of " + gone + " was given but q is on the CPU";
            assertEquals(assertIae(() -> Attention.exact().stream(stream).run(q, k, v, out)),
                    assertIae(() -> hyper.run(q, k, v, out), expected));
            assertIae(() -> hyper.run(q, k, v, out, lse), expected);
            assertIae(() -> hyper.run(q, k, v, out, lse, rowError), expected);
            // Without the stream the same call runs.
            Attention.hyper().causal(true).run(q, k, v, out, lse, rowError);
            Attention.hyper().causal(true).stream(stream).stream(null).run(q, k, v, out, lse);
        }
    }

    /** stream(...) is one more immutable setting: kept by the other setters, printed when set. */
    @Test
    void hyperStreamIsAnImmutableSetting() throws ReflectiveOperationException {
        try (CudaStream stream = fakeStream(absent())) {
            HyperAttention base = Attention.hyper().seed(5).blockSize(64);
            HyperAttention onStream = base.stream(stream);
            assertTrue(base != onStream, "setters return new instances");
            assertFalse(base.toString().contains("stream="), base.toString());
            assertTrue(onStream.toString().contains("stream=" + stream), onStream.toString());
            HyperAttention later = onStream.causal(true).seed(9).lshProjections(3).blockSize(32).sampleSize(16)
                    .minSeqLen(100).scale(0.5f);
            assertTrue(later.toString().contains("stream=" + stream), "the other setters keep the stream: " + later);
            assertTrue(later.isCausal() && later.seed() == 9 && later.lshProjections() == 3 && later.blockSize() == 32
                    && later.sampleSize() == 16 && later.minSeqLen() == 100 && later.scaleFor(64) == 0.5f);
            HyperAttention kept = base.causal(true).stream(stream);
            assertTrue(kept.isCausal() && kept.seed() == 5 && kept.blockSize() == 64, "stream keeps the others");
            assertFalse(onStream.stream(null).toString().contains("stream="));
        }
    }

    @Test
    void javaNeverDereferencesDeviceMemory() {
        Tensor t = fakeCuda(Device.cuda(0), DType.F32, 2, 3);
        assertEquals(0, t.segment().byteSize(), "device tensors carry a zero-length segment");
        assertThrows(UnsupportedOperationException.class, () -> t.getFloat(0, 0));
        assertThrows(UnsupportedOperationException.class, () -> t.setFloat(1f, 0, 0));
        assertThrows(UnsupportedOperationException.class, t::toFloatArray);
        assertThrows(UnsupportedOperationException.class, () -> t.fill(0f));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> t.copyFrom(new float[6]));
        assertTrue(e.getMessage().contains("cuda:0") && e.getMessage().contains("copyFrom(Tensor)"), e.getMessage());
        Tensor s = t.slice(0, 1, 1);
        assertEquals(t.segment().address() + 3 * 4, s.segment().address());
        assertEquals(0, s.segment().byteSize());
        assertIae(() -> Tensor.wrapDevice(MemorySegment.ofAddress(64), Device.CPU, DType.F32, new long[] {1},
                new long[] {1}), "device: cpu");
        assertIae(() -> Tensor.wrapDevice(MemorySegment.NULL, Device.cuda(0), DType.F32, new long[] {1},
                new long[] {1}), "pointer: is NULL");
    }

    @Test
    void f16HostTensorsRoundToNearest() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor h = Tensor.allocate(arena, DType.F16, 3);
            h.setFloat(1.0009765625f, 0); // 1 + 2^-10: exact in binary16
            h.setFloat(65504f, 1);        // the largest binary16
            h.setFloat(1e-8f, 2);         // below the smallest subnormal (~6e-8): rounds to 0
            assertArrayEquals(new float[] {1.0009765625f, 65504f, 0f}, h.toFloatArray());
        }
    }

    @Test
    void hostCopiesHonourStridesAndRejectMismatches() {
        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
            Tensor src = TestData.attentionOperand(arena, DType.BF16, 2, 3, 5, 4, true); // [b,s,h,d] memory
            TestData.fillUniform(src, rnd, 1);
            Tensor dst = Tensor.allocate(arena, DType.BF16, 2, 3, 5, 4);
            dst.copyFrom(src);
            assertArrayEquals(src.toFloatArray(), dst.toFloatArray());
            Tensor back = TestData.attentionOperand(arena, DType.BF16, 2, 3, 5, 4, true);
            dst.copyTo(back);
            assertArrayEquals(src.toFloatArray(), back.toFloatArray());
            assertIae(() -> dst.copyFrom(Tensor.allocate(arena, DType.F32, 2, 3, 5, 4)), "src: dtype F32");
            assertIae(() -> dst.copyFrom(Tensor.allocate(arena, DType.BF16, 2, 3, 5, 5)), "src: shape");
            Tensor big = Tensor.allocate(arena, DType.F32, 16);
            assertIae(() -> big.slice(0, 0, 8).copyFrom(big.slice(0, 4, 8)), "dst: overlaps src");
            assertIae(() -> big.slice(0, 3, 14), "start, length");
            assertIae(() -> big.slice(1, 0, 1), "dim: 1");
        }
    }

    // ---- with a GPU ---------------------------------------------------------------------------

    private static void assumeGpu() {
        assumeTrue(Device.cudaDeviceCount() > 0, "needs a CUDA device; " + Device.cudaUnavailableReason());
    }

    @Test
    void gpuPropertiesAndStreams() {
        assumeGpu();
        DeviceProperties p = Device.cuda(0).properties();
        assertFalse(p.name().isBlank());
        assertTrue(p.totalMemory() > 0 && p.multiprocessors() > 0 && p.computeMajor() >= 5, p.toString());
        CudaStream s = CudaStream.create(Device.cuda(0));
        s.synchronize();
        s.close();
        s.close(); // idempotent
        assertTrue(s.isClosed());
        assertThrows(IllegalStateException.class, s::synchronize);
    }

    @Test
    void gpuCopiesRoundTrip() {
        assumeGpu();
        Device gpu = Device.cuda(0);
        for (DType dtype : DType.values()) {
            try (Arena arena = Arena.ofConfined()) {
                SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
                Tensor host = Tensor.allocate(arena, dtype, 3, 5, 7, 11);
                TestData.fillUniform(host, rnd, 1);
                Tensor dev = Tensor.allocate(arena, gpu, dtype, 3, 5, 7, 11);
                assertEquals(gpu, dev.device());
                dev.copyFrom(host);
                Tensor dev2 = Tensor.allocate(arena, gpu, dtype, 3, 5, 7, 11);
                dev2.copyFrom(dev);
                Tensor back = Tensor.allocate(arena, dtype, 3, 5, 7, 11);
                TestData.poison(back);
                back.copyFrom(dev2);
                assertEquals(-1, host.segment().mismatch(back.segment()), dtype.toString());
                // A slice of a device tensor copies the right part.
                Tensor part = Tensor.allocate(arena, dtype, 3, 5, 2, 11);
                assertIae(() -> part.copyFrom(dev.slice(2, 3, 2)), "src:", "not contiguous");
                Tensor rows = Tensor.allocate(arena, dtype, 1, 5, 7, 11);
                rows.copyFrom(dev.slice(0, 1, 1));
                assertArrayEquals(host.slice(0, 1, 1).toFloatArray(), rows.toFloatArray());
                try (CudaStream s = CudaStream.create(gpu)) {
                    TestData.poison(back);
                    back.copyFrom(dev, s);
                    s.synchronize();
                    assertEquals(-1, host.segment().mismatch(back.segment()));
                }
            }
        }
    }

    /** Freed with the arena: allocating far more than the device holds in total succeeds. */
    @Test
    void gpuMemoryIsFreedWhenTheArenaCloses() {
        assumeGpu();
        Device gpu = Device.cuda(0);
        long total = gpu.properties().totalMemory();
        long chunk = Math.max(1L << 28, total / 4);
        for (long allocated = 0; allocated < 3 * total; allocated += chunk) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor.allocate(arena, gpu, DType.F32, chunk / 4);
            }
        }
    }

    /** Exact attention and merge run unchanged on device tensors and match the CPU backend. */
    @Test
    void gpuExactAttentionAndMergeMatchTheCpu() {
        assumeGpu();
        Device gpu = Device.cuda(0);
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
            for (boolean causal : new boolean[] {false, true}) {
                long seed = TestData.nextSeed();
                String ctx = dtype + (causal ? " causal" : "") + ", " + TestData.seedNote(seed);
                SplittableRandom rnd = new SplittableRandom(seed);
                long b = 2, hq = 8, hkv = 2, nq = 77, nk = 301, d = 128;
                try (Arena arena = Arena.ofConfined(); CudaStream stream = CudaStream.create(gpu)) {
                    TestData.Qkv in = TestData.randomQkv(arena, dtype, b, hq, hkv, nq, nk, d, rnd);
                    Tensor q = in.q(), k = in.k(), v = in.v();
                    ReferenceAttention.Result ref = ReferenceAttention.compute(q, k, v, causal, 1 / Math.sqrt(d));
                    Tensor qd = toDevice(arena, gpu, q), kd = toDevice(arena, gpu, k), vd = toDevice(arena, gpu, v);
                    Tensor outD = Tensor.allocate(arena, gpu, dtype, b, hq, nq, d);
                    Tensor lseD = Tensor.allocate(arena, gpu, DType.F32, b, hq, nq);
                    Attention.exact().causal(causal).run(qd, kd, vd, outD, lseD);
                    Tensor out = Tensor.allocate(arena, dtype, b, hq, nq, d);
                    Tensor lse = Tensor.allocate(arena, DType.F32, b, hq, nq);
                    TestData.poison(out);
                    TestData.poison(lse);
                    out.copyFrom(outD);
                    lse.copyFrom(lseD);
                    // fp16 has 3 more mantissa bits than bf16: the bf16 tolerances cover it.
                    Compare.assertClose("out", out.toFloatArray(), ref.out(), out.shape(),
                            Tolerances.outAtol(DType.BF16), Tolerances.outRtol(DType.BF16), ctx);
                    Compare.assertClose("lse", lse.toFloatArray(), ref.lse(), lse.shape(),
                            Tolerances.lseAtol(DType.BF16), Tolerances.lseRtol(DType.BF16), ctx);

                    // On a stream, and merged with itself (the same keys twice: out unchanged,
                    // lse + ln 2).
                    TestData.poison(out);
                    Attention.exact().causal(causal).stream(stream).run(qd, kd, vd, outD, lseD);
                    Tensor merged = Tensor.allocate(arena, gpu, dtype, b, hq, nq, d);
                    Tensor mergedLse = Tensor.allocate(arena, gpu, DType.F32, b, hq, nq);
                    Attention.merge(outD, lseD, outD, lseD, merged, mergedLse, stream);
                    stream.synchronize();
                    out.copyFrom(merged);
                    lse.copyFrom(mergedLse);
                    double[] lse2 = ref.lse().clone();
                    for (int i = 0; i < lse2.length; i++) {
                        lse2[i] += Math.log(2);
                    }
                    Compare.assertClose("merged out", out.toFloatArray(), ref.out(), out.shape(),
                            2 * Tolerances.outAtol(DType.BF16), 2 * Tolerances.outRtol(DType.BF16), ctx);
                    Compare.assertClose("merged lse", lse.toFloatArray(), lse2, lse.shape(),
                            Tolerances.lseAtol(DType.BF16), Tolerances.lseRtol(DType.BF16), ctx);
                }
            }
        }
    }

    /**
     * HyperAttention on device tensors equals the CPU backend's for the same seed (the same plan,
     * hyperplanes, buckets and samples; hyperattn.h) up to rounding: small minSeqLen, block and
     * sample sizes make the approximation (and, causal, the recursion) run on a small problem,
     * with GQA and Nq != Nk. Both results are rounded to the storage type and the device also
     * rounds the probabilities (and a causal row's exact leaf) to it, so bf16 outputs of
     * unit-scale data agree to about 1e-2: 2e-2 absolute plus bf16's relative tolerance, and the
     * LSE (f32 from the same scores) to bf16's LSE tolerance. Runs without and with a stream.
     */
    @Test
    void gpuHyperAttentionMatchesTheCpuBackend() {
        assumeGpu();
        Device gpu = Device.cuda(0);
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
            for (boolean causal : new boolean[] {false, true}) {
                long seed = TestData.nextSeed();
                String ctx = "hyper " + dtype + (causal ? " causal" : "") + ", " + TestData.seedNote(seed);
                SplittableRandom rnd = new SplittableRandom(seed);
                long b = 2, hq = 8, hkv = 2, nq = causal ? 600 : 333, nk = 700, d = 64;
                HyperAttention op = Attention.hyper().causal(causal).seed(seed).minSeqLen(128).blockSize(64)
                        .sampleSize(32);
                assertTrue(nk > op.minSeqLen(), "the approximation must run");
                try (Arena arena = Arena.ofConfined(); CudaStream stream = CudaStream.create(gpu)) {
                    TestData.Qkv in = TestData.randomQkv(arena, dtype, b, hq, hkv, nq, nk, d, rnd);
                    Tensor q = in.q(), k = in.k(), v = in.v();
                    Tensor cpuOut = Tensor.allocate(arena, dtype, b, hq, nq, d);
                    Tensor cpuLse = Tensor.allocate(arena, DType.F32, b, hq, nq);
                    op.run(q, k, v, cpuOut, cpuLse);
                    double[] refOut = Compare.toDouble(cpuOut.toFloatArray());
                    double[] refLse = Compare.toDouble(cpuLse.toFloatArray());
                    // The case really approximates: exact attention gives other bytes.
                    Tensor exactOut = Tensor.allocate(arena, dtype, b, hq, nq, d);
                    Attention.exact().causal(causal).run(q, k, v, exactOut);
                    assertFalse(Arrays.equals(exactOut.toFloatArray(), cpuOut.toFloatArray()),
                            "hyper equals exact attention: the case does not approximate; " + ctx);

                    Tensor qd = toDevice(arena, gpu, q), kd = toDevice(arena, gpu, k), vd = toDevice(arena, gpu, v);
                    Tensor outD = Tensor.allocate(arena, gpu, dtype, b, hq, nq, d);
                    Tensor lseD = Tensor.allocate(arena, gpu, DType.F32, b, hq, nq);
                    Tensor out = Tensor.allocate(arena, dtype, b, hq, nq, d);
                    Tensor lse = Tensor.allocate(arena, DType.F32, b, hq, nq);
                    double atol = 2e-2, rtol = Tolerances.outRtol(DType.BF16);

                    op.run(qd, kd, vd, outD, lseD);
                    TestData.poison(out);
                    TestData.poison(lse);
                    out.copyFrom(outD);
                    lse.copyFrom(lseD);
                    Compare.assertClose("device out", out.toFloatArray(), refOut, out.shape(), atol, rtol, ctx);
                    Compare.assertClose("device lse", lse.toFloatArray(), refLse, lse.shape(),
                            Tolerances.lseAtol(DType.BF16), Tolerances.lseRtol(DType.BF16), ctx);

                    // Without lse, and enqueued on a stream.
                    Tensor outS = Tensor.allocate(arena, gpu, dtype, b, hq, nq, d);
                    op.stream(stream).run(qd, kd, vd, outS);
                    stream.synchronize();
                    TestData.poison(out);
                    out.copyFrom(outS);
                    Compare.assertClose("device out on a stream", out.toFloatArray(), refOut, out.shape(), atol, rtol,
                            ctx);
                }
            }
        }
    }

    /**
     * With a device: the checks HyperAttention shares with exact attention (a stream of another
     * device, f32 operands) give what exact attention gives, and rowError is refused.
     */
    @Test
    void gpuHyperAttentionRejectsWhatTheDeviceCannotDo() throws ReflectiveOperationException {
        assumeGpu();
        Device gpu = Device.cuda(0);
        Device other = absent();
        try (Arena arena = Arena.ofConfined(); CudaStream foreign = fakeStream(other)) {
            Tensor q = Tensor.allocate(arena, gpu, DType.BF16, B, HQ, N, D);
            Tensor k = Tensor.allocate(arena, gpu, DType.BF16, B, HKV, N, D);
            Tensor v = Tensor.allocate(arena, gpu, DType.BF16, B, HKV, N, D);
            Tensor out = Tensor.allocate(arena, gpu, DType.BF16, B, HQ, N, D);
            Tensor lse = Tensor.allocate(arena, gpu, DType.F32, B, HQ, N);
            String expected = "stream: belongs to " + other + " but q is on " + gpu;
            assertEquals(assertIae(() -> Attention.exact().stream(foreign).run(q, k, v, out, lse)),
                    assertIae(() -> Attention.hyper().stream(foreign).run(q, k, v, out, lse), expected));
            Tensor rowError = Tensor.allocate(arena, DType.F32, B, HQ, N);
            assertIae(() -> Attention.hyper().run(q, k, v, out, lse, rowError), "rowError:",
                    "only on the CPU backend");
            Tensor rowErrorD = Tensor.allocate(arena, gpu, DType.F32, B, HQ, N);
            assertIae(() -> Attention.hyper().run(q, k, v, out, lse, rowErrorD), "rowError:",
                    "only on the CPU backend");
            // Runs with the same operands, without rowError.
            Attention.hyper().run(q, k, v, out, lse);

            // f32 on CUDA: whatever exact attention answers, HyperAttention answers too.
            Tensor qf = Tensor.allocate(arena, gpu, DType.F32, B, HQ, N, D);
            Tensor kf = Tensor.allocate(arena, gpu, DType.F32, B, HKV, N, D);
            Tensor vf = Tensor.allocate(arena, gpu, DType.F32, B, HKV, N, D);
            Tensor outf = Tensor.allocate(arena, gpu, DType.F32, B, HQ, N, D);
            RuntimeException fromExact = assertThrows(RuntimeException.class,
                    () -> Attention.exact().run(qf, kf, vf, outf));
            RuntimeException fromHyper = assertThrows(RuntimeException.class,
                    () -> Attention.hyper().run(qf, kf, vf, outf));
            assertEquals(fromExact.getClass(), fromHyper.getClass(), fromHyper.toString());
            if (fromExact instanceof HyperattnException ex && fromHyper instanceof HyperattnException hy) {
                assertEquals(ex.status(), hy.status());
                assertEquals(ex.nativeMessage(), hy.nativeMessage());
            } else {
                assertEquals(fromExact.getMessage(), fromHyper.getMessage());
            }
            assertTrue(fromHyper.getMessage().contains("F32") || fromHyper.getMessage().contains("f32"),
                    fromHyper.getMessage());
        }
    }

    private static Tensor toDevice(Arena arena, Device device, Tensor host) {
        Tensor t = Tensor.allocate(arena, device, host.dtype(), host.shape());
        t.copyFrom(host);
        return t;
    }
}
