package dev.hyperattn.cli;

import dev.hyperattn.Attention;
import dev.hyperattn.DType;
import dev.hyperattn.ExactAttention;
import dev.hyperattn.KvCache;
import dev.hyperattn.Tensor;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The use the library exists for: a decoding loop of a small Llama-architecture model (random
 * weights: RMSNorm, RoPE, grouped-query attention through hyperattn over a paged {@link KvCache},
 * SwiGLU MLP in plain Java) serving several sequences of different lengths in one batch. The
 * prompts are prefilled together (packed queries over the cache), then every step decodes one
 * token of every sequence in one attention call per layer. The same sequences are then run one
 * at a time, and the generated tokens and last logits must be identical, bit for bit.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... dev.hyperattn.cli.DecodeLoop [tokens]</pre>
 */
public final class DecodeLoop {

    // The model: 4 layers, width 256, 8 query heads over 2 kv heads of 32, MLP 704, 512 tokens.
    static final int LAYERS = 4;
    static final int DIM = 256;
    static final int HQ = 8;
    static final int HKV = 2;
    static final int HD = DIM / HQ;
    static final int FFN = 704;
    static final int VOCAB = 512;
    static final int PAGE = 16;

    final float[][] wq = new float[LAYERS][];
    final float[][] wk = new float[LAYERS][];
    final float[][] wv = new float[LAYERS][];
    final float[][] wo = new float[LAYERS][];
    final float[][] w1 = new float[LAYERS][];
    final float[][] w2 = new float[LAYERS][];
    final float[][] w3 = new float[LAYERS][];
    final float[] embed;
    final float[] head;
    long attentionNanos; // time inside the library's attention calls (appends included)

    DecodeLoop(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int l = 0; l < LAYERS; l++) {
            wq[l] = random(r, DIM * DIM, DIM);
            wk[l] = random(r, HKV * HD * DIM, DIM);
            wv[l] = random(r, HKV * HD * DIM, DIM);
            wo[l] = random(r, DIM * DIM, DIM);
            w1[l] = random(r, FFN * DIM, DIM);
            w3[l] = random(r, FFN * DIM, DIM);
            w2[l] = random(r, DIM * FFN, FFN);
        }
        embed = random(r, VOCAB * DIM, 1);
        head = random(r, VOCAB * DIM, DIM);
    }

    static float[] random(SplittableRandom r, int n, int fanIn) {
        float[] w = new float[n];
        double s = Math.sqrt(3.0 / fanIn);
        for (int i = 0; i < n; i++) {
            w[i] = (float) (s * (2 * r.nextDouble() - 1));
        }
        return w;
    }

    /** The running state of a set of sequences: one paged cache per layer, tokens so far. */
    final class Session {
        final KvCache[] caches = new KvCache[LAYERS];
        final int[][] ids; // [layer][sequence]
        final Arena arena;

        Session(Arena arena, int sequences, int pages) {
            this.arena = arena;
            ids = new int[LAYERS][sequences];
            for (int l = 0; l < LAYERS; l++) {
                caches[l] = KvCache.allocate(arena, DType.F32, HKV, HD, PAGE, pages);
                for (int s = 0; s < sequences; s++) {
                    ids[l][s] = caches[l].newSequence();
                }
            }
        }
    }

    /**
     * Runs the model on {@code tokens[s]} (rows of sequence s, packed) for the sequences
     * {@code seqs} of the session, appending their keys and values, and returns each sequence's
     * last-row logits. One attention call per layer serves every sequence.
     */
    float[][] forward(Session ses, int[] seqs, int[][] tokens, int[] startPos) {
        int n = 0;
        int[] cu = new int[seqs.length + 1];
        for (int s = 0; s < seqs.length; s++) {
            cu[s + 1] = cu[s] + tokens[s].length;
        }
        n = cu[seqs.length];
        float[][] x = new float[n][];
        for (int s = 0; s < seqs.length; s++) {
            for (int t = 0; t < tokens[s].length; t++) {
                x[cu[s] + t] = Arrays.copyOfRange(embed, tokens[s][t] * DIM, (tokens[s][t] + 1) * DIM);
            }
        }
        try (Arena step = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(step, DType.F32, n, HQ, HD);
            Tensor k = Tensor.allocate(step, DType.F32, n, HKV, HD);
            Tensor v = Tensor.allocate(step, DType.F32, n, HKV, HD);
            Tensor att = Tensor.allocate(step, DType.F32, n, HQ, HD);
            ExactAttention op = Attention.exact().causal(true);
            float[] h = new float[DIM];
            float[] buf = new float[DIM];
            for (int l = 0; l < LAYERS; l++) {
                for (int s = 0; s < seqs.length; s++) {
                    for (int t = 0; t < tokens[s].length; t++) {
                        int row = cu[s] + t;
                        rmsNorm(x[row], h);
                        project(wq[l], h, q, row, HQ, startPos[s] + t);
                        project(wk[l], h, k, row, HKV, startPos[s] + t);
                        projectRaw(wv[l], h, v, row, HKV);
                    }
                }
                long t0 = System.nanoTime();
                int[] layerIds = new int[seqs.length];
                for (int s = 0; s < seqs.length; s++) {
                    layerIds[s] = ses.ids[l][seqs[s]];
                    ses.caches[l].append(layerIds[s], k.slice(0, cu[s], tokens[s].length),
                            v.slice(0, cu[s], tokens[s].length));
                }
                // Every sequence's new rows against its own cached keys, in one call.
                op.runPacked(q, cu, ses.caches[l].batch(layerIds), att, null);
                attentionNanos += System.nanoTime() - t0;
                for (int row = 0; row < n; row++) {
                    for (int i = 0; i < DIM; i++) {
                        buf[i] = att.getFloat(row, i / HD, i % HD);
                    }
                    matAdd(wo[l], buf, x[row], DIM, DIM);
                    rmsNorm(x[row], h);
                    swiglu(l, h, x[row]);
                }
            }
        }
        float[][] logits = new float[seqs.length][VOCAB];
        float[] h = new float[DIM];
        for (int s = 0; s < seqs.length; s++) {
            rmsNorm(x[cu[s + 1] - 1], h);
            matAdd(head, h, logits[s], VOCAB, DIM);
        }
        return logits;
    }

    static void rmsNorm(float[] x, float[] out) {
        double ss = 0;
        for (float f : x) {
            ss += f * f;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / x.length + 1e-5));
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv;
        }
    }

    // y[r] += sum_c W[r][c] x[c]
    static void matAdd(float[] w, float[] x, float[] y, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            float acc = 0;
            for (int c = 0; c < cols; c++) {
                acc += w[r * cols + c] * x[c];
            }
            y[r] += acc;
        }
    }

    // heads × HD outputs of W·h into row `row` of t, rotated by RoPE at position pos.
    static void project(float[] w, float[] h, Tensor t, int row, int heads, int pos) {
        float[] y = new float[heads * HD];
        matAdd(w, h, y, heads * HD, DIM);
        for (int hh = 0; hh < heads; hh++) {
            for (int i = 0; i < HD; i += 2) {
                double theta = pos / Math.pow(10000.0, (double) i / HD);
                float c = (float) Math.cos(theta);
                float sn = (float) Math.sin(theta);
                float a = y[hh * HD + i];
                float b = y[hh * HD + i + 1];
                t.setFloat(a * c - b * sn, row, hh, i);
                t.setFloat(a * sn + b * c, row, hh, i + 1);
            }
        }
    }

    static void projectRaw(float[] w, float[] h, Tensor t, int row, int heads) {
        float[] y = new float[heads * HD];
        matAdd(w, h, y, heads * HD, DIM);
        for (int i = 0; i < heads * HD; i++) {
            t.setFloat(y[i], row, i / HD, i % HD);
        }
    }

    void swiglu(int l, float[] h, float[] x) {
        float[] a = new float[FFN];
        float[] b = new float[FFN];
        matAdd(w1[l], h, a, FFN, DIM);
        matAdd(w3[l], h, b, FFN, DIM);
        for (int i = 0; i < FFN; i++) {
            a[i] = a[i] / (1f + (float) Math.exp(-a[i])) * b[i];
        }
        matAdd(w2[l], a, x, DIM, FFN);
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Generated tokens and last logits of each sequence, and the seconds the decode took. */
    record Run(int[][] generated, float[][] lastLogits, double decodeSeconds, double attentionSeconds) {
    }

    /** Prefills {@code prompts[s]} for the sequences in {@code group}, then decodes {@code steps} tokens. */
    Run generate(int[][] prompts, int steps, int[][] groups) {
        int b = prompts.length;
        int[][] generated = new int[b][steps];
        float[][] last = new float[b][];
        double seconds = 0;
        double attention = 0;
        try (Arena arena = Arena.ofShared()) {
            int longest = 0;
            for (int[] p : prompts) {
                longest = Math.max(longest, p.length);
            }
            Session ses = new Session(arena, b, b * ((longest + steps) / PAGE + 2));
            for (int[] group : groups) {
                int[][] toks = new int[group.length][];
                int[] pos = new int[group.length];
                for (int s = 0; s < group.length; s++) {
                    toks[s] = prompts[group[s]];
                }
                float[][] logits = forward(ses, group, toks, pos);
                long t0 = System.nanoTime();
                attentionNanos = 0;
                for (int step = 0; step < steps; step++) {
                    for (int s = 0; s < group.length; s++) {
                        int next = argmax(logits[s]);
                        generated[group[s]][step] = next;
                        toks[s] = new int[] {next};
                        pos[s] = prompts[group[s]].length + step;
                    }
                    if (step == steps - 1) {
                        break;
                    }
                    logits = forward(ses, group, toks, pos);
                }
                seconds += (System.nanoTime() - t0) * 1e-9;
                attention += attentionNanos * 1e-9;
                for (int s = 0; s < group.length; s++) {
                    last[group[s]] = logits[s];
                }
            }
        }
        return new Run(generated, last, seconds, attention);
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    static int run(String[] args, PrintStream out) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        DecodeLoop model = new DecodeLoop(42);
        SplittableRandom r = new SplittableRandom(7);
        int[] lengths = {5, 37, 100, 13, 64, 1};
        int[][] prompts = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            prompts[s] = r.ints(lengths[s], 0, VOCAB).toArray();
        }
        int[] all = new int[lengths.length];
        int[][] oneByOne = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            all[s] = s;
            oneByOne[s] = new int[] {s};
        }
        // Warm-up (JIT) of both ways, so neither measured run pays for compilation.
        model.generate(prompts, 40, new int[][] {all});
        model.generate(prompts, 40, oneByOne);
        Run batched = model.generate(prompts, steps, new int[][] {all});
        Run alone = model.generate(prompts, steps, oneByOne);
        boolean same = Arrays.deepEquals(batched.generated(), alone.generated());
        for (int s = 0; s < lengths.length; s++) {
            same &= Arrays.equals(batched.lastLogits()[s], alone.lastLogits()[s]);
        }
        long tokens = (long) steps * lengths.length;
        out.printf("decode loop: %d sequences (prompts %s), %d tokens each, %d layers, %d q / %d kv heads of %d,"
                + " paged cache (pages of %d)%n", lengths.length, Arrays.toString(lengths), steps, LAYERS, HQ, HKV, HD,
                PAGE);
        out.printf("  batched (one attention call per layer for all sequences): %.1f tokens/s, %.1f ms in attention"
                + " (KvCache appends, batch tables and calls; the rest is the plain-Java model)%n",
                tokens / batched.decodeSeconds(), batched.attentionSeconds() * 1e3);
        out.printf("  one sequence at a time:                                   %.1f tokens/s, %.1f ms in attention%n",
                tokens / alone.decodeSeconds(), alone.attentionSeconds() * 1e3);
        out.printf("  batched == one at a time (tokens and last logits, bit for bit): %s%n", same);
        return same ? 0 : 1;
    }
}
