package dev.hyperattn;

/**
 * What CUDA reports about a device ({@link Device#properties()}).
 *
 * @param device the device described
 * @param name the product name, e.g. {@code "NVIDIA H100 80GB HBM3"}
 * @param totalMemory global memory in bytes
 * @param computeMajor compute capability, major part (9 for Hopper)
 * @param computeMinor compute capability, minor part
 * @param multiprocessors streaming multiprocessors
 */
public record DeviceProperties(Device device, String name, long totalMemory, int computeMajor, int computeMinor,
        int multiprocessors) {

    /** The compute capability as {@code "major.minor"}, e.g. {@code "9.0"}. */
    public String computeCapability() {
        return computeMajor + "." + computeMinor;
    }
}
