package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every small max-pool geometry on one axis (in 1..7, k 1..7, stride 1..4, pads 0..4 on each side, dilation
 * 1..4, floor and ceil) against a model written here from the documented rule: PyTorch's output-size formula
 * (floor division, the ceil-mode drop of a last window starting at or past {@code in + padLo}), output size
 * {@code >= 1}, and a brute-force search for a window without an input position. The C side has the same
 * test (native/tests/test_desc_errors.c).
 */
class MaxPool2dGeometryRuleTest {

    @Test
    void outputSizeAndValidityFollowTheRuleOnEverySmallGeometry() {
        List<String> mismatches = new ArrayList<>();
        int accepted = 0;
        int larger = 0;
        for (long in = 1; in <= 7; in++) {
            for (long k = 1; k <= 7; k++) {
                for (long st = 1; st <= 4; st++) {
                    for (long pl = 0; pl <= 4; pl++) {
                        for (long pr = 0; pr <= 4; pr++) {
                            for (long dil = 1; dil <= 4; dil++) {
                                for (boolean ceil : new boolean[] {false, true}) {
                                    long model = modelOutputSize(in, k, st, pl, pr, dil, ceil);
                                    Long ours;
                                    try {
                                        ours = MaxPool2dGeometry.of(1, 1, 1, in, 1, k, 1, st, 0, 0, pl, pr, 1, dil,
                                                ceil).ow();
                                    } catch (IllegalArgumentException e) {
                                        ours = null;
                                    }
                                    if (model > 0) {
                                        accepted++;
                                        larger += dil * (k - 1) + 1 > in + pl + pr ? 1 : 0;
                                    }
                                    if (model > 0 ? ours == null || ours != model : ours != null) {
                                        mismatches.add("in " + in + " k " + k + " s " + st + " pad " + pl + "+" + pr
                                                + " d " + dil + " ceil " + ceil + ": model " + model + ", ours " + ours);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assertThat(mismatches).as("first of %d mismatches", mismatches.size()).isEmpty();
        assertThat(accepted).isGreaterThan(10_000);
        assertThat(larger).as("geometries with a window larger than the padded input").isGreaterThan(1000);
    }

    /** The output size, or 0 when the geometry is invalid (output size below 1, or a window on no input). */
    private static long modelOutputSize(long in, long k, long st, long pl, long pr, long dil, boolean ceil) {
        long out = Math.floorDiv(in + pl + pr - dil * (k - 1) - 1 + (ceil ? st - 1 : 0), st) + 1;
        if (ceil && (out - 1) * st >= in + pl) {
            out--;
        }
        if (out < 1) {
            return 0;
        }
        for (long o = 0; o < out; o++) {
            boolean any = false;
            for (long j = 0; j < k; j++) {
                long pos = o * st - pl + j * dil;
                any |= pos >= 0 && pos < in;
            }
            if (!any) {
                return 0;
            }
        }
        return out;
    }
}
