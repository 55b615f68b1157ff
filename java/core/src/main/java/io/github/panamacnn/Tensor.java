package io.github.panamacnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense, contiguous, row-major (NCHW for 4-D) float32 tensor in off-heap memory.
 *
 * <p>Ownership. A tensor made by {@link #of}, {@link #zeros} or {@link #copy()} owns its memory
 * (a shared {@link Arena}); {@link #close()} frees it and any later use throws
 * {@link IllegalStateException}. A tensor made by {@link #allocate(Arena, long...)} lives in the
 * caller's arena: {@code close()} only marks the tensor closed, the memory goes when the arena
 * closes. A tensor made by {@link #wrap(MemorySegment, long...)} borrows the caller's segment
 * without copying: {@code close()} marks it closed and the caller keeps the memory.
 *
 * <p>Tensors are not synchronised: do not write one tensor from two threads at once; many threads may
 * read one (e.g. pass it as an input to kernels at the same time). Closing a tensor while a kernel on
 * another thread uses it throws {@link IllegalStateException} (see {@link #close()}); a kernel called
 * after the close throws it too. See docs/concurrency.md.
 */
public final class Tensor implements AutoCloseable {
    private static final long FLOAT_BYTES = Float.BYTES;

    private final MemorySegment segment;
    private final long[] shape;
    private final long elementCount;
    private final Arena ownedArena; // null when the memory belongs to the caller
    private volatile boolean closed;

    private Tensor(MemorySegment segment, long[] shape, long elementCount, Arena ownedArena) {
        this.segment = segment;
        this.shape = shape;
        this.elementCount = elementCount;
        this.ownedArena = ownedArena;
    }

    /** Copies {@code data} into a new owned off-heap tensor of the given shape. */
    public static Tensor of(float[] data, long... shape) {
        Objects.requireNonNull(data, "data");
        long[] s = checkedShape(shape);
        long count = elementCount(s);
        if (count != data.length) {
            throw new IllegalArgumentException("data has " + data.length + " elements but shape "
                    + Arrays.toString(s) + " needs " + count);
        }
        Tensor t = zeros(s);
        MemorySegment.copy(data, 0, t.segment, ValueLayout.JAVA_FLOAT, 0, data.length);
        return t;
    }

    /** A new owned tensor filled with zeros. */
    public static Tensor zeros(long... shape) {
        long[] s = checkedShape(shape);
        long count = elementCount(s);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = arena.allocate(byteSize(count, s), 64);
            return new Tensor(seg, s, count, arena);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** A new zero-filled tensor whose memory lives in the caller's {@code arena}. */
    public static Tensor allocate(Arena arena, long... shape) {
        Objects.requireNonNull(arena, "arena");
        long[] s = checkedShape(shape);
        long count = elementCount(s);
        return new Tensor(arena.allocate(byteSize(count, s), 64), s, count, null);
    }

    /**
     * Views the caller's segment as a tensor without copying. The segment must hold exactly
     * {@code 4 * product(shape)} bytes and be 4-byte aligned; it stays the caller's memory.
     */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        Objects.requireNonNull(segment, "segment");
        long[] s = checkedShape(shape);
        long count = elementCount(s);
        long bytes = byteSize(count, s);
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException("segment has " + segment.byteSize() + " bytes but shape "
                    + Arrays.toString(s) + " needs " + bytes + " (" + count + " floats)");
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment must be off-heap (native); heap segments cannot be "
                    + "passed to native kernels");
        }
        if (segment.address() % FLOAT_BYTES != 0) {
            throw new IllegalArgumentException("segment address 0x" + Long.toHexString(segment.address())
                    + " is not 4-byte aligned");
        }
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException("segment is read-only");
        }
        return new Tensor(segment, s, count, null);
    }

    /** A new owned tensor with the same shape and contents. */
    public Tensor copy() {
        checkAlive("tensor");
        Tensor t = zeros(shape);
        MemorySegment.copy(segment, 0, t.segment, 0, segment.byteSize());
        return t;
    }

    /** The contents copied into a new Java array, in row-major order. */
    public float[] toArray() {
        checkAlive("tensor");
        if (elementCount > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor has " + elementCount + " elements, too many for a Java array");
        }
        return segment.toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Overwrites the contents from {@code data}, which must have exactly {@link #elementCount()} elements. */
    public Tensor copyFrom(float[] data) {
        checkAlive("tensor");
        if (data.length != elementCount) {
            throw new IllegalArgumentException("data has " + data.length + " elements but tensor "
                    + Arrays.toString(shape) + " has " + elementCount);
        }
        MemorySegment.copy(data, 0, segment, ValueLayout.JAVA_FLOAT, 0, data.length);
        return this;
    }

    /** Sets every element to {@code value}. */
    public Tensor fill(float value) {
        checkAlive("tensor");
        if (value == 0.0f && Float.floatToRawIntBits(value) == 0) {
            segment.fill((byte) 0);
        } else {
            for (long i = 0; i < elementCount; i++) {
                segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
            }
        }
        return this;
    }

    /** The element at a flat row-major index. */
    public float get(long flatIndex) {
        checkAlive("tensor");
        Objects.checkIndex(flatIndex, elementCount);
        return segment.getAtIndex(ValueLayout.JAVA_FLOAT, flatIndex);
    }

    /** Sets the element at a flat row-major index. */
    public void set(long flatIndex, float value) {
        checkAlive("tensor");
        Objects.checkIndex(flatIndex, elementCount);
        segment.setAtIndex(ValueLayout.JAVA_FLOAT, flatIndex, value);
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code dim}. */
    public long dim(int dim) {
        return shape[dim];
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** Number of elements (the product of the shape). */
    public long elementCount() {
        return elementCount;
    }

    /**
     * The memory, {@code 4 * elementCount()} bytes. Valid while the tensor is open (and, for
     * {@link #allocate}/{@link #wrap} tensors, while the caller's memory is alive).
     */
    public MemorySegment segment() {
        checkAlive("tensor");
        return segment;
    }

    /** True until {@link #close()} is called and while the underlying memory is alive. */
    public boolean isAlive() {
        return !closed && segment.scope().isAlive();
    }

    /** Throws {@link IllegalStateException} naming {@code name} when this tensor cannot be used. */
    public void checkAlive(String name) {
        if (closed) {
            throw new IllegalStateException(name + " " + Arrays.toString(shape) + " is closed");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(name + " " + Arrays.toString(shape)
                    + ": its memory has been freed (the arena that owned it is closed)");
        }
    }

    /** True when the shape equals {@code expected}. */
    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /** True when {@code other} has the same shape as this tensor (allocates nothing). */
    public boolean hasSameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    /**
     * Reads a NumPy {@code .npy} file of little-endian float32 in C order (as {@code numpy.save} writes
     * {@code float32} arrays) into a new owned tensor.
     *
     * @throws NpyFormatException for any other dtype (named in the message; see {@link #loadNpyConverting}),
     *         Fortran order, a 0-d or empty shape, a bad header, truncated or trailing data
     */
    public static Tensor loadNpy(java.nio.file.Path path) throws java.io.IOException {
        return Npz.readNpy(path, false);
    }

    /** Like {@link #loadNpy} but converts float16/64, int, uint and bool arrays to float32 (rounding to nearest). */
    public static Tensor loadNpyConverting(java.nio.file.Path path) throws java.io.IOException {
        return Npz.readNpy(path, true);
    }

    /** Writes this tensor as a {@code .npy} file (little-endian float32, C order), readable by {@code numpy.load}. */
    public void saveNpy(java.nio.file.Path path) throws java.io.IOException {
        Npz.writeNpy(path, this);
    }

    /**
     * Frees owned memory; marks borrowed memory closed. Idempotent.
     *
     * @throws IllegalStateException when the memory is owned and a native kernel is using it right now (on
     *         another thread): java.lang.foreign keeps a segment's arena alive for the length of a downcall
     *         that receives it, so the memory is never freed under a kernel. The tensor then stays open;
     *         close it after that call has returned.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        // The arena first, the flag after: a refused close must never be visible to another
        // thread, not even for an instant (a concurrent call would fail with "is closed" although
        // the tensor stays open). Between the two, checkAlive reports the freed memory instead.
        if (ownedArena != null) {
            try {
                ownedArena.close();
            } catch (IllegalStateException inUse) {
                throw new IllegalStateException("tensor " + Arrays.toString(shape) + " cannot be closed: a native "
                        + "kernel is using its memory (a call on another thread); close it after that call has "
                        + "returned", inUse);
            }
        }
        closed = true;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (closed ? " (closed)" : "");
    }

    private static long[] checkedShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length == 0) {
            throw new IllegalArgumentException("shape must have at least one dimension");
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw new IllegalArgumentException("shape dimension " + i + " must be >= 1 but was " + shape[i]
                        + " in " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    private static long elementCount(long[] shape) {
        long count = 1;
        for (long d : shape) {
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^63 elements");
            }
        }
        return count;
    }

    private static long byteSize(long count, long[] shape) {
        try {
            return Math.multiplyExact(count, FLOAT_BYTES);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs more than 2^63 bytes");
        }
    }
}
