# Sources of HyperAttention (cpp/src/cpu/hyper), added to ha_cpu. Its per-ISA kernels are
# templates in cpu/kern/hyper_*.h, instantiated by kernels_<isa>.cpp.
target_sources(ha_cpu PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/hyper_forward.cpp)
