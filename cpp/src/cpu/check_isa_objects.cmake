# Fails the build when an ISA-specific object (kernels_avx2/avx512) defines a weak symbol:
# the linker could resolve a baseline caller to that copy, compiled with -mavx512f, and the
# generic path would then crash on CPUs without AVX-512. Run as a POST_BUILD step of ha_cpu.
foreach(obj IN LISTS OBJECTS)
  if(NOT obj MATCHES "kernels_avx")
    continue()
  endif()
  execute_process(COMMAND ${NM} -C ${obj} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(WARNING "check_isa_objects: nm failed on ${obj}; ODR check skipped")
    continue()
  endif()
  string(REGEX MATCHALL "[^\n]* W [^\n]*" weak "${syms}")
  if(weak)
    string(REPLACE ";" "\n" weak "${weak}")
    message(FATAL_ERROR "ISA object ${obj} defines weak symbols that other code could bind to:\n${weak}")
  endif()
endforeach()
