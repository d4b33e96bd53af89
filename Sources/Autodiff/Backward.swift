import TensorCore

/// Why a gradient is None.
public enum NoneReason: Equatable {
    /// The source is not watched (on this tape).
    case sourceNotWatched
    /// The target was computed while recording was stopped.
    case targetComputedWhileStopped
    /// The target is the output of `stop_gradient`, or computed from one.
    case targetFromStopGradient
    /// The target comes from an operation with no gradient.
    case targetNotDifferentiable(String)
    /// The target was computed before the source was watched.
    case targetComputedBeforeWatch
    /// The path from the target to the source was computed while this scoped tape was stopped (`with stop t`).
    case computedWhileTapeStopped
    /// Every path from the target to the source goes through `stop_gradient`.
    case cutByStopGradient
    /// The target does not depend on the source through recorded operations.
    case notConnected
}

/// A gradient: a value, or None with its reason.
public enum Gradient {
    case value(Value)
    case none(NoneReason)

    public var value: Value? { if case .value(let v) = self { return v } else { return nil } }
}

/// The reverse walk over the recorded graph between some targets and some sources, on one tape.
///
/// Built once, it can be run with several seeds (a jacobian runs it once per output element).
// NOTE: a class: `gradient` hands its plan on, and a struct of arrays was copied and destroyed field by field.
final class BackwardPlan {
    let tape: Tape
    let targets: [Value]
    let sources: [Value]
    /// Recorded values on a path from a source to a target, in topological order (inputs first), each with
    /// its cotangent slot and the end of its edges in `edges` (they start where the previous step's end);
    /// the backward pass runs it from the end. One flat array of 16-byte steps: planning allocates nothing
    /// per node, and W2's 80,000-value chain plans in a few MiB.
    private var steps: [Step] = []
    private var edges: [Edge] = []
    /// Slot of each source key (sources that are also intermediates share their slot).
    private var sourceSlots = SourceSlots()
    private var targetSlots = TargetSlots()
    private var slotCount = 0

    /// Whether a custom gradient is among the operations.
    private var hasCustomGradient = false
    /// Whether every value of the plan is a scalar (a long chain of scalar steps, as loops make).
    private var isScalarChain = true
    /// How many elements the values of the plan hold (what `isLarge` reads).
    private var elementCount = 0

    /// A value's mark outside a walk; `visited` once the walk has met it; a slot (0 or more) once it is
    /// known to lead to a source.
    static let unvisited: Int32 = -2
    static let visited: Int32 = -1
    /// While the plan is built, a value reached but not yet ordered has the count of its consumers still
    /// to be ordered as its mark, encoded below `unvisited`.
    // NOTE: counting in the mark, not in frames of a depth-first walk, keeps the walk's memory small: a
    // chain of 80,000 values was as deep as it is long (docs/DECISIONS.md, "W2's peak memory").
    @inline(__always) static func counted(_ consumers: Int32) -> Int32 { -3 - consumers }
    @inline(__always) static func consumers(_ mark: Int32) -> Int32 { -3 - mark }

    /// Whether some target reaches the source with this key (see `Value.gradientKey`).
    func reaches(_ key: ObjectIdentifier) -> Bool { sourceSlots.reaches(key) }

    /// A value of the walk, and once kept, its slot and the end of its edges.
    // NOTE: unmanaged: the targets (held above) keep every value of their graph alive while the plan lives,
    // and a long graph's walk would otherwise retain and release each value several times.
    struct Step {
        let value: Unmanaged<Value>
        var slot: Int32 = 0
        var edgeEnd: Int32 = 0
    }

    /// A value waiting on the walk's stack.
    typealias Frame = Unmanaged<Value>

    /// The cotangent slot of each target (-1: it leads to no source). A plan usually has one target: the
    /// first is kept inline.
    struct TargetSlots {
        private var first: Int32 = -1
        private var rest: [Int32] = []
        private(set) var count = 0
        mutating func append(_ slot: Int32) {
            if count == 0 { first = slot } else { rest.append(slot) }
            count += 1
        }
        subscript(i: Int) -> Int32 { i == 0 ? first : rest[i - 1] }
    }

    /// An input whose gradient is needed: its position among the node's inputs, and the slot its gradient goes to.
    struct Edge {
        var input: Int32
        var slot: Int32
    }

    /// Source keys, their slots, and whether some target reaches them. There are few sources, so a linear
    /// search beats hashing every value of a long graph.
    // NOTE: one array of entries, not a set of keys: a Set<ObjectIdentifier> costs a search of every
    // protocol conformance in the binary the first time the process makes one.
    struct SourceSlots {
        struct Entry {
            let key: ObjectIdentifier
            let slot: Int32
            var reached = false
        }
        private(set) var entries: [Entry] = []
        init() {}
        init(_ sources: [Value]) {
            entries.reserveCapacity(sources.count)
            for source in sources { add(source.gradientKey) }
        }
        /// How many slots the sources take (entry i has slot i).
        var count: Int { entries.count }
        subscript(key: ObjectIdentifier) -> Int? {
            for e in entries where e.key == key { return Int(e.slot) }
            return nil
        }
        private mutating func add(_ key: ObjectIdentifier) {
            if self[key] == nil { entries.append(Entry(key: key, slot: Int32(count))) }
        }
        mutating func markReached(_ slot: Int) { entries[slot].reached = true }
        mutating func forgetReached() { for i in entries.indices { entries[i].reached = false } }
        func reaches(_ key: ObjectIdentifier) -> Bool { self[key].map { entries[$0].reached } ?? false }
    }

    // NOTE: the walk marks values (`Value.planSlot`) instead of hashing them, and puts every mark back to
    // `unvisited` before the plan is used; marks are read only while the plan is built, so plans built later
    // (inside a custom gradient) cannot confuse this one. A gradient whose recording was deferred is recorded
    // between walks, never during one (its replay builds plans of its own): the walk notes it, and starts
    // again once it is recorded.
    init(targets: [Value], sources: [Value], tape: Tape) throws {
        self.tape = tape
        self.targets = targets
        self.sources = sources
        sourceSlots = SourceSlots(sources)
        while true {
            let deferred = build()
            if deferred.isEmpty { return }
            for d in deferred { try d.materialize() }
            steps = []; edges = []; targetSlots = TargetSlots(); hasCustomGradient = false; isScalarChain = true; elementCount = 0
            sourceSlots.forgetReached()
        }
    }

    /// One attempt at the plan; returns the deferred gradients it met (then the plan is incomplete).
    private func build() -> [DeferredGradient] {
        let bit = tape.bit
        let (unvisited, visited) = (Self.unvisited, Self.visited)
        slotCount = sourceSlots.count
        var deferred: [DeferredGradient] = []

        // 1. Walk the operations recorded on this tape from the targets, counting each value's consumers
        //    in its mark (`counted(_:)`). The walk's stack holds the values still to expand: a chain's stays
        //    a few values deep, and every value reached is counted in `reached`.
        // The stack is the context's, kept from one plan to the next (a plan built meanwhile takes another).
        let context = targets.first?.unmanagedContext
        var stack: [Frame] = []
        context?._withUnsafeGuaranteedRef { swap(&stack, &$0.planStack) }
        defer {
            stack.removeAll(keepingCapacity: true)
            if stack.capacity <= 1024 { context?._withUnsafeGuaranteedRef { $0.planStack = stack } }
        }
        var reached = 0
        // Inputs tracked on this tape: the most edges the plan can have.
        var trackedInputs = 0
        for t in targets where t.tapes & bit != 0 {
            if let s = sourceSlots[t.gradientKey] { sourceSlots.markReached(s) }
            if t.storedNode == nil, let d = t.deferred { deferred.append(d); continue }
            guard t.storedNode != nil, t.planSlot == unvisited else { continue }
            t.planSlot = Self.counted(0)
            reached += 1
            stack.append(.passUnretained(t))
            // NOTE: values stay unretained: the targets keep the whole graph alive.
            while let top = stack.popLast() {
                top._withUnsafeGuaranteedRef { v in
                    for i in 0..<v.recordedInputCount {
                        let unmanagedInput = v.recordedInput(i)
                        unmanagedInput._withUnsafeGuaranteedRef { input in
                            guard input.tapes & bit != 0 else { return }
                            trackedInputs += 1
                            if input.storedNode != nil {
                                if input.planSlot == unvisited {
                                    input.planSlot = Self.counted(1)
                                    reached += 1
                                    stack.append(unmanagedInput)
                                } else {
                                    input.planSlot = Self.counted(Self.consumers(input.planSlot) + 1)
                                }
                            } else if let d = input.deferred {
                                deferred.append(d)
                            } else if let s = sourceSlots[input.gradientKey] {
                                sourceSlots.markReached(s)
                            }
                        }
                    }
                }
            }
        }
        // 2. Order the values: a value goes after all its consumers (Kahn's algorithm, from the targets), and
        //    the list is then reversed, so that every value comes after its inputs. Its length is known, so
        //    it is sized once.
        var postOrder: [Step] = []
        postOrder.reserveCapacity(reached)
        for t in targets where t.tapes & bit != 0 && t.storedNode != nil && t.planSlot == Self.counted(0) {
            t.planSlot = visited
            stack.append(.passUnretained(t))
        }
        while let top = stack.popLast() {
            postOrder.append(Step(value: top))
            top._withUnsafeGuaranteedRef { v in
                for i in 0..<v.recordedInputCount {
                    let unmanagedInput = v.recordedInput(i)
                    unmanagedInput._withUnsafeGuaranteedRef { input in
                        guard input.tapes & bit != 0, input.storedNode != nil, input.planSlot <= Self.counted(1) else { return }
                        if input.planSlot == Self.counted(1) {
                            input.planSlot = visited
                            stack.append(unmanagedInput)
                        } else {
                            input.planSlot = Self.counted(Self.consumers(input.planSlot) - 1)
                        }
                    }
                }
            }
        }
        postOrder.reverse()
        if !deferred.isEmpty {
            for step in postOrder { step.value._withUnsafeGuaranteedRef { $0.planSlot = unvisited } }
            return deferred
        }
        // 2. Keep what leads to a source, inputs before outputs: `postOrder` is filtered in place.
        //    Only a source with a recorded node can be one of these values (a variable's values are leaves).
        let someSourceIsRecorded = sources.contains { $0.storedNode != nil }
        // Sized once: growing by doubling would copy it several times and leave it up to twice too big.
        edges.reserveCapacity(trackedInputs)
        var kept = 0
        for index in postOrder.indices {
            let unmanaged = postOrder[index].value
            unmanaged._withUnsafeGuaranteedRef { v in
                let ownSlot = someSourceIsRecorded ? sourceSlots[v.gradientKey] : nil
                if let slot = ownSlot { sourceSlots.markReached(slot) }
                let before = edges.count
                for i in 0..<v.recordedInputCount {
                    v.recordedInput(i)._withUnsafeGuaranteedRef { input in
                        guard input.tapes & bit != 0 else { return }
                        if input.planSlot >= 0 {
                            edges.append(Edge(input: Int32(i), slot: input.planSlot))
                        } else if let slot = sourceSlots[input.gradientKey] {
                            edges.append(Edge(input: Int32(i), slot: Int32(slot)))
                        }
                    }
                }
                // A value left out is unmarked at once: from here on only slots (0 or more) are read.
                guard edges.count > before else { v.planSlot = unvisited; return }
                if let slot = ownSlot {
                    v.planSlot = Int32(slot)
                } else {
                    v.planSlot = Int32(slotCount)
                    slotCount += 1
                }
                postOrder[kept] = Step(value: unmanaged, slot: v.planSlot, edgeEnd: Int32(edges.count))
                kept += 1
                if case .custom = v.storedNode.unsafelyUnwrapped.primitive { hasCustomGradient = true }
                let count = v.tensor.count
                if !v.tensor.isScalar { isScalarChain = false }
                elementCount += count
            }
        }
        postOrder.removeLast(postOrder.count - kept)
        steps = postOrder
        for t in targets {
            if let s = sourceSlots[t.gradientKey] {
                targetSlots.append(Int32(s))
            } else {
                targetSlots.append(t.planSlot >= 0 ? t.planSlot : -1)
            }
        }
        for step in steps { step.value._withUnsafeGuaranteedRef { $0.planSlot = unvisited } }
        return []
    }

    /// Whether recording this plan's backward pass would keep much: many operations, or large tensors
    /// (the pass records about one tensor per operation, shaped like its output).
    var isLarge: Bool { steps.count >= Self.largeOperations || elementCount >= Self.largeElements }

    /// What makes a pass large (settable for tests).
    nonisolated(unsafe) static var largeOperations = 256
    nonisolated(unsafe) static var largeElements = 32_768

    /// Runs the backward pass from `seeds` (one per target; nil means ones) and returns one cotangent per
    /// source key, nil for a symbolic zero.
    ///
    /// A deferred pass over scalars, watched by no observer, carries transients (see `Transient`), and runs
    /// again on values if it meets what a transient cannot carry. One with a custom gradient among its
    /// operations runs on values at once: running the user's code twice could show.
    func run(seeds: [Value?], observer: BackwardObserver? = nil) throws -> SourceCotangents {
        if observer == nil, !hasCustomGradient, isScalarChain, let ctx = targets.first?.context, ctx.usesTransientPasses,
           !ctx.storesNodes, ctx.recordingMask == ctx.implicitTape.bit {
            let start = ctx.lastSerial
            do {
                let results = try pass(seeds: seeds, observer: nil, carrying: Transient.self)
                ctx.transientPasses += 1
                return results
            } catch is Transient.Unrepresentable {
                ctx.lastSerial = start
            }
        }
        return try pass(seeds: seeds, observer: observer, carrying: Value.self)
    }

    private func pass<C: Cotangent>(seeds: [Value?], observer: BackwardObserver?, carrying: C.Type) throws -> SourceCotangents {
        let start = targets.first?.context.lastSerial ?? 0
        let cotangents = CotangentStore<C>(slots: slotCount)
        // Slots that a `where` handed a gradient to (for the NaN diagnosis; rare, so a list).
        var fromSelect: [Int32] = []
        func accumulate(_ g: C, into slot: Int, _ value: Value) throws {
            if let existing = cotangents.take(slot) {
                cotangents.put(try existing + g, into: slot)
                observer?.accumulated(into: value)
            } else {
                cotangents.put(g, into: slot)
            }
        }
        for (i, (target, seed)) in zip(targets, seeds).enumerated() where targetSlots[i] >= 0 {
            let ctx = target.context
            let s = try seed ?? ctx.constant(Tensor(shape: target.shape, repeating: 1))
            try accumulate(try C.wrapping(s.shape == target.shape ? s : s.broadcast(to: target.shape)), into: Int(targetSlots[i]), target)
        }
        let sourceSlotCount = sourceSlots.count
        // NOTE: values are borrowed from `steps` (the targets keep them alive) and gradients are moved, not
        // copied: a long chain's pass is otherwise mostly retains and releases.
        for k in steps.indices.reversed() {
            let slot = Int(steps[k].slot)
            // A value's cotangent is complete when its turn comes (reverse topological order): it is taken
            // out unless it is a source's, so an unrecorded pass frees as it goes.
            let taken = slot >= sourceSlotCount ? cotangents.take(slot) : cotangents[slot]
            guard let dy = taken else { continue }
            let edgeRange = (k == 0 ? 0 : Int(steps[k - 1].edgeEnd))..<Int(steps[k].edgeEnd)
            try steps[k].value._withUnsafeGuaranteedRef { v in
                if k & 255 == 0 { try v.context.checkInterrupt() }
                // NOTE: the node is not copied (a copy retains and releases its inputs at every step of a
                // long chain): its primitive is read, and its inputs unretained, through the value.
                let primitive = v.storedNode.unsafelyUnwrapped.primitive
                var needs = InputMask()
                for e in edgeRange { needs.insert(Int(edges[e].input)) }
                let isSelect: Bool
                if case .select = primitive { isSelect = true } else { isSelect = false }
                /// Hands the gradient of input `position` on to its slot.
                func deliver(_ position: Int, _ gradient: C?, _ unmanagedInput: Unmanaged<Value>? = nil) throws {
                    guard var g = gradient, let e = edgeRange.first(where: { edges[$0].input == position }) else { return }
                    let target = Int(edges[e].slot)
                    try (unmanagedInput ?? v.recordedInput(position))._withUnsafeGuaranteedRef { input in
                        if !g.tensor.hasSameShape(as: input.tensor) { g = try g.sumToShape(input.shape) }
                        if v.context.detectsAnomalies && g.hasNonFinite {
                            if C.self is Transient.Type { throw Transient.Unrepresentable() }
                            noteBackwardNonFinite(try g.value(), node: v.storedNode.unsafelyUnwrapped, output: v, dy: try dy.value(), fromSelect: fromSelect.contains(Int32(slot)))
                        }
                        if isSelect && !fromSelect.contains(Int32(target)) { fromSelect.append(Int32(target)) }
                        try accumulate(g, into: target, input)
                    }
                }
                // NOTE: the elementwise rules (almost every step of a long chain) hand their gradients on directly.
                switch primitive {
                case .unary(let f):
                    let x = v.recordedInput(0)
                    let g = try Primitive.unaryPullback(f, C.ofGraph(x), C.ofGraph(.passUnretained(v)), dy)
                    if let observer { observer.pulledBack(v, cotangent: try dy.value(), gradients: [try g?.value()]) }
                    try deliver(0, g, x)
                case .binary(let f):
                    let a = v.recordedInput(0), b = v.recordedInput(1)
                    let (da, db) = try Primitive.binaryPullback(f, C.ofGraph(a), C.ofGraph(b), C.ofGraph(.passUnretained(v)), dy, needs: needs)
                    if let observer { observer.pulledBack(v, cotangent: try dy.value(), gradients: [try da?.value(), try db?.value()]) }
                    try deliver(0, da, a)
                    try deliver(1, db, b)
                default:
                    var grads = try C.pullback(v.storedNode.unsafelyUnwrapped, output: v, cotangent: dy, needs: needs)
                    if let observer { observer.pulledBack(v, cotangent: try dy.value(), gradients: try grads.array.map { try $0?.value() }) }
                    for position in 0..<grads.count { try deliver(position, grads.take(position)) }
                }
            }
        }
        var values: [Value?] = []
        values.reserveCapacity(sourceSlotCount)
        for slot in 0..<sourceSlotCount { values.append(try cotangents[slot].map { try $0.result(among: values, after: start) }) }
        return SourceCotangents(slots: sourceSlots, values: values)
    }

    /// One cotangent per source key, nil for a symbolic zero.
    // NOTE: looked up by key among the few sources; a [ObjectIdentifier: Value] costs a search of every
    // protocol conformance in the binary the first time a process makes one.
    struct SourceCotangents {
        let slots: SourceSlots
        let values: [Value?]
        subscript(key: ObjectIdentifier) -> Value? { slots[key].flatMap { values[$0] } }
    }

    /// The signature of the `where` trap: NaN exactly where the incoming gradient was 0 (0 × inf).
    static func nanWhereCotangentIsZero(_ g: Tensor, _ dy: Tensor) -> Bool {
        guard let spread = try? dy.broadcast(to: g.shape) else { return false }
        var found = false
        for (v, d) in zip(g.scalars, spread.scalars) where v.isNaN {
            if d != 0 { return false }
            found = true
        }
        return found
    }

    /// Called for a gradient `g` that holds a NaN or Inf (the caller has checked).
    private func noteBackwardNonFinite(_ g: Value, node: Node, output: Value, dy: Value, fromSelect: Bool) {
        guard g.nonFiniteOrigin == nil || g.nonFiniteOrigin?.pass == .forward else { return }
        if dy.tensor.hasNonFinite || node.inputs.contains(where: { $0.tensor.hasNonFinite }) { return }
        var why = node.primitive.nonFiniteExplanation(node.inputs.map(\.tensor), pass: .backward)
        if fromSelect && Self.nanWhereCotangentIsZero(g.tensor, dy.tensor) {
            let base = why.map { $0 + ": " } ?? ""
            why = base + "where selected the other branch, but this branch's gradient was NaN (0 × inf); "
                + "make the unselected branch safe, e.g. where(x > 0, log(where(x > 0, x, 1)), x)"
        }
        g.nonFiniteOrigin = NonFiniteOrigin(operation: node.primitive.name, pass: .backward, line: node.line, explanation: why)
    }
}

/// A pass's cotangents by slot. A slot holds a position in a small pool: a long graph's pass (W2: 80,000
/// slots) keeps 4 bytes a slot, and only the few cotangents alive at once in full.
// NOTE: buffers kept by hand, not arrays: each step of a pass takes and puts a few cotangents, and each
// write to an array checked that the array was not shared (measurements: docs/DECISIONS.md, "Measurements behind the code").
final class CotangentStore<C> {
    /// One block holds the positions (one per slot, -1 for none), the free positions in the pool, and the
    /// pool, whose first `poolCount` entries are initialized: a pass allocates it and the store, nothing more
    /// until more than `capacity` cotangents are alive at once.
    private var positions: UnsafeMutablePointer<Int32>
    private var free: UnsafeMutablePointer<Int32>
    private var pool: UnsafeMutablePointer<C?>
    private let slots: Int
    private var poolCount = 0, freeCount = 0, capacity = 16

    init(slots: Int) {
        self.slots = slots
        (positions, free, pool) = Self.block(slots: slots, capacity: capacity)
        positions.initialize(repeating: -1, count: slots)
    }

    deinit {
        pool.deinitialize(count: poolCount)
        UnsafeMutableRawPointer(positions).deallocate()
    }

    /// A block for `slots` positions, `capacity` free positions and a pool of `capacity` cotangents.
    private static func block(slots: Int, capacity: Int)
        -> (positions: UnsafeMutablePointer<Int32>, free: UnsafeMutablePointer<Int32>, pool: UnsafeMutablePointer<C?>) {
        let alignment = max(MemoryLayout<C?>.alignment, MemoryLayout<Int32>.alignment)
        let poolOffset = ((slots + capacity) * MemoryLayout<Int32>.stride + alignment - 1) / alignment * alignment
        let raw = UnsafeMutableRawPointer.allocate(byteCount: poolOffset + capacity * MemoryLayout<C?>.stride, alignment: alignment)
        let positions = raw.bindMemory(to: Int32.self, capacity: slots + capacity)
        return (positions, positions + slots, (raw + poolOffset).bindMemory(to: C?.self, capacity: capacity))
    }

    subscript(slot: Int) -> C? {
        let p = positions[slot]
        return p < 0 ? nil : pool[Int(p)]
    }

    /// Moves the cotangent of `slot` out; the slot is empty afterwards.
    func take(_ slot: Int) -> C? {
        let p = positions[slot]
        guard p >= 0 else { return nil }
        positions[slot] = -1
        free[freeCount] = p
        freeCount += 1
        return pool[Int(p)].take()
    }

    /// Fills an empty slot.
    func put(_ c: C, into slot: Int) {
        if freeCount > 0 {
            freeCount -= 1
            let p = free[freeCount]
            pool[Int(p)] = c
            positions[slot] = p
            return
        }
        if poolCount == capacity { grow() }
        (pool + poolCount).initialize(to: c)
        positions[slot] = Int32(poolCount)
        poolCount += 1
    }

    private func grow() {
        capacity *= 2
        let new = Self.block(slots: slots, capacity: capacity)
        new.positions.initialize(from: positions, count: slots)
        new.free.initialize(from: free, count: freeCount)
        new.pool.moveInitialize(from: pool, count: poolCount)
        UnsafeMutableRawPointer(positions).deallocate()
        (positions, free, pool) = new
    }
}

/// Which inputs of a node need a gradient (inputs past the 64th always do).
struct InputMask {
    private var bits: UInt64 = 0
    mutating func insert(_ i: Int) { if i < 64 { bits |= 1 << UInt64(i) } }
    subscript(i: Int) -> Bool { i >= 64 || bits & (1 << UInt64(i)) != 0 }
}

/// Sees each step of a backward pass (for `explain`).
public protocol BackwardObserver: AnyObject {
    func pulledBack(_ output: Value, cotangent: Value, gradients: [Value?])
    func accumulated(into value: Value)
}

extension GradientContext {
    /// The gradient of the sum of `target` (or of `seed`·target) with respect to each source, read from `tape`.
    ///
    /// When the implicit tape alone records (no scoped tape open, none stopped) and the pass is large, it
    /// is recorded only when a result's node is first needed (see `DeferredGradient`): a gradient that is
    /// read and never differentiated costs no recorded graph. A small pass is recorded at once, since
    /// recording it later would mean running it twice.
    public func gradient(of target: Value, wrt sources: [Value], seed: Value? = nil, tape: Tape? = nil,
                         unconnectedZero: Bool = false, observer: BackwardObserver? = nil) throws -> [Gradient] {
        let tape = tape ?? implicitTape
        try use(tape)
        if let seed, (try? Shape.broadcast(seed.shape, target.shape)) != target.shape {
            throw GradientError("the seed has shape \(Shape.describe(seed.shape)) but the target has shape \(Shape.describe(target.shape))")
        }
        let plan = try BackwardPlan(targets: [target], sources: sources, tape: tape)
        guard defersRecording, storesNodes, observer == nil, tape === implicitTape, recordingMask == implicitTape.bit,
              plan.isLarge else {
            return try computeGradients(plan, of: target, wrt: sources, seed: seed, tape: tape, unconnectedZero: unconnectedZero, observer: observer)
        }
        let start = lastSerial, line = currentLine
        storesNodes = false
        defer { storesNodes = true }
        let results = try computeGradients(plan, of: target, wrt: sources, seed: seed, tape: tape, unconnectedZero: unconnectedZero, observer: nil)
        // Results made by this pass and tracked would have had a node; values that existed before (a pullback
        // can pass one through) keep their own.
        var slots: [DeferredGradient.WeakValue] = []
        var deferredAny = false
        for result in results {
            if case .value(let g) = result, g.serial > start, g.tapes != 0, g.storedNode == nil {
                slots.append(.init(value: g))
                deferredAny = true
            } else {
                slots.append(.init(value: nil))
            }
        }
        guard deferredAny else { return results }
        let deferred = DeferredGradient(context: self, target: target, sources: sources, seed: seed, unconnectedZero: unconnectedZero,
                                        line: line, firstSerial: start, results: slots)
        for slot in slots { slot.value?.deferred = deferred }
        pendingDeferred.removeAll { $0.gradient == nil }
        pendingDeferred.append(.init(gradient: deferred))
        return results
    }

    /// The backward pass itself, recording as the context's state says.
    func computeGradients(_ plan: BackwardPlan? = nil, of target: Value, wrt sources: [Value], seed: Value?, tape: Tape,
                          unconnectedZero: Bool, observer: BackwardObserver?) throws -> [Gradient] {
        let plan = try plan ?? BackwardPlan(targets: [target], sources: sources, tape: tape)
        let cotangents = try plan.run(seeds: [seed], observer: observer)
        return try sources.map { source in
            let key = source.gradientKey
            if let g = cotangents[key] { return .value(g) }
            if plan.reaches(key) || unconnectedZero {
                return .value(constant(try Tensor.zeros(source.shape)))
            }
            return .none(noneReason(target: target, source: source, tape: tape))
        }
    }

    /// Marks a single-use tape as used, or refuses a second use.
    func use(_ tape: Tape) throws {
        if !tape.persistent {
            if tape.used {
                throw GradientError("tape \(tape.name) is not persistent and has already given its gradient; "
                    + "open it with `with tape \(tape.name) persistent < ... >` to ask it more than once")
            }
            tape.used = true
        }
    }

    /// Tells why `target` does not reach `source` on `tape`.
    func noneReason(target: Value, source: Value, tape: Tape) -> NoneReason {
        let bit = tape.bit
        if source.tapes & bit == 0 && !(source.isVariable && tape.watchesVariables) { return .sourceNotWatched }
        if target.tapes & bit == 0 {
            switch target.untrackedReason {
            case .recordingStopped?: return .targetComputedWhileStopped
            case .stopGradient?:
                return reaches(target.cutFrom, source) ? .cutByStopGradient : .targetFromStopGradient
            case .notDifferentiable(let op)?: return .targetNotDifferentiable(op)
            default:
                if let watched = source.watchedAt, target.serial < watched { return .targetComputedBeforeWatch }
                if stoppedOnPath(target, source, bit) { return .computedWhileTapeStopped }
                return .notConnected
            }
        }
        if stoppedOnPath(target, source, bit) { return .computedWhileTapeStopped }
        return reaches(target, source) ? .cutByStopGradient : .notConnected
    }

    /// Whether a recorded path from `start` to `source` has a value computed while the tape `bit` was stopped.
    private func stoppedOnPath(_ start: Value, _ source: Value, _ bit: TapeMask) -> Bool {
        var pending = [start]
        var seen = Set<ObjectIdentifier>()
        while let v = pending.popLast() {
            guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
            if v.stoppedTapes & bit != 0 && reaches(v, source) { return true }
            if let n = v.node { pending.append(contentsOf: n.inputs) }
        }
        return false
    }

    /// Whether `source` is reachable from `start` following recorded inputs and stop_gradient cuts.
    private func reaches(_ start: Value?, _ source: Value) -> Bool {
        guard let start else { return false }
        var pending = [start]
        var seen = Set<ObjectIdentifier>()
        while let v = pending.popLast() {
            if v.gradientKey == source.gradientKey { return true }
            guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
            if let n = v.node { pending.append(contentsOf: n.inputs) }
            if let c = v.cutFrom { pending.append(c) }
        }
        return false
    }

    // MARK: Jacobians

    /// `Y.shape + X.shape`: one backward pass per element of Y.
    public func jacobian(of target: Value, wrt source: Value, tape: Tape? = nil, unconnectedZero: Bool = false) throws -> Gradient {
        let tape = tape ?? implicitTape
        try use(tape)
        let plan = try BackwardPlan(targets: [target], sources: [source], tape: tape)
        let key = source.gradientKey
        let n = target.tensor.count
        if !plan.reaches(key) && !unconnectedZero {
            return .none(noneReason(target: target, source: source, tape: tape))
        }
        var rows: [Value] = []
        rows.reserveCapacity(n)
        var basis = try Tensor.zeros(target.shape)
        for i in 0..<n {
            try checkInterrupt()
            basis = try Tensor.zeros(target.shape)
            var scalars = basis.scalars
            scalars[i] = 1
            let seed = constant(Tensor(shape: target.shape, scalars: scalars))
            let row = try plan.run(seeds: [seed])[key] ?? constant(try Tensor.zeros(source.shape))
            rows.append(try row.reshaped([1] + source.shape))
        }
        let shape = target.shape + source.shape
        if rows.isEmpty { return .value(constant(try Tensor.zeros(shape))) }
        return .value(try Value.concat(rows, axis: 0).reshaped(shape))
    }

    /// Per-example jacobians: `[b] + Y.shape[1:] + X.shape[1:]`, assuming example i of Y depends only on example i of X.
    public func batchJacobian(of target: Value, wrt source: Value, tape: Tape? = nil, unconnectedZero: Bool = false) throws -> Gradient {
        let tape = tape ?? implicitTape
        guard target.shape.count >= 1, source.shape.count >= 1 else {
            throw GradientError("batch_jacobian needs a batch axis: the target has shape \(Shape.describe(target.shape)) and the source \(Shape.describe(source.shape))")
        }
        guard target.shape[0] == source.shape[0] else {
            throw GradientError("batch_jacobian: the first dimensions of the target (\(target.shape[0])) and the source (\(source.shape[0])) must match")
        }
        try use(tape)
        let plan = try BackwardPlan(targets: [target], sources: [source], tape: tape)
        let key = source.gradientKey
        if !plan.reaches(key) && !unconnectedZero {
            return .none(noneReason(target: target, source: source, tape: tape))
        }
        let batch = target.shape[0]
        let perExample = target.tensor.count / Swift.max(batch, 1)
        var columns: [Value] = []
        for j in 0..<perExample {
            try checkInterrupt()
            var scalars = [Double](repeating: 0, count: target.tensor.count)
            for b in 0..<batch { scalars[b * perExample + j] = 1 }
            let seed = constant(Tensor(shape: target.shape, scalars: scalars))
            let g = try plan.run(seeds: [seed])[key] ?? constant(try Tensor.zeros(source.shape))
            columns.append(try g.expandDims(axis: 1))
        }
        let shape = [batch] + Array(target.shape.dropFirst()) + Array(source.shape.dropFirst())
        if columns.isEmpty { return .value(constant(try Tensor.zeros(shape))) }
        return .value(try Value.concat(columns, axis: 1).reshaped(shape))
    }

    /// The matrix of second derivatives of a scalar: `X.shape + X.shape`.
    public func hessian(of target: Value, wrt source: Value, tape: Tape? = nil) throws -> Gradient {
        guard target.tensor.count == 1 else {
            throw GradientError("hessian needs a scalar target, got shape \(Shape.describe(target.shape)); use jacobian of a gradient")
        }
        let tape = tape ?? implicitTape
        try use(tape)
        // The first gradient is recorded on the tape even if it has stopped, so it can be differentiated again.
        let first = try withRecording(tape.bit) { try gradientUnchecked(of: target, wrt: source, tape: tape) }
        guard let g = first.value else { return first }
        let plan = try BackwardPlan(targets: [g], sources: [source], tape: tape)
        let n = source.tensor.count
        var rows: [Value] = []
        for i in 0..<n {
            try checkInterrupt()
            var scalars = [Double](repeating: 0, count: n)
            scalars[i] = 1
            let row = try plan.run(seeds: [constant(Tensor(shape: source.shape, scalars: scalars))])[source.gradientKey]
                ?? constant(try Tensor.zeros(source.shape))
            rows.append(try row.reshaped([1] + source.shape))
        }
        let shape = source.shape + source.shape
        if rows.isEmpty { return .value(constant(try Tensor.zeros(shape))) }
        return .value(try Value.concat(rows, axis: 0).reshaped(shape))
    }

    private func gradientUnchecked(of target: Value, wrt source: Value, seed: Value? = nil, tape: Tape) throws -> Gradient {
        try computeGradients(of: target, wrt: [source], seed: seed, tape: tape, unconnectedZero: false, observer: nil)[0]
    }

    /// The directional derivative J·v (forward mode, as TensorFlow's ForwardAccumulator gives it),
    /// computed as the gradient, with respect to a seed u, of the vector-Jacobian product uᵀJ·v.
    public func jvp(of target: Value, wrt source: Value, along tangent: Value, tape: Tape? = nil) throws -> Gradient {
        guard tangent.shape == source.shape else {
            throw GradientError("jvp: the tangent has shape \(Shape.describe(tangent.shape)) but the source has shape \(Shape.describe(source.shape))")
        }
        let tape = tape ?? implicitTape
        let u = constant(try Tensor.zeros(target.shape))
        try watch(u, on: tape.bit)
        return try withRecording(tape.bit) {
            let vjp = try gradientUnchecked(of: target, wrt: source, seed: u, tape: tape)
            guard let g = vjp.value else { return vjp }
            let inner = try (g * tangent).sum()
            let result = try gradientUnchecked(of: inner, wrt: u, tape: tape)
            if result.value == nil { return .value(constant(try Tensor.zeros(target.shape))) }
            return result
        }
    }
}
