package dev.hyperattn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Per-query outputs of {@link HsrAttention#run(Tensor, Tensor, Tensor, Tensor, HsrStats)}, in
 * native memory owned by an arena, one value per query row, rows row-major over
 * {@code [batch][head][query]} (row {@code (b * Hq + h) * Nq + i}):
 * <ul>
 *   <li>{@link #droppedMass(long)}: softmax: a certified upper bound on the probability mass of
 *       the keys left out (0 when none were); ReLU: 0;</li>
 *   <li>{@link #errorBound(long)}: softmax: a certified bound on {@code max |o - o_exact|} over
 *       the row (dropped mass × the range of V over the dropped keys); ReLU: 0;</li>
 *   <li>{@link #keysTouched(long)}: keys whose exact score was computed for the row.</li>
 * </ul>
 * A stats object may be reused by later calls with the same number of rows; each call
 * overwrites it.
 */
public final class HsrStats {

    private final long rows;
    private final MemorySegment droppedMass;
    private final MemorySegment errorBound;
    private final MemorySegment keysTouched;

    private HsrStats(long rows, MemorySegment droppedMass, MemorySegment errorBound, MemorySegment keysTouched) {
        this.rows = rows;
        this.droppedMass = droppedMass;
        this.errorBound = errorBound;
        this.keysTouched = keysTouched;
    }

    /**
     * Room for {@code rows} query rows (B × Hq × Nq of the calls it is used with), owned by
     * {@code arena}. Values are NaN (and -1 keys) until a call writes them.
     *
     * @throws IllegalArgumentException if {@code rows} is not positive
     */
    public static HsrStats allocate(Arena arena, long rows) {
        Objects.requireNonNull(arena, "arena");
        if (rows < 1 || rows > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("rows: " + rows + " outside 1.." + (Integer.MAX_VALUE - 8));
        }
        MemorySegment dm = arena.allocate(ValueLayout.JAVA_FLOAT, rows);
        MemorySegment eb = arena.allocate(ValueLayout.JAVA_FLOAT, rows);
        MemorySegment kt = arena.allocate(ValueLayout.JAVA_LONG, rows);
        for (long r = 0; r < rows; r++) {
            dm.setAtIndex(ValueLayout.JAVA_FLOAT, r, Float.NaN);
            eb.setAtIndex(ValueLayout.JAVA_FLOAT, r, Float.NaN);
            kt.setAtIndex(ValueLayout.JAVA_LONG, r, -1);
        }
        return new HsrStats(rows, dm, eb, kt);
    }

    /** Room for the query rows of {@code q} ({@code [B, Hq, Nq, D]}). */
    public static HsrStats allocateFor(Arena arena, Tensor q) {
        Objects.requireNonNull(q, "q");
        if (q.rank() != 4) {
            throw new IllegalArgumentException("q: rank " + q.rank() + ", expected rank 4");
        }
        return allocate(arena, q.shape(0) * q.shape(1) * q.shape(2));
    }

    public long rows() {
        return rows;
    }

    public float droppedMass(long row) {
        return droppedMass.getAtIndex(ValueLayout.JAVA_FLOAT, Objects.checkIndex(row, rows));
    }

    public float errorBound(long row) {
        return errorBound.getAtIndex(ValueLayout.JAVA_FLOAT, Objects.checkIndex(row, rows));
    }

    public long keysTouched(long row) {
        return keysTouched.getAtIndex(ValueLayout.JAVA_LONG, Objects.checkIndex(row, rows));
    }

    public float[] droppedMassArray() {
        return droppedMass.toArray(ValueLayout.JAVA_FLOAT);
    }

    public float[] errorBoundArray() {
        return errorBound.toArray(ValueLayout.JAVA_FLOAT);
    }

    public long[] keysTouchedArray() {
        return keysTouched.toArray(ValueLayout.JAVA_LONG);
    }

    /** The sum of {@link #keysTouched(long)} over all rows. */
    public long totalKeysTouched() {
        long sum = 0;
        for (long r = 0; r < rows; r++) {
            sum += keysTouched.getAtIndex(ValueLayout.JAVA_LONG, r);
        }
        return sum;
    }

    /** The largest error bound over the rows (NaN if a row was never written). */
    public float maxErrorBound() {
        float max = 0;
        for (long r = 0; r < rows; r++) {
            float e = errorBound.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            if (Float.isNaN(e)) {
                return Float.NaN;
            }
            max = Math.max(max, e);
        }
        return max;
    }

    MemorySegment droppedMassSegment() {
        return droppedMass;
    }

    MemorySegment errorBoundSegment() {
        return errorBound;
    }

    MemorySegment keysTouchedSegment() {
        return keysTouched;
    }

    @Override
    public String toString() {
        return "HsrStats[" + rows + " rows]";
    }
}
