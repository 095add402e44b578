# Sources of error-controlled approximate attention (cpp/src/cpu/approx), added to ha_cpu.
target_sources(ha_cpu PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/approx_engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/approx_group.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sketch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/buckets.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiled_prefill.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiled_layout.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiled_parts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/drawn_decode.cpp)
