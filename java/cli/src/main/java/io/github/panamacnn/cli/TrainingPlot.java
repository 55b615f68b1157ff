package io.github.panamacnn.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The PNG written by {@code train}: training loss over the epochs, and test accuracy per epoch (XChart, headless). */
final class TrainingPlot {
    private TrainingPlot() {
    }

    static void write(Path png, List<double[]> lossCurve, List<TrainCommand.EpochResult> epochs) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart loss = new XYChartBuilder().width(640).height(420).title("LeNet-5 on Fashion-MNIST: training loss")
                .xAxisTitle("epoch").yAxisTitle("cross-entropy loss").build();
        loss.getStyler().setLegendVisible(false);
        loss.getStyler().setMarkerSize(0);
        loss.getStyler().setXAxisDecimalPattern("0.0").setXAxisMin(0.0).setYAxisMin(0.0);
        loss.addSeries("training loss (mean over the last batches)", lossCurve.stream().mapToDouble(p -> p[0]).toArray(),
                lossCurve.stream().mapToDouble(p -> p[1]).toArray()).setMarker(SeriesMarkers.NONE);

        XYChart acc = new XYChartBuilder().width(640).height(420).title("test accuracy after each epoch")
                .xAxisTitle("epoch").yAxisTitle("accuracy (%)").build();
        acc.getStyler().setLegendVisible(false);
        double[] x = epochs.stream().mapToDouble(TrainCommand.EpochResult::epoch).toArray();
        double[] y = epochs.stream().mapToDouble(TrainCommand.EpochResult::accuracy).toArray();
        acc.addSeries("test accuracy", x, y).setMarker(SeriesMarkers.CIRCLE);
        double lowest = java.util.Arrays.stream(y).min().orElse(0);
        acc.getStyler().setXAxisDecimalPattern("0").setYAxisDecimalPattern("0.0")
                .setYAxisMin(Math.max(0, Math.floor(lowest / 5) * 5 - 5)).setYAxisMax(100.0);
        if (x.length == 1) { // XChart needs a non-empty range
            acc.getStyler().setXAxisMin(0.0).setXAxisMax(2.0);
        }
        String file = png.toAbsolutePath().toString();
        if (file.toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            file = file.substring(0, file.length() - 4); // XChart appends the extension
        }
        BitmapEncoder.saveBitmap(List.of(loss, acc), 1, 2, file, BitmapEncoder.BitmapFormat.PNG);
    }
}
