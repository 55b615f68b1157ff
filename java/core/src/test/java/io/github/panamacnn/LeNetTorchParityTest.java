package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LeNet-5 (the README's network) against PyTorch ({@code scripts/lenet_parity.py}, /usr/bin/python3):
 * the same .npz weights and batch give PyTorch's logits, loss, gradients, and weights after one SGD
 * step (momentum, weight decay) and after one Adam step (weight decay), each from the same start.
 *
 * <p>The reference is PyTorch in float64 (exact enough for float32 inputs). Bounds, per element:
 * <ul>
 *   <li>logits and loss: a first-order bound on the rounding error of any float32 evaluation of the
 *       network (any summation order, with or without FMA), computed by the script from the layers:
 *       each conv/linear output of K = fan_in + 1 terms errs by at most
 *       {@code |W| e_in + gamma(K) (|W| (|a| + e_in) + |b|)}, ReLU keeps the error, max-pool takes the
 *       largest error of its window, and the mean cross-entropy moves by at most twice the mean of
 *       the largest logit error per row (plus the loss's own rounding);</li>
 *   <li>gradients: backward passes through ReLU and max-pool masks, so there is no cheap rigorous
 *       bound; instead the bound is scaled from PyTorch's own float32 error on the same tensor:
 *       {@code 16 * max|g32 - g64| + 64 u max|g64|} (max norm per tensor, u = 2^-24). An implementation
 *       16x less accurate than PyTorch's float32, or a wrong formula, fails;</li>
 *   <li>SGD step {@code p - lr (g + wd p)} (first step: the momentum buffer is the gradient): the gradient
 *       bound times lr, plus 4u (|p| + |p'|) for the update's own roundings;</li>
 *   <li>Adam's first step moves each weight by {@code lr g / (|g| + eps)} (the bias corrections cancel);
 *       its slope in g is at most {@code lr eps / (max(|g| - B, 0) + eps)^2} within the gradient bound B,
 *       so the bound is that slope times B, plus 8u lr + 4u (|p| + |p'|).</li>
 * </ul>
 * Skipped when torch is not importable, unless PANAMACNN_REQUIRE_TORCH=1 (set by .ci/run).
 */
class LeNetTorchParityTest {
    private static final double U = 0x1p-24;
    private static final int N = 16;
    private static final float SGD_LR = 0.1f, SGD_MOMENTUM = 0.9f, SGD_WD = 5e-4f;
    private static final double ADAM_LR = 1e-3, BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, ADAM_WD = 1e-4;

    @TempDir
    Path dir;

    private final List<String> failures = new ArrayList<>();
    private final Map<String, Double> worstRatio = new LinkedHashMap<>();

    static Sequential lenet(long seed) {
        return Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).seed(seed).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                Conv2d.builder(6, 16, 5, 5).seed(seed + 1).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                new Flatten(),
                Linear.builder(400, 120).seed(seed + 2).build(), new ReLU(),
                Linear.builder(120, 84).seed(seed + 3).build(), new ReLU(),
                Linear.builder(84, 10).seed(seed + 4).build());
    }

    private static Map<String, float[]> snapshot(List<Parameter> ps, boolean grads) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (Parameter p : ps) {
            m.put(p.name(), (grads ? p.grad() : p.value()).toArray());
        }
        return m;
    }

    @Test
    void lenetMatchesPyTorchForwardBackwardSgdAndAdam() throws Exception {
        PythonSupport.assumeModule("torch");
        long seed = Long.getLong("panamacnn.parity.seed", System.nanoTime());
        System.out.println("LeNetTorchParityTest: seed " + seed + " (rerun with -Dpanamacnn.parity.seed=" + seed + ")");
        SplittableRandom r = new SplittableRandom(seed);
        float[] xs = new float[N * 28 * 28];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) r.nextDouble(-0.8, 2.8); // the range of standardised Fashion-MNIST pixels
        }
        int[] labels = new int[N];
        float[] labelsF = new float[N];
        for (int i = 0; i < N; i++) {
            labels[i] = r.nextInt(10);
            labelsF[i] = labels[i];
        }

        float[] logits;
        float lossValue;
        Map<String, float[]> start, grads, afterSgd, afterAdam;
        try (Sequential net = lenet(r.nextLong()); CrossEntropyLoss loss = new CrossEntropyLoss();
             Tensor x = Tensor.of(xs, N, 1, 28, 28); Tensor y = Tensor.of(labelsF, N)) {
            net.save(dir.resolve("weights.npz"));
            x.saveNpy(dir.resolve("x.npy"));
            y.saveNpy(dir.resolve("labels.npy"));
            start = snapshot(net.parameters(), false);
            Tensor out = net.forward(x);
            logits = out.toArray();
            lossValue = loss.forward(out, labels);
            net.backward(loss.backward());
            grads = snapshot(net.parameters(), true);
            try (Sgd sgd = Sgd.builder(net, SGD_LR).momentum(SGD_MOMENTUM).weightDecay(SGD_WD).build()) {
                sgd.step();
            }
            afterSgd = snapshot(net.parameters(), false);
            net.load(dir.resolve("weights.npz")); // back to the start; the gradients stay
            Map<String, float[]> kept = snapshot(net.parameters(), true);
            for (String k : grads.keySet()) {
                assertThat(java.util.Arrays.equals(kept.get(k), grads.get(k))).as("gradient %s kept by load", k).isTrue();
            }
            try (Adam adam = Adam.builder(net, ADAM_LR).betas(BETA1, BETA2).eps(EPS).weightDecay(ADAM_WD).build()) {
                adam.step();
            }
            afterAdam = snapshot(net.parameters(), false);
        }
        Files.writeString(dir.resolve("hyper.json"), String.format(Locale.ROOT,
                "{\"sgd\": {\"lr\": %s, \"momentum\": %s, \"weight_decay\": %s}, \"adam\": {\"lr\": %s, \"beta1\": %s, "
                        + "\"beta2\": %s, \"eps\": %s, \"weight_decay\": %s}}",
                (double) SGD_LR, (double) SGD_MOMENTUM, (double) SGD_WD, ADAM_LR, BETA1, BETA2, EPS, ADAM_WD),
                StandardCharsets.UTF_8);

        Path script = Path.of(System.getProperty("panamacnn.root", ".")).resolve("scripts/lenet_parity.py");
        PythonSupport.Result res = PythonSupport.run(List.of(script.toAbsolutePath().toString(), dir.toString()), dir, 5);
        assertThat(res.exit()).as("lenet_parity.py output:\n%s", res.output()).isZero();
        Map<String, Tensor> t = Npz.readConverting(dir.resolve("torch.npz"));
        try {
            double[] logits64 = d(t, "logits");
            double[] logitsBound = d(t, "logits_bound");
            compare("logits", logits, logits64, logitsBound);
            compare("loss", new float[] {lossValue}, d(t, "loss"), d(t, "loss_bound"));

            for (String k : start.keySet()) {
                double[] g64 = d(t, "grad." + k);
                double[] g32 = d(t, "grad32." + k);
                double gb = 16 * maxAbsDiff(g32, g64) + 64 * U * maxAbs(g64);
                compare("grad " + k, grads.get(k), g64, fill(g64.length, gb));

                float[] p0 = start.get(k);
                double[] sgd64 = d(t, "sgd." + k);
                double[] sgdBound = new double[p0.length];
                for (int i = 0; i < p0.length; i++) {
                    sgdBound[i] = SGD_LR * gb + 4 * U * (Math.abs(p0[i]) + Math.abs(sgd64[i]));
                }
                compare("sgd step " + k, afterSgd.get(k), sgd64, sgdBound);

                double[] adam64 = d(t, "adam." + k);
                double[] adamBound = new double[p0.length];
                for (int i = 0; i < p0.length; i++) {
                    double g = g64[i] + ADAM_WD * p0[i];
                    double b = gb + ADAM_WD * 4 * U * Math.abs(p0[i]);
                    double near = Math.max(Math.abs(g) - b, 0) + EPS;
                    adamBound[i] = ADAM_LR * EPS / (near * near) * b + 8 * U * ADAM_LR
                            + 4 * U * (Math.abs(p0[i]) + Math.abs(adam64[i]));
                }
                compare("adam step " + k, afterAdam.get(k), adam64, adamBound);
            }
        } finally {
            t.values().forEach(Tensor::close);
        }
        StringBuilder sb = new StringBuilder("LeNetTorchParityTest: " + res.output().strip() + "; worst |java - torch64| / bound:");
        worstRatio.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.3g;", k, v)));
        System.out.println(sb);
        assertThat(worstRatio).as("quantities compared").hasSize(2 + 3 * 10);
        if (!failures.isEmpty()) {
            throw new AssertionError("seed " + seed + ": " + failures.size() + " quantities out of bounds:\n"
                    + String.join("\n", failures));
        }
    }

    private static double[] d(Map<String, Tensor> t, String key) {
        Tensor v = t.get(key);
        assertThat(v).as("torch.npz key %s", key).isNotNull();
        float[] f = v.toArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    private static double[] fill(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    private static double maxAbsDiff(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private void compare(String what, float[] actual, double[] exact, double[] bound) {
        if (actual.length != exact.length) {
            failures.add(what + ": " + actual.length + " elements, torch has " + exact.length);
            return;
        }
        double worst = 0;
        int worstAt = 0;
        for (int i = 0; i < actual.length; i++) {
            double err = Math.abs(actual[i] - exact[i]);
            double ratio = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err / bound[i];
            if (ratio > worst) {
                worst = ratio;
                worstAt = i;
            }
        }
        worstRatio.put(what, worst);
        if (worst > 1) {
            failures.add(String.format(Locale.ROOT, "%s[%d]: java %s, torch64 %s, |error| %.3g > bound %.3g",
                    what, worstAt, actual[worstAt], exact[worstAt], Math.abs(actual[worstAt] - exact[worstAt]),
                    bound[worstAt]));
        }
    }
}
