package io.github.panamacnn.cli;

import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Sequential;
import io.github.panamacnn.Tensor;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The inference half of bench/lenet.sh, on the trained network in eval mode: batch-256 throughput over
 * the test set (at least 2 s), and the median latency of 2000 one-image forwards after 2000 warm-up
 * calls, with the bytes the calling thread allocated per one-image call. Prints one JSON line.
 */
final class InferenceBench {
    private InferenceBench() {
    }

    static void run(Sequential net, FashionMnist test, List<TrainCommand.EpochResult> epochs, PrintWriter out) {
        net.eval();
        int px = FashionMnist.PIXELS;
        double imagesPerSecond;
        try (Tensor x = Tensor.zeros(256, 1, 28, 28)) {
            for (int i = 0; i < 5; i++) {
                net.forward(x);
            }
            long t0 = System.nanoTime();
            long n = 0;
            while (n < 20 || System.nanoTime() - t0 < 2_000_000_000L) {
                for (int start = 0; start + 256 <= test.count(); start += 256) {
                    MemorySegment.copy(test.images(), start * px, x.segment(), ValueLayout.JAVA_FLOAT, 0, 256 * px);
                    net.forward(x);
                    n++;
                }
            }
            imagesPerSecond = n * 256 / ((System.nanoTime() - t0) / 1e9);
        }
        double medianMicros;
        double bytesPerCall;
        try (Tensor one = Tensor.zeros(1, 1, 28, 28)) {
            MemorySegment.copy(test.images(), 0, one.segment(), ValueLayout.JAVA_FLOAT, 0, px);
            for (int i = 0; i < 2000; i++) {
                net.forward(one);
            }
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long[] ns = new long[2000];
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < ns.length; i++) {
                long t = System.nanoTime();
                net.forward(one);
                ns[i] = System.nanoTime() - t;
            }
            bytesPerCall = (mx.getCurrentThreadAllocatedBytes() - before) / (double) ns.length;
            Arrays.sort(ns);
            medianMicros = ns[ns.length / 2] / 1000.0;
        }
        net.train();
        String epochSeconds = epochs.stream().map(e -> String.format(Locale.ROOT, "%.3f", e.trainSeconds()))
                .collect(Collectors.joining(", "));
        String acc = epochs.stream().map(e -> String.format(Locale.ROOT, "%.2f", e.accuracy()))
                .collect(Collectors.joining(", "));
        out.printf(Locale.ROOT, "{\"framework\": \"panama-cnn %s\", \"threads\": %d, \"isa\": \"%s\", "
                        + "\"epoch_seconds\": [%s], \"accuracy\": [%s], \"infer256_images_per_s\": %.1f, "
                        + "\"latency1_median_us\": %.2f, \"latency1_bytes_allocated_per_call\": %.1f}%n",
                PanamaCnn.version(), PanamaCnn.numThreads(), PanamaCnn.activeIsa().id(), epochSeconds, acc,
                imagesPerSecond, medianMicros, bytesPerCall);
        out.flush();
    }
}
