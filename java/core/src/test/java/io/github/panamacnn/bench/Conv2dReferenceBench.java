package io.github.panamacnn.bench;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2d;
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
 * {@link Conv2d#forward} with the pure-Java reference backend on the tiny shape, to compare with
 * {@link Conv2dNativeBench#layerForward} on {@code seed_tiny}: the native path should be faster
 * even where the call overhead dominates. (The reference is not benchmarked on large shapes: it
 * is a naive oracle, not a contender.)
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Threads(1)
public class Conv2dReferenceBench {

    @Param({"seed_tiny"})
    public String shape;

    private Conv2d conv;
    private Tensor input;

    @Setup(Level.Trial)
    public void setUp() {
        BenchShapes s = BenchShapes.named(shape);
        Backend reference = Backend.reference();
        conv = Conv2d.builder(s.c(), s.oc(), s.kh(), s.kw()).stride(s.stride()).padding(s.pad()).groups(s.groups())
                .dilation(s.dilation(), s.dilation()).backend(reference).seed(1).build();
        input = Tensor.of(BenchShapes.randomData(BenchShapes.count(s.srcShape()), 11), s.srcShape());
        conv.forward(input);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        conv.close();
        input.close();
    }

    @Benchmark
    public Tensor layerForward() {
        return conv.forward(input);
    }
}
