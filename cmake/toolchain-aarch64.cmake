# Cross-compiles the library (CPU backend only) for linux-aarch64 with Debian's toolchain
# (apt-get install g++-aarch64-linux-gnu; qemu-user runs the results on an x86-64 machine):
#
#   cmake -S . -B target/native-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DHA_BUILD_BENCH=OFF
#   cmake --build target/native-aarch64 -j2
#   qemu-aarch64 -L /usr/aarch64-linux-gnu target/native-aarch64/tests/native/ha_native_tests
#
# HA_AARCH64_PREFIX picks another triplet prefix (default aarch64-linux-gnu-).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT DEFINED HA_AARCH64_PREFIX)
  set(HA_AARCH64_PREFIX aarch64-linux-gnu-)
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HA_AARCH64_PREFIX)
set(CMAKE_C_COMPILER ${HA_AARCH64_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${HA_AARCH64_PREFIX}g++)
foreach(tool ar ranlib nm objcopy objdump strip readelf)
  string(TOUPPER "${tool}" var)
  find_program(CMAKE_${var} ${HA_AARCH64_PREFIX}${tool})
endforeach()
# check_isa_objects.cmake runs nm on the objects: the cross nm reads aarch64 ELF.
set(HA_NM ${CMAKE_NM} CACHE FILEPATH "" FORCE)

# Debian's cross toolchain keeps the target's headers and libraries under
# /usr/aarch64-linux-gnu, which the cross compiler already searches; nothing for CMake to find
# there but Threads. Programs come from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# No CUDA for aarch64 here (the host's nvcc, if any, targets x86-64).
set(HA_CUDA OFF CACHE STRING "" FORCE)
# ctest runs the cross-built harness through qemu-user when it is installed.
find_program(HA_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(HA_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HA_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
