# Sources of HSR sparse attention and the key index (cpp/src/cpu/hsr), added to ha_cpu.
# hsr_kernels_impl.inc is compiled once per instruction set, like kernels_impl.inc.
target_sources(ha_cpu PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/hsr_dispatch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/key_index.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_driver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_plan.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_certificate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_visit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_results.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_fallback.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_generic.cpp)
if(HA_ARCH STREQUAL "x86_64")
  target_sources(ha_cpu PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_avx2.cpp
    ${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_avx512.cpp)
else()
  target_sources(ha_cpu PRIVATE ${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_neon.cpp)
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_neon.cpp
    PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_NEON}")
endif()
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_generic.cpp
  PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_GENERIC}")
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_avx2.cpp
  PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_AVX2}")
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hsr_kernels_avx512.cpp
  PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_AVX512}")
