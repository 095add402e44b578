package dev.hyperattn.cli;

import dev.hyperattn.CpuIsa;
import dev.hyperattn.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The CLI's settings, parsed from {@code --name value} or {@code --name=value} arguments. */
final class Options {

    long n = 4096;
    long nk = -1; // -1: same as n
    long d = 128;
    long heads = 32;
    long kvHeads = 8;
    long batch = 1;
    DType dtype = DType.F32;
    boolean causal = true;
    int threads = 0; // 0: the library's default
    boolean bshd = false;
    int iters = 5;
    CpuIsa isa = CpuIsa.AUTO;
    long seed = System.nanoTime();
    int sampleRows = 32;
    boolean structured = false;
    int approxIters = 1;
    boolean hyper = true;
    int hyperProjections = 7;
    int hyperBlock = 256;
    int hyperSamples = 256;
    int hyperMinSeqLen = 4096;
    boolean hsr = true;
    int hsrAlpha = 1;
    double hsrBias = Double.NaN; // NaN: the paper's threshold for the data at hand
    double hsrEps = 1e-3;
    boolean hsrKeyCopy = true;
    // The trade-off comparison (exact, hyper, HSR, approx on long causal inputs).
    boolean tradeoff = true;
    boolean exactPart = true;
    List<InputFamily> families = List.of(InputFamily.LLM, InputFamily.CLUSTERED, InputFamily.NEEDLE,
            InputFamily.DIFFUSE);
    long[] tradeoffSizes = {4096, 8192, 16384, 32768};
    long tradeoffHeads = 2;
    long tradeoffKvHeads = 1;
    long tradeoffD = 64;
    int evalRows = 512;
    double target = 0.05;
    Path chart = Path.of("target", "demo", "tradeoff.svg");

    int samples() {
        return sampleRows;
    }
    boolean help = false;

    static final String USAGE = """
            Usage: java -jar hyperattn.jar [options]

            Part 1 (exact): runs exact attention on the CPU, times it and checks sampled rows
            against a float64 reference; then HyperAttention and HSR sparse attention (ReLU^alpha
            and softmax) on the same inputs, each with its time, speedup over exact and error.
            Part 2 (trade-off): exact, HyperAttention (defaults), HSR softmax (eps 1e-3, temporary
            index) and approximate attention with an error target on long causal inputs of several
            families and lengths: a table (time, speedup, mean/p99 e_i, Frobenius error, the
            trivial estimator's error, approx's mean estimate, keys touched) and an SVG chart.
            Exit status: 0 PASS, 1 FAIL (exact or HSR ReLU off its reference, an HSR softmax bound
            broken, or approx's target missed on more than 1% of evaluated rows) or runtime error,
            2 bad options.

              --n N             query length Nq (default 4096)
              --nk N            key/value length Nk (default: same as --n)
              --d N             head dimension, 1..256 (default 128)
              --heads N         query heads Hq (default 32)
              --kv-heads N      key/value heads Hkv, divides Hq (default 8; 1 = MQA)
              --batch N         batch size (default 1)
              --dtype f32|bf16|f16  element type (default f32)
              --causal          causal mask, bottom-right aligned (default)
              --no-causal       no mask
              --threads N       CPU threads, 0 = all hardware threads (default 0)
              --layout bhsd|bshd  memory layout of q, k, v, out (default bhsd)
              --iters N         timed runs after one warm-up; the median is reported (default 5)
              --isa auto|generic|avx2|avx512|neon  force a CPU instruction-set path (default auto)
              --samples N       (head,row) pairs checked against the reference (default 32)
              --seed N          random seed for the inputs (default: time based, printed)
              --data uniform|structured  inputs: uniform in [-1, 1] (default), or clustered keys
                                with queries near the clusters, attention sinks and values
                                that go with the keys (what approximate attention exploits)
              --approx-iters N  timed runs of HyperAttention and each HSR mode, without a
                                warm-up of their own (exact's runs warmed the library; default 1)
              --no-hyper        skip HyperAttention
              --hyper-projections N  LSH hyperplanes, 1..16 (default 7)
              --hyper-block N   HyperAttention block size (default 256)
              --hyper-samples N sampled keys (default 256)
              --hyper-min-seq-len N  exact at or below this many keys (default 4096)
              --no-hsr          skip HSR sparse attention
              --hsr-alpha N     ReLU power (default 1)
              --hsr-bias X      ReLU bias in scaled-score units (default: the paper's
                                sigma*sqrt(0.4*ln Nk), sigma measured on the inputs)
              --hsr-eps X       softmax dropped-mass bound, in (0, 1) (default 1e-3)
              --hsr-no-key-copy the key index reads sealed keys in place through its block
                                permutation instead of keeping a block-ordered copy (saves
                                memory as large as K, slower: random row reads)

            Trade-off (part 2):
              --no-tradeoff     skip part 2
              --tradeoff-only   skip part 1
              --families LIST   comma-separated input families: llm, clustered, needle, diffuse
                                (default llm,clustered,needle,diffuse)
              --tradeoff-sizes LIST  comma-separated sequence lengths (default 4096,8192,16384,32768)
              --tradeoff-heads N     query heads (default 2)
              --tradeoff-kv-heads N  key/value heads, divides the query heads (default 1)
              --tradeoff-d N    head dimension (default 64)
              --eval-rows N     rows per input scored against the float64 reference (default 512)
              --target X        approx's error target e_i, in (0, 1) (default 0.05)
              --chart PATH      where the SVG chart goes (default target/demo/tradeoff.svg)
              --help            this text
            """;

    static Options parse(String[] args) throws UsageException {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String inline = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                inline = arg.substring(eq + 1);
            }
            switch (name) {
                case "--help", "-h" -> o.help = true;
                case "--causal" -> o.causal = noValue(name, inline, true);
                case "--no-causal" -> o.causal = noValue(name, inline, false);
                case "--no-hyper" -> o.hyper = noValue(name, inline, false);
                case "--no-hsr" -> o.hsr = noValue(name, inline, false);
                case "--hsr-no-key-copy" -> o.hsrKeyCopy = noValue(name, inline, false);
                case "--no-tradeoff" -> o.tradeoff = noValue(name, inline, false);
                case "--tradeoff-only" -> o.exactPart = noValue(name, inline, false);
                default -> {
                    String value = inline;
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException(known(name) ? name + " needs a value" : unknown(name));
                        }
                        value = args[++i];
                    }
                    o.set(name, value);
                }
            }
        }
        if (o.nk < 0) {
            o.nk = o.n;
        }
        if (o.heads % o.kvHeads != 0) {
            throw new UsageException("--heads " + o.heads + " is not divisible by --kv-heads " + o.kvHeads);
        }
        if (o.d > 256) {
            throw new UsageException("--d " + o.d + " outside 1..256");
        }
        if (o.tradeoffHeads % o.tradeoffKvHeads != 0) {
            throw new UsageException("--tradeoff-heads " + o.tradeoffHeads + " is not divisible by --tradeoff-kv-heads "
                    + o.tradeoffKvHeads);
        }
        if (o.tradeoffD > 256) {
            throw new UsageException("--tradeoff-d " + o.tradeoffD + " outside 1..256");
        }
        if (!o.exactPart && !o.tradeoff) {
            throw new UsageException("--tradeoff-only and --no-tradeoff leave nothing to run");
        }
        return o;
    }

    private void set(String name, String value) throws UsageException {
        switch (name) {
            case "--n" -> n = positive(name, value);
            case "--nk" -> nk = positive(name, value);
            case "--d" -> d = positive(name, value);
            case "--heads" -> heads = positive(name, value);
            case "--kv-heads" -> kvHeads = positive(name, value);
            case "--batch" -> batch = positive(name, value);
            case "--iters" -> iters = (int) Math.min(positive(name, value), 1_000_000);
            case "--samples" -> sampleRows = (int) Math.min(positive(name, value), 1_000_000);
            case "--threads" -> {
                long t = integer(name, value);
                if (t < 0 || t > 4096) {
                    throw new UsageException(name + " " + value + ": expected 0..4096");
                }
                threads = (int) t;
            }
            case "--seed" -> seed = integer(name, value);
            case "--data" -> structured = switch (value.toLowerCase(Locale.ROOT)) {
                case "uniform" -> false;
                case "structured" -> true;
                default -> throw new UsageException(name + " " + value + ": expected uniform or structured");
            };
            case "--hyper-projections" -> {
                long p = integer(name, value);
                if (p < 1 || p > 16) {
                    throw new UsageException(name + " " + value + ": expected 1..16");
                }
                hyperProjections = (int) p;
            }
            case "--approx-iters" -> approxIters = (int) Math.min(positive(name, value), 1_000_000);
            case "--hyper-block" -> hyperBlock = (int) Math.min(positive(name, value), Integer.MAX_VALUE);
            case "--hyper-samples" -> hyperSamples = (int) Math.min(positive(name, value), Integer.MAX_VALUE);
            case "--hyper-min-seq-len" -> hyperMinSeqLen = (int) Math.min(positive(name, value), Integer.MAX_VALUE);
            case "--hsr-alpha" -> hsrAlpha = (int) Math.min(positive(name, value), 64);
            case "--hsr-bias" -> {
                hsrBias = real(name, value);
                if (!Double.isFinite(hsrBias)) {
                    throw new UsageException(name + " " + value + ": expected a finite number");
                }
            }
            case "--hsr-eps" -> {
                hsrEps = real(name, value);
                if (!(hsrEps > 0 && hsrEps < 1)) {
                    throw new UsageException(name + " " + value + ": expected a number in (0, 1)");
                }
            }
            case "--dtype" -> dtype = switch (value.toLowerCase(Locale.ROOT)) {
                case "f32", "fp32", "float32" -> DType.F32;
                case "bf16", "bfloat16" -> DType.BF16;
                case "f16", "fp16", "float16", "half" -> DType.F16;
                default -> throw new UsageException(name + " " + value + ": expected f32, bf16 or f16");
            };
            case "--layout" -> bshd = switch (value.toLowerCase(Locale.ROOT)) {
                case "bhsd" -> false;
                case "bshd" -> true;
                default -> throw new UsageException(name + " " + value + ": expected bhsd or bshd");
            };
            case "--isa" -> {
                try {
                    isa = CpuIsa.valueOf(value.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new UsageException(name + " " + value + ": expected auto, generic, avx2 or avx512");
                }
            }
            case "--families" -> {
                List<InputFamily> list = new ArrayList<>();
                for (String f : value.split(",")) {
                    try {
                        list.add(InputFamily.parse(f));
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(name + " " + value + ": " + e.getMessage());
                    }
                }
                families = List.copyOf(list);
            }
            case "--tradeoff-sizes" -> {
                String[] parts = value.split(",");
                long[] sizes = new long[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    sizes[i] = positive(name, parts[i]);
                    if (sizes[i] > (1L << 22)) {
                        throw new UsageException(name + " " + value + ": sizes up to " + (1L << 22));
                    }
                }
                tradeoffSizes = sizes;
            }
            case "--tradeoff-heads" -> tradeoffHeads = Math.min(positive(name, value), 1024);
            case "--tradeoff-kv-heads" -> tradeoffKvHeads = Math.min(positive(name, value), 1024);
            case "--tradeoff-d" -> tradeoffD = positive(name, value);
            case "--eval-rows" -> evalRows = (int) Math.min(positive(name, value), 1_000_000);
            case "--target" -> {
                target = real(name, value);
                if (!(target > 0 && target < 1)) {
                    throw new UsageException(name + " " + value + ": expected a number in (0, 1)");
                }
            }
            case "--chart" -> {
                if (value.isBlank()) {
                    throw new UsageException(name + ": expected a file path");
                }
                chart = Path.of(value);
            }
            default -> throw new UsageException(unknown(name));
        }
    }

    private static boolean known(String name) {
        return USAGE.contains(name + " ");
    }

    private static String unknown(String name) {
        return "unknown option '" + name + "' (see --help)";
    }

    private static boolean noValue(String name, String inline, boolean v) throws UsageException {
        if (inline != null) {
            throw new UsageException(name + " takes no value");
        }
        return v;
    }

    private static long integer(String name, String value) throws UsageException {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(name + " " + value + ": not an integer");
        }
    }

    private static double real(String name, String value) throws UsageException {
        try {
            return Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(name + " " + value + ": not a number");
        }
    }

    private static long positive(String name, String value) throws UsageException {
        long v = integer(name, value);
        if (v < 1 || v > (1L << 31)) {
            throw new UsageException(name + " " + value + ": expected a positive integer");
        }
        return v;
    }
}
