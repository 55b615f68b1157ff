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

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Thread churn keeps memory flat (issue 7): short-lived platform threads, then virtual threads, each run a
 * forward and a backward of a ResNet-sized {@code Conv2d(128->256, 3x3, stride 2, pad 1)} on 1x128x28x28 and
 * end; afterwards {@code pcnn_scratch_bytes()} is back at its baseline and resident memory grew by less than
 * 16 MB. Runs {@link ThreadChurnProbe} in a forked JVM with a fixed, pre-touched heap, so that resident memory
 * measures native memory. Thread count: system property {@code panamacnn.churn.threads} (default 400 of each
 * kind, ~30 s on a loaded 2-core machine; the 2,000 are reproduced by hand, see the probe).
 */
class ThreadChurnTest {
    static final long MAX_RSS_GROWTH = 16L * 1024 * 1024;

    @Test
    void shortLivedThreadsLeaveNoScratchAndNoResidentGrowth() throws Exception {
        int threads = Integer.getInteger("panamacnn.churn.threads", 400);
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Dpanamacnn.native.required=true", "-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), ThreadChurnProbe.class.getName(),
                Integer.toString(threads), Integer.toString(threads), "4"));
        String lib = System.getProperty(NativeLibrary.PATH_PROPERTY);
        if (lib != null) {
            cmd.add(1, "-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        }
        Path err = Files.createTempFile("thread-churn-probe", ".err");
        Map<String, String> out = new LinkedHashMap<>();
        String stdout;
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
            Process p = pb.start();
            p.getOutputStream().close();
            stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("forked JVM timed out: " + cmd);
            }
            String stderr = Files.readString(err);
            assertThat(p.exitValue()).as("exit code%nstdout:%n%s%nstderr:%n%s", stdout, stderr).isZero();
            stdout.lines().forEach(l -> {
                int eq = l.indexOf('=');
                if (eq > 0) {
                    out.put(l.substring(0, eq), l.substring(eq + 1));
                }
            });
        } finally {
            Files.deleteIfExists(err);
        }
        System.out.println("ThreadChurnTest (" + threads + " platform + " + threads + " virtual threads):\n" + stdout);
        long scratch0 = Long.parseLong(out.get("scratch.before"));
        assertThat(Long.parseLong(out.get("scratch.afterPlatform"))).as(stdout).isEqualTo(scratch0);
        // carriers of virtual threads are long-lived and were warmed up: they keep what they had
        assertThat(Long.parseLong(out.get("scratch.afterVirtual"))).as(stdout).isEqualTo(scratch0);
        long rss0 = Long.parseLong(out.get("rss.before"));
        Assumptions.assumeTrue(rss0 > 0, "resident memory is read from /proc/self/status (Linux only); "
                + "the scratch count was checked");
        assertThat(Long.parseLong(out.get("rss.afterPlatform")) - rss0).as(stdout).isLessThan(MAX_RSS_GROWTH);
        assertThat(Long.parseLong(out.get("rss.afterVirtual")) - rss0).as(stdout).isLessThan(MAX_RSS_GROWTH);
    }
}
