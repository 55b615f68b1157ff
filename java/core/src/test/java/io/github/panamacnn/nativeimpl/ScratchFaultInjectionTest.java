package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * A failed native scratch allocation, injected through the test-only {@code libpanamacnn_faultinject} (built
 * by CMake next to the shipped library, never put into the jar), reaches Java as an {@link OutOfMemoryError}
 * naming the C function, for every allocation a forward and a backward make; and the next call succeeds with
 * the same bits. Runs {@link ScratchFaultProbe} in a forked JVM that loads that library.
 */
class ScratchFaultInjectionTest {

    /** Where the Maven build's CMake puts the test-only library. */
    static Path faultLibrary() {
        Path moduleDir = Path.of(System.getProperty("panamacnn.module.dir", "java/core"));
        return moduleDir.resolve("target/native/native/libpanamacnn_faultinject.so").toAbsolutePath();
    }

    @Test
    void injectedScratchFailuresBecomeOutOfMemoryErrorsAndTheNextCallSucceeds() throws Exception {
        if (!System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).startsWith("linux")) {
            return; // the test library is built and located for Linux only
        }
        Path lib = faultLibrary();
        assertThat(lib).as("the Maven build's CMake step builds %s", lib).isRegularFile();
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Dpanamacnn.native.required=true", "-Dpanamacnn.library.path=" + lib,
                "-cp", System.getProperty("java.class.path"), ScratchFaultProbe.class.getName()));
        Path err = Files.createTempFile("scratch-fault-probe", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
            pb.environment().remove("PANAMACNN_MAX_ISA");
            Process p = pb.start();
            p.getOutputStream().close();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("forked JVM timed out: " + cmd);
            }
            String stderr = Files.readString(err);
            assertThat(p.exitValue()).as("exit code%nstdout:%n%s%nstderr:%n%s", stdout, stderr).isZero();
            Map<String, String> out = new LinkedHashMap<>();
            stdout.lines().forEach(l -> {
                int eq = l.indexOf('=');
                if (eq > 0) {
                    out.put(l.substring(0, eq), l.substring(eq + 1));
                }
            });
            assertThat(out).as(stdout).doesNotContainKeys("fwd.unexpected", "bwd.unexpected");
            assertThat(out.keySet()).as(stdout).noneMatch(k -> k.contains("wrongThrowable"));
            if (out.get("isa").equals("scalar")) {
                // the scalar kernels use no scratch: nothing to inject
                assertThat(out.get("fwd.failures")).isEqualTo("0");
                return;
            }
            // each attempt runs on a fresh thread: forward allocates the thread state and its buffers;
            // backward: backward-data and backward-weights each allocate at least once
            assertThat(Integer.parseInt(out.get("fwd.failures"))).as(stdout).isGreaterThanOrEqualTo(1);
            assertThat(Integer.parseInt(out.get("bwd.failures"))).as(stdout).isGreaterThanOrEqualTo(2);
            assertThat(out.get("fwd.recovered")).as(stdout).isEqualTo("true");
            assertThat(out.get("bwd.recovered")).as(stdout).isEqualTo("true");
            assertThat(out.get("fwd.message")).contains("pcnn_conv2d_fwd").contains("native scratch memory");
            assertThat(out.get("bwd.message")).contains("pcnn_conv2d_bwd").contains("native scratch memory");
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
