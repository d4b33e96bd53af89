import TensorCore

/// A recorded operation: the primitive and the values it read. Stored in the value it produced
/// (a struct, so recording allocates one object fewer).
public struct Node {
    // NOTE: declared in this order, the node packs into 32 bytes (see `Value`).
    public let inputs: NodeInputs
    public let primitive: Primitive
    private let storedLine: Int32
    /// The statement line that recorded it, for `tape`, `explain` and NaN origins.
    public var line: Int { Int(storedLine) }

    init(_ primitive: Primitive, _ inputs: consuming NodeInputs, line: Int) {
        self.primitive = primitive
        self.inputs = inputs
        self.storedLine = Int32(clamping: line)
    }

    init(_ primitive: Primitive, _ inputs: [Value], line: Int) {
        self.init(primitive, NodeInputs(inputs), line: line)
    }
}

/// The values a node read: one or two kept inline (almost every operation), more in an array. A recorded
/// value then needs no array of its own.
public struct NodeInputs: RandomAccessCollection {
    enum Storage {
        case one(Value)
        case two(Value, Value)
        case many([Value])
    }
    let storage: Storage

    init(_ a: Value) { storage = .one(a) }
    init(_ a: Value, _ b: Value) { storage = .two(a, b) }
    init(_ values: [Value]) {
        switch values.count {
        case 1: storage = .one(values[0])
        case 2: storage = .two(values[0], values[1])
        default: storage = .many(values)
        }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        switch storage {
        case .one: return 1
        case .two: return 2
        case .many(let values): return values.count
        }
    }
    /// Calls `body` with each input in order (without the collection's iterator, which retains each one).
    @inline(__always) func forEach(_ body: (Value) -> Void) {
        switch storage {
        case .one(let a): body(a)
        case .two(let a, let b): body(a); body(b)
        case .many(let values): for v in values { body(v) }
        }
    }

    /// Input `i`, unretained.
    func unmanaged(_ i: Int) -> Unmanaged<Value> {
        switch storage {
        case .one(let a): return .passUnretained(a)
        case .two(let a, let b): if i == 0 { return .passUnretained(a) } else { return .passUnretained(b) }
        case .many(let values): return .passUnretained(values[i])
        }
    }

    public subscript(position: Int) -> Value {
        switch storage {
        case .one(let a): return a
        case .two(let a, let b): return position == 0 ? a : b
        case .many(let values): return values[position]
        }
    }
}

extension Value {
    /// Lets go of what a dying value holds (its node's inputs, its cut), and of what those held in turn when
    /// only it held them, in a loop: released recursively, a long chain (a 20,000-step loop) would overflow
    /// the stack. An input is checked for being the last reference while only this loop holds it.
    // NOTE: two values wait without an array (a chain's usual case, and a binary operation whose inputs both
    // die); `pending` holds the others, and is allocated only when three wait at once.
    func releaseRecordedInputs() {
        var next: Value?, spare: Value?
        var pending: [Value] = []
        func hold(_ v: Value) {
            if next == nil { next = v } else if spare == nil { spare = v } else { pending.append(v) }
        }
        detachInputs(hold)
        while var v = next.take() ?? spare.take() ?? pending.popLast() {
            guard isKnownUniquelyReferenced(&v) else { continue }
            v.detachInputs(hold)
        }
    }

    /// Moves the node's inputs and the cut out of this value, handing each to `hold`.
    @inline(__always)
    private func detachInputs(_ hold: (Value) -> Void) {
        if let node = storedNode.take() { node.inputs.forEach(hold) }
        if hasRareFacts, let c = cutFrom { cutFrom = nil; hold(c) }
    }
}

/// A gradient tape: the implicit one (slot 0) or one opened by `with tape t`.
public final class Tape {
    public let name: String
    public let slot: Int
    public let persistent: Bool
    /// Whether variables used while it records are watched automatically (TensorFlow's `watch_accessed_variables`).
    public let watchesVariables: Bool
    /// A single-use tape that has answered once.
    public internal(set) var used = false
    public var bit: TapeMask { 1 << TapeMask(slot) }

    init(name: String, slot: Int, persistent: Bool, watchesVariables: Bool) {
        self.name = name
        self.slot = slot
        self.persistent = persistent
        self.watchesVariables = watchesVariables
    }
}

/// Errors of the gradient machinery, as values with user-facing text.
public struct GradientError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Owns the tapes and the recording state of one session: which tapes are open, which are recording.
public final class GradientContext {
    /// The last serial number given; a deferred gradient replays its pass over the same numbers.
    var lastSerial = 0
    /// Slot → tape; slot 0 is the implicit, persistent tape.
    public private(set) var tapes: [Tape?]
    /// Tapes open (inside their `with tape` block, or the implicit tape).
    public private(set) var openMask: TapeMask = 1
    /// Tapes whose recording is stopped (`with stop`).
    public private(set) var stoppedMask: TapeMask = 0
    /// The statement line operations are attributed to.
    public var currentLine = 0
    /// Whether NaN/Inf origins are tracked.
    public var detectsAnomalies = true
    /// Polled between long operations; returning true stops them with `GradientError("interrupted")`.
    public var interruptCheck: (() -> Bool)?
    /// Whether recorded operations keep their node. False while a deferred gradient's backward pass runs
    /// for its numbers and its tracking only (see `DeferredGradient`).
    var storesNodes = true
    /// Whether `gradient` may defer recording its backward pass (tests compare with and without).
    var defersRecording = true
    /// Whether a deferred backward pass over scalars may carry transients (tests compare with and without).
    var usesTransientPasses = true
    /// How many backward passes ran to the end on transients (tests check that they did).
    var transientPasses = 0
    /// Deferred gradients not yet recorded, to record before anything changes what their pass would record.
    var pendingDeferred: [DeferredGradient.WeakReference] = []
    /// The backward plans' walk stack, kept from one plan to the next (see `BackwardPlan.build`).
    var planStack: [BackwardPlan.Frame] = []

    public init() {
        tapes = [Tape(name: "implicit", slot: 0, persistent: true, watchesVariables: true)]
    }

    func nextSerial() -> Int {
        lastSerial += 1
        return lastSerial
    }

    public var implicitTape: Tape { tapes[0]! }

    /// Tapes that record now.
    public var recordingMask: TapeMask { openMask & ~stoppedMask }

    /// Tapes that watch variables automatically (all but `nowatch` ones).
    private var variableWatchers: TapeMask = 1

    /// Open, recording tapes that watch variables automatically.
    var autoWatchMask: TapeMask { variableWatchers & recordingMask }

    // MARK: Values

    /// An untracked constant.
    public func constant(_ tensor: Tensor) -> Value { Value(tensor, context: self) }
    public func constant(_ scalar: Double) -> Value { Value(Tensor(scalar), context: self) }

    /// Shared untracked scalars (see `literal`): a direct-mapped cache, so a loop's lookup is one
    /// multiplication and one comparison, not a hash.
    // NOTE: a struct, not a labelled tuple: the runtime builds a tuple's type metadata on first use by
    // demangling its name, which cost every session (and every run of a file) about 20 µs.
    private var literals = [LiteralSlot](repeating: LiteralSlot(), count: 256)
    private struct LiteralSlot {
        var bits: UInt64 = 0
        var value: Value?
    }

    /// An untracked scalar that may be shared: the same value object each time for the same number (while
    /// no other number takes its place in the cache). The caller must never bind it to a name (it could be
    /// watched).
    public func literal(_ scalar: Double) -> Value {
        let bits = scalar.bitPattern
        let slot = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> 56)
        if let cached = literals[slot].value, literals[slot].bits == bits { return cached }
        let v = constant(scalar)
        literals[slot] = LiteralSlot(bits: bits, value: v)
        return v
    }

    /// A new variable, or a variable's value after an update: tracked on the implicit tape.
    public func variable(_ tensor: Tensor, identity: VariableIdentity) -> Value {
        let v = Value(tensor, context: self, variable: identity)
        v.tapes = 1 | autoWatchMask
        return v
    }

    /// Marks `value` as watched on `tapes` (default: every open tape).
    public func watch(_ value: Value, on tapes: TapeMask? = nil) throws {
        // A deferred gradient records what its pass recorded when it ran: before this watch.
        try recordDeferredGradients()
        value.tapes |= tapes ?? openMask
        if value.watchedAt == nil { value.watchedAt = nextSerial() }
    }

    /// The value of `value`, untracked (`stop_gradient`).
    public func stopGradient(_ value: Value) -> Value {
        let out = Value(value.tensor, context: self)
        out.untrackedReason = .stopGradient
        out.cutFrom = value.isTracked ? value : value.cutFrom
        out.nonFiniteOrigin = value.nonFiniteOrigin
        return out
    }

    /// Forgets every recorded operation reachable from `values`: they become untracked; variables stay variables.
    public func reset(_ values: [Value]) {
        var pending = values
        var seen = Set<ObjectIdentifier>()
        while let v = pending.popLast() {
            guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
            if let n = v.storedNode { pending.append(contentsOf: n.inputs) }
            if let c = v.cutFrom { pending.append(c) }
            if let d = v.deferred { pending.append(contentsOf: d.values); v.deferred = nil }
            v.storedNode = nil
            v.cutFrom = nil
            v.tapes = v.isVariable ? 1 : 0
            v.watchedAt = nil
            if !v.isVariable { v.untrackedReason = .noTrackedInputs }
        }
        // A scoped tape whose block is open stays, empty, and goes on recording.
        for slot in 1..<tapes.count where openMask & (1 << TapeMask(slot)) == 0 { tapes[slot] = nil }
        variableWatchers &= openMask
        stoppedMask &= openMask
    }

    // MARK: Tapes

    /// Opens a scoped tape (`with tape t`). At most 15 scoped tapes are alive at once (see `Value.tapeSlots`).
    public func openTape(name: String, persistent: Bool, watchesVariables: Bool) throws -> Tape {
        let slot = tapes.indices.dropFirst().first(where: { tapes[$0] == nil }) ?? tapes.count
        guard slot < Value.tapeSlots else {
            throw GradientError("too many tapes are alive at once (\(Value.tapeSlots - 1)); rebind or `tape reset`")
        }
        let tape = Tape(name: name, slot: slot, persistent: persistent, watchesVariables: watchesVariables)
        if slot == tapes.count { tapes.append(tape) } else { tapes[slot] = tape }
        openMask |= tape.bit
        if watchesVariables { variableWatchers |= tape.bit } else { variableWatchers &= ~tape.bit }
        return tape
    }

    /// Whether a scoped tape's block is open.
    public func isOpen(_ tape: Tape) -> Bool { openMask & tape.bit != 0 }

    /// Empties a scoped tape (TensorFlow's `GradientTape.reset()`): it forgets what it recorded and what was
    /// watched on it, may answer again, and goes on recording if its block is open.
    public func resetTape(_ tape: Tape, clearingFrom values: [Value]) {
        clearBit(of: tape, from: values)
        tape.used = false
    }

    /// Takes `tape`'s bit off `values` and everything they were recorded from (deferred passes included).
    private func clearBit(of tape: Tape, from values: [Value]) {
        var pending = values
        var seen = Set<ObjectIdentifier>()
        while let v = pending.popLast() {
            guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
            v.tapes &= ~tape.bit
            if let n = v.storedNode { pending.append(contentsOf: n.inputs) }
            if let d = v.deferred { pending.append(contentsOf: d.values) }
        }
    }

    /// Closes a scoped tape's block; it can still answer `grad ... using t` afterwards.
    public func closeTape(_ tape: Tape) {
        openMask &= ~tape.bit
    }

    /// Frees a tape's slot once nothing refers to it; values keep no stale bit because
    /// `forgetTape` clears it from the values given.
    public func forgetTape(_ tape: Tape, clearingFrom values: [Value]) {
        guard tape.slot != 0, tapes[tape.slot] === tape else { return }
        clearBit(of: tape, from: values)
        openMask &= ~tape.bit
        stoppedMask &= ~tape.bit
        variableWatchers &= ~tape.bit
        tapes[tape.slot] = nil
    }

    /// Runs `body` with recording stopped on `mask` (all tapes by default).
    public func withRecordingStopped<T>(_ mask: TapeMask = ~0, _ body: () throws -> T) rethrows -> T {
        let saved = stoppedMask
        stoppedMask |= mask
        defer { stoppedMask = saved }
        return try body()
    }

    /// Runs `body` with the tapes in `mask` recording, even if stopped or closed.
    func withRecording<T>(_ mask: TapeMask, _ body: () throws -> T) rethrows -> T {
        let savedOpen = openMask, savedStopped = stoppedMask
        openMask |= mask
        stoppedMask &= ~mask
        defer { openMask = savedOpen; stoppedMask = savedStopped }
        return try body()
    }

    /// Runs `body` with exactly the tapes in `mask` recording: the others closed for its duration.
    func withRecordingOnly<T>(_ mask: TapeMask, _ body: () throws -> T) rethrows -> T {
        let savedOpen = openMask, savedStopped = stoppedMask
        openMask = mask
        stoppedMask = 0
        defer { openMask = savedOpen; stoppedMask = savedStopped }
        return try body()
    }

    // MARK: Recording

    /// Runs a primitive on values: computes its output and records it on every recording tape that
    /// tracks one of the inputs.
    // NOTE: inlined, so that a caller's `[x]` or `[a, b]` becomes the one- or two-input call and no array is made.
    @inline(__always)
    public func apply(_ primitive: Primitive, _ inputs: [Value]) throws -> Value {
        switch inputs.count {
        case 1: return try apply(primitive, inputs[0])
        case 2: return try apply(primitive, inputs[0], inputs[1])
        default: return try applyMany(primitive, inputs)
        }
    }

    private func applyMany(_ primitive: Primitive, _ inputs: [Value]) throws -> Value {
        try Memory.checkLive()
        return record(primitive, NodeInputs(inputs), try primitive.forward(inputs.map(\.tensor)))
    }

    /// `apply` for one input, without an array. (The primitive is consumed: the node keeps it without a copy.)
    public func apply(_ primitive: consuming Primitive, _ a: Value) throws -> Value {
        try Memory.checkLive()
        let output: Tensor
        var nonFinite: Bool?
        switch primitive {
        case .unary(let f):
            (output, nonFinite) = a.tensor.mapNotingNonFinite(f)
        case .scatterAdd(let axis, let indices, let shape):
            (output, nonFinite) = a.tensor.scatterAddNotingNonFinite(axis: axis, indices: indices, into: shape)
        default:
            output = try primitive.forward(a.tensor)
            // Elements copied from an input found finite need no second look.
            if a.isCheckedFinite && primitive.copiesElements { nonFinite = false }
        }
        let recording = recordingMask
        return finish(consume output, consume primitive, nonFinite: nonFinite, tapes: tapes(of: a, recording), NodeInputs(a)) { out, reason in
            _ = inheritUntracked(out, from: a, &reason)
        }
    }

    /// `apply` for two inputs, without an array.
    public func apply(_ primitive: consuming Primitive, _ a: Value, _ b: Value) throws -> Value {
        try Memory.checkLive()
        let output: Tensor
        var nonFinite: Bool?
        switch primitive {
        case .binary(let f):
            (output, nonFinite) = try Tensor.zipNotingNonFinite(a.tensor, b.tensor, f)
        case .matmul(let ta, let tb):
            (output, nonFinite) = try Tensor.matmulNotingNonFinite(a.tensor, b.tensor, transposeA: ta, transposeB: tb)
        default:
            if case .operation(let o) = primitive, let forward = o.forwardNotingNonFinite {
                (output, nonFinite) = try forward([a.tensor, b.tensor])
            } else {
                output = try primitive.forward(a.tensor, b.tensor)
            }
        }
        let recording = recordingMask
        return finish(consume output, consume primitive, nonFinite: nonFinite, tapes: tapes(of: a, recording) | tapes(of: b, recording), NodeInputs(a, b)) { out, reason in
            if !inheritUntracked(out, from: a, &reason) { _ = inheritUntracked(out, from: b, &reason) }
        }
    }

    func record(_ primitive: Primitive, _ inputs: NodeInputs, _ output: consuming Tensor) -> Value {
        let recording = recordingMask
        var mask: TapeMask = 0
        inputs.forEach { v in mask |= tapes(of: v, recording) }
        return finish(consume output, primitive, tapes: mask, inputs) { out, reason in
            for v in inputs where inheritUntracked(out, from: v, &reason) { break }
        }
    }

    /// The value of an operation whose inputs are tracked on the tapes `inputTapes`: recorded with a node of
    /// `inputs` on those that record, else with the reason it is not (from `untracked`). `nonFinite` is
    /// whether the output holds a NaN or Inf when the kernel found out as it wrote it (nil: read it here).
    // NOTE: inlined with an autoclosure, so the inputs are retained only when a node keeps them: an untracked
    // result (a backward pass that is not recorded, arithmetic on constants) costs no retain of its inputs.
    @inline(__always)
    // NOTE: the output is consumed: borrowed, it was copied into the value (a retain and a release of its arrays).
    private func finish(_ output: consuming Tensor, _ primitive: consuming Primitive, nonFinite: Bool? = nil, tapes inputTapes: TapeMask,
                        _ inputs: @autoclosure () -> NodeInputs,
                        untracked: (Value, inout UntrackedReason) -> Void) -> Value {
        let mask = inputTapes & recordingMask
        let out = Value(output, context: self)
        // A tape that `with stop t` stopped misses this operation: its None reasons say so.
        if stoppedMask != 0 { out.stoppedTapes = inputTapes & openMask & stoppedMask }
        if detectsAnomalies {
            if nonFinite ?? out.tensor.hasNonFinite { noteNonFinite(out, primitive, inputs()) } else { out.isCheckedFinite = true }
        }
        if mask != 0 {
            out.tapes = mask
            if storesNodes { out.storedNode = Node(primitive, inputs(), line: currentLine) }
        } else {
            var reason = UntrackedReason.noTrackedInputs
            untracked(out, &reason)
            out.untrackedReason = reason
        }
        return out
    }

    /// The tapes an input is tracked on, once a variable read while tapes record is watched by those that
    /// watch variables.
    @inline(__always)
    func tapes(of v: Value, _ recording: TapeMask) -> TapeMask {
        // NOTE: `hasRareFacts` first: most values are not a variable, and it is a plain load.
        if recording != 0 && v.hasRareFacts && v.variable != nil { v.tapes |= autoWatchMask }
        return v.tapes
    }

    /// Why an untracked output is untracked, from one of its inputs in order; true once decided.
    @inline(__always)
    private func inheritUntracked(_ out: Value, from v: Value, _ reason: inout UntrackedReason) -> Bool {
        if v.isTracked { reason = .recordingStopped; return true }
        if let r = v.untrackedReason, r != .noTrackedInputs { reason = r; out.cutFrom = v.cutFrom; return true }
        return false
    }

    /// Records where a NaN or Inf first appears, or carries an input's origin forward.
    private func noteNonFinite(_ out: Value, _ primitive: Primitive, _ inputs: NodeInputs) {
        for v in inputs where v.nonFiniteOrigin != nil {
            out.nonFiniteOrigin = v.nonFiniteOrigin
            return
        }
        if inputs.contains(where: { $0.tensor.hasNonFinite }) { return }
        out.nonFiniteOrigin = NonFiniteOrigin(operation: primitive.name, pass: .forward, line: currentLine,
                                              explanation: primitive.nonFiniteExplanation(inputs.map(\.tensor), pass: .forward))
    }

    /// Records a custom operation whose forward `output` the caller computed (with recording stopped).
    public func recordCustom(_ custom: CustomGradient, inputs: [Value], output: Tensor) -> Value {
        record(.custom(custom), NodeInputs(inputs), output)
    }

    /// An output of an operation that has no gradient (`argmax`, comparisons): never tracked.
    public func nonDifferentiable(_ tensor: Tensor, operation: String) -> Value {
        let out = Value(tensor, context: self)
        out.untrackedReason = .notDifferentiable(operation)
        return out
    }

    func checkInterrupt() throws {
        if let check = interruptCheck, check() { throw GradientError("interrupted") }
    }
}
