package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Sgd and Adam against the update rules written out in double precision, here, from PyTorch's
 * documentation (the bit-level comparison with PyTorch itself is in LeNetTorchParityTest).
 * Three steps with fresh random gradients; float32 vs double differ by a few roundings per step, so
 * the bound is 1e-6 * (1 + |expected|) (about 17 float ulps at 1, ~6 roundings per step).
 */
class OptimizerTest {
    private static final double BOUND = 1e-6;

    private static Linear layer() {
        return Linear.builder(5, 3).seed(7).build();
    }

    private static double[] toDouble(Tensor t) {
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void randomGrads(List<Parameter> ps, SplittableRandom r) {
        for (Parameter p : ps) {
            float[] g = new float[(int) p.grad().elementCount()];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) r.nextDouble(-1, 1);
            }
            p.grad().copyFrom(g);
        }
    }

    private static void assertClose(String what, Tensor actual, double[] expected) {
        float[] a = actual.toArray();
        for (int i = 0; i < a.length; i++) {
            double err = Math.abs(a[i] - expected[i]);
            assertThat(err).as("%s[%d]: %s vs %s", what, i, a[i], expected[i])
                    .isLessThanOrEqualTo(BOUND * (1 + Math.abs(expected[i])));
        }
    }

    @Test
    void sgdFollowsTorchRuleWithMomentumWeightDecayAndNesterov() {
        for (boolean nesterov : new boolean[] {false, true}) {
            for (float momentum : new float[] {0f, 0.9f}) {
                if (nesterov && momentum == 0) {
                    continue;
                }
                try (Linear l = layer()) {
                    List<Parameter> ps = l.parameters();
                    double lr = 0.05, wd = 0.01;
                    double[][] w = new double[ps.size()][];
                    double[][] buf = new double[ps.size()][];
                    for (int k = 0; k < ps.size(); k++) {
                        w[k] = toDouble(ps.get(k).value());
                    }
                    SplittableRandom r = new SplittableRandom(42);
                    try (Sgd sgd = Sgd.builder(l, (float) lr).momentum(momentum).weightDecay((float) wd)
                            .nesterov(nesterov).build()) {
                        for (int step = 0; step < 3; step++) {
                            randomGrads(ps, r);
                            for (int k = 0; k < ps.size(); k++) {
                                double[] g = toDouble(ps.get(k).grad());
                                for (int i = 0; i < g.length; i++) {
                                    double d = g[i] + wd * w[k][i];
                                    if (momentum != 0) {
                                        if (buf[k] == null) {
                                            buf[k] = new double[g.length];
                                            buf[k][i] = d;
                                        } else {
                                            buf[k][i] = (step == 0 ? 0 : momentum * buf[k][i]) + d;
                                        }
                                        d = nesterov ? d + momentum * buf[k][i] : buf[k][i];
                                    }
                                    w[k][i] -= lr * d;
                                }
                            }
                            sgd.step();
                            for (int k = 0; k < ps.size(); k++) {
                                assertClose("sgd m=" + momentum + " nesterov=" + nesterov + " step " + step + " "
                                        + ps.get(k).name(), ps.get(k).value(), w[k]);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void adamFollowsTorchRuleWithBiasCorrectionAndL2() {
        for (double wd : new double[] {0, 0.02}) {
            try (Linear l = layer()) {
                List<Parameter> ps = l.parameters();
                double lr = 1e-2, b1 = 0.8, b2 = 0.95, eps = 1e-3;
                double[][] w = new double[ps.size()][];
                double[][] m = new double[ps.size()][];
                double[][] v = new double[ps.size()][];
                for (int k = 0; k < ps.size(); k++) {
                    w[k] = toDouble(ps.get(k).value());
                    m[k] = new double[w[k].length];
                    v[k] = new double[w[k].length];
                }
                SplittableRandom r = new SplittableRandom(3);
                try (Adam adam = Adam.builder(l, lr).betas(b1, b2).eps(eps).weightDecay(wd).build()) {
                    for (int t = 1; t <= 3; t++) {
                        randomGrads(ps, r);
                        for (int k = 0; k < ps.size(); k++) {
                            double[] g = toDouble(ps.get(k).grad());
                            for (int i = 0; i < g.length; i++) {
                                double gi = g[i] + wd * w[k][i];
                                m[k][i] = b1 * m[k][i] + (1 - b1) * gi;
                                v[k][i] = b2 * v[k][i] + (1 - b2) * gi * gi;
                                double mHat = m[k][i] / (1 - Math.pow(b1, t));
                                double vHat = v[k][i] / (1 - Math.pow(b2, t));
                                w[k][i] -= lr * mHat / (Math.sqrt(vHat) + eps);
                            }
                        }
                        adam.step();
                        for (int k = 0; k < ps.size(); k++) {
                            assertClose("adam wd=" + wd + " t=" + t + " " + ps.get(k).name(), ps.get(k).value(), w[k]);
                        }
                    }
                }
            }
        }
    }

    @Test
    void frozenParametersAreSkippedAndStepAllocatesNothing() {
        try (Linear l = layer(); Sgd sgd = Sgd.builder(l, 0.1f).momentum(0.9f).build();
             Adam adam = Adam.builder(l, 1e-3).build()) {
            Parameter weight = l.parameters().get(0);
            Parameter bias = l.parameters().get(1);
            randomGrads(l.parameters(), new SplittableRandom(1));
            bias.requiresGrad(false);
            float[] biasBefore = bias.value().toArray();
            float[] weightBefore = weight.value().toArray();
            sgd.step();
            adam.step();
            assertThat(bias.value().toArray()).isEqualTo(biasBefore);
            assertThat(weight.value().toArray()).isNotEqualTo(weightBefore);
            bias.requiresGrad(true);
            for (int i = 0; i < 20_000; i++) { // warm up (JIT) with every buffer allocated
                sgd.step();
                adam.step();
            }
            threadAllocatedBytes();
            long base0 = threadAllocatedBytes();
            long overhead = threadAllocatedBytes() - base0; // what reading the counter costs
            long before = threadAllocatedBytes();
            for (int i = 0; i < 10_000; i++) {
                sgd.step();
                adam.step();
            }
            long allocated = threadAllocatedBytes() - before - overhead;
            // one 16-byte object per step would be 320 000 bytes
            assertThat(allocated).as("bytes allocated by 10 000 steps of each optimizer").isLessThan(1000);
        }
    }

    /** HotSpot's per-thread allocation counter (java.management is not readable from the module at compile time). */
    private static Object threadMx;
    private static java.lang.reflect.Method allocatedBytes;

    static long threadAllocatedBytes() {
        try {
            if (threadMx == null) {
                threadMx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean")
                        .invoke(null);
                allocatedBytes = Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
            }
            return (long) allocatedBytes.invoke(threadMx);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot read the thread allocation counter", e);
        }
    }

    @Test
    void badHyperParametersAreRejectedWithTheirNames() {
        try (Linear l = layer()) {
            assertThatThrownBy(() -> Sgd.builder(l, -0.1f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("lr").hasMessageContaining("-0.1");
            assertThatThrownBy(() -> Sgd.builder(l, Float.NaN)).hasMessageContaining("lr");
            assertThatThrownBy(() -> Sgd.builder(l, 0.1f).momentum(-1f)).hasMessageContaining("momentum");
            assertThatThrownBy(() -> Sgd.builder(l, 0.1f).nesterov(true).build()).hasMessageContaining("Nesterov");
            assertThatThrownBy(() -> Adam.builder(l, 1e-3).betas(0.9, 1.0)).hasMessageContaining("betas");
            assertThatThrownBy(() -> Adam.builder(l, 1e-3).eps(-1)).hasMessageContaining("eps");
            Sgd closed = Sgd.builder(l, 0.1f).build();
            closed.close();
            assertThatThrownBy(closed::step).isInstanceOf(IllegalStateException.class);
        }
    }
}
