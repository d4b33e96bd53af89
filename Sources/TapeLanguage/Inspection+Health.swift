import TensorCore
import Autodiff
import Rendering

/// What is wrong with a gradient, if anything (the flags of `:grads`).
enum GradientFlag: String {
    case nonFinite = "non-finite"
    case vanishing
    case exploding
    /// In a loop: under the vanishing norm after a start above it. The loss has reached a minimum; the
    /// gradient is not failing to flow (only `repeat` tells the two apart, by the norm at its start).
    case converged

    /// Norms below this are flagged vanishing.
    static let vanishingNorm = 1e-7
    /// Norms above this are flagged exploding.
    static let explodingNorm = 1e3

    init?(_ t: Tensor) {
        self.init(t, norm: t.euclideanNorm)
    }

    /// The flag of `t`, whose `euclideanNorm` is `norm`. A finite norm has no NaN or Inf under it, so only
    /// a non-finite one needs a look at the elements.
    init?(_ t: Tensor, norm: Double) {
        if !norm.isFinite && t.hasNonFinite { self = .nonFinite; return }
        if norm < GradientFlag.vanishingNorm { self = .vanishing } else if norm > GradientFlag.explodingNorm { self = .exploding } else { return nil }
    }
}

/// Watches the gradients a `repeat` loop takes and reports each flagged stretch of steps once:
/// `∂loss/∂w exploding at steps 12–40 (29 steps), norm 1.2e+03 → 8.5e+09`, not one line per iteration.
///
/// The loop calls `Session.observeGradientHealth(_:step:)` after each iteration and adds
/// `Session.gradientHealthReport(_:)` to its outcome's notes.
struct GradientHealthMonitor {
    struct Stretch {
        var label: String
        var flag: GradientFlag
        var firstStep: Int
        var lastStep: Int
        var firstNorm: Double
        var lastNorm: Double
        /// The gradient's norm at the loop's first step that took it.
        var startNorm: Double
        var nan = 0
        var inf = 0
        /// Where the first NaN or Inf came from, when the engine knows.
        var origin: NonFiniteOrigin?
    }

    /// The gradients seen last, by identity: a step that took no new gradient is not counted again.
    fileprivate var lastSeen: [ObjectIdentifier]
    fileprivate var open: [String: Stretch] = [:]
    fileprivate var closed: [Stretch] = []
    /// Each gradient's norm at the first step of the loop that took it.
    fileprivate var startNorms: [String: Double] = [:]

    init(current: [(label: String, value: Value)]) {
        lastSeen = current.map { ObjectIdentifier($0.value) }
    }

    /// Every flagged stretch so far, in the order they began.
    var stretches: [Stretch] {
        (closed + open.values).sorted { ($0.firstStep, $0.label) < ($1.firstStep, $1.label) }
    }

    mutating func observe(step: Int, gradients: [(label: String, value: Value)]) {
        if gradients.isEmpty && lastSeen.isEmpty { return }  // a loop with no gradient yet: most steps of most loops
        let identities = gradients.map { ObjectIdentifier($0.value) }
        guard identities != lastSeen else { return }
        lastSeen = identities
        var flaggedNow = Set<String>()
        for (label, value) in gradients {
            let norm = value.tensor.euclideanNorm
            if startNorms[label] == nil { startNorms[label] = norm }
            guard var flag = GradientFlag(value.tensor, norm: norm) else { continue }
            let startNorm = startNorms[label]!
            if flag == .vanishing && startNorm >= GradientFlag.vanishingNorm { flag = .converged }
            let key = label + "\u{0}" + flag.rawValue
            flaggedNow.insert(key)
            if var stretch = open[key], stretch.lastStep == step - 1 {
                stretch.lastStep = step
                stretch.lastNorm = norm
                open[key] = stretch
            } else {
                if let old = open[key] { closed.append(old) }
                let s = value.tensor.scalars
                open[key] = Stretch(label: label, flag: flag, firstStep: step, lastStep: step, firstNorm: norm, lastNorm: norm, startNorm: startNorm,
                                    nan: s.filter(\.isNaN).count, inf: s.filter(\.isInfinite).count, origin: value.nonFiniteOrigin)
            }
        }
        for (key, stretch) in open where !flaggedNow.contains(key) {
            closed.append(stretch)
            open[key] = nil
        }
    }
}

extension Session {
    /// A monitor for a `repeat` loop that is about to start.
    func startGradientHealth() -> GradientHealthMonitor {
        GradientHealthMonitor(current: lastGradients)
    }

    /// Called by `repeat` after iteration `step` (1-based).
    func observeGradientHealth(_ monitor: inout GradientHealthMonitor, step: Int) {
        monitor.observe(step: step, gradients: lastGradients)
    }

    /// One line per flagged stretch, for the loop's notes; empty when all was well.
    func gradientHealthReport(_ monitor: GradientHealthMonitor) -> [String] {
        monitor.stretches.map { s in
            let steps = s.firstStep == s.lastStep ? "at step \(s.firstStep)" : "at steps \(s.firstStep)–\(s.lastStep) (\(s.lastStep - s.firstStep + 1) steps)"
            var text = "\(s.label) \(s.flag.rawValue) \(steps)"
            switch s.flag {
            case .nonFinite:
                var counts: [String] = []
                if s.nan > 0 { counts.append("\(s.nan) NaN") }
                if s.inf > 0 { counts.append("\(s.inf) Inf") }
                text += ": " + counts.joined(separator: ", ")
                if settings.anomaly, let origin = s.origin {
                    text += "; it traces back to \(origin.operation) in the \(origin.pass.rawValue) pass"
                    if origin.line > 0 { text += " (line \(origin.line))" }
                    if let why = origin.explanation { text += ": " + why }
                }
            case .vanishing, .exploding:
                let first = Session.scientific(s.firstNorm), last = Session.scientific(s.lastNorm)
                text += ", norm " + (s.firstStep == s.lastStep ? first : "\(first) → \(last)")
            case .converged:
                let first = Session.scientific(s.firstNorm), last = Session.scientific(s.lastNorm)
                text += ": norm \(Session.scientific(s.startNorm)) at the start, under 1e-7 from then on ("
                    + (s.firstStep == s.lastStep ? first : "\(first) → \(last)") + ")"
            }
            return text
        }
    }
}
