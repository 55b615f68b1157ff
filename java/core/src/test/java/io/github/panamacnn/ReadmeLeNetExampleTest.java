package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first example (one SGD step of LeNet-5 from a PyTorch-style .npz, saved back): it must
 * compile, run, agree with the same step on the reference backend, and be the README's code block
 * verbatim.
 */
class ReadmeLeNetExampleTest {

    private static final String BEGIN = "// README-LENET-BEGIN";
    private static final String END = "// README-LENET-END";
    private static final String README_MARKER = "<!-- README-EXAMPLE: java/core/src/test/java/io/github/panamacnn/"
            + "ReadmeLeNetExampleTest.java -->";

    // README-LENET-BEGIN
    /** One SGD step of LeNet-5 on a batch x [N, 1, 28, 28] with class labels; returns the loss. */
    static float trainStep(Path weights, Tensor x, int[] labels) throws IOException {
        try (Sequential net = Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                Conv2d.builder(6, 16, 5, 5).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                new Flatten(),
                Linear.builder(400, 120).build(), new ReLU(),
                Linear.builder(120, 84).build(), new ReLU(),
                Linear.builder(84, 10).build());
             CrossEntropyLoss loss = new CrossEntropyLoss();
             Sgd sgd = Sgd.builder(net, 0.01f).momentum(0.9f).weightDecay(5e-4f).build()) {
            net.load(weights);                       // NumPy .npz, keys = PyTorch state_dict keys ("0.weight", ...)
            Tensor logits = net.forward(x);          // [N, 10], owned by net
            float l = loss.forward(logits, labels);  // mean over the batch, like PyTorch
            net.backward(loss.backward());           // conv1's input gradient is never computed
            sgd.step();                              // PyTorch's SGD update rule
            net.save(weights);                       // written back: numpy.load + load_state_dict in PyTorch
            return l;
        }
    }
    // README-LENET-END

    /** The example's step on an explicit backend (the twin the example is checked against). */
    private static float twinStep(Backend be, Path weights, Tensor x, int[] labels) throws IOException {
        try (Sequential net = Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).backend(be).build(), new ReLU(be),
                MaxPool2d.builder(2, 2).backend(be).build(),
                Conv2d.builder(6, 16, 5, 5).backend(be).build(), new ReLU(be), MaxPool2d.builder(2, 2).backend(be).build(),
                new Flatten(),
                Linear.builder(400, 120).backend(be).build(), new ReLU(be),
                Linear.builder(120, 84).backend(be).build(), new ReLU(be),
                Linear.builder(84, 10).backend(be).build());
             CrossEntropyLoss loss = new CrossEntropyLoss(be);
             Sgd sgd = Sgd.builder(net, 0.01f).momentum(0.9f).weightDecay(5e-4f).build()) {
            net.load(weights);
            float l = loss.forward(net.forward(x), labels);
            net.backward(loss.backward());
            sgd.step();
            net.save(weights);
            return l;
        }
    }

    /** Initial weights: a differently seeded network saved to {@code file}. */
    private static void writeInitialWeights(Path file) throws IOException {
        try (Sequential net = Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).seed(11).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                Conv2d.builder(6, 16, 5, 5).seed(12).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                new Flatten(),
                Linear.builder(400, 120).seed(13).build(), new ReLU(),
                Linear.builder(120, 84).seed(14).build(), new ReLU(),
                Linear.builder(84, 10).seed(15).build())) {
            net.save(file);
        }
    }

    @Test
    void exampleStepEqualsTheReferenceStep(@TempDir Path dir) throws IOException {
        Path init = dir.resolve("init.npz");
        writeInitialWeights(init);
        Path nat = Files.copy(init, dir.resolve("native.npz"));
        Path ref = Files.copy(init, dir.resolve("reference.npz"));
        SplittableRandom r = new SplittableRandom(7);
        float[] pixels = new float[8 * 28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) r.nextDouble();
        }
        int[] labels = {0, 1, 2, 3, 4, 5, 6, 9};
        try (Tensor x = Tensor.of(pixels, 8, 1, 28, 28)) {
            float lossNative = trainStep(nat, x, labels);
            float lossRef = twinStep(Backend.reference(), ref, x, labels);
            // float32 kernels vs the double-accumulating reference: relative rounding differences of
            // ~1e-6 per layer; a wrong kernel is off by far more than 1e-4.
            assertThat(lossNative).isCloseTo(lossRef, org.assertj.core.data.Offset.offset(1e-4f * Math.abs(lossRef)));
            assertThat(lossRef).isBetween(1.5f, 3.5f); // near log(10) for an untrained net
            try (var before = new Closing(Npz.read(init)); var a = new Closing(Npz.read(nat));
                 var b = new Closing(Npz.read(ref))) {
                assertThat(a.m.keySet()).containsExactlyElementsOf(b.m.keySet())
                        .contains("0.weight", "0.bias", "3.weight", "7.weight", "11.bias");
                for (String k : b.m.keySet()) {
                    float[] w0 = before.m.get(k).toArray(), wa = a.m.get(k).toArray(), wb = b.m.get(k).toArray();
                    double maxStep = 0, maxDiff = 0;
                    for (int i = 0; i < wb.length; i++) {
                        maxStep = Math.max(maxStep, Math.abs(wb[i] - w0[i]));
                        maxDiff = Math.max(maxDiff, Math.abs(wa[i] - wb[i]));
                    }
                    assertThat(maxStep).as("%s moved in the SGD step", k).isGreaterThan(0);
                    assertThat(maxDiff).as("%s after the step, native vs reference", k)
                            .isLessThanOrEqualTo(1e-3 * maxStep + 1e-7);
                }
            }
        }
    }

    /** Closes every tensor of a map read from a file. */
    private record Closing(Map<String, Tensor> m) implements AutoCloseable {
        @Override
        public void close() {
            m.values().forEach(Tensor::close);
        }
    }

    @Test
    void readmeCodeBlockIsTheExampleVerbatim() throws IOException {
        Path root = Path.of(System.getProperty("panamacnn.root", "."));
        Path self = root.resolve("java/core/src/test/java/io/github/panamacnn/ReadmeLeNetExampleTest.java");
        List<String> snippet = ReadmeSnippets.dedent(ReadmeSnippets.between(Files.readAllLines(self), BEGIN, END));
        List<String> block = ReadmeSnippets.blockAfter(Files.readAllLines(root.resolve("README.md")), README_MARKER);
        assertThat(snippet).as("the example between the markers").hasSizeGreaterThan(5);
        assertThat(String.join("\n", block)).isEqualTo(String.join("\n", snippet));
    }
}
