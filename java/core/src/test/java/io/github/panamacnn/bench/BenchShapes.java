package io.github.panamacnn.bench;

import io.github.panamacnn.Conv2dGeometry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shapes of {@code bench/shapes.txt}, read from that file, so the JMH suite and the native
 * bench time the same rows under the same names. Format (see the file's header):
 * {@code name op N C_in H W C_out kH kW stride pad [groups [dilation]]}; square stride, symmetric
 * padding, square dilation (PyTorch's convention: 1 = dense; the native bench gives oneDNN
 * {@code dilation - 1}). Rows without the optional columns have groups 1 and dilation 1.
 *
 * <p>The file is {@code -Dpanamacnn.bench.shapes=FILE}, else the first {@code bench/shapes.txt}
 * found from the working directory upwards (the repository root for {@code scripts/bench.sh},
 * {@code java/core} for Maven's tests).
 */
record BenchShapes(String name, String op, int n, int c, int h, int w, int oc, int kh, int kw, int stride, int pad,
                   int groups, int dilation) {

    static final String FILE_PROPERTY = "panamacnn.bench.shapes";

    boolean isConv() {
        return op.equals("conv");
    }

    boolean isMaxPool() {
        return op.equals("maxpool");
    }

    long[] srcShape() {
        return new long[] {n, c, h, w};
    }

    /** The convolution's geometry; throws for a max-pool row. */
    Conv2dGeometry geometry() {
        if (!isConv()) {
            throw new IllegalStateException(name + " is a " + op + " row, not a convolution");
        }
        return Conv2dGeometry.of(n, c, h, w, oc, kh, kw, stride, stride, pad, pad, pad, pad, dilation, dilation, groups);
    }

    /** The row called {@code name} of the shapes file. */
    static BenchShapes named(String name) {
        Path file = file();
        for (BenchShapes s : parse(read(file), file.toString())) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no shape named '" + name + "' in " + file);
    }

    /** Every row of the shapes file, in file order. */
    static List<BenchShapes> all() {
        Path file = file();
        return parse(read(file), file.toString());
    }

    static Path file() {
        String prop = System.getProperty(FILE_PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("bench").resolve("shapes.txt");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("bench/shapes.txt not found from " + Path.of("").toAbsolutePath()
                + " upwards; run from the repository or set -D" + FILE_PROPERTY + "=FILE");
    }

    private static List<String> read(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Parses the lines of a shapes file; {@code where} names it in error messages. */
    static List<BenchShapes> parse(List<String> lines, String where) {
        List<BenchShapes> shapes = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String[] f = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
            if (f.length == 1 && f[0].isEmpty()) {
                continue;
            }
            String at = where + ":" + (i + 1);
            if (f.length < 11 || f.length > 13) {
                throw new IllegalArgumentException(at + ": expected 11 to 13 columns, got " + f.length + ": " + line);
            }
            if (!f[1].equals("conv") && !f[1].equals("maxpool")) {
                throw new IllegalArgumentException(at + ": op must be conv or maxpool, got '" + f[1] + "'");
            }
            int[] v = new int[11];
            v[9] = 1; // groups, when the 12th column is absent
            v[10] = 1; // dilation, when the 13th column is absent
            for (int k = 0; k < f.length - 2; k++) {
                try {
                    v[k] = Integer.parseInt(f[k + 2]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(at + ": column " + (k + 3) + " is not an integer: " + f[k + 2]);
                }
            }
            if (v[10] < 1 || (v[10] != 1 && !f[1].equals("conv"))) {
                throw new IllegalArgumentException(at + ": dilation (column 13) must be >= 1, and 1 for maxpool, got "
                        + v[10]);
            }
            shapes.add(new BenchShapes(f[0], f[1], v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]));
        }
        return shapes;
    }

    /** Deterministic pseudo-random values in [-1, 1). */
    static float[] randomData(long count, long seed) {
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many elements for a float[]: " + count);
        }
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1.0, 1.0);
        }
        return v;
    }

    static long count(long... shape) {
        long c = 1;
        for (long d : shape) {
            c = Math.multiplyExact(c, d);
        }
        return c;
    }
}
