package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Isa;
import io.github.panamacnn.NativeKernelException;
import io.github.panamacnn.ffi.panamacnn_h;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.net.URI;
import java.nio.file.FileSystemNotFoundException;
import java.security.CodeSource;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Loads {@code libpanamacnn} once per JVM (lazily, thread-safe) and records where it came from or
 * why it could not be loaded.
 *
 * <p>Order: the system property {@value #PATH_PROPERTY} names a library file to load exactly
 * (no fallback when it is set); otherwise the library that the jar carries for this platform,
 * {@code /native/<os>-<arch>/<file>} ({@link #resourceName(String, String)}: {@code libpanamacnn.so},
 * {@code panamacnn.dll} or {@code libpanamacnn.dylib}), is extracted into
 * {@code <panamacnn.tmpdir or java.io.tmpdir>/panamacnn-<version>-<sha256 prefix>/} (temp file +
 * atomic move, so concurrent JVMs are safe; an identical existing file is reused) and loaded with
 * {@link System#load}. The library is loaded from this class, which shares its class loader with
 * the {@code ffi} bindings, so their {@code SymbolLookup.loaderLookup()} finds the symbols.
 * Then the library's ABI version is compared with the one the bindings were generated for, and
 * the system properties {@value #MAX_ISA_PROPERTY} and {@value #NUM_THREADS_PROPERTY} are applied.
 *
 * <p>Native access must be enabled for this code's module ({@code --enable-native-access=ALL-UNNAMED}
 * on the class path, or the manifest entry {@code Enable-Native-Access: ALL-UNNAMED} of an executable
 * jar); without it the library is not loaded and the reason says so.
 */
public final class NativeLibrary {
    /** An explicit library file; when set, exactly that file is loaded, with no fallback. */
    public static final String PATH_PROPERTY = "panamacnn.library.path";
    /** The folder under which the bundled library is extracted (default: {@code java.io.tmpdir}). */
    public static final String TMPDIR_PROPERTY = "panamacnn.tmpdir";
    /** Caps the ISA right after loading: scalar, avx2, avx512 or neon. */
    public static final String MAX_ISA_PROPERTY = "panamacnn.maxIsa";
    /** Sets the kernel thread count right after loading: 1..256. */
    public static final String NUM_THREADS_PROPERTY = "panamacnn.numThreads";
    /** Largest thread count the C library accepts. */
    public static final int MAX_THREADS = 256;

    static final String LIBRARY_NAME = "panamacnn";
    static final String ENABLE_NATIVE_ACCESS_FLAG = "--enable-native-access=ALL-UNNAMED";
    static final String MANIFEST_ENTRY = "Enable-Native-Access: ALL-UNNAMED";

    private NativeLibrary() {
    }

    /** The outcome of the one load attempt. */
    record State(Path path, String failure, boolean configError) {
        boolean loaded() {
            return failure == null;
        }
    }

    private static final class Holder {
        static final State STATE = loadOnce();
    }

    /** True when the library is loaded and usable. Triggers the (one) load attempt. */
    public static boolean isAvailable() {
        return Holder.STATE.loaded();
    }

    /** The absolute path of the loaded library file, empty when it is not loaded. */
    public static Optional<Path> path() {
        State s = Holder.STATE;
        return s.loaded() ? Optional.ofNullable(s.path()) : Optional.empty();
    }

    /** Why the library is not loaded, including what to do about it; {@code null} when it is loaded. */
    public static String failureReason() {
        return Holder.STATE.failure();
    }

    /**
     * Loads the library if needed. Throws {@link IllegalStateException} with the reason when it cannot
     * be loaded, or {@link IllegalArgumentException} when a {@code panamacnn.*} system property is invalid.
     */
    public static void ensureLoaded() {
        State s = Holder.STATE;
        if (!s.loaded()) {
            if (s.configError()) {
                throw new IllegalArgumentException(s.failure());
            }
            throw new IllegalStateException("panama-cnn native library not available: " + s.failure());
        }
    }

    /** True when the failure was an invalid {@code panamacnn.*} property rather than a missing/broken library. */
    static boolean failureIsConfigError() {
        return Holder.STATE.configError();
    }

    /** The Java library version: the jar's Implementation-Version, else "dev". */
    public static String javaVersion() {
        String v = NativeLibrary.class.getPackage() == null ? null
                : NativeLibrary.class.getPackage().getImplementationVersion();
        return v == null || v.isBlank() ? "dev" : v;
    }

    // ---- library controls (used by the PanamaCnn facade; each loads the library first) ----------

    /** {@code pcnn_isa_detected()}. */
    public static int detectedIsaLevel() {
        ensureLoaded();
        return panamacnn_h.pcnn_isa_detected();
    }

    /** {@code pcnn_isa_active()}. */
    public static int activeIsaLevel() {
        ensureLoaded();
        return panamacnn_h.pcnn_isa_active();
    }

    /** {@code pcnn_set_max_isa(level)}; a non-OK status throws {@link NativeKernelException}. */
    public static void setMaxIsaLevel(int level) {
        ensureLoaded();
        NativeBackend.check("pcnn_set_max_isa", panamacnn_h.pcnn_set_max_isa(level));
    }

    /** {@code pcnn_isa_name(level)}: "scalar", "avx2", "avx512", "neon" or "unknown". */
    public static String isaName(int level) {
        ensureLoaded();
        return panamacnn_h.pcnn_isa_name(level).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** {@code pcnn_get_num_threads()}. */
    public static int numThreads() {
        ensureLoaded();
        return panamacnn_h.pcnn_get_num_threads();
    }

    /** {@code pcnn_set_num_threads(n)}; a non-OK status throws {@link NativeKernelException}. */
    public static void setNumThreads(int n) {
        ensureLoaded();
        NativeBackend.check("pcnn_set_num_threads", panamacnn_h.pcnn_set_num_threads(n));
    }

    /** {@code pcnn_scratch_bytes()}: native scratch memory the kernels hold now, all threads together. */
    public static long scratchBytes() {
        ensureLoaded();
        return panamacnn_h.pcnn_scratch_bytes();
    }

    /** {@code pcnn_abi_version()}: the ABI compiled into the loaded library. */
    public static int libraryAbiVersion() {
        ensureLoaded();
        return panamacnn_h.pcnn_abi_version();
    }

    /** The ABI version the Java bindings were generated for ({@code PCNN_ABI_VERSION}). */
    public static int expectedAbiVersion() {
        return panamacnn_h.PCNN_ABI_VERSION();
    }

    // ------------------------------------------------------------------------------------------

    private static State loadOnce() {
        // 1. Configuration first: a bad property is reported as such, before anything is loaded.
        Isa maxIsa;
        Integer numThreads;
        try {
            maxIsa = parseMaxIsa(System.getProperty(MAX_ISA_PROPERTY));
            numThreads = parseNumThreads(System.getProperty(NUM_THREADS_PROPERTY));
        } catch (IllegalArgumentException e) {
            return new State(null, e.getMessage(), true);
        }
        // 2. Native access.
        String access = nativeAccessProblem(NativeLibrary.class.getModule());
        if (access != null) {
            return failed(null, access);
        }
        // 3. Find (or extract) and load the file.
        Path file;
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null) {
            Path p = Path.of(explicit).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                return failed(null, "system property " + PATH_PROPERTY + " = " + explicit
                        + (p.toString().equals(explicit) ? "" : " (" + p + ")")
                        + " does not exist or is not a regular file (when " + PATH_PROPERTY
                        + " is set, exactly that file is loaded and no fallback is tried; fix the path or unset it)");
            }
            file = p;
        } else {
            try {
                file = extractBundled();
            } catch (IOException | RuntimeException e) {
                return failed(null, e.getMessage());
            }
        }
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError | SecurityException | IllegalCallerException e) {
            return failed(null, "System.load(" + file + ") failed: " + e.getMessage()
                    + (explicit != null ? " (from system property " + PATH_PROPERTY + ", no fallback)" : ""));
        }
        // 4. ABI version.
        int libraryAbi;
        try {
            libraryAbi = panamacnn_h.pcnn_abi_version();
        } catch (LinkageError | RuntimeException e) {
            return failed(null, "loaded " + file + " but could not call pcnn_abi_version: " + e
                    + " (is it a panama-cnn library?)");
        }
        String abi = abiMismatch(libraryAbi, panamacnn_h.PCNN_ABI_VERSION());
        if (abi != null) {
            return failed(null, abi + " (library " + file + "): the jar and the native library come from different "
                    + "panama-cnn versions; rebuild the library or use the matching one");
        }
        // 5. Apply the properties once.
        try {
            if (maxIsa != null) {
                int st = panamacnn_h.pcnn_set_max_isa(maxIsa.level());
                if (st != panamacnn_h.PCNN_STATUS_OK()) {
                    return failed(null, "applying " + MAX_ISA_PROPERTY + "=" + maxIsa.id() + ": pcnn_set_max_isa "
                            + "returned status " + st + " (" + statusText(st) + ")");
                }
            }
            if (numThreads != null) {
                int st = panamacnn_h.pcnn_set_num_threads(numThreads);
                if (st != panamacnn_h.PCNN_STATUS_OK()) {
                    return failed(null, "applying " + NUM_THREADS_PROPERTY + "=" + numThreads
                            + ": pcnn_set_num_threads returned status " + st + " (" + statusText(st) + ")");
                }
            }
        } catch (LinkageError | RuntimeException e) {
            return failed(null, "loaded " + file + " but configuring it failed: " + e);
        }
        return new State(file, null, false);
    }

    private static State failed(Path path, String reason) {
        return new State(path, reason, false);
    }

    /** The C text of a status (the library must be loaded). */
    static String statusText(int status) {
        return panamacnn_h.pcnn_status_str(status).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** {@code null} when native access is enabled for {@code module}, else what is wrong and how to fix it. */
    static String nativeAccessProblem(Module module) {
        if (module.isNativeAccessEnabled()) {
            return null;
        }
        String who = module.isNamed() ? "module " + module.getName() : "the class path (unnamed module)";
        String flag = module.isNamed() ? "--enable-native-access=" + module.getName() : ENABLE_NATIVE_ACCESS_FLAG;
        return "native access is not enabled for " + who + ": start the JVM with " + flag
                + " (or, for an executable jar, put the manifest entry '" + MANIFEST_ENTRY + "' in it)";
    }

    /** {@code null} when the versions agree, else "library ABI x, Java expects y". */
    static String abiMismatch(int libraryAbi, int javaAbi) {
        return libraryAbi == javaAbi ? null : "library ABI " + libraryAbi + ", Java expects " + javaAbi;
    }

    /** Parses {@value #MAX_ISA_PROPERTY}; {@code null} (unset or blank) means "no cap". */
    static Isa parseMaxIsa(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Isa.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("system property " + MAX_ISA_PROPERTY + " = '" + value
                    + "' is invalid: expected scalar, avx2, avx512 or neon");
        }
    }

    /** Parses {@value #NUM_THREADS_PROPERTY}; {@code null} (unset or blank) means "library default". */
    static Integer parseNumThreads(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > MAX_THREADS) {
            throw new IllegalArgumentException("system property " + NUM_THREADS_PROPERTY + " = '" + value
                    + "' is invalid: expected an integer in [1, " + MAX_THREADS + "]");
        }
        return n;
    }

    // ---- platform and extraction ----------------------------------------------------------------

    /** "linux", "macos", "windows" or the lower-cased os.name. */
    static String osName(String osName) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            return "linux";
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            return "macos";
        }
        if (os.startsWith("windows")) {
            return "windows";
        }
        return os.replaceAll("[^a-z0-9]+", "");
    }

    /** "x86_64", "aarch64" or the lower-cased os.arch. */
    static String archName(String osArch) {
        String a = osArch.toLowerCase(Locale.ROOT);
        return switch (a) {
            case "amd64", "x86_64", "x86-64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> a;
        };
    }

    /** "os-arch" as the jar names its native folders, e.g. "linux-x86_64", "windows-x86_64". */
    static String platformId(String osNameProperty, String osArchProperty) {
        return osName(osNameProperty) + "-" + archName(osArchProperty);
    }

    /** The platform of this JVM, e.g. "linux-x86_64" (from os.name and os.arch). */
    public static String currentPlatform() {
        return platformId(System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    /** The library's file name on an OS as {@link #osName} names it (what System.mapLibraryName gives there). */
    static String libraryFileName(String os) {
        return switch (os) {
            case "windows" -> LIBRARY_NAME + ".dll";
            case "macos" -> "lib" + LIBRARY_NAME + ".dylib";
            default -> "lib" + LIBRARY_NAME + ".so";
        };
    }

    /** The jar resource holding the library for a platform given by os.name / os.arch values. */
    static String resourceName(String osNameProperty, String osArchProperty) {
        return "/native/" + platformId(osNameProperty, osArchProperty) + "/"
                + libraryFileName(osName(osNameProperty));
    }

    /** The jar resource holding the library for the running platform. */
    static String resourceName() {
        return resourceName(System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    private static final class PlatformsHolder {
        static final List<String> PLATFORMS = listBundledPlatforms();
    }

    /**
     * The platforms ("linux-x86_64", "windows-x86_64", ...) whose native library this jar (or class
     * folder) carries, sorted; empty when none or when the jar cannot be listed. Never throws.
     */
    public static List<String> bundledPlatforms() {
        return PlatformsHolder.PLATFORMS;
    }

    /**
     * The platforms among jar entry names of the form {@code native/<os>-<arch>/<library file for os>}
     * (a leading '/' is ignored), sorted and without duplicates.
     */
    static List<String> platformsIn(Iterable<String> entryNames) {
        TreeSet<String> found = new TreeSet<>();
        for (String name : entryNames) {
            String n = name.startsWith("/") ? name.substring(1) : name;
            String[] parts = n.split("/");
            if (parts.length != 3 || !parts[0].equals("native")) {
                continue;
            }
            int dash = parts[1].indexOf('-');
            if (dash <= 0 || dash == parts[1].length() - 1) {
                continue;
            }
            if (parts[2].equals(libraryFileName(parts[1].substring(0, dash)))) {
                found.add(parts[1]);
            }
        }
        return List.copyOf(found);
    }

    /**
     * Why there is no library for a platform, naming the platforms the jar does carry and saying that
     * the pure-Java reference backend is used instead.
     */
    static String noLibraryMessage(String osNameProperty, String osArchProperty, List<String> carried) {
        String platform = platformId(osNameProperty, osArchProperty);
        String file = libraryFileName(osName(osNameProperty));
        return "this jar has no native library for " + platform + " (os.name=" + osNameProperty + ", os.arch="
                + osArchProperty + "; resource " + resourceName(osNameProperty, osArchProperty) + " not found); "
                + "it carries native libraries for: "
                + (carried.isEmpty() ? "no platform" : String.join(", ", carried))
                + ". panama-cnn therefore runs on the pure-Java reference backend. For native kernels build the jar "
                + "on this platform (mvn package), or set -D" + PATH_PROPERTY + "=/path/to/" + file;
    }

    private static List<String> listBundledPlatforms() {
        try {
            CodeSource cs = NativeLibrary.class.getProtectionDomain().getCodeSource();
            if (cs == null || cs.getLocation() == null) {
                return List.of();
            }
            URI uri = cs.getLocation().toURI();
            Path where;
            try {
                where = Path.of(uri);
            } catch (FileSystemNotFoundException | IllegalArgumentException e) {
                return List.of();
            }
            List<String> names = new ArrayList<>();
            if (Files.isDirectory(where)) {
                Path nativeDir = where.resolve("native");
                if (Files.isDirectory(nativeDir)) {
                    try (Stream<Path> files = Files.walk(nativeDir, 2)) {
                        files.filter(Files::isRegularFile)
                                .forEach(f -> names.add("native/" + nativeDir.relativize(f).toString()
                                        .replace(f.getFileSystem().getSeparator(), "/")));
                    }
                }
            } else if (Files.isRegularFile(where)) {
                try (ZipFile zip = new ZipFile(where.toFile())) {
                    for (ZipEntry e : Collections.list(zip.entries())) {
                        if (e.getName().startsWith("native/")) {
                            names.add(e.getName());
                        }
                    }
                }
            }
            return platformsIn(names);
        } catch (IOException | RuntimeException | java.net.URISyntaxException e) {
            return List.of();
        }
    }

    private static Path extractBundled() throws IOException {
        String resource = resourceName();
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException(noLibraryMessage(System.getProperty("os.name"), System.getProperty("os.arch"),
                        bundledPlatforms()));
            }
            bytes = in.readAllBytes();
        }
        String tmp = System.getProperty(TMPDIR_PROPERTY);
        boolean configured = tmp != null && !tmp.isBlank();
        Path base = Path.of(configured ? tmp : System.getProperty("java.io.tmpdir"));
        try {
            return extract(bytes, base, javaVersion(), System.mapLibraryName(LIBRARY_NAME));
        } catch (IOException | RuntimeException e) {
            // e.g. a read-only or full temp folder: say which folder, where it came from and what to set
            String from = configured ? "system property " + TMPDIR_PROPERTY + " = " + tmp
                    : "java.io.tmpdir, as " + TMPDIR_PROPERTY + " is not set";
            throw new IOException("could not extract the bundled native library " + resource + " into the folder "
                    + base.toAbsolutePath() + " (from " + from + "): " + e + "; that folder must be writable: set -D"
                    + TMPDIR_PROPERTY + "=<a writable folder>, or -D" + PATH_PROPERTY + "=<an extracted "
                    + System.mapLibraryName(LIBRARY_NAME) + "> to load a copy from elsewhere", e);
        }
    }

    /** {@code panamacnn-<version>-<first 16 hex digits of sha256(bytes)>}. */
    static String folderName(String version, byte[] bytes) {
        String safe = version.replaceAll("[^A-Za-z0-9._-]", "_");
        return "panamacnn-" + safe + "-" + HexFormat.of().formatHex(sha256(bytes)).substring(0, 16);
    }

    /**
     * Writes {@code bytes} to {@code base/folderName(version, bytes)/fileName} unless an identical file is
     * already there, and returns its absolute path. Concurrent callers (threads or JVMs) are safe: the
     * file is written under a unique temporary name and atomically renamed into place.
     */
    static Path extract(byte[] bytes, Path base, String version, String fileName) throws IOException {
        Path dir = base.resolve(folderName(version, bytes)).toAbsolutePath();
        Files.createDirectories(dir);
        Path target = dir.resolve(fileName);
        if (sameContent(target, bytes)) {
            return target;
        }
        Path tmp = Files.createTempFile(dir, fileName + ".", ".tmp");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (FileAlreadyExistsException | java.nio.file.AccessDeniedException e) {
            // Another process holds the file (e.g. a loaded DLL on Windows): fine if it is identical.
            if (!sameContent(target, bytes)) {
                throw e;
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    private static boolean sameContent(Path file, byte[] bytes) throws IOException {
        if (!Files.isRegularFile(file) || Files.size(file) != bytes.length) {
            return false;
        }
        return Arrays.equals(Files.readAllBytes(file), bytes);
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is required on every Java platform", e);
        }
    }
}
