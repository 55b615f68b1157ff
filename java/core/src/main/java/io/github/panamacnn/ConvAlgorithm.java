package io.github.panamacnn;

import java.util.Locale;

/**
 * How a {@link Conv2d} computes its convolutions (every pass; backward-weights of a layer that
 * WINOGRAD does not take is computed directly under a WINOGRAD request). Chosen with {@link Conv2d.Builder#algorithm(ConvAlgorithm)};
 * the default comes from the system property {@value #PROPERTY} ({@code auto}, {@code direct},
 * {@code winograd}, {@code depthwise} or {@code pointwise}; {@code auto} when unset).
 *
 * <p>The reference backend always computes the direct convolution (it is the oracle); the native
 * backend honours the choice. See {@code docs/winograd.md} for the AUTO rule and the error bound.
 */
public enum ConvAlgorithm {
    /** The library picks per shape (depthwise for depthwise layers, Winograd where it measured faster, pointwise for strided unpadded 1x1 layers, else direct). */
    AUTO,
    /** Direct convolution: every shape; error bound {@code gamma(K) * sum |x||w|}. */
    DIRECT,
    /**
     * Winograd F(4x4,3x3): 3x3 kernels with stride 1 and dilation 1 only (any padding, groups).
     * Fewer multiplications, a larger (documented) error bound; backward-weights too (its own bound,
     * {@code docs/winograd.md}). Calls whose inputs or weights hold Inf or NaN are computed directly
     * (Winograd would spread them across 4x4 output tiles).
     */
    WINOGRAD,
    /**
     * Depthwise convolution: only layers with {@code groups == inChannels == outChannels}
     * (MobileNet-style). Vector kernels (AVX-512, AVX2) for stride 1 or 2 and up to 49 taps, every pass;
     * other depthwise calls use the scalar reference kernel. Same error bound as DIRECT. AUTO uses
     * it for every depthwise layer the vector kernels take (measured faster than direct on every pass).
     */
    DEPTHWISE,
    /**
     * Strided 1x1 convolution (ResNet's downsampling shortcut): only 1x1 kernels without padding and
     * with a stride above 1 on some axis (any groups), every pass. The strided input pixels are gathered
     * into a dense tensor and multiplied as a GEMM; backward-data scatters the result back. Same error
     * bound as DIRECT. AUTO uses it for every such layer (backward-weights: from 16 input channels per group).
     */
    POINTWISE;

    /** The system property giving the default algorithm of new {@link Conv2d} layers. */
    public static final String PROPERTY = "panamacnn.conv.algorithm";

    /**
     * The algorithm named by {@value #PROPERTY}, or {@link #AUTO} when it is unset or blank.
     *
     * @throws IllegalArgumentException when the property holds anything else than auto, direct,
     *         winograd, depthwise or pointwise (any case)
     */
    public static ConvAlgorithm defaultAlgorithm() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return AUTO;
        }
        return parse(v, "system property " + PROPERTY);
    }

    /** Parses auto / direct / winograd (any case); {@code what} names the source in the error. */
    static ConvAlgorithm parse(String value, String what) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "auto":
                return AUTO;
            case "direct":
                return DIRECT;
            case "winograd":
                return WINOGRAD;
            case "depthwise":
                return DEPTHWISE;
            case "pointwise":
                return POINTWISE;
            default:
                throw new IllegalArgumentException(what + " must be auto, direct, winograd, depthwise or pointwise but was '"
                        + value + "'");
        }
    }

    /**
     * Whether this algorithm can compute a convolution with these channels and groups (only
     * DEPTHWISE restricts them: {@code groups == inChannels == outChannels}).
     */
    public boolean supportsChannels(long inChannels, long outChannels, long groups) {
        return this != DEPTHWISE || (groups == inChannels && groups == outChannels);
    }

    /** Whether this algorithm can compute a convolution with this kernel, stride and dilation. */
    public boolean supports(long kernelH, long kernelW, long strideH, long strideW, long dilationH, long dilationW) {
        if (this == POINTWISE) {
            return kernelH == 1 && kernelW == 1 && (strideH > 1 || strideW > 1);
        }
        if (this != WINOGRAD) {
            return true;
        }
        return kernelH == 3 && kernelW == 3 && strideH == 1 && strideW == 1 && dilationH == 1 && dilationW == 1;
    }

    /** Whether this algorithm can compute a convolution with this padding (only POINTWISE needs none). */
    public boolean supportsPadding(long top, long bottom, long left, long right) {
        return this != POINTWISE || (top == 0 && bottom == 0 && left == 0 && right == 0);
    }

    /** What {@link #supports} and {@link #supportsPadding} ask of the geometry, for error messages. */
    String geometryRequirement() {
        return this == POINTWISE ? "a 1x1 kernel, no padding and a stride above 1" : "a 3x3 kernel, stride 1 and dilation 1";
    }
}
