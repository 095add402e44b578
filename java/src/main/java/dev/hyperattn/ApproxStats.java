package dev.hyperattn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Per-row outputs of {@link ApproxAttention#run(Tensor, Tensor, Tensor, Tensor, Tensor, ApproxStats)},
 * in native memory owned by an arena, one value per query row, rows row-major over
 * {@code [batch][head][query]} (row {@code (b * Hq + h) * Nq + i}).
 *
 * <p>The error unit is the one of the error target:
 * {@code e_i = ||o^_i − o_i||₂ / sqrt(Σ_j p_ij ||v_j||₂²)}, the output error relative to the
 * attention-weighted RMS norm of the values the row sees ({@code o_i} the exact output,
 * {@code p_ij} the exact softmax weights).
 * <ul>
 *   <li>{@link #rowError(long)}: the estimated {@code e_i} (about two standard errors of the
 *       sampled tail's estimator; 0 for a row computed exactly; +∞ where no estimate exists,
 *       i.e. with {@code samples(0)} and no certificate). An estimate, not a bound.</li>
 *   <li>{@link #tailMassBound(long)}: a certified upper bound on the softmax probability mass of
 *       the keys that were not computed exactly (1 when nothing better is certified, 0 for an
 *       exact row).</li>
 *   <li>{@link #keysTouched(long)}: keys whose exact score was computed for the row.</li>
 *   <li>{@link #level(long)}: 0 first budget, 1 refined (more draws and heavy keys),
 *       2 recomputed exactly because of the target (a row that the sinks and window cover is
 *       exact at level 0, with estimate 0).</li>
 * </ul>
 * A stats object may be reused by later calls with the same number of rows; each call
 * overwrites it.
 */
public final class ApproxStats {

    /** {@link #level(long)}: the row kept its first budget. */
    public static final int LEVEL_FIRST = 0;
    /** {@link #level(long)}: the row was refined with more draws and heavy keys. */
    public static final int LEVEL_REFINED = 1;
    /** {@link #level(long)}: the row was recomputed exactly because of the target. */
    public static final int LEVEL_EXACT = 2;

    private final long rows;
    private final MemorySegment rowError;
    private final MemorySegment tailMassBound;
    private final MemorySegment keysTouched;
    private final MemorySegment level;

    private ApproxStats(long rows, MemorySegment rowError, MemorySegment tailMassBound, MemorySegment keysTouched,
            MemorySegment level) {
        this.rows = rows;
        this.rowError = rowError;
        this.tailMassBound = tailMassBound;
        this.keysTouched = keysTouched;
        this.level = level;
    }

    /**
     * Room for {@code rows} query rows (B × Hq × Nq of the calls it is used with), owned by
     * {@code arena}. Values are NaN (and -1 for keys and levels) until a call writes them.
     *
     * @throws IllegalArgumentException if {@code rows} is not positive
     */
    public static ApproxStats allocate(Arena arena, long rows) {
        Objects.requireNonNull(arena, "arena");
        if (rows < 1 || rows > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("rows: " + rows + " outside 1.." + (Integer.MAX_VALUE - 8));
        }
        MemorySegment re = arena.allocate(ValueLayout.JAVA_FLOAT, rows);
        MemorySegment tb = arena.allocate(ValueLayout.JAVA_FLOAT, rows);
        MemorySegment kt = arena.allocate(ValueLayout.JAVA_LONG, rows);
        MemorySegment lv = arena.allocate(ValueLayout.JAVA_INT, rows);
        for (long r = 0; r < rows; r++) {
            re.setAtIndex(ValueLayout.JAVA_FLOAT, r, Float.NaN);
            tb.setAtIndex(ValueLayout.JAVA_FLOAT, r, Float.NaN);
            kt.setAtIndex(ValueLayout.JAVA_LONG, r, -1);
            lv.setAtIndex(ValueLayout.JAVA_INT, r, -1);
        }
        return new ApproxStats(rows, re, tb, kt, lv);
    }

    /** Room for the query rows of {@code q} ({@code [B, Hq, Nq, D]}). */
    public static ApproxStats allocateFor(Arena arena, Tensor q) {
        Objects.requireNonNull(q, "q");
        if (q.rank() != 4) {
            throw new IllegalArgumentException("q: rank " + q.rank() + ", expected rank 4");
        }
        return allocate(arena, q.shape(0) * q.shape(1) * q.shape(2));
    }

    public long rows() {
        return rows;
    }

    /** The estimated error {@code e_i} of the row (see the class comment for the unit). */
    public float rowError(long row) {
        return rowError.getAtIndex(ValueLayout.JAVA_FLOAT, Objects.checkIndex(row, rows));
    }

    /** The certified bound on the probability mass of the keys not computed exactly. */
    public float tailMassBound(long row) {
        return tailMassBound.getAtIndex(ValueLayout.JAVA_FLOAT, Objects.checkIndex(row, rows));
    }

    public long keysTouched(long row) {
        return keysTouched.getAtIndex(ValueLayout.JAVA_LONG, Objects.checkIndex(row, rows));
    }

    /** {@link #LEVEL_FIRST}, {@link #LEVEL_REFINED} or {@link #LEVEL_EXACT}. */
    public int level(long row) {
        return level.getAtIndex(ValueLayout.JAVA_INT, Objects.checkIndex(row, rows));
    }

    public float[] rowErrorArray() {
        return rowError.toArray(ValueLayout.JAVA_FLOAT);
    }

    public float[] tailMassBoundArray() {
        return tailMassBound.toArray(ValueLayout.JAVA_FLOAT);
    }

    public long[] keysTouchedArray() {
        return keysTouched.toArray(ValueLayout.JAVA_LONG);
    }

    public int[] levelArray() {
        return level.toArray(ValueLayout.JAVA_INT);
    }

    /** The sum of {@link #keysTouched(long)} over all rows. */
    public long totalKeysTouched() {
        long sum = 0;
        for (long r = 0; r < rows; r++) {
            sum += keysTouched.getAtIndex(ValueLayout.JAVA_LONG, r);
        }
        return sum;
    }

    /** The mean of the finite {@link #rowError(long)} values (NaN if there is none). */
    public double meanRowError() {
        double sum = 0;
        long n = 0;
        for (long r = 0; r < rows; r++) {
            float e = rowError.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            if (Float.isFinite(e)) {
                sum += e;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** The largest {@link #rowError(long)} (NaN if a row was never written, +∞ if any row has no estimate). */
    public float maxRowError() {
        float max = 0;
        for (long r = 0; r < rows; r++) {
            float e = rowError.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            if (Float.isNaN(e)) {
                return Float.NaN;
            }
            max = Math.max(max, e);
        }
        return max;
    }

    /** How many rows ended at each level: {@code [first, refined, exact]}. */
    public long[] levelCounts() {
        long[] counts = new long[3];
        for (long r = 0; r < rows; r++) {
            int l = level.getAtIndex(ValueLayout.JAVA_INT, r);
            if (l >= 0 && l < 3) {
                counts[l]++;
            }
        }
        return counts;
    }

    MemorySegment rowErrorSegment() {
        return rowError;
    }

    MemorySegment tailMassBoundSegment() {
        return tailMassBound;
    }

    MemorySegment keysTouchedSegment() {
        return keysTouched;
    }

    MemorySegment levelSegment() {
        return level;
    }

    @Override
    public String toString() {
        return "ApproxStats[" + rows + " rows]";
    }
}
