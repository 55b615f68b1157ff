package io.github.panamacnn;

import java.util.Locale;

/**
 * Instruction-set levels of the native kernels, ordered: a cap at level L allows every level
 * {@code <= L}. The levels match the C constants {@code PCNN_ISA_SCALAR}, {@code PCNN_ISA_AVX2}
 * (AVX2 + FMA), {@code PCNN_ISA_AVX512} (AVX-512 F, BW, VL, DQ) and {@code PCNN_ISA_NEON}
 * (AArch64 Advanced SIMD). Each architecture has its own chain: x86-64 scalar &lt; avx2 &lt; avx512,
 * AArch64 scalar &lt; neon. NEON has the highest number, so as a cap it allows everything on any
 * architecture, and on AArch64 an AVX2 or AVX-512 cap means scalar.
 */
public enum Isa {
    /** Portable C, no vector extensions beyond the baseline. */
    SCALAR(0, "scalar"),
    /** AVX2 + FMA. */
    AVX2(1, "avx2"),
    /** AVX-512 F, BW, VL, DQ. */
    AVX512(2, "avx512"),
    /** AArch64 Advanced SIMD (ASIMD) with fused multiply-add, the ARMv8-A baseline. */
    NEON(3, "neon");

    private final int level;
    private final String id;

    Isa(int level, String id) {
        this.level = level;
        this.id = id;
    }

    /** The C level ({@code PCNN_ISA_*}): 0, 1, 2 or 3. */
    public int level() {
        return level;
    }

    /** The lower-case name used by the C library, the CLI and the system property: "scalar", "avx2", "avx512", "neon". */
    public String id() {
        return id;
    }

    /** The ISA for a C level; throws {@link IllegalArgumentException} for an unknown level. */
    public static Isa fromLevel(int level) {
        for (Isa isa : values()) {
            if (isa.level == level) {
                return isa;
            }
        }
        throw new IllegalArgumentException("unknown ISA level " + level + " (expected 0=scalar, 1=avx2, 2=avx512, 3=neon)");
    }

    /**
     * Parses "scalar", "avx2", "avx512" or "neon" (case-insensitive, surrounding blanks ignored) or the
     * level digits "0", "1", "2", "3"; throws {@link IllegalArgumentException} naming the bad text otherwise.
     */
    public static Isa parse(String text) {
        if (text != null) {
            String t = text.strip().toLowerCase(Locale.ROOT);
            for (Isa isa : values()) {
                if (isa.id.equals(t) || Integer.toString(isa.level).equals(t)) {
                    return isa;
                }
            }
        }
        throw new IllegalArgumentException("unknown ISA '" + text + "' (expected scalar, avx2, avx512 or neon)");
    }
}
