# Sources of HyperAttention (cpp/src/cpu/hyper), added to ha_cpu.
