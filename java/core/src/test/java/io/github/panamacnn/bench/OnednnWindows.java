package io.github.panamacnn.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;

/**
 * oneDNN timed inside a {@link LayerBench} fork, in short windows between the layer's measurement
 * iterations, so that both libraries' medians come from the same seconds of the same process (the
 * native bench times oneDNN minutes away from the JMH row, and this VM has slow phases lasting
 * seconds: bench/README.md, "oneDNN in the JMH forks").
 *
 * <p>Before each measurement iteration, for every variant of the row (in an order that rotates from one
 * window to the next): one untimed call (the layer's iteration has evicted oneDNN's tensors, as the
 * layer's warm-up re-warms its own), then single calls timed with {@link System#nanoTime} until
 * {@link #WINDOW_NANOS} have passed and at least {@link #MIN_SAMPLES_PER_WINDOW} were taken (at most
 * {@link #MAX_SAMPLES_PER_WINDOW}). At the end of the trial the median of every variant's samples is
 * appended, one JSON object per line, to the file given by {@value #OUT_PROPERTY}, which
 * {@link BenchJoin} reads.
 */
final class OnednnWindows implements AutoCloseable {

    /** Path of libpcnn-onednn-layer.so; unset: LayerBench times the layer alone. */
    static final String LIBRARY_PROPERTY = "panamacnn.bench.onednn";
    /** The JSON-lines file the medians are appended to (needed with {@value #LIBRARY_PROPERTY}). */
    static final String OUT_PROPERTY = "panamacnn.bench.onednn.out";

    static final long WINDOW_NANOS = 100_000_000L;
    static final int MIN_SAMPLES_PER_WINDOW = 3;
    static final int MAX_SAMPLES_PER_WINDOW = 20_000;

    private final BenchShapes shape;
    private final int threads;
    private final OnednnLayer.Pass pass;
    private final Path out;
    private final OnednnLayer[] layers;
    private final long[][] samples;
    private final int[] counts;
    private int windows;

    private OnednnWindows(BenchShapes shape, int threads, OnednnLayer.Pass pass, Path out, OnednnLayer[] layers) {
        this.shape = shape;
        this.threads = threads;
        this.pass = pass;
        this.out = out;
        this.layers = layers;
        this.samples = new long[layers.length][1024];
        this.counts = new int[layers.length];
    }

    /**
     * The windows for one trial when {@value #LIBRARY_PROPERTY} is set, else null. {@code pass}: what the fork
     * times of the layer ({@link OnednnLayer.Pass#FWD_NOIDX}: a max-pool in eval()).
     */
    static OnednnWindows fromProperties(BenchShapes shape, int threads, OnednnLayer.Pass pass) {
        String lib = System.getProperty(LIBRARY_PROPERTY, "");
        if (lib.isEmpty()) {
            return null;
        }
        String outFile = System.getProperty(OUT_PROPERTY, "");
        if (outFile.isEmpty()) {
            throw new IllegalArgumentException(LIBRARY_PROPERTY + " is set but " + OUT_PROPERTY
                    + " (the file the oneDNN medians go to) is not");
        }
        if (pass == OnednnLayer.Pass.FWD_NOIDX && !shape.isMaxPool()) {
            throw new IllegalArgumentException(shape.name() + ": fwd_noidx (forward_inference) is timed for max-pool "
                    + "rows only, this row is " + shape.op());
        }
        OnednnLayer.Shim shim = OnednnLayer.Shim.load(Path.of(lib));
        OnednnLayer.Variant[] variants = OnednnLayer.Variant.forRow(shape);
        OnednnLayer[] layers = new OnednnLayer[variants.length];
        try {
            for (int v = 0; v < variants.length; v++) {
                layers[v] = new OnednnLayer(shim, shape, variants[v], threads);
            }
        } catch (RuntimeException e) {
            for (OnednnLayer l : layers) {
                if (l != null) {
                    l.close();
                }
            }
            throw e;
        }
        return new OnednnWindows(shape, threads, pass, Path.of(outFile), layers);
    }

    /** One window: every variant in turn, the first one rotating from window to window. */
    void window() {
        int n = layers.length;
        for (int i = 0; i < n; i++) {
            int v = (windows + i) % n;
            OnednnLayer l = layers[v];
            l.run(pass);
            long start = System.nanoTime();
            int taken = 0;
            while (taken < MAX_SAMPLES_PER_WINDOW) {
                long t0 = System.nanoTime();
                l.run(pass);
                long t1 = System.nanoTime();
                add(v, t1 - t0);
                taken++;
                if (taken >= MIN_SAMPLES_PER_WINDOW && t1 - start >= WINDOW_NANOS) {
                    break;
                }
            }
        }
        windows++;
    }

    private void add(int v, long nanos) {
        if (counts[v] == samples[v].length) {
            samples[v] = Arrays.copyOf(samples[v], samples[v].length * 2);
        }
        samples[v][counts[v]++] = nanos;
    }

    /** The median of a variant's samples, us (NaN before the first window or for a variant the row lacks). */
    double medianUs(OnednnLayer.Variant variant) {
        for (int v = 0; v < layers.length; v++) {
            if (layers[v].variant() == variant) {
                return medianUs(v);
            }
        }
        return Double.NaN;
    }

    private double medianUs(int v) {
        return median(Arrays.copyOf(samples[v], counts[v])) / 1e3;
    }

    /** The median of {@code values} (the upper one of the middle two for an even count, as the native bench); NaN if empty. */
    static double median(long[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        long[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    /** One JSON line per variant, appended to the output file (several forks append in turn, never at once). */
    void write() {
        if (windows == 0) {
            return;
        }
        ObjectMapper mapper = new ObjectMapper();
        StringBuilder lines = new StringBuilder();
        for (int v = 0; v < layers.length; v++) {
            ObjectNode o = mapper.createObjectNode();
            o.put("shape", shape.name());
            o.put("pass", pass.joinName);
            o.put("threads", threads);
            o.put("variant", layers[v].variant().jsonName());
            o.put("median_us", medianUs(v));
            o.put("samples", counts[v]);
            o.put("windows", windows);
            o.put("impl", layers[v].impl(pass));
            o.put("utc", Instant.now().toString());
            lines.append(o).append('\n');
        }
        try {
            Files.writeString(out, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append the oneDNN medians to " + out, e);
        }
        System.out.print(summary());
    }

    /** "oneDNN in this fork: nchw 12.3 us, blocked 4.5 us, auto 4.4 us (5 windows)". */
    String summary() {
        StringBuilder sb = new StringBuilder("oneDNN in this fork:");
        for (int v = 0; v < layers.length; v++) {
            sb.append(v == 0 ? " " : ", ").append(layers[v].variant().jsonName())
                    .append(String.format(java.util.Locale.ROOT, " %.2f us", medianUs(v)));
        }
        return sb.append(" (").append(windows).append(" windows)\n").toString();
    }

    @Override
    public void close() {
        for (OnednnLayer l : layers) {
            l.close();
        }
    }
}
