# Cross-compiles the library (CPU backend only) for linux-aarch64 with Debian's toolchain
# (apt-get install g++-aarch64-linux-gnu; qemu-user runs the results on an x86-64 machine):
#
#   cmake -S . -B target/native-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DHA_BUILD_BENCH=OFF
#   cmake --build target/native-aarch64 -j2
#   qemu-aarch64 -L /usr/aarch64-linux-gnu target/native-aarch64/tests/native/ha_native_tests
#
# HA_AARCH64_PREFIX picks another triplet prefix (default aarch64-linux-gnu-).
#
# The shipped (portable) build adds -DHA_AARCH64_SYSROOT=<the Debian 11 root of
# scripts/portable/sysroot.sh>: it then compiles with that root's cross GCC 10 against its arm64
# glibc 2.31 (libc6-dev-arm64-cross), as cmake/debian11.cmake does for x86-64, so the library
# asks for glibc <= 2.31 instead of this machine's 2.36. scripts/aarch64/build.sh --portable
# does that.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT DEFINED HA_AARCH64_PREFIX)
  set(HA_AARCH64_PREFIX aarch64-linux-gnu-)
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HA_AARCH64_PREFIX HA_AARCH64_SYSROOT)
if(HA_AARCH64_SYSROOT)
  if(NOT EXISTS "${HA_AARCH64_SYSROOT}/usr/bin/${HA_AARCH64_PREFIX}g++-10")
    message(FATAL_ERROR "No aarch64 cross GCC 10 in ${HA_AARCH64_SYSROOT} (scripts/portable/sysroot.sh makes it)")
  endif()
  set(CMAKE_C_COMPILER "${HA_AARCH64_SYSROOT}/usr/bin/${HA_AARCH64_PREFIX}gcc-10")
  set(CMAKE_CXX_COMPILER "${HA_AARCH64_SYSROOT}/usr/bin/${HA_AARCH64_PREFIX}g++-10")
  set(CMAKE_SYSROOT "${HA_AARCH64_SYSROOT}")
  # The root's cross as/ld need the root's own libopcodes/libbfd: use this machine's cross
  # binutils (from g++-aarch64-linux-gnu) instead. -B reaches the driver at compile and link.
  foreach(lang C CXX)
    set(CMAKE_${lang}_FLAGS_INIT "-B/usr/aarch64-linux-gnu/bin/")
  endforeach()
  set(CMAKE_FIND_ROOT_PATH "${HA_AARCH64_SYSROOT}/usr/aarch64-linux-gnu")
else()
  set(CMAKE_C_COMPILER ${HA_AARCH64_PREFIX}gcc)
  set(CMAKE_CXX_COMPILER ${HA_AARCH64_PREFIX}g++)
  # Debian's cross toolchain keeps the target's headers and libraries under
  # /usr/aarch64-linux-gnu, which the cross compiler already searches; nothing for CMake to
  # find there but Threads.
  set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
endif()
# Programs (and the binutils) come from the host.
foreach(tool ar ranlib nm objcopy objdump strip readelf)
  string(TOUPPER "${tool}" var)
  find_program(CMAKE_${var} ${HA_AARCH64_PREFIX}${tool} NO_CMAKE_FIND_ROOT_PATH)
endforeach()
# check_isa_objects.cmake runs nm on the objects: the cross nm reads aarch64 ELF.
set(HA_NM ${CMAKE_NM} CACHE FILEPATH "" FORCE)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# No CUDA for aarch64 here (the host's nvcc, if any, targets x86-64), and no native benchmarks:
# they measure x86 peaks (cpuid, AVX FMA loops) and could not run here anyway.
set(HA_CUDA OFF CACHE STRING "" FORCE)
set(HA_BUILD_BENCH OFF CACHE BOOL "" FORCE)
# ctest runs the cross-built harness through qemu-user when it is installed.
find_program(HA_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(HA_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HA_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
