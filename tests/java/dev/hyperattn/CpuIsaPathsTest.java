package dev.hyperattn;

import static dev.hyperattn.DType.BF16;
import static dev.hyperattn.DType.F16;
import static dev.hyperattn.DType.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each instruction-set path is separate code; AUTO only exercises the best one, so the
 * representative cases run again on every path this CPU supports.
 */
class CpuIsaPathsTest {

    @AfterEach
    void restoreAuto() {
        Hyperattn.setCpuIsa(CpuIsa.AUTO);
    }

    static Stream<Arguments> pathsAndCases() {
        List<CpuIsa> paths = new ArrayList<>();
        for (CpuIsa isa : new CpuIsa[] {CpuIsa.GENERIC, CpuIsa.AVX2, CpuIsa.AVX512, CpuIsa.NEON}) {
            if (Hyperattn.isSupported(isa)) {
                paths.add(isa);
            }
        }
        Hyperattn.setCpuIsa(CpuIsa.AUTO);
        List<AttentionCase> cases = List.of(
                AttentionCase.of("GQA causal", 1, 4, 2, 77, 77, 128, true, F32),
                AttentionCase.of("odd d=63 Nq>Nk", 1, 2, 1, 40, 23, 63, true, F32),
                AttentionCase.of("d=256", 1, 2, 2, 24, 37, 256, false, F32),
                AttentionCase.of("strided", 1, 2, 2, 19, 45, 64, false, F32).bshdLayout(),
                AttentionCase.of("bf16 d=80 strided", 1, 4, 2, 50, 61, 80, true, BF16).bshdLayout(),
                AttentionCase.of("bf16 d=128", 1, 2, 1, 33, 33, 128, false, BF16),
                AttentionCase.of("f16 d=80 strided", 1, 4, 2, 50, 61, 80, true, F16).bshdLayout(),
                AttentionCase.of("f16 decode GQA", 1, 8, 2, 1, 300, 128, true, F16));
        return paths.stream().flatMap(isa -> cases.stream().map(c -> Arguments.of(isa, c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("pathsAndCases")
    void matchesReferenceOnPath(CpuIsa isa, AttentionCase c) {
        Hyperattn.setCpuIsa(isa);
        assertEquals(isa, Hyperattn.cpuIsa());
        c.check();
    }

    @Test
    void autoResolvesToAConcretePath() {
        Hyperattn.setCpuIsa(CpuIsa.AUTO);
        assertNotEquals(CpuIsa.AUTO, Hyperattn.cpuIsa());
        assertEquals(true, Hyperattn.isSupported(CpuIsa.GENERIC));
    }
}
