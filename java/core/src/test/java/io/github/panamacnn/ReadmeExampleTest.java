package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The API example of README.md: it must compile, run, give the right answer, and be the same text
 * as the README's code block (so that the two cannot drift apart).
 */
class ReadmeExampleTest {

    private static final String BEGIN = "// README-EXAMPLE-BEGIN";
    private static final String END = "// README-EXAMPLE-END";
    private static final String README_MARKER = "<!-- README-EXAMPLE: java/core/src/test/java/io/github/panamacnn/"
            + "ReadmeExampleTest.java -->";

    // README-EXAMPLE-BEGIN
    /** One training step of conv(3->4, 3x3, pad 1) then 2x2 max-pool; returns the bias gradient. */
    static float[] trainStep() {
        float[] pixels = new float[2 * 3 * 8 * 8];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (i % 7) - 3f;
        }
        try (Tensor x = Tensor.of(pixels, 2, 3, 8, 8);                  // owned: freed by close()
             Conv2d conv = Conv2d.builder(3, 4, 3, 3).padding(1).seed(42).build();
             MaxPool2d pool = MaxPool2d.builder(2, 2).build();
             Tensor dz = Tensor.zeros(2, 4, 4, 4).fill(1f)) {           // dLoss/dz for loss = sum(z)
            Tensor y = conv.forward(x);       // [2, 4, 8, 8], owned by conv
            Tensor z = pool.forward(y);       // [2, 4, 4, 4], owned by pool
            Tensor dy = pool.backward(dz);    // [2, 4, 8, 8]: 1 at each window's maximum, else 0
            Tensor dx = conv.backward(dy);    // [2, 3, 8, 8]; also overwrites conv.weightGrad(), conv.biasGrad()
            System.out.println("z " + Arrays.toString(z.shape()) + ", dx " + Arrays.toString(dx.shape()));
            return conv.biasGrad().toArray(); // copy out before conv.close() frees it
        }
    }
    // README-EXAMPLE-END

    /** What one training step of the README's network leaves behind. */
    private record Step(float[] z, int[] indices, float[] dx, float[] weightGrad, float[] biasGrad) {
    }

    /**
     * The README's training step with an explicit backend, and optionally the seeded weights and bias scaled
     * by 16 and rounded to integers: then every conv sum is an exact float (integer pixels, integer weights,
     * short reductions), so any two correct backends must agree exactly, max-pool ties included.
     */
    private static Step step(Backend backend, boolean integerWeights) {
        float[] pixels = new float[2 * 3 * 8 * 8];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (i % 7) - 3f;
        }
        try (Tensor x = Tensor.of(pixels, 2, 3, 8, 8);
             Conv2d conv = Conv2d.builder(3, 4, 3, 3).padding(1).seed(42).backend(backend).build();
             MaxPool2d pool = MaxPool2d.builder(2, 2).backend(backend).build();
             Tensor dz = Tensor.zeros(2, 4, 4, 4).fill(1f)) {
            if (integerWeights) {
                conv.weight().copyFrom(roundedTimes16(conv.weight().toArray()));
                conv.bias().copyFrom(roundedTimes16(conv.bias().toArray()));
            }
            Tensor z = pool.forward(conv.forward(x));
            Tensor dx = conv.backward(pool.backward(dz));
            return new Step(z.toArray(), pool.indices(), dx.toArray(), conv.weightGrad().toArray(),
                    conv.biasGrad().toArray());
        }
    }

    private static int count(float[] a, float v) {
        int n = 0;
        for (float x : a) {
            n += x == v ? 1 : 0;
        }
        return n;
    }

    private static int countSign(float[] a, int sign) {
        int n = 0;
        for (float x : a) {
            n += Math.signum(x) == sign ? 1 : 0;
        }
        return n;
    }

    /** v + 0f: -0 becomes +0 (which zero a sum of exact terms ends on is not a kernel's decision). */
    private static float[] plusZero(float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] + 0f;
        }
        return r;
    }

    private static float[] roundedTimes16(float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.round(a[i] * 16);
        }
        return r;
    }

    @Test
    void exampleRunsAndMatchesItsTwinOnTheDefaultBackend() {
        float[] biasGrad = trainStep();
        assertThat(biasGrad).hasSize(4);
        // the twin below is the same computation (so what is checked of the twin holds for the example)
        assertThat(step(Backend.defaultBackend(), false).biasGrad()).containsExactly(biasGrad);
    }

    /**
     * What the kernels decide - which tap wins each window, the input gradient, the weight gradient - must
     * equal the reference backend's (+0 == -0) at every ISA level (integer weights make every value exact).
     * (The bias gradient is no check of the kernels: with an all-ones dLoss/dz it is the window count, 32,
     * for every weight tensor.)
     */
    @Test
    void examplesGradientsEqualTheReferenceAtEveryIsaLevel() {
        Step ref = step(Backend.reference(), true);
        assertThat(count(ref.weightGrad(), 0) < ref.weightGrad().length).as("a weight gradient not all zero").isTrue();
        assertThat(countSign(ref.dx(), 1) > 0 && countSign(ref.dx(), -1) > 0).as("dx with both signs").isTrue();
        Isa before = PanamaCnn.activeIsa();
        int levels = 0;
        try {
            for (Isa isa : Isa.values()) {
                if (isa.level() > PanamaCnn.detectedIsa().level()) {
                    continue;
                }
                PanamaCnn.setMaxIsa(isa);
                Step nat = step(Backend.nativeBackend(), true);
                assertThat(plusZero(nat.z())).as("pooled output, isa %s", isa.id())
                        .containsExactly(plusZero(ref.z()));
                assertThat(nat.indices()).as("max-pool indices, isa %s", isa.id()).containsExactly(ref.indices());
                assertThat(plusZero(nat.dx())).as("dx, isa %s", isa.id()).containsExactly(plusZero(ref.dx()));
                assertThat(plusZero(nat.weightGrad())).as("weight gradient, isa %s", isa.id())
                        .containsExactly(plusZero(ref.weightGrad()));
                assertThat(plusZero(nat.biasGrad())).as("bias gradient, isa %s", isa.id())
                        .containsExactly(plusZero(ref.biasGrad()));
                levels++;
            }
        } finally {
            PanamaCnn.setMaxIsa(before);
        }
        assertThat(levels).isEqualTo(PanamaCnn.detectedIsa().level() + 1);
    }

    @Test
    void readmeCodeBlockIsTheExampleVerbatim() throws IOException {
        Path root = Path.of(System.getProperty("panamacnn.root", "."));
        Path self = root.resolve("java/core/src/test/java/io/github/panamacnn/ReadmeExampleTest.java");
        List<String> snippet = ReadmeSnippets.dedent(ReadmeSnippets.between(Files.readAllLines(self), BEGIN, END));
        List<String> block = ReadmeSnippets.blockAfter(Files.readAllLines(root.resolve("README.md")), README_MARKER);
        assertThat(snippet).as("the example between the markers").hasSizeGreaterThan(5);
        assertThat(String.join("\n", block)).isEqualTo(String.join("\n", snippet));
    }
}
