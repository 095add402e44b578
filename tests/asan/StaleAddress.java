import dev.hyperattn.ffi.*;
import java.lang.foreign.*;

/** Negative control: ASan sees the library read arena memory freed by close() when the
 *  addresses reach it untracked (raw addresses, as before ABI 5). */
public class StaleAddress {
    static MemorySegment desc(Arena a, long addr, long n, long d) {
        MemorySegment t = ha_tensor.allocate(a);
        ha_tensor.data(t, MemorySegment.ofAddress(addr));
        ha_tensor.dtype(t, 0);
        long[] sh = {1, 1, n, d}, st = {n * d, n * d, d, 1};
        for (int i = 0; i < 4; i++) { ha_tensor.shape(t, i, sh[i]); ha_tensor.strides(t, i, st[i]); }
        return t;
    }
    public static void main(String[] x) {
        long n = 64, d = 16, bytes = 4 * n * d;
        Arena shared = Arena.ofShared();
        MemorySegment k = shared.allocate(bytes, 64);
        long raw = k.address();
        shared.close();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(bytes, 64), v = arena.allocate(bytes, 64), o = arena.allocate(bytes, 64);
            int st = hyperattn_h.ha_attention_exact(desc(arena, q.address(), n, d), desc(arena, raw, n, d),
                    desc(arena, v.address(), n, d), desc(arena, o.address(), n, d), MemorySegment.NULL, MemorySegment.NULL,
                    q, MemorySegment.ofAddress(raw), v, o, MemorySegment.NULL);
            System.out.println("status " + st + ": no report (ASan did not see it)");
        }
    }
}
