/**
 * hyperattn: attention computed in place on off-heap memory by the native hyperattn library,
 * reached through the FFM API. The API is package {@link dev.hyperattn}; the FFM bindings
 * ({@code dev.hyperattn.ffi}) are internal and not exported.
 *
 * <p>The library makes restricted (native) calls: on the module path run with
 * {@code --enable-native-access=dev.hyperattn}; on the class path with
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
module dev.hyperattn {
    exports dev.hyperattn;
}
