import TensorCore

/// A gradient whose backward pass has run for its numbers but is recorded only when something needs it.
///
/// The implicit tape records every backward pass, so that a gradient can be differentiated again (spec §4).
/// Most gradients never are: a training step reads its gradients once. So when `grad` reads the implicit
/// tape alone, its pass runs without keeping nodes (every value still gets the tracking the recorded pass
/// would give it), and each tracked result holds this record of the pass instead of a node. The first time
/// anything asks for a result's node (a second-order gradient, `tape`, `explain`), the pass runs again,
/// recorded, over the same serial numbers and at the same line, so the recorded graph is exactly the one the
/// pass would have recorded at once. A `watch` records pending passes first, since it would change what they
/// record.
final class DeferredGradient {
    struct WeakValue { weak var value: Value? }
    struct WeakReference { weak var gradient: DeferredGradient? }

    unowned(unsafe) let context: GradientContext
    let target: Value
    let sources: [Value]
    let seed: Value?
    let unconnectedZero: Bool
    /// The statement line of the `grad`.
    let line: Int
    /// The serial number before the pass: its replay numbers its values from here again.
    let firstSerial: Int
    /// The deferred results, one slot per source (empty where the result needs no recording).
    var results: [WeakValue]
    private(set) var isRecorded = false

    init(context: GradientContext, target: Value, sources: [Value], seed: Value?, unconnectedZero: Bool,
         line: Int, firstSerial: Int, results: [WeakValue]) {
        self.context = context
        self.target = target
        self.sources = sources
        self.seed = seed
        self.unconnectedZero = unconnectedZero
        self.line = line
        self.firstSerial = firstSerial
        self.results = results
    }

    /// The values the pass reads (for walks that forget tapes).
    var values: [Value] { [target] + sources + (seed.map { [$0] } ?? []) }

    /// Runs the pass again, recorded, and gives each result the node it would have had. When the replay
    /// fails (the memory limit), nothing changes and the error is thrown: the results stay deferred, never
    /// recorded as constants, so a later gradient through them cannot silently give another number.
    func materialize() throws {
        guard !isRecorded else { return }
        try context.record(self)
        isRecorded = true
    }
}

extension GradientContext {
    /// Records a deferred gradient's pass: replayed with the recording state it ran under (the implicit
    /// tape alone), its serial numbers and its line.
    func record(_ deferred: DeferredGradient) throws {
        let saved = (lastSerial, currentLine, storesNodes, interruptCheck)
        lastSerial = deferred.firstSerial
        currentLine = deferred.line
        storesNodes = true
        interruptCheck = nil
        defer { (lastSerial, currentLine, storesNodes, interruptCheck) = saved }
        let replayed = try withRecordingOnly(implicitTape.bit) {
            try computeGradients(of: deferred.target, wrt: deferred.sources, seed: deferred.seed, tape: implicitTape,
                                 unconnectedZero: deferred.unconnectedZero, observer: nil)
        }
        for (i, slot) in deferred.results.enumerated() {
            guard let g = slot.value else { continue }
            g.deferred = nil
            guard i < replayed.count, case .value(let fresh) = replayed[i] else { continue }
            if fresh.serial == g.serial, let node = fresh.storedNode {
                g.storedNode = node
            } else {
                // NOTE: not expected (the pass is deterministic); the same numbers, joined by an identity.
                g.storedNode = Node(.reshape(g.shape), [fresh], line: deferred.line)
            }
        }
    }

    /// Records every pending deferred gradient (before a change that would make their passes record
    /// differently, or before a walk over the tape). Those it could not record stay pending.
    public func recordDeferredGradients() throws {
        guard !pendingDeferred.isEmpty else { return }
        let pending = pendingDeferred
        pendingDeferred = []
        for (i, reference) in pending.enumerated() {
            do { try reference.gradient?.materialize() } catch {
                pendingDeferred = Array(pending[i...].filter { $0.gradient != nil }) + pendingDeferred
                throw error
            }
        }
    }
}
