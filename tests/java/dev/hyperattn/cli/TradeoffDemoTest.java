package dev.hyperattn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.CpuIsa;
import dev.hyperattn.Hyperattn;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/** Part 2 of the demo: the trade-off table, the PASS/FAIL line and the SVG chart, at tiny sizes. */
class TradeoffDemoTest {

    @TempDir
    Path dir;

    @AfterEach
    void restoreDefaults() {
        Hyperattn.setNumThreads(0);
        Hyperattn.setCpuIsa(CpuIsa.AUTO);
    }

    private record Result(int status, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Document parse(Path svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        return f.newDocumentBuilder().parse(svg.toFile());
    }

    @Test
    void tinyTradeoffPrintsTheTableAndWritesTheChart() throws Exception {
        Path chart = dir.resolve("sub/tradeoff.svg");
        Result r = run("--n", "64", "--d", "32", "--heads", "2", "--kv-heads", "1", "--iters", "1",
                "--tradeoff-sizes", "300,600", "--families", "llm,clustered,needle,diffuse", "--tradeoff-heads", "2",
                "--tradeoff-kv-heads", "1", "--tradeoff-d", "32", "--eval-rows", "48", "--seed", "11",
                "--chart", chart.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        String out = r.out();
        assertTrue(out.contains("exact part: pass"), out);
        assertTrue(out.contains("mean e_i") && out.contains("p99 e_i") && out.contains("frob err")
                && out.contains("trivial") && out.contains("est mean") && out.contains("keys%"), out);
        for (String family : List.of("llm", "clustered", "needle", "diffuse")) {
            for (String method : List.of("exact", "hyper", "hsr eps=1e-3", "approx")) {
                for (String n : List.of("300", "600")) {
                    String prefix = String.format("%-9s %6s %-13s", family, n, method);
                    assertTrue(out.contains(prefix), "missing row '" + prefix + "' in\n" + out);
                }
            }
        }
        assertTrue(out.contains("trade-off: exact matches its float64 reference"), out);
        assertTrue(out.contains("approx's target 0.0500 held") || out.contains("approx's target 0.0500 not checked"),
                out);
        String[] lines = out.strip().split("\\R");
        assertEquals("PASS", lines[lines.length - 1], out);
        assertTrue(out.contains("chart: " + chart.toAbsolutePath().normalize()), out);
        // the progress bar went to stderr, not into the table
        assertTrue(r.err().contains("[") && r.err().contains("%"), r.err());
        assertFalse(out.contains("\r"), "no progress bar on stdout");

        assertTrue(Files.isRegularFile(chart));
        Document doc = parse(chart);
        Element root = doc.getDocumentElement();
        assertEquals("svg", root.getLocalName());
        assertEquals("http://www.w3.org/2000/svg", root.getNamespaceURI());
        String svg = Files.readString(chart);
        assertTrue(svg.contains("time (ms)") && svg.contains("mean e_i") && svg.contains("n (tokens, log scale)"), svg);
        for (String label : List.of("exact", "hyper", "hsr eps=1e-3", "approx", "trivial estimator")) {
            assertTrue(svg.contains(">" + label), "legend lacks " + label);
        }
        // two panels per family, each with lines for the measured methods
        assertTrue(doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "polyline").getLength() >= 4 * 2 * 3,
                svg);
    }

    @Test
    void tradeoffOnlySkipsTheExactPart() {
        Path chart = dir.resolve("c.svg");
        Result r = run("--tradeoff-only", "--tradeoff-sizes", "200", "--families", "diffuse", "--tradeoff-heads", "1",
                "--tradeoff-kv-heads", "1", "--tradeoff-d", "16", "--eval-rows", "16", "--chart", chart.toString(),
                "--threads", "1");
        assertEquals(0, r.status(), r.out() + r.err());
        assertFalse(r.out().contains("GFLOP/s"), r.out());
        assertTrue(r.out().contains("diffuse      200 exact"), r.out());
        assertTrue(Files.isRegularFile(chart));
    }

    @Test
    void defaultsCoverTheRequiredComparison() throws UsageException {
        Options o = Options.parse(new String[0]);
        assertTrue(o.tradeoff && o.exactPart);
        assertTrue(o.families.contains(InputFamily.LLM) && o.families.contains(InputFamily.CLUSTERED), o.families.toString());
        assertTrue(Arrays.stream(o.tradeoffSizes).anyMatch(n -> n >= 32768), Arrays.toString(o.tradeoffSizes));
        assertTrue(Arrays.stream(o.tradeoffSizes).anyMatch(n -> n == 4096), Arrays.toString(o.tradeoffSizes));
        assertEquals(0.05, o.target);
        assertEquals(Path.of("target", "demo", "tradeoff.svg"), o.chart);
        assertTrue(Options.USAGE.contains("--tradeoff-sizes"));
    }

    @Test
    void badTradeoffOptionsExitTwo() {
        String[][] bad = {
            {"--families", "gaussian"}, {"--families", ""}, {"--tradeoff-sizes", "0"}, {"--tradeoff-sizes", "12,x"},
            {"--target", "0"}, {"--target", "1"}, {"--target", "nan"}, {"--tradeoff-heads", "3", "--tradeoff-kv-heads", "2"},
            {"--tradeoff-d", "300"}, {"--eval-rows", "0"}, {"--tradeoff-only", "--no-tradeoff"}, {"--chart", " "},
            {"--no-tradeoff=1"},
        };
        for (String[] args : bad) {
            Result r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
    }

    /** The chart from hand-made rows: unsupported methods, NaN and zero errors do not break it. */
    @Test
    void chartIsWellFormedWithMissingValues() throws Exception {
        Options o = Options.parse(new String[0]);
        List<Tradeoff.Row> rows = new ArrayList<>();
        for (InputFamily f : List.of(InputFamily.LLM, InputFamily.NEEDLE)) {
            for (long n : new long[] {4096, 32768}) {
                double[] e = {0, 1e-7};
                RowErrors.Summary exact = new RowErrors.Summary(e, 0, 0, 1e-7, 0);
                RowErrors.Summary approx = new RowErrors.Summary(e, 0.02, 0.04, 0.05, 0.03);
                rows.add(new Tradeoff.Row(f, n, Tradeoff.Method.EXACT, n / 100.0, 1, exact, 0.3, Double.NaN, 1,
                        Double.NaN, ""));
                rows.add(new Tradeoff.Row(f, n, Tradeoff.Method.HYPER, Double.NaN, Double.NaN, null, 0.3, Double.NaN,
                        Double.NaN, Double.NaN, "n/a: <unsupported> & \"quoted\""));
                rows.add(new Tradeoff.Row(f, n, Tradeoff.Method.APPROX, n / 1000.0, 10, approx, 0.3, 0.02, 0.1, 0,
                        ""));
            }
        }
        Path chart = TradeoffChart.write(dir.resolve("x/y.svg"), rows, List.of(InputFamily.LLM, InputFamily.NEEDLE), o);
        Document doc = parse(chart);
        assertEquals("svg", doc.getDocumentElement().getLocalName());
        String svg = Files.readString(chart);
        assertFalse(svg.contains("NaN") || svg.contains("Infinity"), svg);
        assertTrue(svg.contains("llm: time") && svg.contains("needle: mean e_i"), svg);
    }
}
