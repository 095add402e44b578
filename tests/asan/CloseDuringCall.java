import dev.hyperattn.*;
import java.lang.foreign.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

/** The arena-close race of PolicyAndLifetimeTest, against an ASan-built library (tests/asan/run.sh). */
public class CloseDuringCall {
    public static void main(String[] a) throws Exception {
        int refusedTotal = 0;
        for (int round = 0; round < Integer.parseInt(a[0]); round++) {
            Arena shared = Arena.ofShared();
            long h = 2, n = 4096, d = 64;
            Tensor q = Tensor.allocate(shared, DType.F32, 1, h, n, d);
            Tensor k = Tensor.allocate(shared, DType.F32, 1, h, n, d);
            Tensor v = Tensor.allocate(shared, DType.F32, 1, h, n, d);
            Tensor out = Tensor.allocate(shared, DType.F32, 1, h, n, d);
            q.segment().fill((byte) 1); k.segment().fill((byte) 1); v.segment().fill((byte) 1);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> fail = new AtomicReference<>();
            Thread t = new Thread(() -> {
                started.countDown();
                try { Attention.exact().run(q, k, v, out); } catch (Throwable e) { fail.set(e); }
            });
            t.start();
            started.await();
            Thread.sleep(round % 5);
            int refused = 0;
            while (true) {
                try { shared.close(); break; } catch (IllegalStateException e) { refused++; Thread.sleep(1); }
            }
            t.join();
            refusedTotal += refused;
            if (fail.get() != null && !(fail.get() instanceof IllegalStateException)) throw new AssertionError(fail.get());
        }
        if (refusedTotal == 0) throw new AssertionError("close() was never refused: no call overlapped a close");
        System.out.println("rounds done, close refused " + refusedTotal + " times, no ASan report");
    }
}
