package io.github.panamacnn.bench;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2d;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.Tensor;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java call path into the C kernels: {@link Conv2d#forward} and {@link Conv2d#backward} with
 * the native backend, and the same forward as a raw {@link Backend#conv2dForward} call on
 * pre-built geometry and tensors (what the layer adds on top is the difference of the two).
 *
 * <p>Everything is allocated and warmed once per trial; in steady state the layer reuses its
 * output tensors, so the timed loop allocates no native memory. The kernels use the library's
 * thread count (online CPUs, or {@code PANAMACNN_NUM_THREADS}); the benchmark itself is
 * single-threaded. Sample mode: the report's {@code p0.50} is the median.
 *
 * <p>Run: {@code ./panama-cnn bench} (native bench, then this), or directly
 * {@code java --enable-native-access=ALL-UNNAMED -cp <test classpath> org.openjdk.jmh.Main Conv2dNativeBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dpanamacnn.native.required=true"})
@Threads(1)
public class Conv2dNativeBench {

    @Param({"seed_tiny", "resnet3x3"})
    public String shape;

    private Conv2d conv;
    private Tensor input;
    private Tensor gradOutput;

    // The raw path: the same geometry and tensors, no layer.
    private Backend nativeBackend;
    private Conv2dGeometry geometry;
    private Tensor rawSrc, rawWeights, rawBias, rawDst;

    @Setup(Level.Trial)
    public void setUp() {
        BenchShapes s = BenchShapes.named(shape);
        nativeBackend = Backend.nativeBackend(); // throws with the reason when the library cannot load
        if (!"native".equals(nativeBackend.name())) {
            throw new IllegalStateException("expected the native backend, got " + nativeBackend.name());
        }
        conv = Conv2d.builder(s.c(), s.oc(), s.kh(), s.kw()).stride(s.stride()).padding(s.pad()).groups(s.groups())
                .dilation(s.dilation(), s.dilation()).backend(nativeBackend).seed(1).build();
        input = Tensor.of(BenchShapes.randomData(BenchShapes.count(s.srcShape()), 11), s.srcShape());
        long[] dstShape = conv.outputShape(s.srcShape());
        gradOutput = Tensor.of(BenchShapes.randomData(BenchShapes.count(dstShape), 12), dstShape);

        geometry = s.geometry();
        rawSrc = Tensor.of(BenchShapes.randomData(BenchShapes.count(geometry.srcShape()), 13), geometry.srcShape());
        rawWeights = Tensor.of(BenchShapes.randomData(BenchShapes.count(geometry.weightsShape()), 14),
                geometry.weightsShape());
        rawBias = Tensor.of(BenchShapes.randomData(BenchShapes.count(geometry.biasShape()), 15), geometry.biasShape());
        rawDst = Tensor.zeros(geometry.dstShape());

        // Warm every path once (descriptor cache, output tensors, first-touch of the pages), and
        // check that the layer and the raw call compute the same thing on the same data.
        Tensor out = conv.forward(input);
        conv.backward(gradOutput);
        rawSrc.copyFrom(input.toArray());
        rawWeights.copyFrom(conv.weight().toArray());
        rawBias.copyFrom(conv.bias().toArray());
        nativeBackend.conv2dForward(geometry, rawSrc, rawWeights, rawBias, rawDst);
        if (!java.util.Arrays.equals(out.toArray(), rawDst.toArray())) {
            throw new IllegalStateException("Conv2d.forward and Backend.conv2dForward disagree on " + shape);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (AutoCloseable c : new AutoCloseable[] {conv, input, gradOutput, rawSrc, rawWeights, rawBias, rawDst}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** {@code Conv2d.forward}: geometry from the input, output reuse, validation, downcall. */
    @Benchmark
    public Tensor layerForward() {
        return conv.forward(input);
    }

    /** {@code Conv2d.backward}: two downcalls (backward-data, backward-weights with the bias gradient). */
    @Benchmark
    public Tensor layerBackward() {
        return conv.backward(gradOutput);
    }

    /** {@code Backend.nativeBackend().conv2dForward} with a pre-built geometry: validation and the downcall only. */
    @Benchmark
    public Tensor rawForward() {
        nativeBackend.conv2dForward(geometry, rawSrc, rawWeights, rawBias, rawDst);
        return rawDst;
    }
}
