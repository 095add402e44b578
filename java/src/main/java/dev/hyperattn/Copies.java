package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.Objects;

/** {@link Tensor#copyFrom(Tensor)}: host copies in Java, anything touching a device via ha_memcpy. */
final class Copies {

    private Copies() {
    }

    static void copy(Tensor dst, Tensor src, CudaStream stream) {
        Objects.requireNonNull(src, "src");
        usable("src", src);
        usable("dst", dst);
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("src: dtype " + src.dtype() + " differs from dst's " + dst.dtype()
                    + " (copies do not convert)");
        }
        sameShape("src", src, "dst", dst);
        if (dst.segment().isReadOnly()) {
            throw new IllegalArgumentException("dst: memory is read-only");
        }
        boolean host = src.device().isCpu() && dst.device().isCpu();
        if (host && stream != null) {
            throw new IllegalArgumentException("stream: given for a host-to-host copy (streams order device work)");
        }
        boolean sameMemory = src.device().equals(dst.device());
        if (sameMemory && overlaps(src, dst)) {
            if (sameView(src, dst)) {
                return; // copying a view onto itself
            }
            throw new IllegalArgumentException("dst: overlaps src (a copy needs separate memory or the same view)");
        }
        if (host) {
            hostCopy(dst, src);
            return;
        }

        Native.ensureLoaded();
        src.device().requirePresent("src");
        dst.device().requirePresent("dst");
        contiguous("src", src);
        contiguous("dst", dst);
        if (src.device().isCpu()) {
            addressable("src", src);
        }
        if (dst.device().isCpu()) {
            addressable("dst", dst);
        }
        MemorySegment streamHandle = MemorySegment.NULL;
        if (stream != null) {
            if (!stream.device().equals(src.device()) && !stream.device().equals(dst.device())) {
                throw new IllegalArgumentException("stream: belongs to " + stream.device() + " but the copy is from "
                        + src.device() + " to " + dst.device());
            }
            streamHandle = stream.handle();
        }
        long bytes = src.elementCount() * src.dtype().byteSize();
        try {
            int status = hyperattn_h.ha_memcpy(dst.segment(), dst.device().kind().nativeCode(), dst.device().index(),
                    src.segment(), src.device().kind().nativeCode(), src.device().index(), bytes, streamHandle);
            Native.check(status, "ha_memcpy(" + src.device() + " -> " + dst.device() + ", " + bytes + " bytes)");
        } finally {
            Reference.reachabilityFence(src);
            Reference.reachabilityFence(dst);
            Reference.reachabilityFence(stream);
        }
    }

    private static void contiguous(String name, Tensor t) {
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(name + ": strides " + Arrays.toString(t.strides()) + " for shape "
                    + Arrays.toString(t.shape()) + " are not contiguous; a copy to or from a device needs"
                    + " contiguous (row-major) views");
        }
    }

    private static void hostCopy(Tensor dst, Tensor src) {
        MemorySegment s = src.segment(), d = dst.segment();
        int size = src.dtype().byteSize();
        if (src.isContiguous() && dst.isContiguous()) {
            MemorySegment.copy(s, 0, d, 0, src.elementCount() * size);
            return;
        }
        long[] sh = pad(src.shape(), 1), ss = pad(src.strides(), 0), ds = pad(dst.strides(), 0);
        for (long a = 0; a < sh[0]; a++) {
            for (long b = 0; b < sh[1]; b++) {
                for (long c = 0; c < sh[2]; c++) {
                    long so = (a * ss[0] + b * ss[1] + c * ss[2]) * size;
                    long dof = (a * ds[0] + b * ds[1] + c * ds[2]) * size;
                    for (long e = 0; e < sh[3]; e++) {
                        long si = so + e * ss[3] * size, di = dof + e * ds[3] * size;
                        if (size == 4) {
                            d.set(ValueLayout.JAVA_INT_UNALIGNED, di, s.get(ValueLayout.JAVA_INT_UNALIGNED, si));
                        } else {
                            d.set(ValueLayout.JAVA_SHORT_UNALIGNED, di, s.get(ValueLayout.JAVA_SHORT_UNALIGNED, si));
                        }
                    }
                }
            }
        }
    }

    // Left-pads to rank 4.
    private static long[] pad(long[] v, long fill) {
        long[] out = new long[4];
        int p = 4 - v.length;
        for (int i = 0; i < 4; i++) {
            out[i] = i < p ? fill : v[i - p];
        }
        return out;
    }
}
