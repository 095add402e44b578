package dev.hyperattn;

/**
 * Accuracy the tests demand, per dtype. Inputs are uniform in [-1, 1] (unless a test says
 * otherwise), so outputs, convex combinations of v rows, are O(1) and absolute tolerances are
 * relative to the data's scale.
 */
final class Tolerances {

    private Tolerances() {
    }

    /**
     * fp32: each output is a probability-weighted sum of v in single precision; rounding in the
     * q·k dots, the online-softmax rescaling and the running sums accumulates to a few ulps
     * (~1e-6) for the key counts tested; 3e-5 absolute (~1e-5 relative to the scale) leaves
     * room for polynomial exp approximations without hiding indexing or masking bugs, which
     * produce O(0.1) errors.
     */
    static double outAtol(DType t) {
        return switch (t) {
            case F32 -> 3e-5;
            case BF16 -> 1.6e-2;
            case F16 -> 2e-3;
        };
    }

    /**
     * bf16: inputs are bf16 in both reference and kernel, so the remaining error is the bf16
     * output rounding (2^-8 relative, ≤ 4e-3 on O(1) values) plus kernels rounding the softmax
     * probabilities to bf16 for the P·V product (another ~2^-8 relative per term): ~1e-2
     * absolute on O(1) values, with a relative term for the rare larger outputs.
     */
    static double outRtol(DType t) {
        return switch (t) {
            case F32 -> 1e-5;
            case BF16 -> 8e-3;
            case F16 -> 1e-3;
        };
    }

    /*
     * fp16: inputs are fp16 in both reference and kernel and widen to fp32 exactly; the CPU
     * kernels keep q, the probabilities and every sum in fp32 (no fp16 products), so the only
     * error beyond fp32's is the final rounding of the output to fp16: 2^-11 relative (11-bit
     * significand, against bf16's 8), <= 4.9e-4 on O(1) values. 2e-3 absolute plus 1e-3
     * relative is four times that. The LSE is fp32 from exact inputs: fp32's tolerances.
     */

    /**
     * LSE is float32 for every dtype and is log(sum) + max of scaled scores: fp32 rounding of
     * the scores gives ~1e-6 relative. With bf16 operands the scores are exact products summed
     * in fp32, but a kernel may round scale·q to bf16 first (2^-9 relative per score), hence
     * 1e-2 there.
     */
    static double lseAtol(DType t) {
        return t == DType.BF16 ? 1e-2 : 3e-5;
    }

    static double lseRtol(DType t) {
        return t == DType.BF16 ? 4e-3 : 1e-5;
    }
}
