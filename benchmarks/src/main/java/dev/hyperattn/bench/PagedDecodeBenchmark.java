package dev.hyperattn.bench;

import dev.hyperattn.Attention;
import dev.hyperattn.DType;
import dev.hyperattn.ExactAttention;
import dev.hyperattn.Hyperattn;
import dev.hyperattn.KvCache;
import dev.hyperattn.Tensor;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decode latency per token over a paged {@link KvCache}, beside {@link DecodeBenchmark}: the same
 * heads (32 query / 8 kv), d = 128, {@code dtype} (bfloat16; {@code -p dtype=F16} or {@code F32}
 * for the others) and cache lengths, the cache held in pages of {@code page} positions that
 * were handed out interleaved with three other sequences (as a serving runtime's pool leaves
 * them), one attention call per token through the Java API
 * ({@code run(q, cache.batch(seq), out)}, the batch's block table gathered each call).
 * {@code seqs = 8}: eight sequences of that length decoded in one call (per call, not per token).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class PagedDecodeBenchmark {

    @Param({"4096", "32768"})
    public int cache;

    @Param({"16", "256"})
    public int page;

    @Param({"1", "8"})
    public int seqs;

    @Param({"2"})
    public int threads;

    @Param({"BF16"})
    public String dtype;

    private Arena arena;
    private KvCache kv;
    private int[] ids;
    private Tensor q;
    private Tensor out;
    private final ExactAttention op = Attention.exact().causal(true);

    @Setup(Level.Trial)
    public void setup() {
        Hyperattn.setNumThreads(threads);
        DType dt = Problem.dtype(dtype);
        arena = Arena.ofShared();
        int hkv = 8;
        int d = 128;
        int total = seqs + 3; // three more sequences share the pool, so pages interleave
        int pages = total * ((cache + page - 1) / page) + total;
        kv = KvCache.allocate(arena, dt, hkv, d, page, pages);
        int[] all = new int[total];
        for (int s = 0; s < total; s++) {
            all[s] = kv.newSequence();
        }
        int chunk = 512;
        Tensor k = Tensor.allocate(arena, dt, chunk, hkv, d);
        Tensor v = Tensor.allocate(arena, dt, chunk, hkv, d);
        SplittableRandom r = new SplittableRandom(3);
        k.copyFrom(randoms(r, chunk * hkv * d));
        v.copyFrom(randoms(r, chunk * hkv * d));
        for (int done = 0; done < cache; done += chunk) {
            int n = Math.min(chunk, cache - done);
            for (int s = 0; s < total; s++) {
                kv.append(all[s], k.slice(0, 0, n), v.slice(0, 0, n));
            }
        }
        ids = java.util.Arrays.copyOf(all, seqs);
        q = Tensor.allocate(arena, dt, seqs, 32, 1, d);
        out = Tensor.allocate(arena, dt, seqs, 32, 1, d);
        q.copyFrom(randoms(r, seqs * 32 * d));
    }

    private static float[] randoms(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (2 * r.nextDouble() - 1);
        }
        return a;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void decodeStep() {
        op.run(q, kv.batch(ids), out);
    }
}
