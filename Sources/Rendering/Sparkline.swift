/// A one-line chart of `values` with the eight block heights `▁▂▃▄▅▆▇█`, at most `width` characters.
///
/// The lowest finite value maps to `▁` and the highest to `█`. More values than `width` are averaged
/// in `width` equal buckets (bucket boundaries by index), so the whole history shows; fewer are drawn
/// one character each, not stretched. A bucket with no finite value (NaN, inf) is a space. When all
/// finite values are equal every character is `▄`.
public func sparkline(_ values: [Double], width: Int) -> String {
    guard width > 0, !values.isEmpty else { return "" }
    let buckets: [Double]
    if values.count <= width {
        buckets = values
    } else {
        buckets = (0..<width).map { bucket in
            let lower = bucket * values.count / width
            let upper = (bucket + 1) * values.count / width
            let finite = values[lower..<upper].filter { $0.isFinite }
            return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
        }
    }
    let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    let finite = buckets.filter { $0.isFinite }
    guard let low = finite.min(), let high = finite.max() else {
        return String(repeating: " ", count: buckets.count)
    }
    return String(buckets.map { v -> Character in
        guard v.isFinite else { return " " }
        if high == low { return "▄" }
        let level = Int(((v - low) / (high - low) * 7).rounded())
        return blocks[min(7, max(0, level))]
    })
}
