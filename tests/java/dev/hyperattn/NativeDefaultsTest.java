package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.ffi.ha_approx_params;
import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.ha_hsr_params;
import dev.hyperattn.ffi.ha_hyper_params;
import dev.hyperattn.ffi.ha_index_params;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The builders' defaults are the native {@code ha_*_params_init}'s: what the accessors of a
 * fresh builder report equals what the init functions write (read here through the bindings,
 * independently of {@link NativeDefaults}), and so do the constants kept for reference.
 */
class NativeDefaultsTest {

    private static float scaleFor(float nativeScale, long headDim) {
        return nativeScale != 0f ? nativeScale : (float) (1.0 / Math.sqrt(headDim));
    }

    @Test
    void exactDefaultsAreTheLibrarys() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_exact_params.allocate(arena);
            hyperattn_h.ha_exact_params_init(p);
            ExactAttention e = Attention.exact();
            assertEquals(ha_exact_params.causal(p) != 0, e.isCausal());
            assertEquals(scaleFor(ha_exact_params.scale(p), 64), e.scaleFor(64));
            assertEquals(scaleFor(ha_exact_params.scale(p), 7), e.scaleFor(7));
            assertTrue(e.toString().contains("causal=default"), e.toString());
            assertTrue(e.causal(true).isCausal());
            assertFalse(e.causal(true).causal(false).isCausal());
            assertEquals(0.5f, e.scale(0.5f).scaleFor(64));
        }
    }

    @Test
    void hyperDefaultsAreTheLibrarys() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_hyper_params.allocate(arena);
            hyperattn_h.ha_hyper_params_init(p);
            HyperAttention h = Attention.hyper();
            assertEquals(ha_hyper_params.causal(p) != 0, h.isCausal());
            assertEquals(scaleFor(ha_hyper_params.scale(p), 64), h.scaleFor(64));
            assertEquals(ha_hyper_params.lsh_projections(p), h.lshProjections());
            assertEquals(ha_hyper_params.block_size(p), h.blockSize());
            assertEquals(ha_hyper_params.sample_size(p), h.sampleSize());
            assertEquals(ha_hyper_params.min_seq_len(p), h.minSeqLen());
            assertEquals(ha_hyper_params.seed(p), h.seed());
            // The public constants restate them for reference; they must not drift.
            assertEquals(ha_hyper_params.lsh_projections(p), HyperAttention.DEFAULT_LSH_PROJECTIONS);
            assertEquals(ha_hyper_params.block_size(p), HyperAttention.DEFAULT_BLOCK_SIZE);
            assertEquals(ha_hyper_params.sample_size(p), HyperAttention.DEFAULT_SAMPLE_SIZE);
            assertEquals(ha_hyper_params.min_seq_len(p), HyperAttention.DEFAULT_MIN_SEQ_LEN);
            HyperAttention set = h.seed(0).blockSize(3);
            assertEquals(0L, set.seed());
            assertEquals(3, set.blockSize());
            assertEquals(h.sampleSize(), set.sampleSize(), "unset settings stay the library's");
        }
    }

    @Test
    void hsrDefaultsAreTheLibrarys() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_hsr_params.allocate(arena);
            hyperattn_h.ha_hsr_params_init(p);
            HsrAttention s = Attention.hsr();
            HsrAttention.Weighting w = ha_hsr_params.mode(p) == hyperattn_h.HA_HSR_RELU() ? HsrAttention.Weighting.RELU
                    : HsrAttention.Weighting.SOFTMAX;
            assertEquals(w, s.weighting());
            assertEquals(ha_hsr_params.alpha(p), s.alpha());
            assertEquals(ha_hsr_params.bias(p), s.bias());
            assertEquals(ha_hsr_params.epsilon(p), s.epsilon());
            assertEquals(ha_hsr_params.causal(p) != 0, s.isCausal());
            assertEquals(scaleFor(ha_hsr_params.scale(p), 32), s.scaleFor(32));
            assertEquals(ha_hsr_params.epsilon(p), HsrAttention.DEFAULT_EPSILON);
            HsrAttention r = s.relu(2, 0.25f);
            assertEquals(ha_hsr_params.epsilon(p), r.epsilon(), "relu keeps the default epsilon");
            assertEquals(1e-2, r.softmax(1e-2).epsilon());
            assertEquals(2, r.softmax(1e-2).alpha());
        }
    }

    @Test
    void approxDefaultsAreTheLibrarys() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_approx_params.allocate(arena);
            hyperattn_h.ha_approx_params_init(p);
            ApproxAttention a = Attention.approx();
            assertEquals(ha_approx_params.causal(p) != 0, a.isCausal());
            assertEquals(scaleFor(ha_approx_params.scale(p), 64), a.scaleFor(64));
            assertEquals(ha_approx_params.sinks(p), a.sinks());
            assertEquals(ha_approx_params.window(p), a.window());
            assertEquals(ha_approx_params.samples(p), a.samples());
            assertEquals(ha_approx_params.heavy_budget(p), a.heavyBudget());
            assertEquals(ha_approx_params.target_error(p), a.targetError());
            assertEquals(ha_approx_params.seed(p), a.seed());
            assertEquals(0, a.sinks(0).sinks(), "0 is a setting, not 'unset'");
            assertEquals(0.0, a.targetError(0.5).noTarget().targetError());
        }
    }

    /** KeyIndex.Options.DEFAULTS is a public constant; it must equal ha_index_params_init. */
    @Test
    void indexOptionDefaultsAreTheLibrarys() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_index_params.allocate(arena);
            hyperattn_h.ha_index_params_init(p);
            KeyIndex.Options o = KeyIndex.Options.DEFAULTS;
            assertEquals(ha_index_params.block_size(p), o.blockSize());
            assertEquals(ha_index_params.kmeans_iters(p), o.kmeansIterations());
            assertEquals(ha_index_params.seed(p), o.seed());
            assertEquals(ha_index_params.copy_keys(p) != 0, o.copyKeys());
        }
    }

    /**
     * A builder with nothing set computes what one with every setting set to the native default
     * computes: unset settings are left at the init values, explicitly set ones are written.
     */
    @Test
    void unsetAndExplicitDefaultsComputeTheSame() {
        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 40, 32);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 300, 32);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 300, 32);
            TestData.fillUniform(q, rnd, 1);
            TestData.fillUniform(k, rnd, 1);
            TestData.fillUniform(v, rnd, 1);
            Tensor a = Tensor.allocate(arena, DType.F32, 1, 2, 40, 32);
            Tensor b = Tensor.allocate(arena, DType.F32, 1, 2, 40, 32);

            HyperAttention h = Attention.hyper();
            h.minSeqLen(16).run(q, k, v, a);
            h.minSeqLen(16).causal(h.isCausal()).seed(h.seed()).lshProjections(h.lshProjections())
                    .blockSize(h.blockSize()).sampleSize(h.sampleSize()).run(q, k, v, b);
            assertEquals(-1L, a.segment().mismatch(b.segment()), "hyper");

            ApproxAttention x = Attention.approx();
            x.run(q, k, v, a);
            x.causal(x.isCausal()).sinks(x.sinks()).window(x.window()).samples(x.samples())
                    .heavyBudget(x.heavyBudget()).seed(x.seed()).noTarget().run(q, k, v, b);
            assertEquals(-1L, a.segment().mismatch(b.segment()), "approx");
        }
    }
}
