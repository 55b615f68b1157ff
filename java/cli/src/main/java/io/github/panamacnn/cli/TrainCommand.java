package io.github.panamacnn.cli;

import io.github.panamacnn.Adam;
import io.github.panamacnn.CrossEntropyLoss;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Sequential;
import io.github.panamacnn.Sgd;
import io.github.panamacnn.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code panama-cnn train}: LeNet-5 on Fashion-MNIST with a progress bar, the test accuracy after each
 * epoch, a PNG of the curves, the trained weights as .npz, and a final summary line.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
                "Trains LeNet-5 on Fashion-MNIST (Debian's dataset-fashion-mnist) and reports the test accuracy "
                        + "after each epoch.",
                "Writes OUT/lenet5.npz (PyTorch state_dict keys, loadable with `predict` or in PyTorch) and "
                        + "OUT/lenet5-training.png (loss and accuracy curves).",
                "The defaults (Adam, lr 2e-3 halved after each epoch, batch 64, 4 epochs) reach about 89% test "
                        + "accuracy; PyTorch's "
                        + "classic recipe is --optimizer sgd --lr 0.01 --momentum 0.9 --batch 64."})
final class TrainCommand implements Callable<Integer> {
    enum OptimizerKind { sgd, adam }

    @Spec
    CommandSpec spec;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "4", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--optimizer", paramLabel = "sgd|adam", defaultValue = "adam",
            description = "Optimizer: sgd (PyTorch's SGD) or adam (default ${DEFAULT-VALUE}).")
    OptimizerKind optimizer;

    @Option(names = "--lr", paramLabel = "RATE",
            description = "Learning rate (default 2e-3 for adam, 0.01 for sgd).")
    Double lr;

    @Option(names = "--lr-decay", paramLabel = "F",
            description = "Multiply the learning rate by F after each epoch (default 0.5 for adam, 1 for sgd).")
    Double lrDecay;

    @Option(names = "--momentum", paramLabel = "M", defaultValue = "0.9",
            description = "SGD momentum (default ${DEFAULT-VALUE}; ignored by adam).")
    float momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", defaultValue = "0",
            description = "L2 weight decay (default ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--threads", paramLabel = "N",
            description = "Native kernel threads (default: the library's, i.e. the available processors).")
    Integer threads;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "Seed of the initial weights and of the shuffling (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "/usr/share/datasets/fashion-mnist",
            description = "Directory with the Fashion-MNIST IDX files (default ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".",
            description = "Where to write lenet5.npz and lenet5-training.png (default: the current directory).")
    Path out;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0",
            description = "Use only the first N training images (smoke tests; default: all 60000).")
    int limit;

    @Option(names = "--no-progress", description = "No progress bar (one line per epoch only).")
    boolean noProgress;

    @Option(names = "--bench-inference", hidden = true,
            description = "After training, time batch-256 and one-image inference and print a JSON line (bench/lenet.sh).")
    boolean benchInference;

    /** One epoch's figures. */
    record EpochResult(int epoch, double meanLoss, double accuracy, double trainSeconds, double imagesPerSecond) {
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        validate();
        double rate = lr != null ? lr : optimizer == OptimizerKind.adam ? 2e-3 : 0.01;
        double decay = lrDecay != null ? lrDecay : optimizer == OptimizerKind.adam ? 0.5 : 1.0;
        if (threads != null) {
            PanamaCnn.setNumThreads(threads);
        }
        String missing = FashionMnist.missingReason(data);
        if (missing != null) {
            spec.commandLine().getErr().println("panama-cnn train: " + missing);
            return 2;
        }
        long t0 = System.nanoTime();
        FashionMnist train = FashionMnist.train(data, limit);
        FashionMnist test = FashionMnist.test(data);
        stdout.printf(Locale.ROOT, "LeNet-5 on Fashion-MNIST: %d training / %d test images from %s; %s lr %s%s%s, "
                        + "batch %d, %d epoch(s), %d thread(s), %s, seed %d (data loaded in %.1f s)%n",
                train.count(), test.count(), data, optimizer, rate, decay == 1.0 ? "" : " (x" + decay + " per epoch)",
                optimizer == OptimizerKind.sgd ? ", momentum " + momentum : "", batch, epochs, PanamaCnn.numThreads(),
                PanamaCnn.activeIsa().id(), seed, (System.nanoTime() - t0) / 1e9);
        stdout.flush();

        Files.createDirectories(out);
        Path model = out.resolve("lenet5.npz");
        Path png = out.resolve("lenet5-training.png");
        List<double[]> lossCurve = new ArrayList<>();
        List<EpochResult> results = new ArrayList<>();
        try (Sequential net = LeNet5.create(seed); CrossEntropyLoss loss = new CrossEntropyLoss()) {
            Runnable step;
            java.util.function.DoubleConsumer setRate;
            AutoCloseable opt;
            if (optimizer == OptimizerKind.adam) {
                Adam adam = Adam.builder(net, rate).weightDecay(weightDecay).build();
                step = adam::step;
                setRate = adam::setLearningRate;
                opt = adam;
            } else {
                Sgd sgd = Sgd.builder(net, (float) rate).momentum(momentum).weightDecay(weightDecay).build();
                step = sgd::step;
                setRate = r -> sgd.setLearningRate((float) r);
                opt = sgd;
            }
            try (opt) {
                SplittableRandom shuffleRandom = new SplittableRandom(seed);
                int[] order = new int[train.count()];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                for (int epoch = 1; epoch <= epochs; epoch++) {
                    setRate.accept(rate * Math.pow(decay, epoch - 1));
                    shuffle(order, shuffleRandom);
                    results.add(trainEpoch(net, loss, step, train, order, epoch, lossCurve));
                    Evaluation ev = Evaluation.run(net, test);
                    EpochResult r = results.removeLast();
                    r = new EpochResult(epoch, r.meanLoss(), ev.accuracy(), r.trainSeconds(), r.imagesPerSecond());
                    results.add(r);
                    stdout.printf(Locale.ROOT, "epoch %d/%d: train loss %.4f, test accuracy %.2f%%, %.1f s "
                                    + "(%.0f images/s)%n", epoch, epochs, r.meanLoss(), r.accuracy(), r.trainSeconds(),
                            r.imagesPerSecond());
                    stdout.flush();
                }
            } catch (Exception e) {
                if (e instanceof IOException io) {
                    throw io;
                }
                if (e instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(e);
            }
            net.save(model);
            if (benchInference) {
                InferenceBench.run(net, test, results, stdout);
            }
        }
        TrainingPlot.write(png, lossCurve, results);
        double totalTrain = results.stream().mapToDouble(EpochResult::trainSeconds).sum();
        EpochResult last = results.getLast();
        stdout.printf(Locale.ROOT, "wrote %s and %s%n", model, png);
        stdout.printf(Locale.ROOT, "test accuracy %.2f%% after %d epoch(s); %.1f s per epoch (training; %.0f "
                        + "images/s), %.1f s in all%n", last.accuracy(), epochs, totalTrain / epochs,
                train.count() * (double) epochs / totalTrain, (System.nanoTime() - t0) / 1e9);
        stdout.flush();
        return 0;
    }

    private void validate() {
        if (epochs < 1) {
            throw new ParameterException(spec.commandLine(), "--epochs must be >= 1 but was " + epochs);
        }
        if (batch < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be >= 1 but was " + batch);
        }
        if (limit < 0) {
            throw new ParameterException(spec.commandLine(), "--limit must be >= 0 but was " + limit);
        }
        if (lr != null && !(lr > 0 && lr < 10)) {
            throw new ParameterException(spec.commandLine(), "--lr must be in (0, 10) but was " + lr);
        }
        if (lrDecay != null && !(lrDecay > 0 && lrDecay <= 1)) {
            throw new ParameterException(spec.commandLine(), "--lr-decay must be in (0, 1] but was " + lrDecay);
        }
        if (threads != null && (threads < 1 || threads > 256)) {
            throw new ParameterException(spec.commandLine(), "--threads must be in 1..256 but was " + threads);
        }
    }

    private static void shuffle(int[] a, SplittableRandom r) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private EpochResult trainEpoch(Sequential net, CrossEntropyLoss loss, Runnable step, FashionMnist train,
                                   int[] order, int epoch, List<double[]> lossCurve) {
        int n = train.count();
        int batches = (n + batch - 1) / batch;
        int curveEvery = Math.max(1, batches / 50);
        double lossSum = 0;
        double curveSum = 0;
        int curveCount = 0;
        int[] labels = new int[batch];
        int[] lastLabels = new int[n % batch == 0 ? batch : n % batch];
        Tensor full = Tensor.zeros(batch, 1, FashionMnist.SIDE, FashionMnist.SIDE);
        Tensor tail = n % batch == 0 ? full : Tensor.zeros(n % batch, 1, FashionMnist.SIDE, FashionMnist.SIDE);
        PrintStream err = System.err;
        ProgressBar bar = noProgress ? null : new ProgressBarBuilder()
                .setTaskName(String.format(Locale.ROOT, "epoch %d/%d", epoch, epochs))
                .setInitialMax(n).setUnit(" img", 1).showSpeed().setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS)
                .setUpdateIntervalMillis(200).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(err)).build();
        long start = System.nanoTime();
        try {
            for (int bi = 0; bi < batches; bi++) {
                int from = bi * batch;
                int b = Math.min(batch, n - from);
                Tensor x = b == batch ? full : tail;
                int[] y = b == batch ? labels : lastLabels;
                MemorySegment dst = x.segment();
                for (int i = 0; i < b; i++) {
                    int idx = order[from + i];
                    MemorySegment.copy(train.images(), idx * FashionMnist.PIXELS, dst, ValueLayout.JAVA_FLOAT,
                            (long) i * FashionMnist.PIXELS * Float.BYTES, FashionMnist.PIXELS);
                    y[i] = train.labels()[idx];
                }
                float l = loss.forward(net.forward(x), y);
                net.backward(loss.backward());
                step.run();
                if (!Float.isFinite(l)) {
                    throw new IllegalStateException("the loss became " + l + " in epoch " + epoch + ", batch " + bi
                            + ": the learning rate is too high for this run (try a smaller --lr)");
                }
                lossSum += l * b;
                curveSum += l;
                curveCount++;
                if (curveCount == curveEvery || bi == batches - 1) {
                    lossCurve.add(new double[] {epoch - 1 + (bi + 1) / (double) batches, curveSum / curveCount});
                    curveSum = 0;
                    curveCount = 0;
                }
                if (bar != null) {
                    bar.stepBy(b);
                    bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", l));
                }
            }
        } finally {
            if (bar != null) {
                bar.close();
            }
            full.close();
            tail.close();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new EpochResult(epoch, lossSum / n, Double.NaN, seconds, n / seconds);
    }
}
