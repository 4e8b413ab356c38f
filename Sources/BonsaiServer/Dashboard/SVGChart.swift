import Foundation

/// Inline SVG charts for the self-contained HTML report (the server-side twin of the dashboard's
/// `charts.js`): line charts with linear or log-10 x axes and horizontal bar charts. Every series
/// is a `<path class="line" data-count=N>` and every marker a `<circle class="pt">`, so a test can
/// count the plotted points.
enum SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var color: String
        var markers = false
        var line = true
    }

    static let palette = ["#2f6f3e", "#1a5fb4", "#c64600", "#8e44ad", "#b8860b", "#00838f", "#7a7a7a"]

    /// HTML/XML text escaping.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func fmt(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e4 || abs(v) < 1e-3 { return String(format: "%.0e", v) }
        return String(format: "%.4g", v)
    }

    /// Round ticks (1, 2 or 5 × 10^k steps) covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var v = (lo / step).rounded(.up) * step
        while v <= hi + step * 1e-9 { out.append(v); v += step }
        return out
    }

    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let a = Int(floor(log10(lo))), b = Int(ceil(log10(hi)))
        var out = (a...b).map { pow(10, Double($0)) }.filter { $0 >= lo * 0.999 && $0 <= hi * 1.001 }
        if out.count < 3 {
            out = (a...b).flatMap { k in [1.0, 2, 5].map { $0 * pow(10, Double(k)) } }.filter { $0 >= lo * 0.999 && $0 <= hi * 1.001 }
        }
        return out
    }

    /// A line chart; `bands` shade x ranges (training phases).
    static func line(title: String, kind: String, series: [Series], xLabel: String, yLabel: String, xLog: Bool = false,
                     yRange: ClosedRange<Double>? = nil, bands: [(from: Double, to: Double, label: String)] = [],
                     xFormat: (Double) -> String = SVGChart.fmt) -> String {
        let w = 640.0, h = 280.0, ml = 52.0, mr = 12.0, mt = 28.0, mb = 40.0
        let pw = w - ml - mr, ph = h - mt - mb
        let series = series.map { s in
            var s = s
            s.points = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!xLog || $0.x > 0) }
            return s
        }
        let all = series.flatMap(\.points)
        var svg = "<svg class=\"chart\" data-chart=\"\(kind)\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<title>\(escape(title))</title><text x=\"8\" y=\"16\" font-weight=\"600\" font-size=\"13\">\(escape(title))</text>"
        guard !all.isEmpty else { return svg + "<text x=\"320\" y=\"140\" text-anchor=\"middle\">no data</text></svg>" }
        var x0 = all.map { $0.x }.min()!, x1 = all.map { $0.x }.max()!
        for b in bands { x0 = min(x0, b.from); x1 = max(x1, b.to) }
        var y0 = yRange?.lowerBound ?? all.map { $0.y }.min()!, y1 = yRange?.upperBound ?? all.map { $0.y }.max()!
        if yRange == nil, y1 > y0 { let pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad }
        if !(y1 > y0) { y0 -= 0.5; y1 += 0.5 }
        if !(x1 > x0) { if xLog { x0 /= 2; x1 *= 2 } else { x0 -= 1; x1 += 1 } }
        let X: (Double) -> Double = xLog ? { ml + (log10($0) - log10(x0)) / (log10(x1) - log10(x0)) * pw } : { ml + ($0 - x0) / (x1 - x0) * pw }
        let Y: (Double) -> Double = { mt + ph - (min(max($0, y0), y1) - y0) / (y1 - y0) * ph }
        for (i, b) in bands.enumerated() {
            let bx = X(max(b.from, x0)), bw = max(0, X(min(b.to, x1)) - bx)
            svg += "<rect x=\"\(f(bx))\" y=\"\(f(mt))\" width=\"\(f(bw))\" height=\"\(f(ph))\" fill=\"\(i % 2 == 0 ? "#eef3ef" : "#f7f9f7")\"/>"
            if bw > 6.5 * Double(b.label.count) + 6 { svg += "<text x=\"\(f(bx + 3))\" y=\"\(f(mt + 11))\" font-size=\"10\">\(escape(b.label))</text>" }
        }
        for t in ticks(y0, y1) {
            svg += "<line x1=\"\(f(ml))\" x2=\"\(f(ml + pw))\" y1=\"\(f(Y(t)))\" y2=\"\(f(Y(t)))\" stroke=\"#e7eae8\"/>"
            svg += "<text x=\"\(f(ml - 5))\" y=\"\(f(Y(t) + 4))\" text-anchor=\"end\" font-size=\"11\">\(fmt(t))</text>"
        }
        for t in xLog ? logTicks(x0, x1) : ticks(x0, x1, count: 7) {
            svg += "<line x1=\"\(f(X(t)))\" x2=\"\(f(X(t)))\" y1=\"\(f(mt + ph))\" y2=\"\(f(mt + ph + 4))\" stroke=\"#8c9691\"/>"
            svg += "<text x=\"\(f(X(t)))\" y=\"\(f(mt + ph + 16))\" text-anchor=\"middle\" font-size=\"11\">\(escape(xFormat(t)))</text>"
        }
        svg += "<path d=\"M\(f(ml)),\(f(mt))V\(f(mt + ph))H\(f(ml + pw))\" fill=\"none\" stroke=\"#8c9691\"/>"
        svg += "<text x=\"\(f(ml + pw / 2))\" y=\"\(f(h - 4))\" text-anchor=\"middle\" font-size=\"11\">\(escape(xLabel))</text>"
        svg += "<text x=\"12\" y=\"\(f(mt + ph / 2))\" text-anchor=\"middle\" font-size=\"11\" transform=\"rotate(-90 12 \(f(mt + ph / 2)))\">\(escape(yLabel))</text>"
        for s in series where !s.points.isEmpty {
            if s.line {
                let d = s.points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(X($0.element.x))),\(f(Y($0.element.y)))" }.joined()
                svg += "<path class=\"line\" data-series=\"\(escape(s.name))\" data-count=\"\(s.points.count)\" d=\"\(d)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.5\"/>"
            }
            if s.markers {
                for p in s.points {
                    svg += "<circle class=\"pt\" cx=\"\(f(X(p.x)))\" cy=\"\(f(Y(p.y)))\" r=\"3.5\" fill=\"\(s.color)\"><title>\(escape(s.name)): (\(fmt(p.x)), \(fmt(p.y)))</title></circle>"
                }
            }
        }
        svg += "</svg>"
        let legend = series.map { "<span><i style=\"background:\($0.color)\"></i>\(escape($0.name))</span>" }.joined()
        return svg + "<div class=\"legend\">\(legend)</div>"
    }

    /// Horizontal bars, the label above each bar.
    static func bars(title: String, kind: String, bars: [(label: String, value: Double)], max maxValue: Double? = nil,
                     color: String = palette[1], format: (Double) -> String = SVGChart.fmt) -> String {
        let w = 640.0, row = 30.0, mt = 28.0, ml = 8.0, mr = 64.0
        let h = mt + 8 + Double(Swift.max(1, bars.count)) * row, pw = w - ml - mr
        let top = Swift.max(1e-12, maxValue ?? bars.map { $0.value }.max() ?? 1)
        var svg = "<svg class=\"chart\" data-chart=\"\(kind)\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<title>\(escape(title))</title><text x=\"8\" y=\"16\" font-weight=\"600\" font-size=\"13\">\(escape(title))</text>"
        for (i, b) in bars.enumerated() {
            let y = mt + Double(i) * row
            svg += "<text x=\"\(f(ml))\" y=\"\(f(y + 10))\" font-size=\"11\">\(escape(b.label))</text>"
            svg += "<rect x=\"\(f(ml))\" y=\"\(f(y + 14))\" width=\"\(f(pw))\" height=\"10\" fill=\"#eef1ef\"/>"
            svg += "<rect class=\"bar\" data-value=\"\(b.value)\" x=\"\(f(ml))\" y=\"\(f(y + 14))\" width=\"\(f(Swift.max(0, b.value / top * pw)))\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(f(ml + pw + 4))\" y=\"\(f(y + 23))\" font-size=\"11\">\(escape(format(b.value)))</text>"
        }
        if bars.isEmpty { svg += "<text x=\"320\" y=\"44\" text-anchor=\"middle\">no data</text>" }
        return svg + "</svg>"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
