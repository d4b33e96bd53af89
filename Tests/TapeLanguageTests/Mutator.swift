/// A seeded mutation fuzzer for the test suite (issue 17): it starts from a corpus (lessons, fixtures) and
/// makes a fixed number of inputs from it by flipping, inserting, deleting, repeating and splicing bytes,
/// with tokens that parsers care about. The same seed makes the same inputs on every machine, so a failure
/// reproduces; the count of inputs is fixed, never a time.
///
/// libFuzzer (`swiftc -sanitize=fuzzer`) works with this toolchain, but SwiftPM links an executable's
/// `main` under another name, so `swift build -sanitize=fuzzer` cannot build a fuzz target that the suite
/// runs; this generator runs inside `make test` instead (see the README).
struct Mutator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    /// One input: a corpus item with one to eight mutations, capped at `maximumLength` bytes.
    mutating func input(from corpus: [[UInt8]], tokens: [[UInt8]], maximumLength: Int = 4096) -> [UInt8] {
        var bytes = corpus[below(corpus.count)]
        if bytes.count > maximumLength { let start = below(bytes.count - maximumLength); bytes = Array(bytes[start..<start + maximumLength]) }
        for _ in 0...below(8) {
            let at = below(bytes.count + 1)
            switch below(7) {
            case 0 where !bytes.isEmpty: bytes[below(bytes.count)] ^= UInt8(1 << below(8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
            case 2 where !bytes.isEmpty:
                let end = min(bytes.count, at + 1 + below(16))
                if at < end { bytes.removeSubrange(at..<end) }
            case 3: bytes.insert(contentsOf: tokens[below(tokens.count)], at: at)
            case 4 where !bytes.isEmpty:
                // Repeat a run: deep nesting, long lines.
                let start = below(bytes.count), end = min(bytes.count, start + 1 + below(8))
                let run = Array(bytes[start..<end])
                for _ in 0..<(1 + below(64)) { bytes.insert(contentsOf: run, at: start) }
            case 5:
                let other = corpus[below(corpus.count)]
                if !other.isEmpty {
                    let start = below(other.count), end = min(other.count, start + 1 + below(64))
                    bytes.insert(contentsOf: other[start..<end], at: at)
                }
            default:
                if !bytes.isEmpty { bytes[below(bytes.count)] = tokens[below(tokens.count)].first ?? 0 }
            }
        }
        return bytes.count > maximumLength * 4 ? Array(bytes.prefix(maximumLength * 4)) : bytes
    }
}
