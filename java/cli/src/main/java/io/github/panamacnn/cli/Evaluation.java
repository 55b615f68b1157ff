package io.github.panamacnn.cli;

import io.github.panamacnn.Sequential;
import io.github.panamacnn.Tensor;
import java.io.PrintWriter;
import java.util.Locale;

/** Test-set accuracy and confusion matrix of a network in inference mode. */
record Evaluation(long[][] confusion, int count) {
    private static final int BATCH = 1000;

    /** Runs {@code net} in eval mode over {@code data} (batches of 1000) and restores its mode. */
    static Evaluation run(Sequential net, FashionMnist data) {
        boolean wasTraining = net.isTraining();
        net.eval();
        long[][] confusion = new long[10][10];
        try {
            Tensor x = null;
            try {
                for (int start = 0; start < data.count(); start += BATCH) {
                    int b = Math.min(BATCH, data.count() - start);
                    if (x == null || x.dim(0) != b) {
                        if (x != null) {
                            x.close();
                        }
                        x = Tensor.zeros(b, 1, FashionMnist.SIDE, FashionMnist.SIDE);
                    }
                    java.lang.foreign.MemorySegment.copy(data.images(), start * FashionMnist.PIXELS, x.segment(),
                            java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, b * FashionMnist.PIXELS);
                    Tensor logits = net.forward(x);
                    for (int i = 0; i < b; i++) {
                        confusion[data.labels()[start + i]][argmax(logits, i)]++;
                    }
                }
            } finally {
                if (x != null) {
                    x.close();
                }
            }
        } finally {
            if (wasTraining) {
                net.train();
            }
        }
        return new Evaluation(confusion, data.count());
    }

    static int argmax(Tensor logits, int row) {
        long classes = logits.dim(1);
        long base = row * classes;
        int best = 0;
        float max = logits.get(base);
        for (int c = 1; c < classes; c++) {
            float v = logits.get(base + c);
            if (v > max) {
                max = v;
                best = c;
            }
        }
        return best;
    }

    long correct() {
        long c = 0;
        for (int i = 0; i < 10; i++) {
            c += confusion[i][i];
        }
        return c;
    }

    /** Accuracy in percent. */
    double accuracy() {
        return 100.0 * correct() / count;
    }

    /** Rows: true class; columns: predicted class; last column: per-class recall. */
    void printConfusion(PrintWriter out) {
        out.println("confusion matrix (rows: true class, columns: predicted class)");
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-13s", ""));
        for (int c = 0; c < 10; c++) {
            head.append(String.format(Locale.ROOT, "%6d", c));
        }
        out.println(head.append("  recall"));
        for (int t = 0; t < 10; t++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%d %-11s", t, FashionMnist.CLASSES.get(t)));
            long total = 0;
            for (int p = 0; p < 10; p++) {
                row.append(String.format(Locale.ROOT, "%6d", confusion[t][p]));
                total += confusion[t][p];
            }
            row.append(String.format(Locale.ROOT, "  %5.1f%%", total == 0 ? 0.0 : 100.0 * confusion[t][t] / total));
            out.println(row);
        }
    }
}
