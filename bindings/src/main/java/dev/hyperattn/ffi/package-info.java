/**
 * Low-level FFM bindings of {@code cpp/include/hyperattn.h} in jextract's shape, plus the
 * {@link dev.hyperattn.ffi.NativeLibrary} loader. Prefer the checked API in
 * {@code dev.hyperattn}; these take raw pointers and check nothing.
 */
package dev.hyperattn.ffi;
