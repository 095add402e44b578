// Keeps the library loadable below Debian 11's glibc 2.31: RHEL 8 and its rebuilds (2.28), Debian
// 10 (2.28), Ubuntu 18.04 (2.27), still common on servers.
//
// The shipped library is linked against Debian 11 (glibc 2.31), whose libm gives exp, exp2, log
// and log2 a second symbol version, GLIBC_2.29 (the same functions without the old SVID error
// wrappers); a reference to it is a load failure on any older glibc. The link wraps the four
// names (-Wl,--wrap=..., CMakeLists.txt) and each wrapper calls the architecture's original
// version, present in every glibc. With the library's -fno-math-errno code the two versions
// return the same values; the old entry points only add errno handling on range errors.
// scripts/check-glibc.sh holds the shipped library to GLIBC_2.27 (the float expf/logf family).
#include <cmath>  // defines __GLIBC__ (features.h)

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))

#if defined(__x86_64__)
#define HA_GLIBC_BASE "GLIBC_2.2.5"
#else
#define HA_GLIBC_BASE "GLIBC_2.17"
#endif

extern "C" {
double ha_libm_exp(double);
double ha_libm_exp2(double);
double ha_libm_log(double);
double ha_libm_log2(double);
}
__asm__(".symver ha_libm_exp,exp@" HA_GLIBC_BASE);
__asm__(".symver ha_libm_exp2,exp2@" HA_GLIBC_BASE);
__asm__(".symver ha_libm_log,log@" HA_GLIBC_BASE);
__asm__(".symver ha_libm_log2,log2@" HA_GLIBC_BASE);

extern "C" {
__attribute__((visibility("hidden"))) double __wrap_exp(double x) { return ha_libm_exp(x); }
__attribute__((visibility("hidden"))) double __wrap_exp2(double x) { return ha_libm_exp2(x); }
__attribute__((visibility("hidden"))) double __wrap_log(double x) { return ha_libm_log(x); }
__attribute__((visibility("hidden"))) double __wrap_log2(double x) { return ha_libm_log2(x); }
}

#endif
