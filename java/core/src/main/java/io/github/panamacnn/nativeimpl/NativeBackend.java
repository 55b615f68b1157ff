package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.ConvAlgorithm;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.LinearGeometry;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.NativeKernelException;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.ffi.panamacnn_h;
import io.github.panamacnn.ffi.pcnn_conv2d_desc;
import io.github.panamacnn.ffi.pcnn_maxpool2d_desc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The C kernels behind {@link Backend}. The only user of the {@code ffi} bindings.
 *
 * <p>Before every downcall it validates, in Java: shapes and liveness (the geometry's {@code check*}
 * methods), then that every segment is native, 4-byte aligned and exactly as large as the geometry
 * needs, and that no output overlaps another argument. A bad argument therefore throws
 * {@link IllegalArgumentException} / {@link IllegalStateException} / {@link NullPointerException}
 * naming it, and no native code runs. A non-OK status from C becomes a {@link NativeKernelException}
 * naming the C function, the status and its text, except a failed native scratch allocation, which
 * becomes an {@link OutOfMemoryError} (see {@link #check}).
 *
 * <p>Steady state allocates no native memory: the C descriptor of each geometry is built once
 * (filled, validated by {@code pcnn_*_desc_init}, and cross-checked against the Java output size),
 * then cached in a small bounded concurrent map. A descriptor is read-only after init, so threads
 * share it. Its memory belongs to an automatic arena and is freed by the GC after eviction.
 * Thread-safe. No {@code Linker.Option.critical} anywhere.
 */
public final class NativeBackend implements Backend {
    /** At most this many descriptors of each kind are cached; the cache is cleared when full. */
    static final int MAX_CACHED_DESCS = 256;

    private static final NativeBackend INSTANCE = new NativeBackend();

    /** Number of downcalls made through this class (descriptor inits included); for tests. */
    static final LongAdder DOWNCALLS = new LongAdder();

    private final ConcurrentHashMap<Conv2dGeometry, MemorySegment> convDescs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<MaxPool2dGeometry, MemorySegment> poolDescs = new ConcurrentHashMap<>();

    private NativeBackend() {
    }

    /** The singleton; loads the library first and throws {@link IllegalStateException} with the reason if it cannot. */
    static NativeBackend instance() {
        NativeLibrary.ensureLoaded();
        return INSTANCE;
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public String toString() {
        return "NativeBackend[" + NativeLibrary.path().map(Object::toString).orElse("not loaded") + "]";
    }

    // ---- convolution -------------------------------------------------------------------------

    @Override
    public void conv2dForward(Conv2dGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        conv2dForward(g, ConvAlgorithm.AUTO, src, weights, bias, dst);
    }

    @Override
    public void conv2dForward(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor src, Tensor weights, Tensor bias,
                              Tensor dst) {
        requireGeometry(g);
        requireAlgorithm(g, algorithm);
        g.checkForward(src, weights, bias, dst);
        MemorySegment s = segment("src", src);
        MemorySegment w = segment("weights", weights);
        MemorySegment b = bias == null ? MemorySegment.NULL : segment("bias", bias);
        MemorySegment d = segment("dst", dst);
        requireNoOverlap("dst", d, "src", s);
        requireNoOverlap("dst", d, "weights", w);
        requireNoOverlap("dst", d, "bias", b);
        MemorySegment desc = convDesc(g);
        requestAlgorithm(algorithm);
        DOWNCALLS.increment();
        check("pcnn_conv2d_fwd", panamacnn_h.pcnn_conv2d_fwd(desc, s, w, b, d));
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        conv2dBackwardData(g, ConvAlgorithm.AUTO, diffDst, weights, diffSrc);
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor diffDst, Tensor weights,
                                   Tensor diffSrc) {
        requireGeometry(g);
        requireAlgorithm(g, algorithm);
        g.checkBackwardData(diffDst, weights, diffSrc);
        MemorySegment dy = segment("diffDst", diffDst);
        MemorySegment w = segment("weights", weights);
        MemorySegment dx = segment("diffSrc", diffSrc);
        requireNoOverlap("diffSrc", dx, "diffDst", dy);
        requireNoOverlap("diffSrc", dx, "weights", w);
        MemorySegment desc = convDesc(g);
        requestAlgorithm(algorithm);
        DOWNCALLS.increment();
        check("pcnn_conv2d_bwd_data", panamacnn_h.pcnn_conv2d_bwd_data(desc, dy, w, dx));
    }

    @Override
    public void conv2dBackwardWeights(Conv2dGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                      Tensor diffBias) {
        conv2dBackwardWeights(g, ConvAlgorithm.AUTO, src, diffDst, diffWeights, diffBias);
    }

    /**
     * Sets the request before the call: the C request is per thread, so without it this pass would
     * run under whatever the thread's previous convolution asked for (e.g. another layer's POINTWISE
     * or DEPTHWISE, which may not take this geometry).
     */
    @Override
    public void conv2dBackwardWeights(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor src, Tensor diffDst,
                                      Tensor diffWeights, Tensor diffBias) {
        requireGeometry(g);
        requireAlgorithm(g, algorithm);
        g.checkBackwardWeights(src, diffDst, diffWeights, diffBias);
        MemorySegment s = segment("src", src);
        MemorySegment dy = segment("diffDst", diffDst);
        MemorySegment dw = segment("diffWeights", diffWeights);
        MemorySegment db = diffBias == null ? MemorySegment.NULL : segment("diffBias", diffBias);
        requireNoOverlap("diffWeights", dw, "src", s);
        requireNoOverlap("diffWeights", dw, "diffDst", dy);
        requireNoOverlap("diffBias", db, "src", s);
        requireNoOverlap("diffBias", db, "diffDst", dy);
        requireNoOverlap("diffBias", db, "diffWeights", dw);
        MemorySegment desc = convDesc(g);
        requestAlgorithm(algorithm);
        DOWNCALLS.increment();
        check("pcnn_conv2d_bwd_weights", panamacnn_h.pcnn_conv2d_bwd_weights(desc, s, dy, dw, db));
    }

    // ---- max pooling -------------------------------------------------------------------------

    /** An INT32 mask (or none) goes to {@code pcnn_maxpool2d_fwd}, a TAPS mask to {@code pcnn_maxpool2d_fwd_taps}. */
    @Override
    public void maxPool2dForward(MaxPool2dGeometry g, Tensor src, Tensor dst, IndexBuffer indices) {
        requireGeometry(g);
        g.checkForward(src, dst, indices);
        MemorySegment s = segment("src", src);
        MemorySegment d = segment("dst", dst);
        boolean taps = indices != null && indices.kind() == IndexBuffer.Kind.TAPS;
        MemorySegment ix = indices == null ? MemorySegment.NULL : maskSegment(g, indices);
        requireNoOverlap("dst", d, "src", s);
        requireNoOverlap("indices", ix, "src", s);
        requireNoOverlap("indices", ix, "dst", d);
        MemorySegment desc = poolDesc(g);
        DOWNCALLS.increment();
        if (taps) {
            check("pcnn_maxpool2d_fwd_taps", panamacnn_h.pcnn_maxpool2d_fwd_taps(desc, s, d, ix));
        } else {
            check("pcnn_maxpool2d_fwd", panamacnn_h.pcnn_maxpool2d_fwd(desc, s, d, ix));
        }
    }

    /** The mask's kind picks {@code pcnn_maxpool2d_bwd} or {@code pcnn_maxpool2d_bwd_taps}. */
    @Override
    public void maxPool2dBackward(MaxPool2dGeometry g, Tensor diffDst, IndexBuffer indices, Tensor diffSrc) {
        requireGeometry(g);
        g.checkBackward(diffDst, indices, diffSrc);
        MemorySegment dy = segment("diffDst", diffDst);
        MemorySegment ix = maskSegment(g, indices);
        MemorySegment dx = segment("diffSrc", diffSrc);
        requireNoOverlap("diffSrc", dx, "diffDst", dy);
        requireNoOverlap("diffSrc", dx, "indices", ix);
        MemorySegment desc = poolDesc(g);
        DOWNCALLS.increment();
        if (indices.kind() == IndexBuffer.Kind.TAPS) {
            check("pcnn_maxpool2d_bwd_taps", panamacnn_h.pcnn_maxpool2d_bwd_taps(desc, dy, ix, dx));
        } else {
            check("pcnn_maxpool2d_bwd", panamacnn_h.pcnn_maxpool2d_bwd(desc, dy, ix, dx));
        }
    }

    /** The mask's segment, checked: int32 like a tensor's, taps one byte per output (any alignment). */
    private static MemorySegment maskSegment(MaxPool2dGeometry g, IndexBuffer mask) {
        if (mask.kind() == IndexBuffer.Kind.INT32) {
            return checkSegment("indices", mask.segment(), g.dstElementCount());
        }
        MemorySegment s = mask.segment();
        requireLiveNative("indices", s);
        if (s.byteSize() != g.dstElementCount()) {
            throw new IllegalArgumentException("indices segment has " + s.byteSize() + " bytes but this operation "
                    + "needs " + g.dstElementCount() + " (one tap byte per output)");
        }
        return s;
    }

    // ---- fully connected, ReLU, softmax cross-entropy ------------------------------------------

    @Override
    public void linearForward(LinearGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        requireGeometry(g);
        g.checkForward(src, weights, bias, dst);
        MemorySegment s = segment("src", src);
        MemorySegment w = segment("weights", weights);
        MemorySegment b = bias == null ? MemorySegment.NULL : segment("bias", bias);
        MemorySegment d = segment("dst", dst);
        requireNoOverlap("dst", d, "src", s);
        requireNoOverlap("dst", d, "weights", w);
        requireNoOverlap("dst", d, "bias", b);
        DOWNCALLS.increment();
        check("pcnn_linear_fwd", panamacnn_h.pcnn_linear_fwd(g.n(), g.in(), g.out(), s, w, b, d));
    }

    @Override
    public void linearBackwardData(LinearGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        requireGeometry(g);
        g.checkBackwardData(diffDst, weights, diffSrc);
        MemorySegment dy = segment("diffDst", diffDst);
        MemorySegment w = segment("weights", weights);
        MemorySegment dx = segment("diffSrc", diffSrc);
        requireNoOverlap("diffSrc", dx, "diffDst", dy);
        requireNoOverlap("diffSrc", dx, "weights", w);
        DOWNCALLS.increment();
        check("pcnn_linear_bwd_data", panamacnn_h.pcnn_linear_bwd_data(g.n(), g.in(), g.out(), dy, w, dx));
    }

    @Override
    public void linearBackwardWeights(LinearGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                      Tensor diffBias) {
        requireGeometry(g);
        g.checkBackwardWeights(src, diffDst, diffWeights, diffBias);
        MemorySegment s = segment("src", src);
        MemorySegment dy = segment("diffDst", diffDst);
        MemorySegment dw = segment("diffWeights", diffWeights);
        MemorySegment db = diffBias == null ? MemorySegment.NULL : segment("diffBias", diffBias);
        requireNoOverlap("diffWeights", dw, "src", s);
        requireNoOverlap("diffWeights", dw, "diffDst", dy);
        requireNoOverlap("diffBias", db, "src", s);
        requireNoOverlap("diffBias", db, "diffDst", dy);
        requireNoOverlap("diffBias", db, "diffWeights", dw);
        DOWNCALLS.increment();
        check("pcnn_linear_bwd_weights",
                panamacnn_h.pcnn_linear_bwd_weights(g.n(), g.in(), g.out(), s, dy, dw, db));
    }

    @Override
    public void reluForward(Tensor src, Tensor dst) {
        requireSameShape("src", src, "dst", dst);
        MemorySegment s = segment("src", src);
        MemorySegment d = segment("dst", dst);
        if (d.address() != s.address()) {
            requireNoOverlap("dst", d, "src", s);
        }
        DOWNCALLS.increment();
        check("pcnn_relu_fwd", panamacnn_h.pcnn_relu_fwd(src.elementCount(), s, d));
    }

    @Override
    public void reluBackward(Tensor dst, Tensor diffDst, Tensor diffSrc) {
        requireSameShape("dst", dst, "diffDst", diffDst);
        requireSameShape("dst", dst, "diffSrc", diffSrc);
        MemorySegment y = segment("dst", dst);
        MemorySegment dy = segment("diffDst", diffDst);
        MemorySegment dx = segment("diffSrc", diffSrc);
        requireNoOverlap("diffSrc", dx, "dst", y);
        if (dx.address() != dy.address()) {
            requireNoOverlap("diffSrc", dx, "diffDst", dy);
        }
        DOWNCALLS.increment();
        check("pcnn_relu_bwd", panamacnn_h.pcnn_relu_bwd(dst.elementCount(), y, dy, dx));
    }

    /** One float per thread for the loss the C function writes (no allocation per call). */
    private static final ThreadLocal<MemorySegment> LOSS_SLOT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT));

    @Override
    public float crossEntropyForward(Tensor logits, IndexBuffer labels) {
        checkCrossEntropy(logits, labels, null);
        MemorySegment x = segment("logits", logits);
        MemorySegment l = checkIntSegment("labels", labels.segment(), logits.dim(0));
        MemorySegment slot = LOSS_SLOT.get();
        DOWNCALLS.increment();
        check("pcnn_softmax_xent_fwd",
                panamacnn_h.pcnn_softmax_xent_fwd(logits.dim(0), logits.dim(1), x, l, slot));
        return slot.get(ValueLayout.JAVA_FLOAT, 0);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, IndexBuffer labels, Tensor diffLogits) {
        checkCrossEntropy(logits, labels, diffLogits);
        MemorySegment x = segment("logits", logits);
        MemorySegment l = checkIntSegment("labels", labels.segment(), logits.dim(0));
        MemorySegment dx = segment("diffLogits", diffLogits);
        requireNoOverlap("diffLogits", dx, "logits", x);
        requireNoOverlap("diffLogits", dx, "labels", l);
        DOWNCALLS.increment();
        check("pcnn_softmax_xent_bwd",
                panamacnn_h.pcnn_softmax_xent_bwd(logits.dim(0), logits.dim(1), x, l, dx));
    }

    /**
     * Logits {@code [n, classes]}, n labels each in {@code [0, classes)} (the message names the first bad
     * one), diffLogits (may be null) of the logits' shape. Allocates nothing when all is well.
     */
    static void checkCrossEntropy(Tensor logits, IndexBuffer labels, Tensor diffLogits) {
        if (logits == null) {
            throw new NullPointerException("logits must not be null");
        }
        if (labels == null) {
            throw new NullPointerException("labels must not be null");
        }
        logits.checkAlive("logits");
        if (logits.rank() != 2) {
            throw new IllegalArgumentException("logits must have rank 2 [n, classes] but has shape "
                    + Arrays.toString(logits.shape()));
        }
        long n = logits.dim(0);
        long classes = logits.dim(1);
        labels.check("labels", n);
        if (diffLogits != null) {
            if (diffLogits == logits) {
                throw new IllegalArgumentException("diffLogits must not be the logits tensor");
            }
            requireSameShape("logits", logits, "diffLogits", diffLogits);
        }
        MemorySegment l = labels.segment();
        for (long i = 0; i < n; i++) {
            int label = l.getAtIndex(ValueLayout.JAVA_INT, i);
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException("labels[" + i + "] = " + label + " is out of range [0, " + classes
                        + ") (logits have " + classes + " classes)");
            }
        }
    }

    private static void requireSameShape(String aName, Tensor a, String bName, Tensor b) {
        if (a == null) {
            throw new NullPointerException(aName + " must not be null");
        }
        if (b == null) {
            throw new NullPointerException(bName + " must not be null");
        }
        a.checkAlive(aName);
        b.checkAlive(bName);
        if (!a.hasSameShape(b)) {
            throw new IllegalArgumentException(bName + " has shape " + Arrays.toString(b.shape()) + " but " + aName
                    + " has shape " + Arrays.toString(a.shape()) + "; they must be equal");
        }
    }

    /** Like {@link #checkSegment} for int32 buffers. */
    private static MemorySegment checkIntSegment(String name, MemorySegment s, long elements) {
        return checkSegment(name, s, elements); // same size rule: 4 bytes per element
    }

    // ---- descriptors ---------------------------------------------------------------------------

    /** The cached, validated C descriptor of {@code g}. */
    MemorySegment convDesc(Conv2dGeometry g) {
        MemorySegment d = convDescs.get(g);
        if (d != null) {
            return d;
        }
        d = pcnn_conv2d_desc.allocate(Arena.ofAuto());
        pcnn_conv2d_desc.n(d, g.n());
        pcnn_conv2d_desc.c(d, g.c());
        pcnn_conv2d_desc.ih(d, g.ih());
        pcnn_conv2d_desc.iw(d, g.iw());
        pcnn_conv2d_desc.oc(d, g.oc());
        pcnn_conv2d_desc.kh(d, g.kh());
        pcnn_conv2d_desc.kw(d, g.kw());
        pcnn_conv2d_desc.stride_h(d, g.strideH());
        pcnn_conv2d_desc.stride_w(d, g.strideW());
        pcnn_conv2d_desc.pad_top(d, g.padTop());
        pcnn_conv2d_desc.pad_bottom(d, g.padBottom());
        pcnn_conv2d_desc.pad_left(d, g.padLeft());
        pcnn_conv2d_desc.pad_right(d, g.padRight());
        pcnn_conv2d_desc.dilation_h(d, g.dilationH());
        pcnn_conv2d_desc.dilation_w(d, g.dilationW());
        pcnn_conv2d_desc.groups(d, g.groups());
        pcnn_conv2d_desc.oh(d, 0);
        pcnn_conv2d_desc.ow(d, 0);
        DOWNCALLS.increment();
        int st = panamacnn_h.pcnn_conv2d_desc_init(d);
        requireSameGeometry("pcnn_conv2d_desc_init", st, g, g.oh(), g.ow(), pcnn_conv2d_desc.oh(d),
                pcnn_conv2d_desc.ow(d));
        return cache(convDescs, g, d);
    }

    /** The cached, validated C descriptor of {@code g}. */
    MemorySegment poolDesc(MaxPool2dGeometry g) {
        MemorySegment d = poolDescs.get(g);
        if (d != null) {
            return d;
        }
        d = pcnn_maxpool2d_desc.allocate(Arena.ofAuto());
        pcnn_maxpool2d_desc.n(d, g.n());
        pcnn_maxpool2d_desc.c(d, g.c());
        pcnn_maxpool2d_desc.ih(d, g.ih());
        pcnn_maxpool2d_desc.iw(d, g.iw());
        pcnn_maxpool2d_desc.kh(d, g.kh());
        pcnn_maxpool2d_desc.kw(d, g.kw());
        pcnn_maxpool2d_desc.stride_h(d, g.strideH());
        pcnn_maxpool2d_desc.stride_w(d, g.strideW());
        pcnn_maxpool2d_desc.pad_top(d, g.padTop());
        pcnn_maxpool2d_desc.pad_bottom(d, g.padBottom());
        pcnn_maxpool2d_desc.pad_left(d, g.padLeft());
        pcnn_maxpool2d_desc.pad_right(d, g.padRight());
        pcnn_maxpool2d_desc.dilation_h(d, g.dilationH());
        pcnn_maxpool2d_desc.dilation_w(d, g.dilationW());
        pcnn_maxpool2d_desc.ceil_mode(d, g.ceilMode() ? 1 : 0);
        pcnn_maxpool2d_desc.oh(d, 0);
        pcnn_maxpool2d_desc.ow(d, 0);
        DOWNCALLS.increment();
        int st = panamacnn_h.pcnn_maxpool2d_desc_init(d);
        requireSameGeometry("pcnn_maxpool2d_desc_init", st, g, g.oh(), g.ow(), pcnn_maxpool2d_desc.oh(d),
                pcnn_maxpool2d_desc.ow(d));
        return cache(poolDescs, g, d);
    }

    /**
     * Java validated {@code g} before C saw it, so a C refusal or another output size is a bug on one side:
     * throws IllegalStateException naming both.
     */
    private static void requireSameGeometry(String initFunction, int status, Object g, long javaOh, long javaOw,
            long cOh, long cOw) {
        if (status != panamacnn_h.PCNN_STATUS_OK()) {
            throw new IllegalStateException("Java and C disagree on the validity of " + g + ": " + initFunction
                    + " returned status " + status + " (" + NativeLibrary.statusText(status) + ")");
        }
        if (cOh != javaOh || cOw != javaOw) {
            throw new IllegalStateException("Java and C disagree on the output size of " + g + ": Java oh=" + javaOh
                    + ", ow=" + javaOw + ", C (" + initFunction + ") oh=" + cOh + ", ow=" + cOw);
        }
    }

    /** Caches {@code d} for {@code g} (emptying a full cache first); returns the cached descriptor. */
    private static <G> MemorySegment cache(ConcurrentHashMap<G, MemorySegment> descs, G g, MemorySegment d) {
        if (descs.size() >= MAX_CACHED_DESCS) {
            descs.clear();
        }
        MemorySegment prev = descs.putIfAbsent(g, d);
        return prev != null ? prev : d;
    }

    /** Number of cached descriptors (conv + pool); for tests. */
    int cachedDescriptors() {
        return convDescs.size() + poolDescs.size();
    }

    // ---- validation ----------------------------------------------------------------------------

    private static void requireGeometry(Object g) {
        if (g == null) {
            throw new NullPointerException("geometry must not be null");
        }
    }

    /** The tensor's segment, checked; its shape was already checked against the geometry. */
    private static MemorySegment segment(String name, Tensor t) {
        return checkSegment(name, t.segment(), t.elementCount());
    }

    /**
     * Throws {@link IllegalArgumentException} naming {@code name} unless {@code s} is a live native segment,
     * 4-byte aligned, of exactly {@code 4 * elements} bytes; returns it.
     */
    static MemorySegment checkSegment(String name, MemorySegment s, long elements) {
        requireLiveNative(name, s);
        long expected = elements * 4L;
        if (s.byteSize() != expected) {
            throw new IllegalArgumentException(name + " segment has " + s.byteSize() + " bytes but this operation needs "
                    + expected + " (" + elements + " 4-byte elements)");
        }
        if ((s.address() & 3L) != 0) {
            throw new IllegalArgumentException(name + " segment address 0x" + Long.toHexString(s.address())
                    + " is not 4-byte aligned");
        }
        return s;
    }

    /** Off-heap and not freed: what every segment handed to C must be. */
    private static void requireLiveNative(String name, MemorySegment s) {
        if (!s.isNative()) {
            throw new IllegalArgumentException(name + " is a heap segment; native kernels need off-heap memory");
        }
        if (!s.scope().isAlive()) {
            throw new IllegalStateException(name + ": its memory has been freed");
        }
    }

    /** Throws {@link IllegalArgumentException} when output {@code a} shares memory with argument {@code b}. */
    static void requireNoOverlap(String aName, MemorySegment a, String bName, MemorySegment b) {
        if (a.byteSize() == 0 || b.byteSize() == 0) {
            return; // MemorySegment.NULL (absent optional argument)
        }
        long aStart = a.address();
        long bStart = b.address();
        if (aStart < bStart + b.byteSize() && bStart < aStart + a.byteSize()) {
            throw new IllegalArgumentException(aName + " overlaps " + bName + " in memory; outputs must not alias "
                    + "inputs or other outputs");
        }
    }

    /** Throws IllegalArgumentException when {@code algorithm} cannot take {@code g}'s geometry. */
    static void requireAlgorithm(Conv2dGeometry g, ConvAlgorithm algorithm) {
        java.util.Objects.requireNonNull(algorithm, "algorithm must not be null");
        if (!algorithm.supports(g.kh(), g.kw(), g.strideH(), g.strideW(), g.dilationH(), g.dilationW())) {
            throw new IllegalArgumentException("algorithm " + algorithm + " needs "
                    + (algorithm == ConvAlgorithm.POINTWISE ? "a 1x1 kernel and a stride above 1"
                            : "a 3x3 kernel, stride 1 and dilation 1")
                    + " but the geometry has kernel " + g.kh() + "x" + g.kw() + ", stride " + g.strideH() + "x"
                    + g.strideW() + ", dilation " + g.dilationH() + "x" + g.dilationW());
        }
        if (!algorithm.supportsPadding(g.padTop(), g.padBottom(), g.padLeft(), g.padRight())) {
            throw new IllegalArgumentException("algorithm " + algorithm + " needs no padding but the geometry has"
                    + " padding top " + g.padTop() + ", bottom " + g.padBottom() + ", left " + g.padLeft()
                    + ", right " + g.padRight());
        }
        if (!algorithm.supportsChannels(g.c(), g.oc(), g.groups())) {
            throw new IllegalArgumentException("algorithm " + algorithm + " needs groups == channels == outChannels"
                    + " but the geometry has c " + g.c() + ", oc " + g.oc() + ", groups " + g.groups());
        }
    }

    /** Sets the calling thread's algorithm request in the library (thread-local in C). */
    private static void requestAlgorithm(ConvAlgorithm algorithm) {
        int id = switch (algorithm) {
            case AUTO -> panamacnn_h.PCNN_ALGO_AUTO();
            case DIRECT -> panamacnn_h.PCNN_ALGO_DIRECT();
            case WINOGRAD -> panamacnn_h.PCNN_ALGO_WINOGRAD();
            case DEPTHWISE -> panamacnn_h.PCNN_ALGO_DEPTHWISE();
            case POINTWISE -> panamacnn_h.PCNN_ALGO_POINTWISE();
        };
        check("pcnn_set_conv2d_algorithm", panamacnn_h.pcnn_set_conv2d_algorithm(id));
    }

    /**
     * The algorithm that served the calling thread's last native convolution or max-pool call
     * ({@link ConvAlgorithm#DIRECT}, {@link ConvAlgorithm#WINOGRAD}, {@link ConvAlgorithm#DEPTHWISE} or
     * {@link ConvAlgorithm#POINTWISE}),
     * or {@code null} before any.
     */
    public static ConvAlgorithm lastAlgorithm() {
        int id = panamacnn_h.pcnn_last_algorithm();
        if (id == panamacnn_h.PCNN_ALGO_WINOGRAD()) {
            return ConvAlgorithm.WINOGRAD;
        }
        if (id == panamacnn_h.PCNN_ALGO_DEPTHWISE()) {
            return ConvAlgorithm.DEPTHWISE;
        }
        if (id == panamacnn_h.PCNN_ALGO_POINTWISE()) {
            return ConvAlgorithm.POINTWISE;
        }
        return id == panamacnn_h.PCNN_ALGO_DIRECT() ? ConvAlgorithm.DIRECT : null;
    }

    /** "algorithm/isa" of the calling thread's last native call, e.g. "winograd/avx512"; "none" before any. */
    public static String lastKernel() {
        int algo = panamacnn_h.pcnn_last_algorithm();
        if (algo < 0) {
            return "none";
        }
        return panamacnn_h.pcnn_algorithm_name(algo).reinterpret(64).getString(0) + "/"
                + panamacnn_h.pcnn_isa_name(panamacnn_h.pcnn_last_isa()).reinterpret(64).getString(0);
    }

    /**
     * Maps a C status to an exception naming the function: {@code PCNN_STATUS_OUT_OF_MEMORY} (the kernel could
     * not allocate its native scratch memory) to {@link OutOfMemoryError}, as the JDK reports a failed native
     * allocation ({@code Arena.allocate}, {@code ByteBuffer.allocateDirect}); every other non-OK status to
     * {@link NativeKernelException}.
     */
    static void check(String function, int status) {
        if (status == panamacnn_h.PCNN_STATUS_OK()) {
            return;
        }
        if (status == panamacnn_h.PCNN_STATUS_OUT_OF_MEMORY()) {
            throw new OutOfMemoryError(function + " could not allocate native scratch memory (status " + status
                    + ", " + NativeLibrary.statusText(status) + "); its outputs are unspecified, nothing is left "
                    + "allocated, and the call can be repeated once native memory is available");
        }
        throw new NativeKernelException(function, status, NativeLibrary.statusText(status));
    }
}
