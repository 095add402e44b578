# Sources of HSR sparse attention and the key index (cpp/src/cpu/hsr), added to ha_cpu. Its
# per-ISA inner loops are templates in cpu/kern/hsr_*.h, instantiated by kernels_<isa>.cpp.
target_sources(ha_cpu PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/hsr_dispatch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/key_index.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_driver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_plan.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_certificate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_visit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_results.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hsr_fallback.cpp)
