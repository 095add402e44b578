package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;

/** Element-wise comparison with a tolerance, reporting the first bad element by index. */
final class Compare {

    private Compare() {
    }

    /**
     * Asserts |actual - expected| <= atol + rtol·|expected| everywhere. NaN in actual (an
     * unwritten, poisoned element) always fails; -inf must match -inf exactly.
     */
    static void assertClose(String what, float[] actual, double[] expected, long[] shape, double atol, double rtol,
            String context) {
        if (actual.length != expected.length) {
            fail(what + ": " + actual.length + " elements, expected " + expected.length + "; " + context);
        }
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i], e = expected[i];
            boolean ok;
            if (Double.isInfinite(e)) {
                ok = a == e;
            } else {
                double err = Math.abs(a - e);
                ok = err <= atol + rtol * Math.abs(e); // false for NaN
                if (ok) {
                    worst = Math.max(worst, err);
                }
            }
            if (!ok) {
                if (first < 0) {
                    first = i;
                }
                bad++;
            }
        }
        if (bad > 0) {
            fail(String.format("%s: %d of %d elements off; first at %s: got %s, expected %s (atol %.1e, rtol %.1e); %s",
                    what, bad, actual.length, Arrays.toString(unravel(first, shape)), actual[first], expected[first],
                    atol, rtol, context));
        }
    }

    static long[] unravel(long linear, long[] shape) {
        long[] idx = new long[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = linear % shape[i];
            linear /= shape[i];
        }
        return idx;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
