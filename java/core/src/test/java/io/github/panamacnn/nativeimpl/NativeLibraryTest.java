package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Isa;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLibraryTest {

    // ---- this JVM (started with --enable-native-access and panamacnn.native.required=true) ----

    @Test
    void loadsInThisJvmAndReportsAnExistingPath() {
        assertThat(NativeLibrary.isAvailable()).as("reason: %s", NativeLibrary.failureReason()).isTrue();
        assertThat(NativeLibrary.failureReason()).isNull();
        Path p = NativeLibrary.path().orElseThrow();
        assertThat(p).isAbsolute().isRegularFile();
        assertThat(p.getFileName().toString()).isEqualTo(System.mapLibraryName("panamacnn"));
        NativeLibrary.ensureLoaded(); // does not throw
    }

    @Test
    void libraryAbiMatchesTheBindingsAndTheHeader() throws java.io.IOException {
        // The bindings' constant must be the header's #define, and the library reports its own compiled value.
        java.nio.file.Path header = java.nio.file.Path.of(System.getProperty("panamacnn.root", "."))
                .resolve("native/include/panamacnn/panamacnn.h");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^#define PCNN_ABI_VERSION (\\d+)$")
                .matcher(java.nio.file.Files.readString(header));
        assertThat(m.find()).as("#define PCNN_ABI_VERSION in %s", header).isTrue();
        assertThat(NativeLibrary.expectedAbiVersion()).isEqualTo(Integer.parseInt(m.group(1)));
        assertThat(NativeLibrary.libraryAbiVersion()).isEqualTo(NativeLibrary.expectedAbiVersion());
    }

    @Test
    void abiMismatchMessage() {
        assertThat(NativeLibrary.abiMismatch(1, 1)).isNull();
        assertThat(NativeLibrary.abiMismatch(2, 1)).isEqualTo("library ABI 2, Java expects 1");
        assertThat(NativeLibrary.abiMismatch(0, 3)).isEqualTo("library ABI 0, Java expects 3");
    }

    @Test
    void nativeAccessIsEnabledHereSoNoProblemIsReported() {
        assertThat(NativeLibrary.class.getModule().isNativeAccessEnabled()).isTrue();
        assertThat(NativeLibrary.nativeAccessProblem(NativeLibrary.class.getModule())).isNull();
    }

    @Test
    void platformNames() {
        assertThat(NativeLibrary.osName("Linux")).isEqualTo("linux");
        assertThat(NativeLibrary.osName("Mac OS X")).isEqualTo("macos");
        assertThat(NativeLibrary.osName("Windows 11")).isEqualTo("windows");
        assertThat(NativeLibrary.osName("FreeBSD")).isEqualTo("freebsd");
        assertThat(NativeLibrary.archName("amd64")).isEqualTo("x86_64");
        assertThat(NativeLibrary.archName("x86_64")).isEqualTo("x86_64");
        assertThat(NativeLibrary.archName("aarch64")).isEqualTo("aarch64");
        assertThat(NativeLibrary.archName("arm64")).isEqualTo("aarch64");
        assertThat(NativeLibrary.archName("riscv64")).isEqualTo("riscv64");
    }

    @Test
    void resourceNameForThisPlatformExistsOnTheClassPath() throws IOException {
        String r = NativeLibrary.resourceName();
        if (System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64")) {
            assertThat(r).isEqualTo("/native/linux-x86_64/libpanamacnn.so");
        }
        try (InputStream in = NativeLibrary.class.getResourceAsStream(r)) {
            assertThat(in).as("resource %s", r).isNotNull();
        }
    }

    @Test
    void propertyParsing() {
        assertThat(NativeLibrary.parseMaxIsa(null)).isNull();
        assertThat(NativeLibrary.parseMaxIsa(" ")).isNull();
        assertThat(NativeLibrary.parseMaxIsa("scalar")).isEqualTo(Isa.SCALAR);
        assertThat(NativeLibrary.parseMaxIsa("AVX2")).isEqualTo(Isa.AVX2);
        assertThat(NativeLibrary.parseMaxIsa("avx512")).isEqualTo(Isa.AVX512);
        assertThatThrownBy(() -> NativeLibrary.parseMaxIsa("sse4"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("panamacnn.maxIsa").hasMessageContaining("'sse4'")
                .hasMessageContaining("scalar, avx2, avx512 or neon");
        assertThat(NativeLibrary.parseNumThreads(null)).isNull();
        assertThat(NativeLibrary.parseNumThreads("1")).isEqualTo(1);
        assertThat(NativeLibrary.parseNumThreads(" 256 ")).isEqualTo(256);
        for (String bad : List.of("0", "257", "-3", "four", "2.5")) {
            assertThatThrownBy(() -> NativeLibrary.parseNumThreads(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("panamacnn.numThreads").hasMessageContaining("'" + bad + "'");
        }
    }

    // ---- extraction ----

    @Test
    void folderNameIsVersionPlusSha256Prefix() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (FIPS 180-2 example)
        byte[] abc = "abc".getBytes(StandardCharsets.US_ASCII);
        assertThat(NativeLibrary.folderName("1.2.3", abc)).isEqualTo("panamacnn-1.2.3-ba7816bf8f01cfea");
        assertThat(NativeLibrary.folderName("1.0/evil", abc)).isEqualTo("panamacnn-1.0_evil-ba7816bf8f01cfea");
    }

    @Test
    void extractWritesIntoTheVersionedFolderAndReusesAnIdenticalFile(@TempDir Path base) throws IOException {
        byte[] lib = "pretend this is a shared library".getBytes(StandardCharsets.US_ASCII);
        Path p = NativeLibrary.extract(lib, base, "9.9", "libx.so");
        assertThat(p).isEqualTo(base.resolve(NativeLibrary.folderName("9.9", lib)).resolve("libx.so").toAbsolutePath());
        assertThat(Files.readAllBytes(p)).isEqualTo(lib);

        FileTime old = FileTime.fromMillis(1_000_000_000L);
        Files.setLastModifiedTime(p, old);
        Path again = NativeLibrary.extract(lib, base, "9.9", "libx.so");
        assertThat(again).isEqualTo(p);
        assertThat(Files.getLastModifiedTime(p)).as("identical file must be reused, not rewritten").isEqualTo(old);
        assertThat(listAll(p.getParent())).containsExactly("libx.so");
    }

    @Test
    void extractReplacesACorruptedFile(@TempDir Path base) throws IOException {
        byte[] lib = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        Path p = NativeLibrary.extract(lib, base, "1", "libx.so");
        Files.write(p, "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII)); // same length, other bytes
        Path again = NativeLibrary.extract(lib, base, "1", "libx.so");
        assertThat(again).isEqualTo(p);
        assertThat(Files.readAllBytes(p)).isEqualTo(lib);
        assertThat(listAll(p.getParent())).containsExactly("libx.so"); // no temp file left behind
    }

    @Test
    void differentBytesGoToDifferentFolders(@TempDir Path base) throws IOException {
        Path a = NativeLibrary.extract(new byte[] {1, 2, 3}, base, "1", "libx.so");
        Path b = NativeLibrary.extract(new byte[] {1, 2, 4}, base, "1", "libx.so");
        assertThat(a.getParent()).isNotEqualTo(b.getParent());
        assertThat(Files.readAllBytes(a)).containsExactly(1, 2, 3);
        assertThat(Files.readAllBytes(b)).containsExactly(1, 2, 4);
    }

    @Test
    void concurrentExtractionsAgree(@TempDir Path base) throws Exception {
        byte[] lib = new byte[1 << 20];
        for (int i = 0; i < lib.length; i++) {
            lib[i] = (byte) (i * 31 + 7);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Path>> jobs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                jobs.add(() -> NativeLibrary.extract(lib, base, "c", "libx.so"));
            }
            Set<Path> paths = new HashSet<>();
            for (Future<Path> f : pool.invokeAll(jobs)) {
                paths.add(f.get());
            }
            assertThat(paths).hasSize(1);
            Path p = paths.iterator().next();
            assertThat(Files.readAllBytes(p)).isEqualTo(lib);
            assertThat(listAll(p.getParent())).containsExactly("libx.so");
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- forked JVMs: the library loads once per JVM, so each scenario needs its own ----

    @Test
    void explicitPathThatDoesNotExistFailsNamingThePathWithoutFallback(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("no-such-dir").resolve("libmissing.so");
        Map<String, String> out = fork(List.of("--enable-native-access=ALL-UNNAMED",
                "-Dpanamacnn.library.path=" + missing, "-Dpanamacnn.native.required=true"));
        assertThat(out.get("available")).isEqualTo("false");
        assertThat(out.get("path")).isEqualTo("-");
        assertThat(out.get("reason")).contains(missing.toString()).contains("panamacnn.library.path")
                .contains("no fallback");
        assertThat(out.get("ensureLoaded")).startsWith("IllegalStateException").contains(missing.toString());
        assertThat(out.get("backendError")).startsWith("IllegalStateException")
                .contains("panamacnn.native.required").contains(missing.toString());
    }

    @Test
    void autoFallsBackToReferenceWithOneWarningWhenNotRequired(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("libmissing.so");
        ForkResult r = forkRaw(List.of("--enable-native-access=ALL-UNNAMED", "-Dpanamacnn.library.path=" + missing));
        assertThat(r.values().get("available")).isEqualTo("false");
        assertThat(r.values().get("backend")).isEqualTo("reference"); // printed twice, both reference
        assertThat(r.stdout().lines().filter(l -> l.equals("backend=reference")).count()).isEqualTo(2);
        long warnings = r.stderr().lines().filter(l -> l.contains("falling back to the pure-Java reference")).count();
        assertThat(warnings).as("stderr:%n%s", r.stderr()).isEqualTo(1);
        assertThat(r.stderr()).contains(missing.toString()).contains("-Dpanamacnn.backend=reference");
    }

    @Test
    void withoutNativeAccessTheReasonGivesTheExactFlag() throws Exception {
        Map<String, String> out = fork(List.of("-Dpanamacnn.native.required=true"));
        assertThat(out.get("available")).isEqualTo("false");
        assertThat(out.get("reason")).contains("--enable-native-access=ALL-UNNAMED")
                .contains("Enable-Native-Access: ALL-UNNAMED");
        assertThat(out.get("ensureLoaded")).startsWith("IllegalStateException")
                .contains("--enable-native-access=ALL-UNNAMED");
    }

    @Test
    void extractsUnderTheConfiguredTmpdirAndAppliesIsaAndThreadProperties(@TempDir Path tmp) throws Exception {
        Map<String, String> out = fork(List.of("--enable-native-access=ALL-UNNAMED", "-Dpanamacnn.tmpdir=" + tmp,
                "-Dpanamacnn.maxIsa=scalar", "-Dpanamacnn.numThreads=3"));
        assertThat(out.get("available")).as(out.toString()).isEqualTo("true");
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(NativeLibrary.resourceName())) {
            bytes = in.readAllBytes();
        }
        Path expected = tmp.toAbsolutePath().resolve(NativeLibrary.folderName(NativeLibrary.javaVersion(), bytes))
                .resolve(System.mapLibraryName("panamacnn"));
        assertThat(out.get("path")).isEqualTo(expected.toString());
        assertThat(Files.readAllBytes(expected)).isEqualTo(bytes);
        assertThat(out.get("activeIsa")).isEqualTo("scalar");
        assertThat(out.get("numThreads")).isEqualTo("3");
        assertThat(out.get("backend")).isEqualTo("native");
    }

    @Test
    void explicitPathToARealLibraryIsLoadedFromThere() throws Exception {
        Path real = NativeLibrary.path().orElseThrow();
        Map<String, String> out = fork(List.of("--enable-native-access=ALL-UNNAMED",
                "-Dpanamacnn.library.path=" + real, "-Dpanamacnn.numThreads=2"));
        assertThat(out.get("available")).as(out.toString()).isEqualTo("true");
        assertThat(out.get("path")).isEqualTo(real.toString());
        assertThat(out.get("numThreads")).isEqualTo("2");
    }

    @Test
    void invalidIsaPropertyIsAConfigurationErrorNamingTheProperty() throws Exception {
        Map<String, String> out = fork(List.of("--enable-native-access=ALL-UNNAMED", "-Dpanamacnn.maxIsa=avx9"));
        assertThat(out.get("available")).isEqualTo("false");
        assertThat(out.get("ensureLoaded")).startsWith("IllegalArgumentException")
                .contains("panamacnn.maxIsa").contains("avx9");
        // auto does not silently fall back on a configuration error
        assertThat(out.get("backendError")).startsWith("IllegalArgumentException").contains("panamacnn.maxIsa");
    }

    // ---- helpers ----

    record ForkResult(Map<String, String> values, String stdout, String stderr) {
    }

    private static Map<String, String> fork(List<String> jvmArgs) throws Exception {
        return forkRaw(jvmArgs).values();
    }

    private static ForkResult forkRaw(List<String> jvmArgs) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LoaderProbe.class.getName());
        Path err = Files.createTempFile("loader-probe", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
            pb.environment().remove("PANAMACNN_MAX_ISA");
            pb.environment().remove("PANAMACNN_NUM_THREADS");
            Process p = pb.start();
            p.getOutputStream().close();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("forked JVM timed out: " + cmd);
            }
            String stderr = Files.readString(err);
            assertThat(p.exitValue()).as("exit code of %s%nstdout:%n%s%nstderr:%n%s", cmd, stdout, stderr).isZero();
            Map<String, String> values = new LinkedHashMap<>();
            stdout.lines().forEach(l -> {
                int eq = l.indexOf('=');
                if (eq > 0) {
                    values.put(l.substring(0, eq), l.substring(eq + 1));
                }
            });
            return new ForkResult(values, stdout, stderr);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static List<String> listAll(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
