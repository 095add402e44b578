# Toolchain for the portable (shipped) library: compiles and links against the Debian 11 root
# made by scripts/portable/sysroot.sh, with that root's own GCC 10, so libhyperattn.so asks for
# glibc 2.31 at most and carries GCC 10's libstdc++/libgcc (linked statically, as in every
# build). The newer host GCC cannot be used with --sysroot: its libstdc++.a calls glibc >= 2.32
# (__libc_single_threaded, arc4random, _dl_find_object).
#
#   cmake -S . -B target/native-portable -DCMAKE_TOOLCHAIN_FILE=cmake/debian11.cmake
#
# The root's GCC runs on this machine (GCC is relocatable; its helpers use the libgmp/libmpfr/
# libmpc/libisl/libzstd sonames any machine with a GCC has) and uses this machine's binutils.
# nvcc (CUDA 13 accepts GCC 10) gets the same GCC as host compiler, with the same sysroot.
# Maven: -Pportable, or HA_PORTABLE=1 in the environment (see pom.xml).

# The root comes from scripts/portable/sysroot.sh, which makes it on first use (debootstrap,
# about a minute, needs root) and prints its path (HA_SYSROOT in the environment chooses it).
# -DHA_SYSROOT=... names an existing one instead. try_compile projects get HA_SYSROOT below.
if(NOT DEFINED HA_SYSROOT)
  execute_process(COMMAND "${CMAKE_CURRENT_LIST_DIR}/../scripts/portable/sysroot.sh"
                  OUTPUT_VARIABLE HA_SYSROOT OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE ha_sysroot_status)
  if(NOT ha_sysroot_status EQUAL 0)
    message(FATAL_ERROR "scripts/portable/sysroot.sh failed: no Debian 11 root to build against")
  endif()
endif()
if(NOT EXISTS "${HA_SYSROOT}/.hyperattn-sysroot" OR NOT EXISTS "${HA_SYSROOT}/usr/bin/g++-10")
  message(FATAL_ERROR "No Debian 11 root at ${HA_SYSROOT}: run scripts/portable/sysroot.sh")
endif()
# try_compile projects re-read this file: hand them the same root.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HA_SYSROOT)

set(CMAKE_SYSROOT "${HA_SYSROOT}")
set(CMAKE_C_COMPILER "${HA_SYSROOT}/usr/bin/gcc-10")
set(CMAKE_CXX_COMPILER "${HA_SYSROOT}/usr/bin/g++-10")
# CMake passes --sysroot to gcc, but neither through nvcc to its host compiler nor to the
# host compiler when it links CUDA code (check_language(CUDA)'s test program).
set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}")
set(CMAKE_CUDA_FLAGS_INIT "-Xcompiler=--sysroot=${HA_SYSROOT}")
foreach(kind EXE SHARED MODULE)
  set(CMAKE_${kind}_LINKER_FLAGS_INIT "--sysroot=${HA_SYSROOT}")
endforeach()

# The root's binutils need its own libbfd: use this machine's (CMake would otherwise pick the
# ar, ranlib, nm... beside the compiler).
foreach(tool ar ranlib nm objcopy objdump strip readelf addr2line)
  string(TOUPPER "${tool}" var)
  find_program(CMAKE_${var} ${tool} NO_CMAKE_FIND_ROOT_PATH)
endforeach()
find_program(CMAKE_LINKER ld NO_CMAKE_FIND_ROOT_PATH)

# Libraries and headers from the root first (librt.so, libpthread...), then the host's (the
# CUDA toolkit under /usr/local); programs (nvcc, nm) always from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
