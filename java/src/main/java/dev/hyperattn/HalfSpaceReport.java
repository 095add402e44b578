package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.Arrays;

/**
 * The result of half-space reporting: for every query row, the positions of the keys k of its
 * kv head with {@code q·k >= threshold}, ascending, in compressed-row form. Rows are numbered
 * row-major over {@code [batch][head][query]}: row {@code (b * Hq + h) * Nq + i}.
 *
 * <p>Obtained from {@link KeyIndex#report(Tensor, float)}, or {@link #of(Tensor, Tensor, float)}
 * without an index (one is built for the call and thrown away).
 */
public final class HalfSpaceReport {

    /** Indices a first attempt makes room for; larger results take a second, exact call. */
    private static final long FIRST_CAPACITY = 1 << 16;

    private final long batch, heads, queries;
    private final long[] counts;
    private final long[] offsets;
    private final int[] indices;

    private HalfSpaceReport(long batch, long heads, long queries, long[] counts, int[] indices) {
        this.batch = batch;
        this.heads = heads;
        this.queries = queries;
        this.counts = counts;
        this.indices = indices;
        this.offsets = new long[counts.length + 1];
        for (int r = 0; r < counts.length; r++) {
            offsets[r + 1] = offsets[r] + counts[r];
        }
    }

    /**
     * Reports over {@code k} ({@code [B, Hkv, N, D]}) without a prebuilt index.
     *
     * @throws IllegalArgumentException for unusable or inconsistent k and q, or a non-finite threshold
     * @throws HyperattnException if the library fails
     */
    public static HalfSpaceReport of(Tensor k, Tensor q, float threshold) {
        KeyIndex.validateKeys(k, null);
        return compute(MemorySegment.NULL, k, q, threshold);
    }

    /** Rows: batch × query heads × queries. */
    public int rows() {
        return counts.length;
    }

    /** Keys reported over all rows. */
    public long total() {
        return offsets[counts.length];
    }

    /** Keys reported for row {@code row}. */
    public long count(int row) {
        return counts[row];
    }

    /** Keys reported for query {@code i} of head {@code h} of batch {@code b}. */
    public long count(long b, long h, long i) {
        return counts[row(b, h, i)];
    }

    /** Every row's count, row-major [b][h][i] (a copy). */
    public long[] counts() {
        return counts.clone();
    }

    /** The ascending key positions reported for row {@code row} (a copy). */
    public int[] indices(int row) {
        return Arrays.copyOfRange(indices, (int) offsets[row], (int) offsets[row + 1]);
    }

    /** The ascending key positions reported for query {@code i} of head {@code h} of batch {@code b}. */
    public int[] indices(long b, long h, long i) {
        return indices(row(b, h, i));
    }

    /** Where row {@code row}'s positions start in {@link #allIndices()}; {@code offset(rows())} is the total. */
    public long offset(int row) {
        return offsets[row];
    }

    /** The concatenation of every row's positions (a copy). */
    public int[] allIndices() {
        return indices.clone();
    }

    private int row(long b, long h, long i) {
        if (b < 0 || b >= batch || h < 0 || h >= heads || i < 0 || i >= queries) {
            throw new IndexOutOfBoundsException("(b, h, i) = (" + b + ", " + h + ", " + i + ") outside ["
                    + batch + ", " + heads + ", " + queries + "]");
        }
        return (int) ((b * heads + h) * queries + i);
    }

    @Override
    public String toString() {
        return "HalfSpaceReport[" + rows() + " rows, " + total() + " keys]";
    }

    /** The two-call protocol of ha_hsr_report: a first guess at the capacity, then the exact total. */
    static HalfSpaceReport compute(MemorySegment index, Tensor k, Tensor q, float threshold) {
        if (!Float.isFinite(threshold)) {
            throw new IllegalArgumentException("threshold: " + threshold + " must be finite");
        }
        usable("q", q);
        cpuOnly("q", q, "half-space reporting");
        rank4("q", q, "[batch, heads, seq, head_dim]");
        sameDType("q", q, "k", k);
        batchAndHeads("q", q);
        batchAndHeads("k", k);
        sameExtent("q", q, "k", k, 0, "batch");
        sameExtent("q", q, "k", k, 3, "head_dim");
        if (q.shape(1) % k.shape(1) != 0) {
            throw new IllegalArgumentException("q: heads " + q.shape(1) + " not divisible by kv heads " + k.shape(1));
        }
        addressable("q", q);
        usable("k", k);
        long rowsL = q.shape(0) * q.shape(1) * q.shape(2);
        if (rowsL > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("q: " + rowsL + " query rows do not fit a Java array of counts");
        }
        int rows = (int) rowsL;
        Native.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment qd = Descriptors.of(arena, q), kd = Descriptors.of(arena, k);
            MemorySegment counts = arena.allocate(ValueLayout.JAVA_LONG, Math.max(1, rows));
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            long all = Math.multiplyHigh(rowsL, k.shape(2)) != 0 ? Long.MAX_VALUE : rowsL * k.shape(2);
            long capacity = Math.min(all, FIRST_CAPACITY);
            for (int attempt = 0; ; attempt++) {
                MemorySegment indices = arena.allocate(ValueLayout.JAVA_INT, Math.max(1, capacity));
                int status = hyperattn_h.ha_hsr_report(index, kd, qd, threshold, counts, indices, capacity, total,
                        Descriptors.data(k), Descriptors.data(q));
                long t = total.get(ValueLayout.JAVA_LONG, 0);
                if (status == hyperattn_h.HA_ERR_INVALID_ARGUMENT() && attempt == 0 && t > capacity) {
                    if (t > Integer.MAX_VALUE - 8) {
                        throw new IllegalStateException("the report holds " + t
                                + " key positions, more than a Java array can; raise the threshold or report"
                                + " fewer queries at a time");
                    }
                    capacity = t;
                    continue;
                }
                Native.check(status, "ha_hsr_report");
                long[] c = counts.asSlice(0, 8L * rows).toArray(ValueLayout.JAVA_LONG);
                int[] idx = indices.asSlice(0, 4 * t).toArray(ValueLayout.JAVA_INT);
                return new HalfSpaceReport(q.shape(0), q.shape(1), q.shape(2), c, idx);
            }
        } finally {
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(q);
        }
    }
}
