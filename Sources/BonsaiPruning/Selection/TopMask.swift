/// The 0/1 mask keeping exactly `keep` entries with the largest values, in O(n) expected time
/// (quickselect for the k-th largest value, then ties resolved by position as ``TopK`` does: among
/// equal values the lower positions are dropped first). Score-based methods recompute this in every
/// forward pass, where a full sort would dominate the step.
public enum TopMask {
    public static func keepLargest(_ values: [Double], keep: Int) -> [Float] {
        let n = values.count
        let k = Swift.min(Swift.max(keep, 0), n)
        var mask = [Float](repeating: 0, count: n)
        guard k > 0 else { return mask }
        guard k < n else { return [Float](repeating: 1, count: n) }
        let cleaned = values.map { $0.isNaN ? -Double.infinity : $0 }
        var work = cleaned
        let threshold = select(&work, rank: n - k)      // the k-th largest = (n−k)-th smallest (0-based)
        var kept = 0
        for i in 0..<n where cleaned[i] > threshold { mask[i] = 1; kept += 1 }
        var i = n - 1
        while kept < k && i >= 0 {
            if cleaned[i] == threshold { mask[i] = 1; kept += 1 }
            i -= 1
        }
        return mask
    }

    /// The value of rank `rank` (0-based, ascending) of `a`, reordering `a` (Hoare quickselect with a
    /// median-of-three pivot).
    static func select(_ a: inout [Double], rank: Int) -> Double {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if rank <= j { hi = j } else if rank >= i { lo = i } else { return a[rank] }
        }
        return a[rank]
    }
}
