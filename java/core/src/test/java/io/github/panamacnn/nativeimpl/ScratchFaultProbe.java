package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Conv2d;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Run in a forked JVM by {@link ScratchFaultInjectionTest} with {@code panamacnn.library.path} naming the
 * test-only {@code libpanamacnn_faultinject} (the shipped objects plus an exported switch that fails the n-th
 * scratch allocation). For n = 1, 2, ... it arms the switch, runs a layer's forward (then backward) on a new
 * thread, and
 * records whether that failed with {@link OutOfMemoryError} and whether the next, unarmed call gives the
 * same bits as before; it stops at the first n the call does not reach. Prints key=value lines.
 */
public final class ScratchFaultProbe {
    private ScratchFaultProbe() {
    }

    private static MethodHandle failNth;

    private static long arm(long n) throws Throwable {
        return (long) failNth.invokeExact(n);
    }

    public static void main(String[] args) throws Throwable {
        NativeLibrary.ensureLoaded();
        failNth = Linker.nativeLinker().downcallHandle(
                SymbolLookup.loaderLookup().findOrThrow("pcnn_test_scratch_fail_nth_alloc"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        System.out.println("isa=" + PanamaCnn.activeIsa().id());
        SplittableRandom rnd = new SplittableRandom(7);
        float[] x = new float[128 * 28 * 28];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextInt(-3, 4);
        }
        try (Conv2d conv = Conv2d.builder(128, 256, 3, 3).stride(2).padding(1).seed(3).build();
             Tensor in = Tensor.of(x, 1, 128, 28, 28)) {
            float[] y0 = conv.forward(in).toArray();
            float[] dy = new float[y0.length];
            for (int i = 0; i < dy.length; i++) {
                dy[i] = (float) rnd.nextInt(-2, 3);
            }
            try (Tensor gy = Tensor.of(dy, conv.outputShape(1, 128, 28, 28))) {
                float[] dx0 = conv.backward(gy).toArray();
                float[] dw0 = conv.weightGrad().toArray();
                probe("fwd", () -> Arrays.equals(conv.forward(in).toArray(), y0));
                probe("bwd", () -> Arrays.equals(conv.backward(gy).toArray(), dx0)
                        && Arrays.equals(conv.weightGrad().toArray(), dw0));
            }
        }
        System.out.println("scratchBytes=" + PanamaCnn.nativeScratchBytes());
        System.out.flush();
    }

    /**
     * Runs {@code call} on a new thread (a thread keeps its scratch between calls, so only a fresh one
     * allocates all of it) and returns {result, throwable}.
     */
    private static Object[] onNewThread(Supplier<Boolean> call) throws InterruptedException {
        Object[] out = new Object[2];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                out[0] = call.get();
            } catch (Throwable e) {
                out[1] = e;
            }
        });
        t.join();
        return out;
    }

    /** {@code call} runs the op and says whether its result equals the unfailed one. */
    private static void probe(String name, Supplier<Boolean> call) throws Throwable {
        int failures = 0;
        boolean allRecovered = true;
        String message = "-";
        for (long n = 1; n <= 64; n++) {
            arm(n);
            Throwable thrown = onNewThread(call)[1] instanceof Throwable t ? t : null;
            long left = arm(0);
            if (left > 0) { // the call made fewer than n allocations
                if (thrown != null) {
                    System.out.println(name + ".unexpected=" + thrown);
                }
                break;
            }
            failures++;
            if (!(thrown instanceof OutOfMemoryError)) {
                System.out.println(name + ".wrongThrowable." + n + "=" + thrown);
                allRecovered = false;
                continue;
            }
            message = thrown.getMessage();
            Object[] again = onNewThread(call); // unarmed: succeeds with the same bits
            allRecovered &= again[1] == null && Boolean.TRUE.equals(again[0]);
        }
        System.out.println(name + ".failures=" + failures);
        System.out.println(name + ".recovered=" + allRecovered);
        System.out.println(name + ".message=" + message);
    }
}
