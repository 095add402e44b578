/**
 * Fast long-context attention for the JVM, computed in place on off-heap memory by the native
 * hyperattn library through the FFM API: exact attention
 * ({@link dev.hyperattn.Attention#exact()}) and HyperAttention
 * ({@link dev.hyperattn.Attention#hyper()}) on the CPU and CUDA, HSR sparse attention
 * ({@link dev.hyperattn.Attention#hsr()}, with {@link dev.hyperattn.KeyIndex}) and approximate
 * attention with a per-row error estimate and target ({@link dev.hyperattn.Attention#approx()})
 * on the CPU, and the LSE merge of partial results.
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
 * {@link dev.hyperattn.HyperattnException}. Tensor data is never copied (except the sealed keys
 * a {@link dev.hyperattn.KeyIndex} keeps by default, see its {@code Options}); the caller must
 * keep a shared arena open until calls using its memory have returned.
 *
 * <p>CUDA: {@code Tensor.allocate(arena, Device.cuda(0), DType.BF16, ...)} allocates device
 * memory freed when the arena closes; {@link dev.hyperattn.Tensor#copyFrom(Tensor)} moves data
 * between host and device; the exact attention and HyperAttention builders and the merge take
 * device tensors unchanged (all operands on one device).
 * {@link dev.hyperattn.Device#cudaDeviceCount()} is 0 where there is no GPU, and using an absent
 * device is an IllegalArgumentException carrying CUDA's reason.
 */
package dev.hyperattn;
