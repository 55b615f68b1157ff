package io.github.panamacnn.cli;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from the IDX files of Debian's {@code dataset-fashion-mnist}
 * ({@code /usr/share/datasets/fashion-mnist}: {@code train-images-idx3-ubyte.gz} and friends; the
 * uncompressed names are accepted too). Images are 28x28 bytes, scaled to {@code x/255} and then
 * standardised with the training set's mean 0.2860 and standard deviation 0.3530 (the same
 * preprocessing as {@code bench/lenet_torch.py}).
 */
record FashionMnist(float[] images, int[] labels, int count) {
    static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    static final int SIDE = 28;
    static final int PIXELS = SIDE * SIDE;
    static final float MEAN = 0.2860f;
    static final float STD = 0.3530f;
    static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** Why the data cannot be found in {@code dir}, with what to install or pass; null when it is there. */
    static String missingReason(Path dir) {
        for (String base : List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte")) {
            if (find(dir, base) == null) {
                return "Fashion-MNIST not found: " + dir.resolve(base + ".gz") + " does not exist. Install Debian's "
                        + "package (as root: apt-get install dataset-fashion-mnist; it puts the files in "
                        + DEFAULT_DIR + ") or pass --data DIR with the four IDX files (train-images-idx3-ubyte.gz, "
                        + "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)";
            }
        }
        return null;
    }

    private static Path find(Path dir, String base) {
        for (Path p : List.of(dir.resolve(base + ".gz"), dir.resolve(base))) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    /** The 60 000 training images (only the first {@code limit} when {@code limit > 0}). */
    static FashionMnist train(Path dir, int limit) throws IOException {
        return load(dir, "train", limit);
    }

    /** The 10 000 test images. */
    static FashionMnist test(Path dir) throws IOException {
        return load(dir, "t10k", 0);
    }

    private static FashionMnist load(Path dir, String prefix, int limit) throws IOException {
        String missing = missingReason(dir);
        if (missing != null) {
            throw new IOException(missing);
        }
        Path imagesPath = find(dir, prefix + "-images-idx3-ubyte");
        Path labelsPath = find(dir, prefix + "-labels-idx1-ubyte");
        byte[] rawLabels;
        int n;
        try (DataInputStream in = open(labelsPath)) {
            int magic = in.readInt();
            if (magic != 0x801) {
                throw new IOException(labelsPath + ": not an IDX label file (magic 0x" + Integer.toHexString(magic)
                        + ", expected 0x801)");
            }
            n = in.readInt();
            if (n <= 0) {
                throw new IOException(labelsPath + ": label count " + n);
            }
            if (limit > 0) {
                n = Math.min(n, limit);
            }
            rawLabels = readFully(in, n, labelsPath);
        }
        float[] images;
        try (DataInputStream in = open(imagesPath)) {
            int magic = in.readInt();
            int count = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            if (magic != 0x803 || rows != SIDE || cols != SIDE) {
                throw new IOException(imagesPath + ": not an IDX file of 28x28 images (magic 0x"
                        + Integer.toHexString(magic) + ", " + rows + "x" + cols + ")");
            }
            if (count < n) {
                throw new IOException(imagesPath + " holds " + count + " images but " + labelsPath + " needs " + n);
            }
            byte[] raw = readFully(in, n * PIXELS, imagesPath);
            images = new float[raw.length];
            for (int i = 0; i < raw.length; i++) {
                images[i] = ((raw[i] & 0xff) / 255.0f - MEAN) / STD;
            }
        }
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rawLabels[i];
            if (labels[i] < 0 || labels[i] > 9) {
                throw new IOException(labelsPath + ": label " + i + " is " + labels[i] + ", not 0..9");
            }
        }
        return new FashionMnist(images, labels, n);
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        if (p.toString().endsWith(".gz")) {
            in = new GZIPInputStream(in, 1 << 16);
        }
        return new DataInputStream(in);
    }

    private static byte[] readFully(DataInputStream in, int n, Path p) throws IOException {
        byte[] b = new byte[n];
        try {
            in.readFully(b);
        } catch (EOFException e) {
            throw new IOException(p + " is truncated (needs " + n + " more bytes after its header)", e);
        }
        return b;
    }
}
