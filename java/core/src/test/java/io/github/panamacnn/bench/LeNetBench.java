package io.github.panamacnn.bench;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2d;
import io.github.panamacnn.CrossEntropyLoss;
import io.github.panamacnn.Flatten;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.Layer;
import io.github.panamacnn.Linear;
import io.github.panamacnn.MaxPool2d;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.ReLU;
import io.github.panamacnn.Sequential;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.reference.ReferenceNetKernels;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * LeNet-5 timings on the native backend: a training step at batch 64 (forward, loss, backward; the
 * optimizer step is not included), its split per layer, and one-image inference in eval mode.
 * Medians of many warm repetitions, each timed alone: on a shared, oversubscribed machine a long
 * timed interval mostly measures the time slices given to other processes, a short one often does not. Also ReLU in plain Java over MemorySegment vs the C kernel.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp java/core/target/classes:java/core/target/test-classes
 * io.github.panamacnn.bench.LeNetBench [threads]}
 */
public final class LeNetBench {
    private LeNetBench() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        PanamaCnn.setNumThreads(threads);
        Backend be = Backend.nativeBackend();
        System.out.printf("LeNet-5, native backend, ISA %s, %d thread(s)%n", PanamaCnn.activeIsa(), threads);
        try (Sequential net = lenet(be); CrossEntropyLoss loss = new CrossEntropyLoss(be);
             Tensor x = random(64, 1, 28, 28); Tensor one = random(1, 1, 28, 28)) {
            int[] labels = new int[64];
            for (int i = 0; i < 64; i++) {
                labels[i] = i % 10;
            }
            Runnable step = () -> {
                loss.forward(net.forward(x), labels);
                net.backward(loss.backward());
            };
            double stepUs = median(step, 300, 301, 1);
            System.out.printf("training step (batch 64, fwd+loss+bwd): median wall %.1f us, CPU of the calling thread %.1f us%n",
                    stepUs, lastCpuMedian);
            perLayer(net, loss, x, labels);
            stepUs = median(step, 100, 301, 1);
            System.out.printf("training step again, after the per-layer run: median wall %.1f us, CPU %.1f us%n", stepUs,
                    lastCpuMedian);
            net.eval();
            double inferUs = median(() -> net.forward(one), 3000, 2001, 1);
            System.out.printf("one-image inference (eval): median wall %.2f us, CPU %.2f us%n", inferUs, lastCpuMedian);
            StringBuilder perLayer = new StringBuilder("  per layer (median wall us):");
            Tensor[] in = new Tensor[net.layers().size() + 1];
            in[0] = one;
            for (int i = 0; i < net.layers().size(); i++) {
                Layer l = net.layers().get(i);
                int k = i;
                in[i + 1] = l.forward(in[i]);
                perLayer.append(String.format(" %d:%.2f", i, median(() -> l.forward(in[k]), 2000, 501, 1)));
            }
            System.out.println(perLayer);
            try (Tensor b256 = random(256, 1, 28, 28)) {
                double batchUs = median(() -> net.forward(b256), 50, 101, 1);
                System.out.printf("batch-256 inference: median wall %.0f us (%.0f images/s), CPU %.0f us%n", batchUs,
                        256e6 / batchUs, lastCpuMedian);
            }
            net.train();
        }
        convKernels(be);
        reluJavaVsC(be);
    }

    /** The convolution kernels of a LeNet-5 step at batch 64, each alone (median wall / CPU us). */
    private static void convKernels(Backend be) {
        System.out.println("convolution kernels at batch 64, median us (wall / CPU): fwd, bwd_data, bwd_weights");
        for (io.github.panamacnn.Conv2dGeometry g : new io.github.panamacnn.Conv2dGeometry[] {
                io.github.panamacnn.Conv2dGeometry.of(64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
                io.github.panamacnn.Conv2dGeometry.of(64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1)}) {
            try (Tensor x = random(g.srcShape()); Tensor w = random(g.weightsShape()); Tensor b = random(g.oc());
                 Tensor y = Tensor.zeros(g.dstShape()); Tensor dy = random(g.dstShape());
                 Tensor dx = Tensor.zeros(g.srcShape()); Tensor dw = Tensor.zeros(g.weightsShape());
                 Tensor db = Tensor.zeros(g.oc())) {
                double f = median(() -> be.conv2dForward(g, x, w, b, y), 100, 101, 1);
                double fc = lastCpuMedian;
                double d = median(() -> be.conv2dBackwardData(g, dy, w, dx), 100, 101, 1);
                double dc = lastCpuMedian;
                double wt = median(() -> be.conv2dBackwardWeights(g, x, dy, dw, db), 100, 101, 1);
                System.out.printf("  c=%d oc=%d %dx%d: %.1f/%.1f  %.1f/%.1f  %.1f/%.1f%n", g.c(), g.oc(), g.ih(), g.iw(),
                        f, fc, d, dc, wt, lastCpuMedian);
            }
        }
    }

    /** Forward and backward time of every layer inside a training step (each timed separately, medians). */
    private static void perLayer(Sequential net, CrossEntropyLoss loss, Tensor x, int[] labels) {
        List<Layer> layers = net.layers();
        int n = layers.size();
        double[][] fwd = new double[n][], bwd = new double[n][];
        int reps = 200;
        for (int i = 0; i < n; i++) {
            fwd[i] = new double[reps];
            bwd[i] = new double[reps];
        }
        double[] lossF = new double[reps], lossB = new double[reps];
        for (int warm = 0; warm < 100; warm++) {
            loss.forward(net.forward(x), labels);
            net.backward(loss.backward());
        }
        Tensor[] inputs = new Tensor[n + 1];
        for (int r = 0; r < reps; r++) {
            inputs[0] = x;
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                inputs[i + 1] = layers.get(i).forward(inputs[i]);
                fwd[i][r] = (System.nanoTime() - t0) / 1e3;
            }
            long t0 = System.nanoTime();
            loss.forward(inputs[n], labels);
            lossF[r] = (System.nanoTime() - t0) / 1e3;
            t0 = System.nanoTime();
            Tensor g = loss.backward();
            lossB[r] = (System.nanoTime() - t0) / 1e3;
            net.backward(g); // sets the input-gradient flags as a real step does; timed per layer below
            for (int i = n - 1; i >= 0; i--) {
                t0 = System.nanoTime();
                g = layers.get(i).backward(g);
                bwd[i][r] = (System.nanoTime() - t0) / 1e3;
                if (g == null) {
                    break;
                }
            }
        }
        System.out.println("per layer (median us): forward / backward");
        double total = 0;
        for (int i = 0; i < n; i++) {
            double f = med(fwd[i]), b = med(bwd[i]);
            total += f + b;
            System.out.printf("  %2d %-55s %8.1f / %8.1f%n", i, layers.get(i), f, b);
        }
        System.out.printf("  loss forward / backward %8.1f / %8.1f%n", med(lossF), med(lossB));
        System.out.printf("  sum of layer medians %.1f us%n", total + med(lossF) + med(lossB));
    }

    /** ReLU on LeNet's activation sizes: plain Java over MemorySegment (the reference loop) vs the C kernel. */
    private static void reluJavaVsC(Backend be) {
        System.out.println("ReLU forward, median us: Java loop over MemorySegment vs C kernel (native backend)");
        for (long count : new long[] {64L * 6 * 28 * 28, 64L * 16 * 10 * 10, 64L * 120, 84, 6 * 28 * 28}) {
            try (Tensor a = random(count); Tensor out = Tensor.zeros(count)) {
                double java = median(() -> ReferenceNetKernels.reluForward(a, out), 500, 21, 20);
                double c = median(() -> be.reluForward(a, out), 500, 21, 20);
                System.out.printf("  %8d floats: Java %8.2f   C %8.2f%n", count, java, c);
            }
        }
        try (Tensor logits = random(64, 10); IndexBuffer l = IndexBuffer.of(new int[64]); Tensor g = Tensor.zeros(64, 10)) {
            double java = median(() -> ReferenceNetKernels.crossEntropyBackward(logits, l, g), 2000, 21, 20);
            double c = median(() -> be.crossEntropyBackward(logits, l, g), 2000, 21, 20);
            System.out.printf("cross-entropy backward [64, 10], median us: Java reference %.2f   C %.2f%n", java, c);
        }
    }

    /** Median over {@code rounds} of the mean time of {@code inner} calls, after {@code warm} calls (us). */
    static double median(Runnable r, int warm, int rounds, int inner) {
        for (int i = 0; i < warm; i++) {
            r.run();
        }
        double[] t = new double[rounds];
        double[] cpu = new double[rounds];
        for (int k = 0; k < rounds; k++) {
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            for (int i = 0; i < inner; i++) {
                r.run();
            }
            t[k] = (System.nanoTime() - t0) / 1e3 / inner;
            cpu[k] = (cpuNanos() - c0) / 1e3 / inner;
        }
        lastCpuMedian = med(cpu);
        return med(t);
    }

    /** CPU time of the calling thread in the last {@link #median} (us): the work alone, without the waits
     * for a core on a loaded machine; equal to the work with one kernel thread, an undercount with more. */
    static double lastCpuMedian;

    private static final java.lang.invoke.MethodHandle CPU_TIME;
    private static final Object THREAD_BEAN;

    static {
        // java.lang.management through a method handle: the test sources compile inside the library module,
        // which does not read java.management.
        try {
            THREAD_BEAN = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean")
                    .invoke(null);
            CPU_TIME = java.lang.invoke.MethodHandles.publicLookup().findVirtual(
                            Class.forName("java.lang.management.ThreadMXBean"), "getCurrentThreadCpuTime",
                            java.lang.invoke.MethodType.methodType(long.class))
                    .asType(java.lang.invoke.MethodType.methodType(long.class, Object.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static long cpuNanos() {
        try {
            return (long) CPU_TIME.invokeExact(THREAD_BEAN);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    private static double med(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    static Sequential lenet(Backend be) {
        return Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).backend(be).build(), new ReLU(be),
                MaxPool2d.builder(2, 2).backend(be).build(),
                Conv2d.builder(6, 16, 5, 5).backend(be).build(), new ReLU(be),
                MaxPool2d.builder(2, 2).backend(be).build(),
                new Flatten(),
                Linear.builder(400, 120).backend(be).build(), new ReLU(be),
                Linear.builder(120, 84).backend(be).build(), new ReLU(be),
                Linear.builder(84, 10).backend(be).build());
    }

    private static Tensor random(long... shape) {
        SplittableRandom r = new SplittableRandom(Arrays.hashCode(shape));
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.set(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }
}
