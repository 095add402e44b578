package dev.hyperattn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The trade-off chart as a plain, self-contained SVG: one row of two panels per input family,
 * time (ms) against n and mean e_i against n, both on log scales, one line per method (the
 * trivial estimator's error dashed), a legend and axis labels.
 */
final class TradeoffChart {

    private static final String[] COLORS = {"#222222", "#1f77b4", "#2ca02c", "#d62728"};
    private static final int PANEL_W = 380, PANEL_H = 250;
    private static final int LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50;
    private static final int CELL_W = LEFT + PANEL_W + RIGHT, CELL_H = TOP + PANEL_H + BOTTOM;
    private static final int HEADER = 70;

    private TradeoffChart() {
    }

    /** Writes the chart to {@code path} (creating its directory); returns the path. */
    static Path write(Path path, List<Tradeoff.Row> rows, List<InputFamily> families, Options o) throws IOException {
        String svg = render(rows, families, o);
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(path, svg, StandardCharsets.UTF_8);
        return path;
    }

    static String render(List<Tradeoff.Row> rows, List<InputFamily> families, Options o) {
        int width = 2 * CELL_W;
        int height = HEADER + families.size() * CELL_H + 10;
        StringBuilder s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", width, height, width, height));
        s.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>%n",
                width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"16\" text-anchor=\"middle\">%s</text>%n",
                width / 2, esc(String.format(Locale.ROOT, "hyperattn: time and error vs n (causal, f32, Hq=%d Hkv=%d D=%d,"
                        + " approx target %.3g)", o.tradeoffHeads, o.tradeoffKvHeads, o.tradeoffD, o.target))));
        legend(s, 40, 46);
        for (int f = 0; f < families.size(); f++) {
            InputFamily family = families.get(f);
            List<Tradeoff.Row> mine = rows.stream().filter(r -> r.family() == family).toList();
            int y0 = HEADER + f * CELL_H;
            panel(s, 0, y0, family.label() + ": time", "time (ms)", mine, false);
            panel(s, CELL_W, y0, family.label() + ": mean e_i", "mean e_i", mine, true);
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static void legend(StringBuilder s, int x, int y) {
        int cx = x;
        for (Tradeoff.Method m : Tradeoff.Method.values()) {
            String c = COLORS[m.ordinal()];
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\""
                    + " stroke-width=\"%d\"/>%n", cx, y, cx + 24, y, c, m == Tradeoff.Method.EXACT ? 5 : 2));
            s.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"%s\"/>%n", cx + 12, y, c));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", cx + 30, y + 4, esc(m.label)));
            cx += 40 + 8 * m.label.length() + 20;
        }
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888888\""
                + " stroke-width=\"2\" stroke-dasharray=\"5,4\"/>%n", cx, y, cx + 24, y));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", cx + 30, y + 4,
                esc("trivial estimator (mean of visible V)")));
    }

    private static void panel(StringBuilder s, int x0, int y0, String title, String yLabel, List<Tradeoff.Row> rows,
            boolean error) {
        int px = x0 + LEFT, py = y0 + TOP;
        List<double[]> all = new ArrayList<>();
        double xMin = Double.POSITIVE_INFINITY, xMax = 0, yMin = Double.POSITIVE_INFINITY, yMax = 0;
        for (Tradeoff.Row r : rows) {
            xMin = Math.min(xMin, r.n());
            xMax = Math.max(xMax, r.n());
            double y = value(r, error);
            if (y > 0 && Double.isFinite(y)) {
                yMin = Math.min(yMin, y);
                yMax = Math.max(yMax, y);
            }
            if (error && r.trivialError() > 0) {
                yMin = Math.min(yMin, r.trivialError());
                yMax = Math.max(yMax, r.trivialError());
            }
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"14\" text-anchor=\"middle\">%s</text>%n",
                px + PANEL_W / 2, y0 + TOP - 12, esc(title)));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\""
                + " stroke=\"#444444\"/>%n", px, py, PANEL_W, PANEL_H));
        if (!(xMax > 0) || !(yMax > 0)) {
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>%n",
                    px + PANEL_W / 2, py + PANEL_H / 2));
            return;
        }
        if (xMax <= xMin) {
            xMin /= 2;
            xMax *= 2;
        }
        double ly0 = Math.floor(Math.log10(yMin)), ly1 = Math.ceil(Math.log10(yMax));
        if (ly1 <= ly0) {
            ly1 = ly0 + 1;
        }
        double lx0 = Math.log(xMin) - 0.1, lx1 = Math.log(xMax) + 0.1;
        Scale sc = new Scale(px, py, lx0, lx1, ly0, ly1);
        // y grid at powers of ten
        for (int e = (int) ly0; e <= (int) ly1; e++) {
            double y = sc.y(Math.pow(10, e));
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#dddddd\"/>%n",
                    px, y, px + PANEL_W, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>%n", px - 6,
                    y + 4, e));
        }
        // x ticks at the measured sizes
        rows.stream().mapToLong(Tradeoff.Row::n).distinct().sorted().forEach(n -> {
            double x = sc.x(n);
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#dddddd\"/>%n",
                    x, py, x, py + PANEL_H));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", x,
                    py + PANEL_H + 16, n >= 1024 && n % 1024 == 0 ? (n / 1024) + "k" : Long.toString(n)));
        });
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                px + PANEL_W / 2, py + PANEL_H + 36, "n (tokens, log scale)"));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 %d %d)\">"
                + "%s</text>%n", x0 + 16, py + PANEL_H / 2, x0 + 16, py + PANEL_H / 2, esc(yLabel + " (log scale)")));
        for (Tradeoff.Method m : Tradeoff.Method.values()) {
            List<Tradeoff.Row> line = rows.stream().filter(r -> r.method() == m).sorted(
                    (a, b) -> Long.compare(a.n(), b.n())).toList();
            // exact is drawn first and wider, so it stays visible where a method coincides with it
            polyline(s, sc, line, r -> value(r, error), COLORS[m.ordinal()], false, m == Tradeoff.Method.EXACT ? 5 : 2);
        }
        if (error) {
            List<Tradeoff.Row> triv = rows.stream().filter(r -> r.method() == Tradeoff.Method.EXACT).sorted(
                    (a, b) -> Long.compare(a.n(), b.n())).toList();
            polyline(s, sc, triv, Tradeoff.Row::trivialError, "#888888", true, 2);
        }
    }

    private static double value(Tradeoff.Row r, boolean error) {
        if (!r.measured()) {
            return Double.NaN;
        }
        return error ? Math.max(r.errors().mean(), 1e-9) : r.ms();
    }

    private static void polyline(StringBuilder s, Scale sc, List<Tradeoff.Row> rows,
            java.util.function.ToDoubleFunction<Tradeoff.Row> f, String color, boolean dashed, int width) {
        StringBuilder pts = new StringBuilder();
        List<String> markers = new ArrayList<>();
        for (Tradeoff.Row r : rows) {
            double y = f.applyAsDouble(r);
            if (!(y > 0) || !Double.isFinite(y)) {
                continue;
            }
            String p = String.format(Locale.ROOT, "%.1f,%.1f", sc.x(r.n()), sc.y(y));
            pts.append(pts.length() == 0 ? "" : " ").append(p);
            if (!dashed) {
                markers.add(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
                        sc.x(r.n()), sc.y(y), color));
            }
        }
        if (pts.length() == 0) {
            return;
        }
        s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\"%s points=\"%s\"/>%n",
                color, width, dashed ? " stroke-dasharray=\"5,4\"" : "", pts));
        for (String mk : markers) {
            s.append(mk).append('\n');
        }
    }

    private record Scale(int px, int py, double lx0, double lx1, double ly0, double ly1) {
        double x(double n) {
            return px + PANEL_W * (Math.log(n) - lx0) / (lx1 - lx0);
        }

        double y(double v) {
            return py + PANEL_H * (1 - (Math.log10(v) - ly0) / (ly1 - ly0));
        }
    }

    private static String esc(String t) {
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
