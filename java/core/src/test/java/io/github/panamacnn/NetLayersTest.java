package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Known answers, gradient checks and bad input for ReLU, Flatten, Linear, CrossEntropyLoss and Sequential (reference backend). */
class NetLayersTest {
    private static final Backend REF = Backend.reference();

    // ---------------------------------------------------------------- ReLU

    @Test
    void reluKnownAnswersIncludingNanAndSignedZero() {
        float nan = Float.intBitsToFloat(0x7fc00123); // a NaN with a payload: must come out unchanged
        float[] x = {-2f, -0.0f, 0.0f, 1.5f, nan, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -1e-40f};
        try (ReLU relu = new ReLU(REF); Tensor in = Tensor.of(x, 2, 4); Tensor dy = Tensor.of(
                new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 4)) {
            float[] y = relu.forward(in).toArray();
            assertThat(bits(y)).containsExactly(bits(new float[] {0f, 0f, 0f, 1.5f, nan, 0f,
                    Float.POSITIVE_INFINITY, 0f}));
            float[] dx = relu.backward(dy).toArray();
            // PyTorch threshold_backward: the gradient passes where the input is > 0 or NaN
            assertThat(dx).containsExactly(0, 0, 0, 4, 5, 0, 7, 0);
        }
    }

    @Test
    void reluGradientMatchesFiniteDifferencesAwayFromTheKink() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 40;
        float[] x = new float[n], dy = new float[n];
        for (int i = 0; i < n; i++) {
            double v = r.nextDouble(0.01, 2) * (r.nextBoolean() ? 1 : -1); // |x| >= 0.01 > the step
            x[i] = (float) v;
            dy[i] = (float) r.nextDouble(-1, 1);
        }
        try (ReLU relu = new ReLU(REF); Tensor in = Tensor.of(x, n); Tensor g = Tensor.of(dy, n)) {
            relu.forward(in);
            float[] dx = relu.backward(g).toArray();
            double h = 1e-3;
            for (int i = 0; i < n; i++) {
                // d/dx_i of sum_j dy_j * relu(x_j), in double
                double up = dy[i] * Math.max(x[i] + h, 0), down = dy[i] * Math.max(x[i] - h, 0);
                assertThat((double) dx[i]).as("dx[%d]", i).isCloseTo((up - down) / (2 * h),
                        org.assertj.core.data.Offset.offset(1e-6));
            }
        }
    }

    // ---------------------------------------------------------------- Linear

    @Test
    void linearKnownAnswerForwardAndBackward() {
        try (Linear fc = Linear.builder(3, 2).backend(REF).build();
             Tensor x = Tensor.of(new float[] {1, 2, 3, -1, 0, 2}, 2, 3);
             Tensor dy = Tensor.of(new float[] {1, -1, 2, 0.5f}, 2, 2)) {
            fc.weight().copyFrom(new float[] {1, 0, -1, 2, 1, 0});
            fc.bias().copyFrom(new float[] {0.5f, -1});
            // y = x W^T + b: row 0: [1-3, 2+2] + b = [-1.5, 3]; row 1: [-1-2, -2+0] + b = [-2.5, -3]
            assertThat(fc.forward(x).toArray()).containsExactly(-1.5f, 3f, -2.5f, -3f);
            float[] dx = fc.backward(dy).toArray();
            // dx = dy W: row 0: 1*[1,0,-1] - 1*[2,1,0] = [-1,-1,-1]; row 1: 2*[1,0,-1] + 0.5*[2,1,0] = [3,0.5,-2]
            assertThat(dx).containsExactly(-1, -1, -1, 3, 0.5f, -2);
            // dW = dy^T x: dW[0] = 1*[1,2,3] + 2*[-1,0,2] = [-1,2,7]; dW[1] = -1*[1,2,3] + 0.5*[-1,0,2] = [-1.5,-2,-2]
            assertThat(fc.weightGrad().toArray()).containsExactly(-1, 2, 7, -1.5f, -2, -2);
            assertThat(fc.biasGrad().toArray()).containsExactly(3, -0.5f);
        }
    }

    @Test
    void linearInitIsPytorchsDefault() {
        try (Linear fc = Linear.builder(400, 120).seed(3).backend(REF).build()) {
            double bound = 1.0 / Math.sqrt(400);
            double maxW = 0, maxB = 0;
            for (float w : fc.weight().toArray()) {
                maxW = Math.max(maxW, Math.abs(w));
            }
            for (float b : fc.bias().toArray()) {
                maxB = Math.max(maxB, Math.abs(b));
            }
            assertThat(maxW).isLessThanOrEqualTo(bound).isGreaterThan(0.95 * bound);
            assertThat(maxB).isLessThanOrEqualTo(bound).isGreaterThan(0.8 * bound);
        }
        try (Linear a = Linear.builder(5, 4).seed(9).backend(REF).build();
             Linear b = Linear.builder(5, 4).seed(9).backend(REF).build();
             Linear c = Linear.builder(5, 4).seed(10).backend(REF).build()) {
            assertThat(a.weight().toArray()).containsExactly(b.weight().toArray());
            assertThat(a.weight().toArray()).isNotEqualTo(c.weight().toArray());
        }
    }

    @Test
    void linearRejectsWrongWidthAndRank() {
        try (Linear fc = Linear.builder(4, 2).backend(REF).build(); Tensor x = Tensor.zeros(3, 5);
             Tensor img = Tensor.zeros(3, 1, 2, 2)) {
            assertThatThrownBy(() -> fc.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[n, 4]").hasMessageContaining("[3, 5]");
            assertThatThrownBy(() -> fc.forward(img)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[3, 1, 2, 2]").hasMessageContaining("Flatten");
        }
        assertThatThrownBy(() -> Linear.builder(0, 2).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("inFeatures");
    }

    // ---------------------------------------------------------------- loss

    @Test
    void crossEntropyKnownAnswers() {
        try (CrossEntropyLoss loss = new CrossEntropyLoss(REF);
             Tensor logits = Tensor.of(new float[] {0, 0, 1, 2, 3, 1000}, 2, 3)) {
            // row 0: [0,0,1] label 2: log(2 + e) - 1; row 1: [2,3,1000] label 2: ~0 (stable: no overflow)
            double row0 = Math.log(2 + Math.E) - 1;
            double row1 = Math.log(Math.exp(2 - 1000.0) + Math.exp(3 - 1000.0) + 1);
            assertThat(loss.forward(logits, new int[] {2, 2})).isEqualTo((float) ((row0 + row1) / 2));
            float[] g = loss.backward().toArray();
            double s = 2 + Math.E;
            assertThat(g[0]).isEqualTo((float) (1 / s / 2));
            assertThat(g[2]).isEqualTo((float) ((Math.E / s - 1) / 2));
            assertThat(g[5]).isEqualTo((float) ((1 / (1 + Math.exp(-997.0) + Math.exp(-998.0)) - 1) / 2));
        }
    }

    @Test
    void crossEntropyRejectsBadLabels() {
        try (CrossEntropyLoss loss = new CrossEntropyLoss(REF); Tensor logits = Tensor.zeros(3, 10)) {
            assertThatThrownBy(() -> loss.forward(logits, new int[] {0, 10, 1}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels[1] = 10")
                    .hasMessageContaining("[0, 10)");
            assertThatThrownBy(() -> loss.forward(logits, new int[] {0, 1, -3}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels[2] = -3");
            assertThatThrownBy(() -> loss.forward(logits, new int[] {0, 1}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 values");
            assertThatThrownBy(loss::backward).isInstanceOf(IllegalStateException.class);
        }
    }

    // ---------------------------------------------------------------- gradient checks (double)

    @Test
    void linearGradientMatchesFiniteDifferencesInDouble() {
        LinearGeometry g = LinearGeometry.of(3, 5, 4);
        SplittableRandom r = new SplittableRandom(1);
        double[] x = random(r, 15), w = random(r, 20), b = random(r, 4), dy = random(r, 12);
        double[] dx = new double[15], dw = new double[20], db = new double[4];
        io.github.panamacnn.reference.ReferenceNetKernels.linearBackwardData(g, dy, w, dx);
        io.github.panamacnn.reference.ReferenceNetKernels.linearBackwardWeights(g, x, dy, dw, db);
        java.util.function.Supplier<Double> f = () -> {
            double[] y = new double[12];
            io.github.panamacnn.reference.ReferenceNetKernels.linearForward(g, x, w, b, y);
            return dot(y, dy);
        };
        checkFiniteDifference(x, dx, f);
        checkFiniteDifference(w, dw, f);
        checkFiniteDifference(b, db, f);
    }

    @Test
    void crossEntropyGradientMatchesFiniteDifferencesInDouble() {
        SplittableRandom r = new SplittableRandom(2);
        int n = 4, c = 7;
        double[] x = random(r, n * c);
        int[] labels = {3, 0, 6, 3};
        double[] grad = new double[n * c];
        double loss = io.github.panamacnn.reference.ReferenceNetKernels.crossEntropy(n, c, x, labels, grad);
        assertThat(loss).isGreaterThan(0);
        checkFiniteDifference(x, grad,
                () -> io.github.panamacnn.reference.ReferenceNetKernels.crossEntropy(n, c, x, labels, null));
    }

    /** conv-relu-pool-flatten-linear + loss on the reference backend, against central differences of the float loss. */
    @Test
    void wholeSequentialGradientMatchesFiniteDifferences() {
        try (Sequential net = smallNet(REF); CrossEntropyLoss loss = new CrossEntropyLoss(REF);
             Tensor x = Tensor.of(randomFloats(new SplittableRandom(5), 2 * 2 * 6 * 6), 2, 2, 6, 6)) {
            int[] labels = {1, 4};
            loss.forward(net.forward(x), labels);
            net.backward(loss.backward());
            SplittableRandom pick = new SplittableRandom(6);
            int checked = 0, kinks = 0;
            for (Parameter p : net.parameters()) {
                float[] grad = p.grad().toArray();
                for (int t = 0; t < 12; t++) {
                    int i = pick.nextInt(grad.length);
                    float old = p.value().get(i);
                    float eps = 1e-3f;
                    p.value().set(i, old + eps);
                    double up = loss.forward(net.forward(x), labels);
                    p.value().set(i, old - eps);
                    double down = loss.forward(net.forward(x), labels);
                    p.value().set(i, old);
                    double mid = loss.forward(net.forward(x), labels);
                    // A ReLU or max-pool kink inside [old - eps, old + eps] makes the one-sided slopes differ
                    // far beyond float noise (~1e-3 here); such points have no derivative to check.
                    if (Math.abs((up - mid) - (mid - down)) / eps > 3e-3) {
                        kinks++;
                        continue;
                    }
                    double numeric = (up - down) / (2.0 * eps);
                    assertThat(grad[i]).as("%s[%d]", p.name(), i)
                            .isCloseTo((float) numeric, org.assertj.core.data.Offset.offset(
                                    (float) (2e-3 + 0.03 * Math.abs(numeric))));
                    checked++;
                }
            }
            assertThat(kinks).as("points skipped at a kink").isLessThanOrEqualTo(8);
            assertThat(checked + kinks).isEqualTo(4 * 12);
        }
    }

    private static Sequential smallNet(Backend be) {
        return Sequential.of(
                Conv2d.builder(2, 3, 3, 3).padding(1).seed(1).backend(be).build(), new ReLU(be),
                MaxPool2d.builder(2, 2).backend(be).build(), new Flatten(),
                new ReLU(be), // a ReLU after a view: exercises gradients through Flatten
                Linear.builder(3 * 3 * 3, 5).seed(2).backend(be).build());
    }

    // ---------------------------------------------------------------- Sequential behaviour

    @Test
    void parametersCarryPytorchStateDictKeys() {
        try (Sequential net = lenet(REF)) {
            assertThat(net.parameters().stream().map(Parameter::name).toList()).containsExactly(
                    "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias",
                    "11.weight", "11.bias");
            assertThat(net.parameters().get(4).value().shape()).containsExactly(120, 400);
            assertThat(net.parameters().get(2).value().shape()).containsExactly(16, 6, 5, 5);
            // prefixed copies share the tensors and the frozen flag with the layer's own parameters
            Parameter own = net.layers().get(7).parameters().get(0);
            assertThat(net.parameters().get(4).value()).isSameAs(own.value());
            net.parameters().get(4).requiresGrad(false);
            assertThat(own.requiresGrad()).isFalse();
        }
    }

    @Test
    void firstLayerInputGradientIsSkippedAndFrozenParametersKeepTheirGradient() {
        try (Sequential net = smallNet(REF); CrossEntropyLoss loss = new CrossEntropyLoss(REF);
             Tensor x = Tensor.of(randomFloats(new SplittableRandom(8), 2 * 2 * 6 * 6), 2, 2, 6, 6)) {
            assertThat(net.layers().get(0).isInputGradientRequired()).isFalse(); // set by Sequential.of already
            loss.forward(net.forward(x), new int[] {0, 1});
            assertThat(net.backward(loss.backward())).isNull();
            assertThat(net.layers().get(0).isInputGradientRequired()).isFalse();
            assertThat(net.layers().get(1).isInputGradientRequired()).isTrue();

            Parameter convW = net.parameters().get(0);
            Parameter fcW = net.parameters().get(2);
            convW.grad().fill(42f);
            convW.requiresGrad(false);
            net.parameters().get(1).requiresGrad(false); // conv bias too: the conv is frozen
            float[] fcBefore = fcW.grad().toArray();
            fcW.grad().fill(0f);
            loss.forward(net.forward(x), new int[] {0, 1});
            net.backward(loss.backward());
            assertThat(convW.grad().toArray()).containsOnly(42f);
            assertThat(fcW.grad().toArray()).containsExactly(fcBefore);
            // everything in front of the linear layer is frozen: no layer before it needs an input gradient
            for (int i = 0; i <= 5; i++) {
                assertThat(net.layers().get(i).isInputGradientRequired()).as("layer %d", i).isFalse();
            }
            net.setInputGradientRequired(true);
            loss.forward(net.forward(x), new int[] {0, 1});
            Tensor dx = net.backward(loss.backward());
            assertThat(dx.shape()).containsExactly(2, 2, 6, 6);
        }
    }

    @Test
    void shapeMismatchBetweenLayersNamesTheLayerIndexAndShapes() {
        try (Sequential net = Sequential.of(Conv2d.builder(1, 2, 3, 3).backend(REF).build(), new Flatten(),
                Linear.builder(10, 3).backend(REF).build()); Tensor x = Tensor.zeros(1, 1, 5, 5)) {
            assertThatThrownBy(() -> net.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("layer 2").hasMessageContaining("Linear(10 -> 3")
                    .hasMessageContaining("[1, 18]").hasMessageContaining("output of layer 1");
        }
        try (Sequential net = Sequential.of(Conv2d.builder(3, 2, 3, 3).backend(REF).build());
             Tensor x = Tensor.zeros(1, 1, 5, 5)) {
            assertThatThrownBy(() -> net.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("layer 0").hasMessageContaining("network input")
                    .hasMessageContaining("[1, 1, 5, 5]");
        }
    }

    @Test
    void sameLayerTwiceIsRejected() {
        ReLU relu = new ReLU(REF);
        try (Linear a = Linear.builder(2, 2).backend(REF).build()) {
            assertThatThrownBy(() -> Sequential.of(a, relu, Sequential.of(relu)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 2.0")
                    .hasMessageContaining("layer 1");
        }
        assertThatThrownBy(Sequential::of).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void closedLayersThrow() {
        Sequential net = smallNet(REF);
        Tensor x = Tensor.zeros(1, 2, 6, 6);
        net.close();
        assertThatThrownBy(() -> net.forward(x)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        for (Layer l : net.layers()) {
            assertThatThrownBy(() -> l.forward(x)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
        x.close();
    }

    @Test
    void evalModeRecordsNothingAndBatchChangesReallocate() {
        try (Sequential net = smallNet(REF); Tensor x = Tensor.zeros(2, 2, 6, 6); Tensor x1 = Tensor.zeros(1, 2, 6, 6)) {
            net.eval();
            Tensor y = net.forward(x);
            assertThat(y.shape()).containsExactly(2, 5);
            assertThatThrownBy(() -> net.backward(y)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("eval");
            assertThatThrownBy(() -> ((MaxPool2d) net.layers().get(2)).indices())
                    .isInstanceOf(IllegalStateException.class);
            Tensor same = net.forward(x);
            assertThat(same).isSameAs(y); // same shape: the same output tensor, overwritten
            Tensor smaller = net.forward(x1); // a smaller last batch works and replaces the output
            assertThat(smaller.shape()).containsExactly(1, 5);
            assertThat(y.isAlive()).isFalse();
            assertThatThrownBy(y::toArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            net.train();
            assertThat(net.isTraining()).isTrue();
        }
    }

    @Test
    void saveThenLoadRoundTripsAndBadFilesNameTheKey(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Path file = dir.resolve("lenet.npz");
        try (Sequential a = lenet(REF); Sequential b = Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).seed(9).backend(REF).build(), new ReLU(REF),
                MaxPool2d.builder(2, 2).backend(REF).build(),
                Conv2d.builder(6, 16, 5, 5).seed(9).backend(REF).build(), new ReLU(REF),
                MaxPool2d.builder(2, 2).backend(REF).build(), new Flatten(),
                Linear.builder(400, 120).seed(9).backend(REF).build(), new ReLU(REF),
                Linear.builder(120, 84).seed(9).backend(REF).build(), new ReLU(REF),
                Linear.builder(84, 10).seed(9).backend(REF).build())) {
            assertThat(b.parameters().get(0).value().toArray()).isNotEqualTo(a.parameters().get(0).value().toArray());
            a.save(file);
            b.load(file);
            for (int i = 0; i < a.parameters().size(); i++) {
                assertThat(b.parameters().get(i).value().toArray()).containsExactly(
                        a.parameters().get(i).value().toArray());
            }
            java.util.Map<String, Tensor> m = new java.util.LinkedHashMap<>();
            for (Parameter p : a.parameters()) {
                m.put(p.name(), p.value());
            }
            m.remove("7.bias");
            Npz.write(dir.resolve("missing.npz"), m);
            assertThatThrownBy(() -> b.load(dir.resolve("missing.npz"))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("missing key \"7.bias\"").hasMessageContaining("[120]");
            try (Tensor wrong = Tensor.zeros(121)) {
                m.put("7.bias", wrong);
                Npz.write(dir.resolve("shape.npz"), m);
                assertThatThrownBy(() -> b.load(dir.resolve("shape.npz")))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"7.bias\"")
                        .hasMessageContaining("[121]").hasMessageContaining("[120]");
                m.put("7.bias", a.parameters().get(5).value());
                m.put("12.weight", wrong);
                Npz.write(dir.resolve("extra.npz"), m);
                float before = b.parameters().get(0).value().get(0);
                assertThatThrownBy(() -> b.load(dir.resolve("extra.npz")))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("extra key \"12.weight\"");
                assertThat(b.parameters().get(0).value().get(0)).isEqualTo(before);
            }
        }
    }

    static Sequential lenet(Backend be) {
        return Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).backend(be).build(), new ReLU(be),
                MaxPool2d.builder(2, 2).backend(be).build(),
                Conv2d.builder(6, 16, 5, 5).backend(be).build(), new ReLU(be),
                MaxPool2d.builder(2, 2).backend(be).build(),
                new Flatten(),
                Linear.builder(400, 120).backend(be).build(), new ReLU(be),
                Linear.builder(120, 84).backend(be).build(), new ReLU(be),
                Linear.builder(84, 10).backend(be).build());
    }

    // ---------------------------------------------------------------- helpers

    private static void checkFiniteDifference(double[] v, double[] analytic, java.util.function.Supplier<Double> f) {
        double h = 1e-6;
        for (int i = 0; i < v.length; i++) {
            double old = v[i];
            v[i] = old + h;
            double up = f.get();
            v[i] = old - h;
            double down = f.get();
            v[i] = old;
            double numeric = (up - down) / (2 * h);
            assertThat(analytic[i]).as("index %d", i).isCloseTo(numeric,
                    org.assertj.core.data.Offset.offset(1e-7 + 1e-6 * Math.abs(numeric)));
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] random(SplittableRandom r, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextDouble(-1, 1);
        }
        return d;
    }

    static float[] randomFloats(SplittableRandom r, int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = (float) r.nextDouble(-1, 1);
        }
        return d;
    }

    private static int[] bits(float[] f) {
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            b[i] = Float.floatToRawIntBits(f[i]);
        }
        return b;
    }
}
