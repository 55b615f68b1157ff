package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

    @Test
    void exampleRunsAndGivesTheKnownBiasGradient() {
        float[] biasGrad = trainStep();
        // diff_bias[o] = sum of dy over n, y, x; max-pool backward of an all-ones gradient puts exactly
        // one 1 per window, and there are 2 images * 4 * 4 windows per channel.
        assertThat(biasGrad).containsExactly(32f, 32f, 32f, 32f);
    }

    @Test
    void readmeCodeBlockIsTheExampleVerbatim() throws IOException {
        Path root = Path.of(System.getProperty("panamacnn.root", "."));
        Path self = root.resolve("java/core/src/test/java/io/github/panamacnn/ReadmeExampleTest.java");
        Path readme = root.resolve("README.md");
        List<String> snippet = dedent(between(Files.readAllLines(self), BEGIN, END));
        List<String> lines = Files.readAllLines(readme);
        int marker = lines.indexOf(README_MARKER);
        assertThat(marker).as("README.md must contain the line %s", README_MARKER).isGreaterThanOrEqualTo(0);
        assertThat(lines.get(marker + 1)).as("the line after the marker opens the code block").isEqualTo("```java");
        List<String> block = new ArrayList<>();
        for (int i = marker + 2; i < lines.size() && !lines.get(i).equals("```"); i++) {
            block.add(lines.get(i));
        }
        assertThat(snippet).as("the example between the markers").hasSizeGreaterThan(5);
        assertThat(String.join("\n", block)).isEqualTo(String.join("\n", snippet));
    }

    private static List<String> between(List<String> lines, String begin, String end) {
        List<String> out = new ArrayList<>();
        boolean in = false;
        for (String l : lines) {
            if (l.strip().equals(begin)) {
                in = true;
            } else if (l.strip().equals(end)) {
                return out;
            } else if (in) {
                out.add(l);
            }
        }
        throw new AssertionError("markers " + begin + " / " + end + " not found");
    }

    /** Removes the indentation common to all non-blank lines, and trailing blanks. */
    private static List<String> dedent(List<String> lines) {
        int indent = Integer.MAX_VALUE;
        for (String l : lines) {
            if (!l.isBlank()) {
                indent = Math.min(indent, l.length() - l.stripLeading().length());
            }
        }
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            out.add(l.isBlank() ? "" : l.substring(indent).stripTrailing());
        }
        return out;
    }
}
