package dev.hyperattn;

import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Device allocations whose lifetime is an {@link Arena}'s. */
final class DeviceMemory {

    private DeviceMemory() {
    }

    /**
     * {@code bytes} of memory on {@code device}, as a zero-length segment at the device address:
     * Java cannot dereference it, and the arena's closing runs {@code ha_device_free}.
     */
    static MemorySegment allocate(Arena arena, Device device, long bytes) {
        Native.ensureLoaded();
        device.requirePresent("device");
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("arena: is closed");
        }
        int type = device.kind().nativeCode();
        int id = device.index();
        MemorySegment ptr;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
            int status = hyperattn_h.ha_device_alloc(type, id, bytes, out);
            if (status == hyperattn_h.HA_ERR_NO_DEVICE()) {
                throw new IllegalArgumentException("device: " + device + " is absent: " + Native.lastError());
            }
            Native.check(status, "ha_device_alloc(" + bytes + " bytes on " + device + ")");
            ptr = out.get(ValueLayout.ADDRESS, 0);
        }
        try {
            // The cleanup gets a fresh zero-length segment at the same address.
            return ptr.reinterpret(0, arena, s -> hyperattn_h.ha_device_free(type, id, s));
        } catch (RuntimeException | Error e) {
            // The arena closed, or belongs to another thread, between the check and here.
            hyperattn_h.ha_device_free(type, id, ptr);
            throw e;
        }
    }
}
