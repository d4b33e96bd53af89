import Glibc
import Portable
import TensorCore
import Autodiff

/// A Keras optimizer (`sgd`, `adam`, `rmsprop`, `adagrad`) with Keras 3's defaults and update formulas,
/// computed in float64. A value: it lives in the workspace, so a statement that fails leaves it as it was.
///
/// Slots (moments, accumulators) are kept per variable identity, untracked, as Keras keeps them per
/// variable; the step count is the optimizer's (`optimizer.iterations`), shared by its variables, so
/// Adam's bias correction uses it as Keras does.
public struct Optimizer {
    public enum Kind: String, CaseIterable {
        case sgd, adam, rmsprop, adagrad
    }

    /// One setting: its name, its value, and whether it is a flag (printed true/false).
    struct Setting {
        var name: String
        var value: Double
        var isFlag = false
    }

    let kind: Kind
    private(set) var settings: [Setting]
    /// `apply` calls so far (Keras's `iterations`).
    private(set) var steps = 0
    private var slots: [ObjectIdentifier: Slots] = [:]

    /// One variable's slots; `identity` keeps the key's object alive.
    struct Slots {
        let identity: VariableIdentity
        var first: [Double]
        var second: [Double]
        var third: [Double]
    }

    /// The settings each optimizer takes, in order, with Keras's defaults.
    static func defaults(_ kind: Kind) -> [Setting] {
        switch kind {
        case .sgd: return [Setting(name: "lr", value: 0.01), Setting(name: "momentum", value: 0),
                           Setting(name: "nesterov", value: 0, isFlag: true)]
        case .adam: return [Setting(name: "lr", value: 0.001), Setting(name: "beta1", value: 0.9), Setting(name: "beta2", value: 0.999),
                            Setting(name: "epsilon", value: 1e-7), Setting(name: "amsgrad", value: 0, isFlag: true)]
        case .rmsprop: return [Setting(name: "lr", value: 0.001), Setting(name: "rho", value: 0.9), Setting(name: "momentum", value: 0),
                               Setting(name: "epsilon", value: 1e-7)]
        case .adagrad: return [Setting(name: "lr", value: 0.001), Setting(name: "initial_accumulator", value: 0.1),
                               Setting(name: "epsilon", value: 1e-7)]
        }
    }

    static func usage(_ kind: Kind) -> String {
        "opt = \(kind.rawValue)(" + defaults(kind).map { "\($0.name)=\(text($0))" }.joined(separator: ", ") + ")"
    }

    static let summaries: [Kind: String] = [
        .sgd: "stochastic gradient descent, with momentum and Nesterov momentum (Keras's SGD)",
        .adam: "Adam, with AMSGrad (Keras's Adam)",
        .rmsprop: "RMSprop, with momentum (Keras's RMSprop, not centered)",
        .adagrad: "Adagrad (Keras's Adagrad)",
    ]

    /// Checks each setting's range; returns the setting at fault and why.
    init(kind: Kind, settings: [String: Double]) throws(SettingError) {
        self.kind = kind
        var all = Self.defaults(kind)
        for i in all.indices {
            if let v = settings[all[i].name] { all[i].value = all[i].isFlag ? (v != 0 ? 1 : 0) : v }
        }
        self.settings = all
        for s in all where !s.isFlag {
            guard s.value.isFinite else { throw SettingError(name: s.name, message: "must be a finite number") }
            switch s.name {
            case "beta1", "beta2", "rho":
                guard s.value >= 0 && s.value < 1 else { throw SettingError(name: s.name, message: "must be in [0, 1)") }
            default:
                guard s.value >= 0 else { throw SettingError(name: s.name, message: "must not be negative") }
            }
        }
    }

    struct SettingError: Error {
        var name: String
        var message: String
    }

    func setting(_ name: String) -> Double { settings.first { $0.name == name }!.value }

    private static func text(_ s: Setting) -> String { s.isFlag ? (s.value != 0 ? "true" : "false") : plainNumber(s.value) }

    /// `adam(lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-07, amsgrad=false), 3 steps, slots for 2 variables`
    public var description: String {
        let call = kind.rawValue + "(" + settings.map { "\($0.name)=\(Self.text($0))" }.joined(separator: ", ") + ")"
        return call + ", \(steps) step\(steps == 1 ? "" : "s"), slots for \(slots.count) variable\(slots.count == 1 ? "" : "s")"
    }

    /// One step over the pairs `(variable, gradient)` (Keras's `apply_gradients`): the variables' new
    /// tensors, in order. Shapes are checked by the caller.
    mutating func step(_ pairs: [(variable: VariableIdentity, value: Tensor, gradient: Tensor)]) -> [Tensor] {
        let t = Double(steps + 1)
        let lr = setting("lr")
        var results: [Tensor] = []
        results.reserveCapacity(pairs.count)
        for pair in pairs {
            let key = ObjectIdentifier(pair.variable)
            var w = pair.value.scalars
            let n = w.count
            var s = slots.removeValue(forKey: key) ?? Slots(identity: pair.variable, first: [], second: [], third: [])
            if kind == .adam && setting("amsgrad") == 0 {
                if s.first.isEmpty {
                    s.first = [Double](repeating: 0, count: n)
                    s.second = s.first
                }
                let alpha = lr * (1 - Glibc.pow(setting("beta2"), t)).squareRoot() / (1 - Glibc.pow(setting("beta1"), t))
                let next = Optimizer.adam(w: pair.value, g: pair.gradient, m: s.first, v: s.second, alpha: alpha,
                                          keep1: 1 - setting("beta1"), keep2: 1 - setting("beta2"), epsilon: setting("epsilon"))
                s.first = next.m
                s.second = next.v
                slots[key] = s
                results.append(Tensor(shape: pair.value.shape, scalars: next.w))
                continue
            }
            pair.gradient.withUnsafeBufferPointer { g in
                switch kind {
                case .sgd:
                    let momentum = setting("momentum"), nesterov = setting("nesterov") != 0
                    if momentum != 0 {
                        if s.first.isEmpty { s.first = [Double](repeating: 0, count: n) }
                        for i in 0..<n {
                            s.first[i] = s.first[i] * momentum - g[i] * lr
                            w[i] += nesterov ? s.first[i] * momentum - g[i] * lr : s.first[i]
                        }
                    } else {
                        w.withUnsafeMutableBufferPointer { w in
                            for i in 0..<n { w[i] -= g[i] * lr }
                        }
                    }
                case .adam:
                    let beta1 = setting("beta1"), beta2 = setting("beta2"), epsilon = setting("epsilon")
                    let amsgrad = setting("amsgrad") != 0
                    if s.first.isEmpty {
                        s.first = [Double](repeating: 0, count: n)
                        s.second = s.first
                        if amsgrad { s.third = s.first }
                    }
                    let alpha = lr * (1 - Glibc.pow(beta2, t)).squareRoot() / (1 - Glibc.pow(beta1, t))
                    let keep1 = 1 - beta1, keep2 = 1 - beta2
                    for i in 0..<n {
                        s.first[i] += (g[i] - s.first[i]) * keep1
                        s.second[i] += (g[i] * g[i] - s.second[i]) * keep2
                        var v = s.second[i]
                        if amsgrad { s.third[i] = Swift.max(s.third[i], v); v = s.third[i] }
                        w[i] -= s.first[i] * alpha / (v.squareRoot() + epsilon)
                    }
                case .rmsprop:
                    let rho = setting("rho"), momentum = setting("momentum"), epsilon = setting("epsilon")
                    if s.first.isEmpty {
                        s.first = [Double](repeating: 0, count: n)
                        if momentum > 0 { s.second = s.first }
                    }
                    for i in 0..<n {
                        s.first[i] = rho * s.first[i] + (1 - rho) * g[i] * g[i]
                        let increment = lr * g[i] / (s.first[i] + epsilon).squareRoot()
                        if momentum > 0 {
                            s.second[i] = momentum * s.second[i] + increment
                            w[i] -= s.second[i]
                        } else {
                            w[i] -= increment
                        }
                    }
                case .adagrad:
                    let epsilon = setting("epsilon")
                    if s.first.isEmpty { s.first = [Double](repeating: setting("initial_accumulator"), count: n) }
                    for i in 0..<n {
                        s.first[i] += g[i] * g[i]
                        w[i] -= lr * g[i] / (s.first[i] + epsilon).squareRoot()
                    }
                }
            }
            slots[key] = s
            results.append(Tensor(shape: pair.value.shape, scalars: w))
        }
        steps += 1
        return results
    }
    /// Adam's update (without AMSGrad) in one pass that writes new arrays for w, m and v: a loop's
    /// snapshot of the workspace shares the old slots, so updating them in place would copy them first.
    /// Each element is independent, so large parameters are updated on two cores (`SharedChunks`).
    static func adam(w: Tensor, g: Tensor, m: [Double], v: [Double], alpha: Double, keep1: Double, keep2: Double,
                     epsilon: Double) -> (w: [Double], m: [Double], v: [Double]) {
        let n = m.count
        var newM: [Double] = [], newV: [Double] = []
        let newW = w.withUnsafeBufferPointer { w in
            g.withUnsafeBufferPointer { g in
                m.withUnsafeBufferPointer { m in
                    v.withUnsafeBufferPointer { v in
                        [Double](unsafeUninitializedCapacity: n) { wOut, wCount in
                            newM = [Double](unsafeUninitializedCapacity: n) { mOut, mCount in
                                newV = [Double](unsafeUninitializedCapacity: n) { vOut, vCount in
                                    let update = AdamUpdate(w: w.baseAddress, g: g.baseAddress, m: m.baseAddress, v: v.baseAddress,
                                                            wOut: wOut.baseAddress, mOut: mOut.baseAddress, vOut: vOut.baseAddress,
                                                            alpha: alpha, keep1: keep1, keep2: keep2, epsilon: epsilon)
                                    if SharedChunks.shares(n) {
                                        _ = SharedChunks.run(update, count: n) { job, start, end in
                                            job!.assumingMemoryBound(to: AdamUpdate.self).pointee.elements(start, end)
                                            return 0
                                        }
                                    } else {
                                        update.elements(0, n)
                                    }
                                    vCount = n
                                }
                                mCount = n
                            }
                            wCount = n
                        }
                    }
                }
            }
        }
        return (newW, newM, newV)
    }
}

/// One Adam update's buffers (raw pointers only: the helper thread of `SharedChunks` runs part of it).
struct AdamUpdate {
    let w, g, m, v: UnsafePointer<Double>?
    let wOut, mOut, vOut: UnsafeMutablePointer<Double>?
    let alpha, keep1, keep2, epsilon: Double

    /// Elements [start, end): four lanes at a time; each lane computes what the scalar formula does, so the
    /// results are the same wherever a chunk starts.
    func elements(_ start: Int, _ end: Int) {
        guard let w, let g, let m, let v, let wOut, let mOut, let vOut else { return }
        typealias Lanes = SIMD4<Double>
        func load(_ p: UnsafePointer<Double>, _ i: Int) -> Lanes { UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self) }
        func store(_ x: Lanes, _ p: UnsafeMutablePointer<Double>, _ i: Int) { UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: Lanes.self) }
        let k1 = Lanes(repeating: keep1), k2 = Lanes(repeating: keep2)
        let a = Lanes(repeating: alpha), e = Lanes(repeating: epsilon)
        var i = start
        while i + 4 <= end {
            let gi = load(g, i), m0 = load(m, i), v0 = load(v, i)
            let mi = m0 + (gi - m0) * k1
            let vi = v0 + (gi * gi - v0) * k2
            store(mi, mOut, i)
            store(vi, vOut, i)
            store(load(w, i) - mi * a / (vi.squareRoot() + e), wOut, i)
            i += 4
        }
        while i < end {
            let mi = m[i] + (g[i] - m[i]) * keep1
            let vi = v[i] + (g[i] * g[i] - v[i]) * keep2
            mOut[i] = mi
            vOut[i] = vi
            wOut[i] = w[i] - mi * alpha / (vi.squareRoot() + epsilon)
            i += 1
        }
    }
}
