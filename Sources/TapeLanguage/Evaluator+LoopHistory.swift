import TensorCore
import Autodiff

/// The loop-history note (spec section 4): after a loop, a name whose value still reaches the first
/// iteration's recordings carries every iteration's history into the next, and the tape grows with the
/// iterations (`m = 0.9 * m + g` with `g` a tracked gradient; PyTorch's `total_loss += loss`).
extension Session {
    /// Where a loop's iterations begin on the serial clock.
    struct LoopHistory {
        /// The newest serial number before the loop.
        let start: Int
        /// The newest serial number before the second iteration.
        var secondIteration: Int?
        /// Iterations finished.
        var iterations = 0

        init(start: Int) { self.start = start }

        /// Call at the start of each iteration, with the count of those finished.
        mutating func beginIteration(_ finished: Int, serial: Int) {
            if finished == 1 { secondIteration = serial }
        }
    }

    /// The names that carry every iteration's recordings, the one holding most first, with how many
    /// recorded operations they keep.
    func historyCarriers(_ history: LoopHistory) -> [(name: String, operations: Int)] {
        guard history.iterations >= 2, let second = history.secondIteration else { return [] }
        var carriers: [(name: String, operations: Int)] = []
        for (name, binding) in workspace {
            let roots: [Value]
            switch binding {
            case .value(let v): roots = [v]
            case .group(let members): roots = members.compactMap { if case .value(let v) = $0 { return v } else { return nil } }
            default: continue
            }
            let (count, oldest) = context.recordedSince(history.start, reachableFrom: roots)
            guard let oldest, oldest <= second, count >= history.iterations else { continue }
            carriers.append((name, count))
        }
        return carriers.sorted { $0.operations != $1.operations ? $0.operations > $1.operations : $0.name < $1.name }
    }

    /// The note after a loop, or nil when no name carries the loop's history.
    func loopHistoryNote(_ history: LoopHistory) -> String? {
        let carriers = historyCarriers(history)
        guard let first = carriers.first else { return nil }
        let perIteration = max(1, Int((Double(first.operations) / Double(history.iterations)).rounded()))
        let others = carriers.dropFirst().map(\.name)
        let also = others.isEmpty ? "" : " (\(others.joined(separator: ", ")) too)"
        return "the tape grew with the loop: \(first.name)\(also) carries every iteration's recordings into the next, "
            + "\(perIteration) operation\(perIteration == 1 ? "" : "s") kept per iteration (\(first.operations) after \(history.iterations) iterations). "
            + "Unless \(first.name) is meant to be differentiated through the whole loop, keep it off the tape: "
            + "\(first.name) = stop_gradient(...), a var updated with -= or +=, or an optimizer (apply opt to w with g)"
    }

    /// A "not enough memory" error in a loop, with the loop-history note as its hint when it applies.
    func withHistoryHint(_ error: Error, _ history: LoopHistory) -> Error {
        guard let e = error as? EvaluationError, e.message.hasPrefix("not enough memory"),
              let carrier = historyCarriers(history).first else { return error }
        let perIteration = max(1, Int((Double(carrier.operations) / Double(max(1, history.iterations))).rounded()))
        let hint = "the tape grew with the loop: \(carrier.name) carries every iteration's recordings into the next "
            + "(\(perIteration) operation\(perIteration == 1 ? "" : "s") per iteration); cut it with stop_gradient(...), a var, or an optimizer"
        return EvaluationError(e.message, at: e.span, note: e.note.map { $0 + "; " + hint } ?? hint)
    }
}
