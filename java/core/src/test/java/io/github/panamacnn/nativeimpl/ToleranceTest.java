package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Conv2dGeometry;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ToleranceTest {
    private static final double U = 0x1p-24;

    @Test
    void gammaIsTheClassicalBoundPlusTwoRoundings() {
        assertThat(Tolerance.gamma(0)).isEqualTo(2 * U);
        assertThat(Tolerance.gamma(1)).isEqualTo(U / (1 - U) + 2 * U);
        for (long k : new long[] {1, 10, 1000, 100_000}) {
            assertThat(Tolerance.gamma(k)).isGreaterThanOrEqualTo((k + 2) * U) // never tighter than (K+2)u
                    .isLessThan((k + 2) * U * 1.01);                         // and not much looser here
        }
        assertThat(Tolerance.gamma(1L << 24)).isInfinite();
        assertThatThrownBy(() -> Tolerance.gamma(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void reductionLengths() {
        Conv2dGeometry g = Conv2dGeometry.of(3, 6, 10, 12, 9, 3, 2, 2, 1, 1, 1, 0, 0, 1, 1, 3);
        assertThat(Tolerance.forwardReduction(g, false)).isEqualTo(2 * 3 * 2);
        assertThat(Tolerance.forwardReduction(g, true)).isEqualTo(2 * 3 * 2 + 1);
        assertThat(Tolerance.backwardDataReduction(g)).isEqualTo(3 * 3 * 2);
        assertThat(Tolerance.backwardWeightsReduction(g)).isEqualTo(3L * g.oh() * g.ow());
        assertThat(g.oh()).isEqualTo(5); // (10 + 2 - 3) / 2 + 1
        assertThat(g.ow()).isEqualTo(11);
    }

    @Test
    void withinAndBeyondTheBound() {
        // 1 + 10u is 5 float ulps above 1 (ulp(1) = 2u)
        float a = 1.0f + 5 * Math.ulp(1.0f);
        assertThat(Tolerance.compareConv("t", new float[] {a}, new double[] {1.0}, new double[] {1.0}, 10)).isNull();
        String msg = Tolerance.compareConv("t", new float[] {1f, a}, new double[] {1.0, 1.0}, new double[] {1.0, 1.0}, 3);
        assertThat(msg).isNotNull().contains("t:").contains("1 of 2").contains("first at index 1")
                .contains("actual " + a).contains("exact 1.0").contains("bound").contains("max abs error")
                .contains("max rel error");
        assertThatThrownBy(() -> Tolerance.assertConvClose("t", new float[] {a}, new double[] {1.0},
                new double[] {1.0}, 3)).isInstanceOf(AssertionError.class).hasMessageContaining("index 0");
    }

    @Test
    void boundScalesWithTheMagnitudeSumNotTheResult() {
        // exact result 0 from cancellation of terms of size 1000: error up to gamma*S is allowed
        float off = 1e-4f;
        assertThat(Tolerance.compareConv("c", new float[] {off}, new double[] {0.0}, new double[] {2000.0}, 4))
                .isNull(); // 1e-4 < 6u*2000 = 7.2e-4
        assertThat(Tolerance.compareConv("c", new float[] {off}, new double[] {0.0}, new double[] {20.0}, 4))
                .isNotNull(); // 1e-4 > 6u*20 = 7.2e-6
    }

    @Test
    void nanAndInfinityRules() {
        double[] one = {1.0};
        assertThat(Tolerance.compareConv("n", new float[] {Float.NaN}, new double[] {Double.NaN}, one, 1)).isNull();
        assertThat(Tolerance.compareConv("n", new float[] {0f}, new double[] {Double.NaN}, one, 1)).isNotNull();
        assertThat(Tolerance.compareConv("n", new float[] {Float.NaN}, new double[] {1.0}, one, 1)).isNotNull();
        // an exact value beyond float range must come back as the same infinity
        assertThat(Tolerance.compareConv("i", new float[] {Float.POSITIVE_INFINITY}, new double[] {1e39},
                new double[] {1e39}, 1)).isNull();
        assertThat(Tolerance.compareConv("i", new float[] {Float.NEGATIVE_INFINITY}, new double[] {1e39},
                new double[] {1e39}, 1)).isNotNull();
        assertThat(Tolerance.compareConv("i", new float[] {Float.MAX_VALUE}, new double[] {1e39},
                new double[] {1e39}, 1)).isNotNull();
        assertThat(Tolerance.compareConv("i", new float[] {Float.POSITIVE_INFINITY}, new double[] {1.0}, one, 1))
                .isNotNull();
    }

    @Test
    void floatDotProductsStayWithinTheBoundAndAMissingTermDoesNot() {
        SplittableRandom r = new SplittableRandom(42);
        int checkedMissing = 0;
        for (int k : new int[] {1, 7, 64, 1000, 20_000}) {
            float[] x = new float[k];
            float[] y = new float[k];
            for (int i = 0; i < k; i++) {
                x[i] = (float) (r.nextDouble() * 2 - 1);
                y[i] = (float) (r.nextDouble() * 2 - 1);
            }
            float naive = 0f;      // recursive float summation, the worst common order
            double exact = 0, s = 0;
            for (int i = 0; i < k; i++) {
                naive += x[i] * y[i];
                exact += (double) x[i] * y[i];
                s += Math.abs((double) x[i] * y[i]);
            }
            assertThat(Tolerance.compareConv("dot" + k, new float[] {naive}, new double[] {exact}, new double[] {s}, k))
                    .isNull();
            double term = (double) x[k - 1] * y[k - 1];
            if (Math.abs(term) > 4 * Tolerance.allowedError(s, k)) { // a dropped term this large must be caught
                float missing = (float) (exact - term);
                assertThat(Tolerance.compareConv("dot" + k, new float[] {missing}, new double[] {exact},
                        new double[] {s}, k)).as("k=%d", k).isNotNull();
                checkedMissing++;
            }
        }
        assertThat(checkedMissing).isGreaterThanOrEqualTo(2);
    }

    @Test
    void bitExactComparison() {
        assertThat(Tolerance.compareExact("p", new float[] {1f, Float.NaN}, new float[] {1f,
                Float.intBitsToFloat(0x7fc00001)})).isNull(); // any NaN matches any NaN
        String msg = Tolerance.compareExact("p", new float[] {0.0f, 2f}, new float[] {-0.0f, 2f});
        assertThat(msg).isNotNull().contains("first at index 0").contains("0x0").contains("0x80000000");
        assertThat(Tolerance.compareExact("p", new float[] {1f}, new float[] {Math.nextUp(1f)})).isNotNull();
        assertThat(Tolerance.compareExact("i", new int[] {1, 2, 3}, new int[] {1, 2, 3})).isNull();
        assertThat(Tolerance.compareExact("i", new int[] {1, 2, 3}, new int[] {1, 5, 3}))
                .contains("first at index 1").contains("actual 2").contains("expected 5");
        assertThatThrownBy(() -> Tolerance.assertIndicesEqual("i", new int[] {0}, new int[] {1}))
                .isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> Tolerance.assertBitExact("p", new float[] {0f}, new float[] {1f}))
                .isInstanceOf(AssertionError.class);
    }
}
