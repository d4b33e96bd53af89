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
    // NOTE: arrays searched in order, not dictionaries: a loop takes a few gradients, and hashing their labels
    // (and a label-and-flag key) at every step cost more than the rest of the monitor.
    /// The stretches still running, at most one a label and flag.
    fileprivate var open: [Stretch] = []
    fileprivate var closed: [Stretch] = []
    /// Each gradient's norm at the first step of the loop that took it.
    fileprivate var startNorms: [(label: String, norm: Double)] = []

    init(current: [(label: String, value: Value)]) {
        lastSeen = current.map { ObjectIdentifier($0.value) }
    }

    /// Every flagged stretch so far, in the order they began.
    var stretches: [Stretch] {
        (closed + open).sorted { ($0.firstStep, $0.label) < ($1.firstStep, $1.label) }
    }

    mutating func observe(step: Int, gradients: [(label: String, value: Value)]) {
        if gradients.isEmpty && lastSeen.isEmpty { return }  // a loop with no gradient yet: most steps of most loops
        if gradients.count == lastSeen.count, gradients.indices.allSatisfy({ ObjectIdentifier(gradients[$0].value) == lastSeen[$0] }) {
            return
        }
        // Written over in place: a new array at every step cost more than the rest of this check.
        lastSeen.removeAll(keepingCapacity: true)
        for i in gradients.indices { lastSeen.append(ObjectIdentifier(gradients[i].value)) }
        var flaggedNow = open.isEmpty ? [] : [Bool](repeating: false, count: open.count)
        for (label, value) in gradients {
            let norm = value.tensor.euclideanNorm
            let known = startNorms.firstIndex { $0.label == label }
            if known == nil { startNorms.append((label, norm)) }
            guard var flag = GradientFlag(value.tensor, norm: norm) else { continue }
            let startNorm = known.map { startNorms[$0].norm } ?? norm
            if flag == .vanishing && startNorm >= GradientFlag.vanishingNorm { flag = .converged }
            func started() -> Stretch {
                let s = value.tensor.scalars
                return Stretch(label: label, flag: flag, firstStep: step, lastStep: step, firstNorm: norm, lastNorm: norm, startNorm: startNorm,
                        nan: s.filter(\.isNaN).count, inf: s.filter(\.isInfinite).count, origin: value.nonFiniteOrigin)
            }
            if let i = open.firstIndex(where: { $0.label == label && $0.flag == flag }) {
                if open[i].lastStep == step - 1 {
                    open[i].lastStep = step
                    open[i].lastNorm = norm
                } else {
                    closed.append(open[i])
                    open[i] = started()
                }
                flaggedNow[i] = true
            } else {
                open.append(started())
                flaggedNow.append(true)
            }
        }
        guard flaggedNow.contains(false) else { return }
        var stillOpen: [Stretch] = []
        for (i, stretch) in open.enumerated() {
            if flaggedNow[i] { stillOpen.append(stretch) } else { closed.append(stretch) }
        }
        open = stillOpen
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
