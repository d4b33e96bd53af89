import TensorCore

/// A tensor with an identity, as TensorFlow's eager tensors have: the thing a tape watches and records.
///
/// Values are immutable, except that a variable's update (`w -= g`) makes a new value with the same
/// `variable` identity. A value is *tracked* on the tapes in `tapes`; `node` is the recorded operation
/// that produced it (nil for leaves and untracked values).
public final class Value {
    public let tensor: Tensor
    // NOTE: unmanaged: a value never outlives the session's context, and a strong reference would cost a
    // retain and a release on every operation. (An unowned(unsafe) reference is retained around each call
    // made through it; `withContext` borrows it instead.)
    private let contextReference: Unmanaged<GradientContext>
    public var context: GradientContext { contextReference.takeUnretainedValue() }

    /// Calls `body` with the context, borrowed for the call.
    @inline(__always)
    func withContext<R>(_ body: (GradientContext) throws -> R) rethrows -> R {
        try contextReference._withUnsafeGuaranteedRef(body)
    }
    /// The recorded operation that produced this value, if any. A gradient whose backward pass was not yet
    /// recorded (see `DeferredGradient`) records it now, on first access; where that fails (the memory
    /// limit) it reads as nil and stays deferred. Walks that must not miss it call
    /// `GradientContext.recordDeferredGradients()` first, which throws.
    public var node: Node? {
        if storedNode == nil, let deferred = extras?.deferred { try? deferred.materialize() }
        return storedNode
    }
    /// The node as stored: nil for a gradient whose recording is deferred.
    var storedNode: Node?
    /// The backward plan's mark while one is being built (see `BackwardPlan`), `BackwardPlan.unvisited`
    /// at all other times.
    var planSlot: Int32 = BackwardPlan.unvisited
    /// The serial number in bits 16–62, the tape mask in the low 16, and `checkedFiniteBit` on top.
    // NOTE: a recorded value is 88 bytes, an allocation of 96 (a long loop records hundreds of thousands):
    // the 28-byte node leaves 4 bytes for the plan's mark, and the serial and the tapes share a word. 2^47
    // serial numbers outlast any session; 16 tape slots allow 15 scoped tapes alive at once. The variable
    // is kept with the rare facts. LayoutTests guards the size.
    private var serialAndTapes: UInt64
    /// Rarely set facts, kept aside so that the common value stays small.
    private var extras: Extras?

    /// Bit i set: tracked on the tape in slot i (slot 0 is the implicit tape).
    public internal(set) var tapes: TapeMask {
        get { serialAndTapes & Self.tapeBits }
        set { serialAndTapes = serialAndTapes & ~Self.tapeBits | newValue & Self.tapeBits }
    }
    /// Creation order; a topological order of the graph.
    public var serial: Int { Int((serialAndTapes & ~Self.checkedFiniteBit) >> UInt64(Self.tapeSlots)) }
    private static let checkedFiniteBit: UInt64 = 1 << 63

    /// Set when the anomaly check has read the tensor and found no NaN or Inf in it: the backward pass
    /// then does not read a gradient it made a second time to check it.
    var isCheckedFinite: Bool {
        get { serialAndTapes & Self.checkedFiniteBit != 0 }
        set { serialAndTapes = newValue ? serialAndTapes | Self.checkedFiniteBit : serialAndTapes & ~Self.checkedFiniteBit }
    }

    /// Whether the tensor holds a NaN or Inf, read only when it was not checked before.
    var hasNonFinite: Bool { !isCheckedFinite && tensor.hasNonFinite }
    /// How many tape slots a value can be tracked on.
    static let tapeSlots = 16
    private static let tapeBits: UInt64 = (1 << UInt64(tapeSlots)) - 1
    /// Shared by all values of one variable; nil for plain tensors. Kept with the rare facts: most values
    /// are not a variable's.
    public var variable: VariableIdentity? { extras?.variable }

    final class Extras {
        var variable: VariableIdentity?
        var untrackedReason: UntrackedReason?
        var cutFrom: Value?
        var watchedAt: Int?
        var nonFiniteOrigin: NonFiniteOrigin?
        var deferred: DeferredGradient?
        var stoppedTapes: TapeMask = 0
    }

    /// The backward pass that will record this gradient's node when something needs it.
    var deferred: DeferredGradient? {
        get { extras?.deferred }
        set { if extras == nil && newValue == nil { return }; withExtras { $0.deferred = newValue } }
    }

    private func withExtras(_ body: (Extras) -> Void) {
        if extras == nil { extras = Extras() }
        body(extras!)
    }

    /// Why an untracked value is untracked, for the None reasons of `grad` (nil: no tracked inputs).
    public internal(set) var untrackedReason: UntrackedReason? {
        get { extras?.untrackedReason }
        set {
            if extras == nil && (newValue == nil || newValue == .noTrackedInputs) { return }
            withExtras { $0.untrackedReason = newValue }
        }
    }
    /// The tracked value that `stop_gradient` cut this value from, for the None reasons.
    var cutFrom: Value? {
        get { extras?.cutFrom }
        set { if extras == nil && newValue == nil { return }; withExtras { $0.cutFrom = newValue } }
    }
    /// When the value was first watched (a serial number), to tell "computed before the watch".
    public internal(set) var watchedAt: Int? {
        get { extras?.watchedAt }
        set { if extras == nil && newValue == nil { return }; withExtras { $0.watchedAt = newValue } }
    }
    /// The scoped tapes that tracked an input but were stopped (`with stop t`) when this value was computed.
    var stoppedTapes: TapeMask {
        get { extras?.stoppedTapes ?? 0 }
        set { if extras == nil && newValue == 0 { return }; withExtras { $0.stoppedTapes = newValue } }
    }
    /// Where the first NaN or Inf that this value carries was produced.
    public internal(set) var nonFiniteOrigin: NonFiniteOrigin? {
        get { extras?.nonFiniteOrigin }
        set { if extras == nil && newValue == nil { return }; withExtras { $0.nonFiniteOrigin = newValue } }
    }

    // NOTE: inlined into `apply`, where every operation's value is made (the optimizer had stopped inlining it).
    @inline(__always)
    init(_ tensor: Tensor, context: GradientContext, variable: VariableIdentity? = nil) {
        self.tensor = tensor
        Memory.liveWords &+= tensor.count &+ Memory.valueWords
        self.contextReference = .passUnretained(context)
        self.serialAndTapes = UInt64(context.nextSerial()) << UInt64(Self.tapeSlots)
        if let variable { withExtras { $0.variable = variable } }
    }

    /// The value a `Transient` stands for, made after all: its serial number was given when it was computed.
    init(_ tensor: Tensor, context: Unmanaged<GradientContext>, serial: Int) {
        self.tensor = tensor
        Memory.liveWords &+= tensor.count &+ Memory.valueWords
        self.contextReference = context
        self.serialAndTapes = UInt64(serial) << UInt64(Self.tapeSlots)
    }

    /// The context, unretained (for `Transient`s, which carry it without reference counting).
    var unmanagedContext: Unmanaged<GradientContext> { contextReference }
    /// The serial number and the tapes, packed (for `Transient`s, which pack them the same way).
    var packedSerialAndTapes: UInt64 { serialAndTapes & ~Self.checkedFiniteBit }
    /// Whether any rare fact is set (a variable, an untracked reason, a cut, a watch, a NaN origin, a deferral).
    var hasRareFacts: Bool { extras != nil }

    /// How many inputs the recorded node has (the value must have one).
    var recordedInputCount: Int { storedNode.unsafelyUnwrapped.inputs.count }

    /// Input `i` of the recorded node, unretained: for walks over a graph that its targets keep alive.
    func recordedInput(_ i: Int) -> Unmanaged<Value> { storedNode.unsafelyUnwrapped.inputs.unmanaged(i) }

    public var shape: [Int] { tensor.shape }
    public var isTracked: Bool { tapes != 0 }
    public func isTracked(on tape: Tape) -> Bool { tapes & tape.bit != 0 }
    public var isVariable: Bool { variable != nil }

    /// The identity gradients accumulate under: a variable's, or this value's own.
    var gradientKey: ObjectIdentifier {
        // NOTE: `hasRareFacts` first: the plan asks every leaf it meets, and most values are not a variable.
        hasRareFacts ? (variable.map(ObjectIdentifier.init) ?? ObjectIdentifier(self)) : ObjectIdentifier(self)
    }

    deinit {
        Memory.liveWords &-= tensor.count &+ Memory.valueWords
        // NOTE: a long chain would overflow the stack if released recursively (see `releaseRecordedInputs`).
        guard storedNode != nil || extras?.cutFrom != nil else { return }
        releaseRecordedInputs()
    }
}

/// Identity of a trainable variable across its updates.
public final class VariableIdentity {
    public let name: String
    public init(name: String) { self.name = name }
}

/// A set of tapes, one bit per tape slot.
public typealias TapeMask = UInt64

/// Why a value is not tracked.
public enum UntrackedReason: Equatable {
    /// None of its inputs was tracked when it was computed.
    case noTrackedInputs
    /// It was computed while recording was stopped (`with stop`).
    case recordingStopped
    /// It is (or comes from) the output of `stop_gradient`.
    case stopGradient
    /// It comes from an operation with no gradient (`argmax`, comparisons, `shape`).
    case notDifferentiable(String)
}

/// Where a NaN or Inf first appeared.
public struct NonFiniteOrigin: Equatable {
    public enum Pass: String { case forward, backward }
    public var operation: String
    public var pass: Pass
    public var line: Int
    /// Why, when a rule knows (`log at 0`).
    public var explanation: String?
}
