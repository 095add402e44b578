package dev.hyperattn.cli;

import dev.hyperattn.HsrStats;
import dev.hyperattn.Tensor;

/** Whole-tensor comparisons of an approximate output with the exact one, read in place. */
final class Frobenius {

    private Frobenius() {
    }

    /** ‖a − ref‖_F / ‖ref‖_F over every element (NaN if a has NaN). */
    static double relativeError(Tensor a, Tensor ref) {
        double num = 0, den = 0;
        for (long b = 0; b < ref.shape(0); b++) {
            for (long h = 0; h < ref.shape(1); h++) {
                for (long s = 0; s < ref.shape(2); s++) {
                    for (long c = 0; c < ref.shape(3); c++) {
                        double x = SampledReference.at(a, b, h, s, c), y = SampledReference.at(ref, b, h, s, c);
                        num += (x - y) * (x - y);
                        den += y * y;
                    }
                }
            }
        }
        return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
    }

    record BoundCheck(long violations, double maxError, double maxBound) {
    }

    /**
     * Per query row: {@code max_c |a − ref| <= stats.errorBound(row) + slack}; rows are
     * {@code (b * H + h) * N + i}, as HsrStats numbers them.
     */
    static BoundCheck checkRowBounds(Tensor a, Tensor ref, HsrStats stats, double slack) {
        long violations = 0;
        double maxErr = 0, maxBound = 0;
        long row = 0;
        for (long b = 0; b < ref.shape(0); b++) {
            for (long h = 0; h < ref.shape(1); h++) {
                for (long s = 0; s < ref.shape(2); s++, row++) {
                    double err = 0;
                    for (long c = 0; c < ref.shape(3); c++) {
                        double e = Math.abs(SampledReference.at(a, b, h, s, c) - SampledReference.at(ref, b, h, s, c));
                        err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(err, e);
                    }
                    double bound = stats.errorBound(row);
                    if (!(err <= bound + slack)) {
                        violations++;
                    }
                    maxErr = Math.max(maxErr, err);
                    maxBound = Math.max(maxBound, bound);
                }
            }
        }
        return new BoundCheck(violations, maxErr, maxBound);
    }
}
