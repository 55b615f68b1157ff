package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loader faults, each in fresh JVMs running {@link LoaderProbe} (the library loads once per JVM):
 * several JVMs extracting the same jar into the same fresh folder at once, an extraction folder that
 * cannot be written (the message names {@code panamacnn.tmpdir} and the folder; then the reference
 * fallback, or the exception when {@code panamacnn.native.required=true}), and a previously extracted
 * file that was corrupted (detected - its bytes differ from the jar's - and replaced).
 */
class NativeLibraryFaultsTest {

    private static final int JVMS = 3;

    /** A jar of the built classes and the bundled library (the test phase runs before `package`). */
    private static Path buildJar(Path dir) throws IOException {
        Path classes = Path.of(NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        assertThat(classes.resolve(NativeLibrary.resourceName().substring(1))).as("the built library").isRegularFile();
        Path jar = dir.resolve("panama-cnn-test.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
        return jar;
    }

    private static byte[] bundledBytes() throws IOException {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(NativeLibrary.resourceName())) {
            return in.readAllBytes();
        }
    }

    private static String probeClassPath(Path jar) {
        Path testClasses = Path.of(LoaderProbe.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        return jar + java.io.File.pathSeparator + testClasses;
    }

    record Probe(Process process, Path out, Path err) {
        Map<String, String> finish() throws Exception {
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("forked JVM timed out");
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            assertThat(process.exitValue()).as("exit code; stdout:%n%s%nstderr:%n%s", stdout, stderr).isZero();
            Map<String, String> values = new LinkedHashMap<>();
            stdout.lines().forEach(l -> {
                int eq = l.indexOf('=');
                if (eq > 0) {
                    values.putIfAbsent(l.substring(0, eq), l.substring(eq + 1));
                }
            });
            values.put("stderr", stderr);
            return values;
        }
    }

    private static Probe start(Path jar, Path logs, String name, List<String> jvmArgs) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(probeClassPath(jar));
        cmd.add(LoaderProbe.class.getName());
        Path out = logs.resolve(name + ".out");
        Path err = logs.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("PANAMACNN_MAX_ISA");
        pb.environment().remove("PANAMACNN_NUM_THREADS");
        Process p = pb.start();
        p.getOutputStream().close();
        return new Probe(p, out, err);
    }

    private static Map<String, String> run(Path jar, Path logs, String name, List<String> jvmArgs) throws Exception {
        return start(jar, logs, name, jvmArgs).finish();
    }

    private static List<String> listAll(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void severalJvmsExtractingTheSameJarAtOnceAllLoadIt(@TempDir Path dir) throws Exception {
        Path jar = buildJar(dir);
        Path tmp = Files.createDirectory(dir.resolve("fresh-tmp"));
        List<Probe> probes = new ArrayList<>();
        for (int i = 0; i < JVMS; i++) { // started together, so their extractions overlap
            probes.add(start(jar, dir, "jvm" + i, List.of("-Dpanamacnn.tmpdir=" + tmp,
                    "-Dpanamacnn.native.required=true")));
        }
        List<String> paths = new ArrayList<>();
        for (Probe p : probes) {
            Map<String, String> out = p.finish();
            assertThat(out.get("available")).as("%s", out).isEqualTo("true");
            assertThat(out.get("backend")).isEqualTo("native");
            paths.add(out.get("path"));
        }
        assertThat(paths).hasSize(JVMS).allMatch(paths.get(0)::equals);
        Path lib = Path.of(paths.get(0));
        assertThat(lib.startsWith(tmp.toAbsolutePath())).as("%s under %s", lib, tmp).isTrue();
        assertThat(Files.readAllBytes(lib)).isEqualTo(bundledBytes());
        assertThat(listAll(lib.getParent())).as("no temporary file left behind")
                .containsExactly(System.mapLibraryName("panamacnn"));
    }

    /** A folder this process cannot create anything in, or null (then the test is skipped). */
    private static Path unwritableFolder(Path dir) throws IOException {
        Path ro = Files.createDirectory(dir.resolve("read-only"));
        try {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        } catch (UnsupportedOperationException e) {
            return null;
        }
        try {
            Files.delete(Files.createFile(ro.resolve("probe")));
        } catch (IOException refused) {
            return ro; // an ordinary user: the permissions hold
        }
        // root ignores permissions; /sys refuses new entries even to root on Linux
        Path sys = Path.of("/sys");
        if (Files.isDirectory(sys)) {
            try {
                Files.delete(Files.createDirectory(sys.resolve("panamacnn-write-probe")));
            } catch (IOException refused) {
                return sys;
            }
        }
        return null;
    }

    @Test
    void anUnwritableExtractionFolderIsNamedWithThePropertyThenFallbackOrException(@TempDir Path dir)
            throws Exception {
        Path jar = buildJar(dir);
        Path ro = unwritableFolder(dir);
        Assumptions.assumeTrue(ro != null, "no folder this user cannot write to");
        try {
            Map<String, String> fallback = run(jar, dir, "ro-auto", List.of("-Dpanamacnn.tmpdir=" + ro));
            assertThat(fallback.get("available")).isEqualTo("false");
            assertThat(fallback.get("reason")).contains("panamacnn.tmpdir = " + ro)
                    .contains("into the folder " + ro.toAbsolutePath()).contains("must be writable");
            assertThat(fallback.get("backend")).isEqualTo("reference");
            assertThat(fallback.get("stderr")).contains("panamacnn.tmpdir").contains("reference");

            Map<String, String> required = run(jar, dir, "ro-required",
                    List.of("-Dpanamacnn.tmpdir=" + ro, "-Dpanamacnn.native.required=true"));
            assertThat(required.get("available")).isEqualTo("false");
            assertThat(required.get("backendError")).startsWith("IllegalStateException")
                    .contains("panamacnn.tmpdir = " + ro).contains(ro.toAbsolutePath().toString());
        } finally {
            if (ro.startsWith(dir)) {
                Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    @Test
    void aCorruptedPreviouslyExtractedLibraryIsDetectedAndReplaced(@TempDir Path dir) throws Exception {
        Path jar = buildJar(dir);
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        List<String> args = List.of("-Dpanamacnn.tmpdir=" + tmp, "-Dpanamacnn.native.required=true");
        Map<String, String> first = run(jar, dir, "first", args);
        assertThat(first.get("available")).as("%s", first).isEqualTo("true");
        Path lib = Path.of(first.get("path"));
        byte[] good = bundledBytes();

        // same length, a flipped block in the middle (a size check alone would not see it)
        byte[] bad = good.clone();
        for (int i = bad.length / 2; i < bad.length / 2 + 64; i++) {
            bad[i] ^= (byte) 0x5A;
        }
        Files.write(lib, bad);
        Map<String, String> second = run(jar, dir, "second", args);
        assertThat(second.get("available")).as("%s", second).isEqualTo("true");
        assertThat(second.get("path")).isEqualTo(lib.toString());
        assertThat(Files.readAllBytes(lib)).as("replaced by the jar's bytes").isEqualTo(good);

        // truncated to nothing
        try (OutputStream o = Files.newOutputStream(lib)) {
            o.flush();
        }
        Map<String, String> third = run(jar, dir, "third", args);
        assertThat(third.get("available")).as("%s", third).isEqualTo("true");
        assertThat(Files.readAllBytes(lib)).isEqualTo(good);
        assertThat(listAll(lib.getParent())).containsExactly(System.mapLibraryName("panamacnn"));
    }
}
