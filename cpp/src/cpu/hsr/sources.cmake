# Sources of HSR sparse attention and the key index (cpp/src/cpu/hsr), added to ha_cpu.
