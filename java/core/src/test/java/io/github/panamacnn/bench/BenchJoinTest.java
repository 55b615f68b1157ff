package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The join of the native bench's and JMH's JSON, on small hand-made files with hand-computed answers. */
class BenchJoinTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    // conv "cv": forward c 1.0 ms, oneDNN nchw 2.0, best 0.8 (auto); backward = bwd_data + bwd_weights:
    // c 2+3 = 5 ms, nchw 3+6 = 9 ms, best 2.5+2.5 = 5 ms. pool "pl": forward c 0.1, nchw 0.2, best 0.05;
    // backward c 0.2, nchw 0.4, best 0.3. At 2 threads: cv forward without oneDNN, cv backward missing bwd_weights.
    private static final String NATIVE = """
            {"date_utc": "2026-12-04T15:00:00Z", "cpu": "Test CPU", "onednn": "2.6.3", "load_average_before": 0.1,
             "results": [
              {"shape": "cv", "pass": "forward", "threads": 1, "pcnn_ms": 1.0, "onednn_nchw_ms": 2.0,
               "onednn_preferred_ms": 1.5, "onednn_auto_ms": 0.8, "onednn_best_ms": 0.8},
              {"shape": "cv", "pass": "bwd_data", "threads": 1, "pcnn_ms": 2.0, "onednn_nchw_ms": 3.0,
               "onednn_preferred_ms": 2.5, "onednn_auto_ms": -1, "onednn_best_ms": 2.5},
              {"shape": "cv", "pass": "bwd_weights", "threads": 1, "pcnn_ms": 3.0, "onednn_nchw_ms": 6.0,
               "onednn_preferred_ms": 2.5, "onednn_auto_ms": 3.5, "onednn_best_ms": 2.5},
              {"shape": "pl", "pass": "forward", "threads": 1, "pcnn_ms": 0.1, "onednn_nchw_ms": 0.2,
               "onednn_preferred_ms": 0.05, "onednn_auto_ms": -1, "onednn_best_ms": 0.05},
              {"shape": "pl", "pass": "backward", "threads": 1, "pcnn_ms": 0.2, "onednn_nchw_ms": 0.4,
               "onednn_preferred_ms": 0.3, "onednn_auto_ms": -1, "onednn_best_ms": 0.3},
              {"shape": "cv", "pass": "forward", "threads": 2, "pcnn_ms": 0.6, "onednn_nchw_ms": -1,
               "onednn_preferred_ms": -1, "onednn_auto_ms": -1, "onednn_best_ms": -1},
              {"shape": "cv", "pass": "bwd_data", "threads": 2, "pcnn_ms": 1.0, "onednn_nchw_ms": 1.5,
               "onednn_preferred_ms": 1.2, "onednn_auto_ms": -1, "onednn_best_ms": 1.2}
             ]}
            """;

    private static final String JMH = """
            [
             {"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "sample", "threads": 1,
              "params": {"shape": "cv", "threads": "1"},
              "primaryMetric": {"score": 1100.0, "scorePercentiles": {"50.0": 1000.0}, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.backward", "mode": "sample", "threads": 1,
              "params": {"shape": "cv", "threads": "1"},
              "primaryMetric": {"score": 4.5, "scorePercentiles": {"50.0": 4.0}, "scoreUnit": "ms/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "sample", "threads": 1,
              "params": {"shape": "pl", "threads": "1"},
              "primaryMetric": {"score": 300.0, "scorePercentiles": {"50.0": 100000.0}, "scoreUnit": "ns/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.backward", "mode": "avgt", "threads": 1,
              "params": {"shape": "pl", "threads": "1"},
              "primaryMetric": {"score": 120.0, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "sample", "threads": 1,
              "params": {"shape": "cv", "threads": "2"},
              "primaryMetric": {"score": 500.0, "scorePercentiles": {"50.0": 500.0}, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.backward", "mode": "sample", "threads": 1,
              "params": {"shape": "cv", "threads": "2"},
              "primaryMetric": {"score": 2000.0, "scorePercentiles": {"50.0": 2000.0}, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.EntryBench.backward", "mode": "sample", "threads": 1,
              "params": {"shape": "cv", "threads": "1"},
              "primaryMetric": {"score": 3300.0, "scorePercentiles": {"50.0": 3200.0}, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.Conv2dNativeBench.layerForward", "mode": "sample", "threads": 1,
              "params": {"shape": "cv"},
              "primaryMetric": {"score": 1.0, "scorePercentiles": {"50.0": 1.0}, "scoreUnit": "us/op"}}
            ]
            """;

    private static List<BenchJoin.Row> joined() throws Exception {
        return BenchJoin.join(JSON.readTree(NATIVE), JSON.readTree(JMH));
    }

    @Test
    void wholeLayerRowsAddTheTwoBackwardPassesAndConvertUnits() throws Exception {
        List<BenchJoin.Row> rows = joined();
        assertThat(rows).extracting(r -> r.shape() + " " + r.pass() + " " + r.threads()).containsExactly(
                "cv forward 1", "cv backward 1", "pl forward 1", "pl backward 1", "cv forward 2", "cv backward 2");
        assertRow(rows.get(0), 1000, 1000, 800, 2000);
        assertRow(rows.get(1), 4000, 5000, 5000, 9000);
        assertRow(rows.get(2), 100, 100, 50, 200);
        assertRow(rows.get(3), 120, 200, 300, 400);
        assertThat(rows.get(0).xBest()).isCloseTo(0.8, within(1e-12));
        assertThat(rows.get(1).xPlain()).isCloseTo(2.25, within(1e-12));
        // 2 threads: forward has no oneDNN time; backward has only bwd_data in the native JSON, so no native numbers.
        assertThat(rows.get(4).javaUs()).isEqualTo(500);
        assertThat(rows.get(4).cUs()).isCloseTo(600, within(1e-9));
        assertThat(rows.get(4).bestUs()).isNaN();
        assertThat(rows.get(5).cUs()).isNaN();
        assertThat(rows.get(5).complete()).isFalse();
        // EntryBench ran only for cv backward at 1 thread; it never counts as the layer's time
        assertThat(rows.get(1).entryUs()).isCloseTo(3200, within(1e-9));
        assertThat(rows.get(1).javaUs()).isCloseTo(4000, within(1e-9));
        assertThat(rows.get(0).entryUs()).isNaN();
    }

    private static void assertRow(BenchJoin.Row r, double javaUs, double cUs, double bestUs, double plainUs) {
        assertThat(r.javaUs()).as("%s %s java", r.shape(), r.pass()).isCloseTo(javaUs, within(1e-9));
        assertThat(r.cUs()).as("%s %s c", r.shape(), r.pass()).isCloseTo(cUs, within(1e-9));
        assertThat(r.bestUs()).as("%s %s best", r.shape(), r.pass()).isCloseTo(bestUs, within(1e-9));
        assertThat(r.plainUs()).as("%s %s plain", r.shape(), r.pass()).isCloseTo(plainUs, within(1e-9));
    }

    @Test
    void summaryGivesTheDoneMeansFiguresPerThreadCount() throws Exception {
        String report = BenchJoin.report(joined());
        // x_best 0.8, 1.25, 0.5, 2.5: geomean 1.25^(1/4) = 1.057; x_plain 2, 2.25, 2, 3.333: geomean 30^(1/4) = 2.340
        assertThat(report).contains("| cv | backward | 1 | 4000 | 5000 | 5000 | 9000 | 1.25 | 2.25 | 0.80 | 1.25 |");
        assertThat(report).contains("| pl | forward | 1 | 100.00 | 100.00 | 50.00 | 200.00 | 0.50 | 2.00 | 1.00 | - |");
        assertThat(report).contains("1 thread(s), 4 of 4 rows with both benches: geomean x_best 1.06, "
                + "min x_best 0.50 (pl forward), geomean x_plain 2.34, min x_plain 2.00 (cv forward)");
        assertThat(report).contains("done means: geomean x_best >= 1.0 YES; no row below 0.8x best NO (1 below); "
                + "every row >= 1.0x nchw YES (0 below)");
        assertThat(report).contains("2 thread(s), 0 of 2 rows with both benches: nothing to compare");
    }

    @Test
    void headerMarksAResultTakenOnABusyMachineAsProvisional() throws Exception {
        assertThat(BenchJoin.header(JSON.readTree(NATIVE), "n.json", "j.json")).contains("Test CPU", "oneDNN 2.6.3",
                "n.json", "j.json").doesNotContain("Provisional");
        assertThat(BenchJoin.header(JSON.readTree("{\"load_average_before\": 3.5, \"online_cpus\": 2}"), "n", "j"))
                .contains("Provisional: load average 3.50 on 2 CPUs");
    }

    @Test
    void olderNativeJsonWithoutBestTakesTheFasterOfPreferredAndAuto() throws Exception {
        JsonNode nat = JSON.readTree("""
                {"results": [{"shape": "x", "pass": "forward", "threads": 1, "pcnn_ms": 1.0, "onednn_nchw_ms": 2.0,
                  "onednn_preferred_ms": 1.5, "onednn_auto_ms": 0.9}]}""");
        assertThat(BenchJoin.nativeWholeLayer(nat).values()).singleElement()
                .satisfies(p -> assertThat(p.bestUs()).isCloseTo(900, within(1e-9)));
    }

    @Test
    void aConvBackwardSequenceRowIsTakenInsteadOfTheSumOfItsPassesInEitherOrder() throws Exception {
        String halves = """
                {"shape": "cv", "pass": "bwd_data", "threads": 1, "pcnn_ms": 2.0, "onednn_nchw_ms": 3.0,
                 "onednn_best_ms": 2.5},
                {"shape": "cv", "pass": "bwd_weights", "threads": 1, "pcnn_ms": 3.0, "onednn_nchw_ms": 6.0,
                 "onednn_best_ms": 2.5}""";
        String sequence = """
                {"shape": "cv", "pass": "backward", "threads": 1, "pcnn_ms": 7.0, "onednn_nchw_ms": 11.0,
                 "onednn_best_ms": 6.5}""";
        for (String results : List.of(halves + ",\n" + sequence, sequence + ",\n" + halves)) {
            JsonNode nat = JSON.readTree("{\"results\": [" + results + "]}");
            assertThat(BenchJoin.nativeWholeLayer(nat).values()).singleElement().satisfies(p -> {
                assertThat(p.cUs()).isCloseTo(7000, within(1e-9));
                assertThat(p.plainUs()).isCloseTo(11000, within(1e-9));
                assertThat(p.bestUs()).isCloseTo(6500, within(1e-9));
            });
        }
    }

    // pl forward at 1 thread again, rotated among 4 buffer sets: c 0.2 ms, best 0.16 (x 0.8); backward rotated
    // without a same-buffer twin: c 0.5, best 0.3 (x 0.6). pm forward at 2 threads: same x 0.5, rotated x 1.25.
    private static final String ROTATED = """
            ,{"shape": "pl", "pass": "forward", "threads": 1, "buffers": "rotated", "buffer_sets": 4, "pcnn_ms": 0.2,
              "onednn_nchw_ms": 0.4, "onednn_preferred_ms": 0.16, "onednn_auto_ms": -1, "onednn_best_ms": 0.16},
             {"shape": "pl", "pass": "fwd_noidx", "threads": 1, "buffers": "rotated", "buffer_sets": 4, "pcnn_ms": 0.5,
              "onednn_nchw_ms": 0.9, "onednn_preferred_ms": 0.3, "onednn_auto_ms": -1, "onednn_best_ms": 0.3},
             {"shape": "pm", "pass": "forward", "threads": 2, "buffers": "same", "buffer_sets": 1, "pcnn_ms": 1.0,
              "onednn_nchw_ms": 3.0, "onednn_preferred_ms": 0.5, "onednn_auto_ms": -1, "onednn_best_ms": 0.5},
             {"shape": "pm", "pass": "forward", "threads": 2, "buffers": "rotated", "buffer_sets": 3, "pcnn_ms": 0.8,
              "onednn_nchw_ms": 3.0, "onednn_preferred_ms": 1.0, "onednn_auto_ms": -1}
             ]}
            """;

    // LayerBench -p buffers=rotated: pl forward 1 251 us (x_java_rotated 160/251 = 0.64), pl backward 1 401 us
    // (the native file has no rotated twin: a row of its own), pm forward 2 901 us (1000/901 = 1.11). Listed after
    // the same-buffer runs, so a rotated run that leaked into the main table would replace their times there.
    private static final String JMH_ROTATED = """
            ,{"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "sample", "threads": 1,
              "params": {"buffers": "rotated", "shape": "pl", "threads": "1"},
              "primaryMetric": {"score": 260.0, "scorePercentiles": {"50.0": 251.0}, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.backward", "mode": "sample", "threads": 1,
              "params": {"buffers": "rotated", "shape": "pl", "threads": "1"},
              "primaryMetric": {"score": 410.0, "scorePercentiles": {"50.0": 401.0}, "scoreUnit": "us/op"}},
             {"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "sample", "threads": 1,
              "params": {"buffers": "rotated", "shape": "pm", "threads": "2"},
              "primaryMetric": {"score": 0.95, "scorePercentiles": {"50.0": 0.901}, "scoreUnit": "ms/op"}}
            ]
            """;

    /** JMH with LayerBench's rotated runs after the others; the same-buffer runs say buffers=same explicitly. */
    private static JsonNode jmhWithRotatedRuns() throws Exception {
        String j = JMH.strip().replace("\"params\": {\"shape\": \"pl\"", "\"params\": {\"buffers\": \"same\", \"shape\": \"pl\"");
        return JSON.readTree(j.substring(0, j.length() - "]".length()).stripTrailing() + JMH_ROTATED);
    }

    private static JsonNode nativeWithRotatedRows() throws Exception {
        String n = NATIVE.strip();
        return JSON.readTree(n.substring(0, n.length() - "]}".length()).stripTrailing() + ROTATED);
    }

    @Test
    void rotatedPoolRowsStayOutOfTheLayerTableAndGetTheirOwnSection() throws Exception {
        JsonNode nat = nativeWithRotatedRows();
        JsonNode jmh = jmhWithRotatedRuns();
        List<BenchJoin.Row> rows = BenchJoin.join(nat, jmh);
        // the same-buffer pl forward row is untouched by its rotated twin; pm's same-buffer row (no JMH time) is
        // a native row, before the Java-only cv backward 2 (incomplete in the native JSON)
        assertRow(rows.get(2), 100, 100, 50, 200);
        assertThat(rows).extracting(r -> r.shape() + " " + r.pass() + " " + r.threads()).containsExactly(
                "cv forward 1", "cv backward 1", "pl forward 1", "pl backward 1", "cv forward 2", "pm forward 2",
                "cv backward 2");
        assertThat(rows.get(5).cUs()).isCloseTo(1000, within(1e-9));
        assertThat(rows.get(5).javaUs()).as("pm forward 2: LayerBench ran it rotated only").isNaN();
        assertRow(rows.get(3), 120, 200, 300, 400);
        // the main table's "Done means" figures are those without any rotated row
        assertThat(BenchJoin.report(rows)).contains("1 thread(s), 4 of 4 rows with both benches: geomean x_best 1.06, "
                + "min x_best 0.50 (pl forward), geomean x_plain 2.34, min x_plain 2.00 (cv forward)")
                .doesNotContain("251.00", "401.00", "901.00");

        java.util.Map<String, Double> javaRotated = BenchJson.jmhMedians(jmh, LayerBench.class, BenchJson.ROTATED);
        assertThat(javaRotated).hasSize(3);
        List<PoolModesReport.PoolModes> modes = PoolModesReport.poolModes(nat, javaRotated);
        assertThat(modes).extracting(m -> m.shape() + " " + m.pass() + " " + m.threads()).containsExactly(
                "pl forward 1", "pl fwd_noidx 1", "pm forward 2", "pl backward 1");
        assertThat(modes.get(0).javaRotUs()).isCloseTo(251, within(1e-9));
        assertThat(modes.get(0).xJavaRotated()).isCloseTo(160.0 / 251, within(1e-12));
        assertThat(modes.get(1).javaRotUs()).isNaN();
        assertThat(modes.get(2).javaRotUs()).isCloseTo(901, within(1e-9));
        assertThat(modes.get(0).xSame()).isCloseTo(0.5, within(1e-12));
        assertThat(modes.get(0).xRotated()).isCloseTo(0.8, within(1e-12));
        assertThat(modes.get(1).cSameUs()).isNaN();
        assertThat(modes.get(2).xRotated()).isCloseTo(1.25, within(1e-12)); // best from preferred: no onednn_best_ms

        String report = PoolModesReport.poolReport(modes);
        assertThat(report).contains("| pl | forward | 1 | 100.00 | 50.00 | 0.50 | 200.00 | 251.00 | 160.00 | 0.80 | 0.64 | 4 |",
                "| pl | fwd_noidx | 1 | - | - | - | 500.00 | - | 300.00 | 0.60 | - | 4 |",
                "| pm | forward | 2 | 1000 | 500.00 | 0.50 | 800.00 | 901.00 | 1000 | 1.25 | 1.11 | 3 |",
                "| pl | backward | 1 | - | - | - | - | 401.00 | - | - | - | - |",
                "1 thread(s), max-pool, Java layer vs oneDNN best, rotated buffers: min x 0.64 (pl forward), 1 of 1 "
                        + "below 0.8x",
                "2 thread(s), max-pool, Java layer vs oneDNN best, rotated buffers: min x 1.11 (pm forward), 0 of 1 "
                        + "below 0.8x",
                "1 thread(s), max-pool, C entry vs oneDNN best: same buffers min x 0.50 (pl forward), 1 of 1 below "
                        + "0.8x; rotated buffers min x 0.60 (pl fwd_noidx), 1 of 2 below 0.8x",
                "2 thread(s), max-pool, C entry vs oneDNN best: same buffers min x 0.50 (pm forward), 1 of 1 below "
                        + "0.8x; rotated buffers min x 1.25 (pm forward), 0 of 1 below 0.8x");
        // files without rotated rows (before --pool-buffers): no section
        assertThat(PoolModesReport.poolReport(PoolModesReport.poolModes(JSON.readTree(NATIVE),
                BenchJson.jmhMedians(JSON.readTree(JMH), LayerBench.class, BenchJson.ROTATED)))).isEmpty();
    }

    @Test
    void rejectsWhatItCannotReadAsATimePerCall() throws Exception {
        JsonNode thrpt = JSON.readTree("""
                [{"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "thrpt",
                  "params": {"shape": "cv", "threads": "1"}, "primaryMetric": {"score": 5, "scoreUnit": "ops/us"}}]""");
        assertThatThrownBy(() -> BenchJson.jmhMedians(thrpt)).hasMessageContaining("mode 'thrpt'");
        JsonNode badPass = JSON.readTree("""
                {"results": [{"shape": "x", "pass": "sideways", "threads": 1, "pcnn_ms": 1.0}]}""");
        assertThatThrownBy(() -> BenchJoin.nativeWholeLayer(badPass)).hasMessageContaining("unknown pass 'sideways'");
        assertThatThrownBy(() -> BenchJoin.nativeWholeLayer(JSON.readTree("{}"))).hasMessageContaining("results");
    }

    /** Two rounds of OnednnWindows lines for cv (both passes at 1 thread) and one incomplete row. */
    private static final List<String> FORK_LINES = List.of(
            "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"nchw\",\"median_us\":2500.0}",
            "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"blocked\",\"median_us\":900.0}",
            "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"auto\",\"median_us\":950.0}",
            "",
            "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"nchw\",\"median_us\":2400.0}",
            "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"blocked\",\"median_us\":1000.0}",
            "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"auto\",\"median_us\":920.0}",
            "{\"shape\":\"pl\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"blocked\",\"median_us\":40.0}");

    @Test
    void forkTimesKeepEachVariantsLowestMedianOverRounds() throws Exception {
        Map<String, BenchJoin.ForkOnednn> fork = BenchJoin.forkOnednn(FORK_LINES);
        // blocked 900 (round 1) beats auto's best 920 (round 2); nchw's best is round 2's 2400
        assertThat(fork).containsOnlyKeys("cv\tforward\t1");
        assertThat(fork.get("cv\tforward\t1").bestUs()).isEqualTo(900.0);
        assertThat(fork.get("cv\tforward\t1").plainUs()).isEqualTo(2400.0);
        assertThatThrownBy(() -> BenchJoin.forkOnednn(List.of(
                "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"winograd\",\"median_us\":1}")))
                .hasMessageContaining("line 1: unknown oneDNN variant 'winograd'");
        assertThatThrownBy(() -> BenchJoin.forkOnednn(List.of("",
                "{\"shape\":\"cv\",\"pass\":\"forward\",\"threads\":1,\"variant\":\"nchw\",\"median_us\":0}")))
                .hasMessageContaining("line 2: median_us must be a positive time, got 0");
    }

    @Test
    void rowsTimedInTheForksUseThoseTimesAndKeepTheNativeRatioBeside() throws Exception {
        List<BenchJoin.Row> rows = BenchJoin.join(JSON.readTree(NATIVE), JSON.readTree(JMH),
                BenchJoin.forkOnednn(FORK_LINES));
        // cv forward 1: java 1000 us; fork best 900, plain 2400; the native bench's best was 800
        BenchJoin.Row cv = rows.get(0);
        assertRow(cv, 1000, 1000, 900, 2400);
        assertThat(cv.inFork()).isTrue();
        assertThat(cv.xBest()).isCloseTo(0.9, within(1e-12));
        assertThat(cv.xBestNative()).isCloseTo(0.8, within(1e-12));
        // pl forward had no nchw line: the native bench's times stay
        assertRow(rows.get(2), 100, 100, 50, 200);
        assertThat(rows.get(2).inFork()).isFalse();
        String report = BenchJoin.report(rows);
        assertThat(report).contains("| cv | forward | 1 | 1000 | 1000 | 900.00 | 2400 | 0.90 | 2.40 | 1.00 | - | fork | 0.80 |",
                "| pl | forward | 1 | 100.00 | 100.00 | 50.00 | 200.00 | 0.50 | 2.00 | 1.00 | - | native | 0.50 |",
                // x_best 0.9, 1.25, 0.5, 2.5; native 0.8, 1.25, 0.5, 2.5
                "1 thread(s), 4 of 4 rows with both benches: geomean x_best 1.09, min x_best 0.50 (pl forward)",
                "  oneDNN timed in the JMH forks for 1 of 4 rows; with the native bench's oneDNN best instead (4 rows): "
                        + "geomean x_best_native 1.06, min 0.50 (pl forward), 1 below 0.8x");
    }

    @Test
    void anEvalModeForwardIsTheForwardWithoutIndices() throws Exception {
        JsonNode nat = JSON.readTree("""
                {"results": [{"shape": "pl", "pass": "fwd_noidx", "threads": 1, "pcnn_ms": 0.08, "onednn_nchw_ms": 0.2,
                  "onednn_best_ms": 0.06}]}""");
        JsonNode jmh = JSON.readTree("""
                [{"benchmark": "io.github.panamacnn.bench.LayerBench.forward", "mode": "sample",
                  "params": {"buffers": "same", "mode": "eval", "shape": "pl", "threads": "1"},
                  "primaryMetric": {"score": 90, "scorePercentiles": {"50.0": 75.0}, "scoreUnit": "us/op"}}]""");
        List<BenchJoin.Row> rows = BenchJoin.join(nat, jmh);
        assertThat(rows).singleElement().satisfies(r -> {
            assertThat(r.pass()).isEqualTo("fwd_noidx");
            assertThat(r.javaUs()).isEqualTo(75.0);
            assertThat(r.xBest()).isCloseTo(0.8, within(1e-12));
        });
        JsonNode evalBackward = JSON.readTree("""
                [{"benchmark": "io.github.panamacnn.bench.LayerBench.backward", "mode": "sample",
                  "params": {"mode": "eval", "shape": "pl", "threads": "1"},
                  "primaryMetric": {"score": 1, "scorePercentiles": {"50.0": 1}, "scoreUnit": "us/op"}}]""");
        assertThatThrownBy(() -> BenchJson.jmhMedians(evalBackward)).hasMessageContaining("mode=eval");
    }
}
