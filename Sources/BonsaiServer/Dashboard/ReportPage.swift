import BonsaiPruning
import BonsaiStore
import Foundation

/// A finished job's report as one self-contained HTML file: inline CSS, inline SVG charts (loss
/// and accuracy per step and per epoch with the phases shaded, accuracy against remaining weights
/// on a log axis, instability per pruning event, sparsity per layer) and the report's tables
/// (parameters, FLOPs, latency). No script and no external reference, so it opens offline and
/// can be mailed or archived.
struct ReportPage {
    let job: JobRecord
    let report: PruningReport
    /// Metric history by key, in step order.
    let metrics: [String: [(x: Double, y: Double)]]
    /// Training phases in order with their planned steps (from the `phase_started` events).
    let phases: [(name: String, steps: Int)]

    static let metricKeys = ["loss", "accuracy", "epoch_train_loss", "epoch_train_accuracy", "eval_loss", "eval_accuracy"]

    init(job: JobRecord, reportJSON: Data, metrics: [MetricSample], phases: [(name: String, steps: Int)]) throws {
        self.job = job
        report = try JSONDecoder().decode(PruningReport.self, from: reportJSON)
        var byKey: [String: [(x: Double, y: Double)]] = [:]
        for m in metrics { if let v = m.value { byKey[m.key, default: []].append((Double(m.step), v)) } }
        // Long runs: keep at most ~1,500 points per curve (every k-th step) so the file stays small.
        for (k, v) in byKey where v.count > 1500 {
            let stride = (v.count + 1499) / 1500
            byKey[k] = v.enumerated().filter { $0.offset % stride == 0 || $0.offset == v.count - 1 }.map(\.element)
        }
        self.metrics = byKey
        self.phases = phases
    }

    var bands: [(from: Double, to: Double, label: String)] {
        var out: [(from: Double, to: Double, label: String)] = []
        var offset = 0
        for p in phases {
            if p.steps > 0 { out.append((Double(offset), Double(offset + p.steps), p.name)) }
            offset += p.steps
        }
        return out
    }

    static func pct(_ x: Double, _ digits: Int = 1) -> String { x.isFinite ? String(format: "%.\(digits)f %%", 100 * x) : "—" }
    static func count(_ n: Int) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.2fG", d / 1e9) }
        if d >= 1e6 { return String(format: "%.2fM", d / 1e6) }
        if d >= 1e3 { return String(format: "%.2fk", d / 1e3) }
        return String(n)
    }

    func curves() -> String {
        typealias S = SVGChart.Series
        let p = SVGChart.palette
        let loss = SVGChart.line(title: "Loss", kind: "loss", series: [
            S(name: "loss per step", points: metrics["loss"] ?? [], color: p[1]),
            S(name: "epoch train loss", points: metrics["epoch_train_loss"] ?? [], color: p[2], markers: true, line: false),
            S(name: "epoch eval loss", points: metrics["eval_loss"] ?? [], color: p[3], markers: true, line: false),
        ], xLabel: "step", yLabel: "loss", bands: bands)
        let accuracy = SVGChart.line(title: "Accuracy", kind: "accuracy", series: [
            S(name: "batch accuracy per step", points: metrics["accuracy"] ?? [], color: p[0]),
            S(name: "epoch train accuracy", points: metrics["epoch_train_accuracy"] ?? [], color: p[2], markers: true, line: false),
            S(name: "epoch eval accuracy", points: metrics["eval_accuracy"] ?? [], color: p[3], markers: true, line: false),
        ], xLabel: "step", yLabel: "accuracy", yRange: 0...1, bands: bands)
        return "<div class=\"grid\"><figure>\(loss)</figure><figure>\(accuracy)</figure></div>"
    }

    func pruningCharts() -> String {
        typealias S = SVGChart.Series
        let events = report.events
        let remaining: (Double) -> String = { String(format: "%.3g%%", 100 * $0) }
        let tradeoff = SVGChart.line(title: "Accuracy vs remaining weights", kind: "tradeoff", series: [
            S(name: "accuracy before pruning", points: events.map { (1 - $0.sparsity, $0.accuracyBefore) }, color: SVGChart.palette[6], markers: true),
            S(name: "accuracy right after pruning", points: events.map { (1 - $0.sparsity, $0.accuracyAfter) }, color: SVGChart.palette[2], markers: true),
            S(name: "final test accuracy", points: [(1 - report.prunable.sparsity, report.testAccuracy)], color: SVGChart.palette[0], markers: true, line: false),
        ], xLabel: "fraction of prunable weights remaining (log)", yLabel: "accuracy", xLog: true, yRange: 0...1, xFormat: remaining)
        let instability = SVGChart.bars(title: "Instability per pruning event", kind: "instability",
                                        bars: events.enumerated().map { ("\($0.offset + 1). \($0.element.name) @ step \($0.element.step) (\(Self.pct($0.element.sparsity)) sparse)", Swift.max(0, $0.element.instability)) },
                                        max: Swift.max(0.05, events.map(\.instability).max() ?? 0), color: SVGChart.palette[2],
                                        format: { String(format: "%.3f", $0) })
        let layers = SVGChart.bars(title: "Sparsity per layer", kind: "layers",
                                   bars: report.layers.filter(\.prunable).map { ("\($0.path) [\($0.shape.map(String.init).joined(separator: "×"))]", $0.sparsity) },
                                   max: 1, format: { Self.pct($0) })
        return "<div class=\"grid\"><figure>\(tradeoff)</figure><figure>\(instability)</figure></div><figure>\(layers)</figure>"
    }

    func table(_ caption: String, _ head: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        let th = head.enumerated().map { "<th\(numeric.contains($0.offset) ? " class=\"num\"" : "")>\(SVGChart.escape($0.element))</th>" }.joined()
        let body = rows.map { r in
            "<tr>" + r.enumerated().map { "<td\(numeric.contains($0.offset) ? " class=\"num\"" : "")>\(SVGChart.escape($0.element))</td>" }.joined() + "</tr>"
        }.joined()
        return "<table><caption>\(SVGChart.escape(caption))</caption><thead><tr>\(th)</tr></thead><tbody>\(body)</tbody></table>"
    }

    func tables() -> String {
        var out = table("Parameters per tensor", ["tensor", "shape", "params", "non-zero", "sparsity"], report.layers.map {
            [$0.path + ($0.prunable ? "" : " (not pruned)"), $0.shape.map(String.init).joined(separator: "×"), Self.count($0.parameters),
             Self.count($0.nonzeros), Self.pct($0.sparsity)]
        }, numeric: [2, 3, 4])
        if let f = report.flops {
            out += table("FLOPs per sample: \(Self.count(f.denseFLOPs)) dense → \(Self.count(f.prunedFLOPs)) pruned (×\(String(format: "%.3g", f.reduction)) fewer)",
                         ["layer", "kind", "dense FLOPs", "pruned FLOPs"], f.layers.map { [$0.path, $0.kind, Self.count($0.denseFLOPs), Self.count($0.prunedFLOPs)] },
                         numeric: [2, 3])
        } else {
            out += "<p>No FLOP count for this model.</p>"
        }
        if let latency = report.latency, !latency.isEmpty {
            out += table("Inference latency per form", ["form", "batch", "threads", "median ms", "p10 ms", "p90 ms"], latency.map {
                [$0.form, String($0.batch), String($0.threads), String(format: "%.4g", $0.medianMs), String(format: "%.4g", $0.p10Ms), String(format: "%.4g", $0.p90Ms)]
            }, numeric: [1, 2, 3, 4, 5])
        } else {
            out += "<p>Latency was not measured for this job.</p>"
        }
        return out
    }

    static let css = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2327;max-width:1100px;margin:0 auto;padding:1rem;line-height:1.45}
        h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
        figure{margin:0 0 1rem}svg{width:100%;height:auto;max-width:760px}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f1f3f1;padding:.5rem}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}caption{text-align:left;color:#5b6770;font-size:.9rem}
        th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #d9dedb}th{color:#5b6770;font-size:.85rem}
        .num{text-align:right;font-variant-numeric:tabular-nums}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#5b6770}dd{margin:0}
        .legend{display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.85rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;border-radius:2px}
        """

    func html() throws -> String {
        let r = report
        let title = "Bonsai report — \(job.id)"
        let summary = """
            <dl><dt>Job</dt><dd>\(job.id)</dd><dt>Method</dt><dd>\(SVGChart.escape(r.method))</dd>
            <dt>Architecture</dt><dd>\(SVGChart.escape(r.architecture))</dd><dt>Data set</dt><dd>\(SVGChart.escape(r.preprocessing?.dataset ?? "—"))</dd>
            <dt>Seed</dt><dd>\(r.seed)</dd><dt>Test accuracy</dt><dd>\(Self.pct(r.testAccuracy, 2))</dd>
            <dt>Test loss</dt><dd>\(String(format: "%.4f", r.testLoss))</dd>
            <dt>Parameters</dt><dd>\(Self.count(r.model.nonzeros)) of \(Self.count(r.model.parameters)) non-zero (\(Self.pct(r.model.sparsity)) sparse)</dd>
            <dt>Prunable set</dt><dd>\(Self.count(r.prunable.nonzeros)) of \(Self.count(r.prunable.parameters)) kept (\(Self.pct(r.prunable.sparsity)) sparse)</dd>
            <dt>Mean instability</dt><dd>\(String(format: "%.4f", r.meanInstability))</dd></dl>
            """
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(SVGChart.escape(title))</title><style>\(Self.css)</style></head>
            <body><h1>\(SVGChart.escape(title))</h1>\(summary)
            <h2>Training curves</h2>\(curves())
            <h2>Pruning</h2>\(pruningCharts())
            <h2>Tables</h2>\(tables())
            <h2>Job spec</h2><pre>\(SVGChart.escape(job.spec))</pre>
            </body></html>
            """
    }
}
