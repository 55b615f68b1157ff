package io.github.panamacnn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.panamacnn.Npz;
import io.github.panamacnn.Tensor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Smoke test of {@code train} and {@code predict} on a few hundred Fashion-MNIST images (one epoch).
 * The dataset comes from Debian's dataset-fashion-mnist (installed by .ci/run); when it is missing the
 * test installs it if it runs as root with apt-get, and is skipped (saying what to install) otherwise.
 */
class TrainCommandTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static void assumeDataset() throws Exception {
        Path d = FashionMnist.DEFAULT_DIR;
        if (FashionMnist.missingReason(d) != null && "root".equals(System.getProperty("user.name"))
                && Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
            ProcessBuilder pb = new ProcessBuilder("/usr/bin/apt-get", "install", "-y", "-qq", "dataset-fashion-mnist")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process p = pb.start();
            p.waitFor(5, TimeUnit.MINUTES);
        }
        String missing = FashionMnist.missingReason(d);
        Assumptions.assumeTrue(missing == null, () -> "skipped: " + missing);
    }

    private static double accuracy(String text, Pattern p) {
        Matcher m = p.matcher(text);
        assertThat(m.find()).as("pattern %s in:\n%s", p, text).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void trainsAFewHundredImagesThenPredictReproducesTheAccuracy() throws Exception {
        assumeDataset();
        Run train = run("train", "--epochs", "1", "--limit", "512", "--batch", "32", "--out", dir.toString(),
                "--no-progress", "--seed", "3");
        assertThat(train.exit()).as("exit; out:\n%s\nerr:\n%s", train.out(), train.err()).isZero();
        assertThat(train.out()).contains("512 training / 10000 test images").contains("epoch 1/1: train loss");
        double trained = accuracy(train.out(), Pattern.compile("^test accuracy ([0-9.]+)% after 1 epoch\\(s\\); "
                + "[0-9.]+ s per epoch", Pattern.MULTILINE));
        assertThat(trained).as("accuracy after 512 images (chance is 10%)").isGreaterThan(35.0);

        Path model = dir.resolve("lenet5.npz");
        Path png = dir.resolve("lenet5-training.png");
        byte[] pngBytes = Files.readAllBytes(png);
        assertThat(Arrays.copyOf(pngBytes, 8)).isEqualTo(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        Map<String, Tensor> weights = Npz.read(model);
        try {
            assertThat(weights.keySet()).containsExactly("0.weight", "0.bias", "3.weight", "3.bias", "7.weight",
                    "7.bias", "9.weight", "9.bias", "11.weight", "11.bias");
            assertThat(weights.get("0.weight").shape()).isEqualTo(new long[] {6, 1, 5, 5});
            assertThat(weights.get("7.weight").shape()).isEqualTo(new long[] {120, 400});
        } finally {
            weights.values().forEach(Tensor::close);
        }

        Run predict = run("predict", "--model", model.toString());
        assertThat(predict.exit()).as("exit; err:\n%s", predict.err()).isZero();
        double predicted = accuracy(predict.out(), Pattern.compile("accuracy ([0-9.]+)% \\("));
        assertThat(predicted).as("predict on the saved weights vs train's last evaluation").isEqualTo(trained);
        assertThat(predict.out()).contains("confusion matrix").contains("Ankle boot");
        long rows = predict.out().lines().filter(l -> l.matches("^\\d [A-Za-z].*%$")).count();
        assertThat(rows).as("confusion matrix rows").isEqualTo(10);
    }

    @Test
    void missingDataSaysWhatToInstallOrPass() {
        Run r = run("train", "--data", dir.resolve("nowhere").toString(), "--no-progress");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("apt-get install dataset-fashion-mnist").contains("--data DIR");
        Run p = run("predict", "--model", dir.resolve("none.npz").toString());
        assertThat(p.exit()).isEqualTo(2);
        assertThat(p.err()).contains("no model file");
    }

    @Test
    void badOptionsAreRejected() {
        assertThat(run("train", "--epochs", "0").err()).contains("--epochs must be >= 1");
        assertThat(run("train", "--batch", "-3").err()).contains("--batch must be >= 1");
        assertThat(run("train", "--optimizer", "rmsprop").err()).contains("rmsprop");
    }
}
