package io.github.panamacnn.cli;

import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Sequential;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panama-cnn predict}: a trained LeNet-5 on the Fashion-MNIST test set: accuracy and confusion matrix. */
@Command(name = "predict",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Runs a LeNet-5 .npz (from `train`, or saved from PyTorch with the same nn.Sequential) on the "
                + "10 000 Fashion-MNIST test images; prints the accuracy and the confusion matrix.")
final class PredictCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", defaultValue = "lenet5.npz",
            description = "The weights (default ${DEFAULT-VALUE}).")
    Path model;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "/usr/share/datasets/fashion-mnist",
            description = "Directory with the Fashion-MNIST IDX files (default ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--threads", paramLabel = "N", description = "Native kernel threads (default: the library's).")
    Integer threads;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (threads != null) {
            PanamaCnn.setNumThreads(threads);
        }
        if (!Files.isRegularFile(model)) {
            spec.commandLine().getErr().println("panama-cnn predict: no model file " + model
                    + " (train one with ./panama-cnn train, or pass --model FILE)");
            return 2;
        }
        String missing = FashionMnist.missingReason(data);
        if (missing != null) {
            spec.commandLine().getErr().println("panama-cnn predict: " + missing);
            return 2;
        }
        FashionMnist test = FashionMnist.test(data);
        try (Sequential net = LeNet5.create(0)) {
            net.load(model);
            long t0 = System.nanoTime();
            Evaluation ev = Evaluation.run(net, test);
            double s = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "%s on %d test images: accuracy %.2f%% (%d correct), %.2f s (%.0f images/s)%n",
                    model, test.count(), ev.accuracy(), ev.correct(), s, test.count() / s);
            ev.printConfusion(out);
        }
        out.flush();
        return 0;
    }
}
