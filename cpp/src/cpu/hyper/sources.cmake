# Sources of HyperAttention (cpp/src/cpu/hyper), added to ha_cpu. The hyper_kernels_<isa>
# objects carry per-ISA flags like kernels_<isa>.cpp (their names match the weak-symbol check
# of check_isa_objects.cmake).
target_sources(ha_cpu PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/hyper_forward.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_generic.cpp)
if(HA_ARCH STREQUAL "x86_64")
  target_sources(ha_cpu PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_avx2.cpp
    ${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_avx512.cpp)
else()
  target_sources(ha_cpu PRIVATE ${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_neon.cpp)
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_neon.cpp
    PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_NEON}")
endif()
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_generic.cpp
  PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_GENERIC}")
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_avx2.cpp
  PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_AVX2}")
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hyper_kernels_avx512.cpp
  PROPERTIES COMPILE_OPTIONS "${HA_FLAGS_AVX512}")
