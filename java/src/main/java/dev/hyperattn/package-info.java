/**
 * Fast exact attention for the JVM, computed in place on off-heap memory by the native
 * hyperattn library through the FFM API.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     Tensor q = Tensor.allocate(arena, DType.F32, 1, 32, 4096, 128);   // [batch, heads, seq, headDim]
 *     Tensor k = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 128);    // GQA: 8 kv heads
 *     Tensor v = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 128);
 *     Tensor out = Tensor.allocate(arena, DType.F32, 1, 32, 4096, 128);
 *     Attention.exact().causal(true).run(q, k, v, out);
 * }
 * }</pre>
 *
 * <p>Arguments are checked in Java before each native call: inconsistent operands raise
 * {@link java.lang.IllegalArgumentException}, memory of a closed arena
 * {@link java.lang.IllegalStateException}, and failures inside the library
 * {@link dev.hyperattn.HyperattnException}. Tensor data is never copied; the caller must keep
 * a shared arena open until calls using its memory have returned.
 */
package dev.hyperattn;
