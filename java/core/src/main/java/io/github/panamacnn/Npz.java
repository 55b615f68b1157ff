package io.github.panamacnn;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.CheckedOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * NumPy {@code .npz} archives of float32 tensors: a zip file with one {@code .npy} entry per array
 * (key {@code "0.weight"} is entry {@code "0.weight.npy"}), as written by {@code numpy.savez}
 * (stored) and {@code numpy.savez_compressed} (deflated). Both are read; {@link #write} stores,
 * {@link #writeCompressed} deflates. Loading into a network: {@link Sequential#load}.
 *
 * <p>Arrays are float32, little-endian, C order. {@link #read} rejects any other dtype with a
 * {@link NpyFormatException} naming it; {@link #readConverting} converts float16/64, integer and bool
 * arrays to float32 instead (rounding to nearest). Truncated files, bad headers, Fortran order and
 * empty or 0-d shapes are {@link NpyFormatException}s naming the file, the entry and the value.
 *
 * <pre>{@code
 * Map<String, Tensor> arrays = Npz.read(Path.of("lenet.npz")); // the caller owns (and closes) the tensors
 * Npz.write(Path.of("copy.npz"), arrays);                        // in the map's order
 * }</pre>
 */
public final class Npz {
    private static final String SUFFIX = ".npy";

    private Npz() {
    }

    /**
     * Reads every array of the archive, in archive order; keys are entry names without {@code .npy}.
     * The caller owns the tensors (close them; on an exception none is left open).
     *
     * @throws NpyFormatException when the file is not a zip archive, an entry is not a .npy file, or an
     *         array is not little-endian float32 (the message names the dtype) or is otherwise unreadable
     * @throws NoSuchFileException when the file does not exist
     */
    public static Map<String, Tensor> read(Path path) throws IOException {
        return read(path, false);
    }

    /** Like {@link #read}, but converts float16/64, int, uint and bool arrays to float32 (rounding to nearest). */
    public static Map<String, Tensor> readConverting(Path path) throws IOException {
        return read(path, true);
    }

    private static Map<String, Tensor> read(Path path, boolean convert) throws IOException {
        Objects.requireNonNull(path, "path");
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such .npz file");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        boolean ok = false;
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new NpyFormatException(path + ": not a readable .npz (zip) archive: " + e.getMessage()
                    + " (truncated or not an .npz file?)");
        }
        try (zip) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.isDirectory()) {
                    continue;
                }
                String where = path + " entry '" + e.getName() + "'";
                if (!e.getName().endsWith(SUFFIX)) {
                    throw new NpyFormatException(where + " is not a .npy array (an .npz holds only NAME.npy entries)");
                }
                String key = e.getName().substring(0, e.getName().length() - SUFFIX.length());
                try (InputStream in = new BufferedInputStream(zip.getInputStream(e), 1 << 16)) {
                    Tensor previous = out.put(key, NpyFormat.read(in, convert, where, e.getSize()));
                    if (previous != null) {
                        previous.close();
                        throw new NpyFormatException(path + ": key '" + key + "' appears twice");
                    }
                } catch (ZipException z) {
                    throw new NpyFormatException(where + ": corrupt archive data: " + z.getMessage());
                }
            }
            ok = true;
            return out;
        } finally {
            if (!ok) {
                out.values().forEach(Tensor::close);
            }
        }
    }

    /**
     * Writes {@code arrays} (in the map's iteration order) as an uncompressed .npz, like
     * {@code numpy.savez}. The file is written next to {@code path} and then moved over it, so a
     * failure leaves any previous file intact.
     *
     * @throws IllegalArgumentException for an empty or null key, or a closed tensor (named)
     */
    public static void write(Path path, Map<String, Tensor> arrays) throws IOException {
        write(path, arrays, false);
    }

    /** Like {@link #write} but deflated, like {@code numpy.savez_compressed}. */
    public static void writeCompressed(Path path, Map<String, Tensor> arrays) throws IOException {
        write(path, arrays, true);
    }

    private static void write(Path path, Map<String, Tensor> arrays, boolean deflate) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(arrays, "arrays");
        for (Map.Entry<String, Tensor> e : arrays.entrySet()) {
            if (e.getKey() == null || e.getKey().isEmpty()) {
                throw new IllegalArgumentException("array keys must be non-empty strings but one is '" + e.getKey()
                        + "'");
            }
            Objects.requireNonNull(e.getValue(), () -> "array '" + e.getKey() + "' is null");
            e.getValue().checkAlive("array '" + e.getKey() + "'");
        }
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = Files.createTempFile(dir, abs.getFileName() + ".", ".tmp");
        boolean ok = false;
        try {
            try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp),
                    1 << 16))) {
                for (Map.Entry<String, Tensor> e : arrays.entrySet()) {
                    ZipEntry entry = new ZipEntry(e.getKey() + SUFFIX);
                    if (deflate) {
                        entry.setMethod(ZipEntry.DEFLATED);
                    } else {
                        // a stored entry needs its size and CRC up front: one pass to compute them
                        CRC32 crc = new CRC32();
                        try (CheckedOutputStream sink = new CheckedOutputStream(OutputStream.nullOutputStream(), crc)) {
                            NpyFormat.write(e.getValue(), sink);
                        }
                        long size = NpyFormat.byteSize(e.getValue());
                        entry.setMethod(ZipEntry.STORED);
                        entry.setSize(size);
                        entry.setCompressedSize(size);
                        entry.setCrc(crc.getValue());
                    }
                    zip.putNextEntry(entry);
                    NpyFormat.write(e.getValue(), zip);
                    zip.closeEntry();
                }
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Reads one .npy file (strict: little-endian float32 only unless {@code convert}). */
    static Tensor readNpy(Path path, boolean convert) throws IOException {
        Objects.requireNonNull(path, "path");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
            return NpyFormat.read(in, convert, path.toString(), Files.size(path));
        }
    }

    /** Writes one .npy file (little-endian float32, C order), replacing {@code path} only when complete. */
    static void writeNpy(Path path, Tensor t) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(t, "tensor");
        t.checkAlive("tensor");
        Path abs = path.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName() + ".", ".tmp");
        boolean ok = false;
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                NpyFormat.write(t, out);
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
