/// The random number generator behind `rand`, `randn` and `set_seed`.
///
/// SplitMix64 seeds a xoshiro256** state; doubles take the top 53 bits (`(x >> 11) * 2^-53`), so
/// sequences are identical on every machine. Normal numbers use the Box–Muller transform, one pair
/// per two uniforms, in order.
public struct RandomGenerator: Sendable {
    var state: (UInt64, UInt64, UInt64, UInt64)
    var spareNormal: Double?

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
        spareNormal = nil
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func nextUInt64() -> UInt64 {
        let result = RandomGenerator.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = RandomGenerator.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(nextUInt64() >> 11) * 0x1.0p-53 }

    /// Standard normal.
    public mutating func normal() -> Double {
        if let spare = spareNormal { spareNormal = nil; return spare }
        let u1 = 1 - uniform() // (0, 1]: log is finite
        let u2 = uniform()
        let r = (-2 * _log(u1)).squareRoot()
        spareNormal = r * _sin(2 * .pi * u2)
        return r * _cos(2 * .pi * u2)
    }

    public mutating func tensor(shape: [Int], normal: Bool) throws -> Tensor {
        try Shape.checkAllocation(shape)
        var values = [Double](repeating: 0, count: Shape.count(shape))
        for i in values.indices { values[i] = normal ? self.normal() : uniform() }
        BLAS.openInBackground(forMatrixOf: shape)
        return Tensor(shape: shape, scalars: values)
    }
}

import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Glibc.sin(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
