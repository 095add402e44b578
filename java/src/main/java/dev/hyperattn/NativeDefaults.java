package dev.hyperattn;

import dev.hyperattn.ffi.ha_approx_params;
import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.ha_hsr_params;
import dev.hyperattn.ffi.ha_hyper_params;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * The defaults of the attention operations, as the native {@code ha_*_params_init} functions
 * write them: each is called once per process, on first use. Nothing here restates a default.
 *
 * <p>Each struct is kept as a read-only template: a call copies it into its scratch params and
 * overwrites only what the builder set, so a field the library adds later starts at the
 * library's default without Java knowing it (the init functions are pure, so one call serves
 * every later one). The decoded values serve the builders' accessors.
 *
 * <p>Every accessor first passes {@link Native#ensureLoaded()}, so a missing library is the same
 * UnsatisfiedLinkError on every use instead of a holder class that failed to initialise.
 */
final class NativeDefaults {

    private NativeDefaults() {
    }

    static Exact exact() {
        Native.ensureLoaded();
        return Exact.VALUE;
    }

    static Hyper hyper() {
        Native.ensureLoaded();
        return Hyper.VALUE;
    }

    static Hsr hsr() {
        Native.ensureLoaded();
        return Hsr.VALUE;
    }

    static Approx approx() {
        Native.ensureLoaded();
        return Approx.VALUE;
    }

    /** A read-only struct of {@code bytes} bytes as {@code init} leaves it; never freed (a few bytes). */
    private static MemorySegment initialised(long bytes, Consumer<MemorySegment> init) {
        MemorySegment p = Arena.global().allocate(bytes, 16);
        init.accept(p);
        return p.asReadOnly();
    }

    record Exact(MemorySegment template, float scale, boolean causal, int windowLeft, int windowRight,
            float softcap) {
        static final Exact VALUE;

        static {
            MemorySegment p = initialised(ha_exact_params.sizeof(), hyperattn_h::ha_exact_params_init);
            VALUE = new Exact(p, ha_exact_params.scale(p), ha_exact_params.causal(p) != 0,
                    ha_exact_params.window_left(p), ha_exact_params.window_right(p), ha_exact_params.softcap(p));
        }
    }

    record Hyper(MemorySegment template, float scale, boolean causal, int lshProjections, int blockSize,
            int sampleSize, int minSeqLen, long seed) {
        static final Hyper VALUE;

        static {
            MemorySegment p = initialised(ha_hyper_params.sizeof(), hyperattn_h::ha_hyper_params_init);
            VALUE = new Hyper(p, ha_hyper_params.scale(p), ha_hyper_params.causal(p) != 0,
                    ha_hyper_params.lsh_projections(p), ha_hyper_params.block_size(p),
                    ha_hyper_params.sample_size(p), ha_hyper_params.min_seq_len(p), ha_hyper_params.seed(p));
        }
    }

    record Hsr(MemorySegment template, float scale, boolean causal, HsrAttention.Weighting weighting, int alpha,
            float bias, double epsilon) {
        static final Hsr VALUE;

        static {
            MemorySegment p = initialised(ha_hsr_params.sizeof(), hyperattn_h::ha_hsr_params_init);
            VALUE = new Hsr(p, ha_hsr_params.scale(p), ha_hsr_params.causal(p) != 0,
                    ha_hsr_params.mode(p) == hyperattn_h.HA_HSR_RELU() ? HsrAttention.Weighting.RELU
                            : HsrAttention.Weighting.SOFTMAX,
                    ha_hsr_params.alpha(p), ha_hsr_params.bias(p), ha_hsr_params.epsilon(p));
        }
    }

    record Approx(MemorySegment template, float scale, boolean causal, int sinks, int window, int samples,
            int heavyBudget, double targetError, long seed) {
        static final Approx VALUE;

        static {
            MemorySegment p = initialised(ha_approx_params.sizeof(), hyperattn_h::ha_approx_params_init);
            VALUE = new Approx(p, ha_approx_params.scale(p), ha_approx_params.causal(p) != 0,
                    ha_approx_params.sinks(p), ha_approx_params.window(p), ha_approx_params.samples(p),
                    ha_approx_params.heavy_budget(p), ha_approx_params.target_error(p), ha_approx_params.seed(p));
        }
    }
}
