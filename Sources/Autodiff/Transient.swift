import TensorCore

/// What an operation of a deferred backward pass over scalars would give, without making the value.
///
/// A deferred pass (see `DeferredGradient`) runs for its numbers and its tracking, keeping no nodes. Each
/// value it makes is read once or twice and dropped, yet a `Value` costs an allocation, a free and reference
/// counting: in a long scalar chain (W2: 80,000 steps) that was most of the pass. When every value of the
/// plan is a scalar, the pass carries transients instead: plain data, the number and what later steps and
/// the results can see of the value it stands for: the serial number it would have had (so the pass's replay
/// numbers its values the same), the tapes it would be tracked on, and whether it is a comparison's output.
/// A result of the pass, or the input of a rule that works on values only, becomes that value (`value()`),
/// with exactly those facts.
///
/// Operations follow `GradientContext.apply` step for step. What a transient cannot carry stops the pass
/// with `Unrepresentable`, and the pass runs again on values: a tensor that is not a scalar, a NaN or Inf
/// while anomalies are detected (values note where it came from), an untracked result that inherits
/// another reason (a stopped tape, a `stop_gradient`), and a result that is an existing value (a seed
/// handed through).
struct Transient {
    let scalar: Double
    /// The serial number in the high 48 bits and the tapes in the low 16, as `Value` packs them.
    private let serialAndTapes: UInt64
    /// Why it is untracked, when not for lack of tracked inputs.
    private let untracked: Untracked?
    private let context: Unmanaged<GradientContext>

    enum Untracked {
        /// The output of this comparison (`Value.compare`).
        case comparison(BinaryFunction)
        /// An existing value with facts a transient does not carry (another reason, a cut).
        case other
    }

    /// The pass needs what a transient does not carry.
    struct Unrepresentable: Error {}

    private static let tapeBits: UInt64 = (1 << UInt64(Value.tapeSlots)) - 1

    private init(_ scalar: Double, serial: Int, tapes: TapeMask, untracked: Untracked? = nil, _ context: Unmanaged<GradientContext>) {
        self.scalar = scalar
        self.serialAndTapes = UInt64(serial) << UInt64(Value.tapeSlots) | tapes & Self.tapeBits
        self.untracked = untracked
        self.context = context
    }

    /// What a value is, as far as a transient can tell.
    @inline(__always)
    init(_ value: Value) throws {
        guard value.tensor.isScalar else { throw Unrepresentable() }
        scalar = value.tensor.firstScalar
        serialAndTapes = value.packedSerialAndTapes
        context = value.unmanagedContext
        if value.hasRareFacts, value.cutFrom != nil || (value.untrackedReason ?? .noTrackedInputs) != .noTrackedInputs {
            untracked = .other
        } else {
            untracked = nil
        }
    }

    var tensor: Tensor { Tensor(scalar) }
    var hasNonFinite: Bool { !scalar.isFinite }
    var serial: Int { Int(serialAndTapes >> UInt64(Value.tapeSlots)) }
    private var tapes: TapeMask { serialAndTapes & Self.tapeBits }

    /// The value this stands for, made with the facts the pass gave it.
    func value() throws -> Value {
        let v = Value(Tensor(scalar), context: context, serial: serial)
        v.tapes = tapes
        switch untracked {
        case nil: break
        case .comparison(let f)?: v.untrackedReason = .notDifferentiable(f.rawValue)
        case .other?: throw Unrepresentable()
        }
        return v
    }

    /// The result of an operation, as `GradientContext.finish` would make it from inputs whose tapes are
    /// `tapes`. In a deferred pass the implicit tape alone records, and every variable is tracked on it, so
    /// reading a variable watches nothing more.
    private func made(_ output: Tensor, tapes: TapeMask, inheriting inputs: (Transient, Transient?, Transient?)) throws -> Transient {
        guard output.isScalar else { throw Unrepresentable() }
        let y = output.firstScalar
        return try context._withUnsafeGuaranteedRef { ctx in
            let mask = tapes & ctx.recordingMask
            let serial = ctx.nextSerial()
            if ctx.detectsAnomalies && !y.isFinite { throw Unrepresentable() }
            if mask != 0 { return Transient(y, serial: serial, tapes: mask, context) }
            // Why it is untracked: from the first input that tells (`GradientContext.inheritUntracked`).
            func reason(_ input: Transient?) throws -> Untracked? {
                guard let input else { return nil }
                if input.tapes != 0 { throw Unrepresentable() }
                if case .other? = input.untracked { throw Unrepresentable() }
                return input.untracked
            }
            let inherited = try reason(inputs.0) ?? reason(inputs.1) ?? reason(inputs.2)
            return Transient(y, serial: serial, tapes: 0, untracked: inherited, context)
        }
    }

    /// A result with nothing to inherit: a constant, or a comparison's output.
    private func made(_ output: Tensor, untracked: Untracked?) throws -> Transient {
        guard output.isScalar else { throw Unrepresentable() }
        return Transient(output.firstScalar, serial: context._withUnsafeGuaranteedRef { $0.nextSerial() }, tapes: 0, untracked: untracked, context)
    }
}

extension Transient: GradientArithmetic {
    func map(_ f: UnaryFunction) throws -> Transient {
        try made(tensor.map(f), tapes: tapes, inheriting: (self, nil, nil))
    }

    func binary(_ f: BinaryFunction, _ other: Transient) throws -> Transient {
        try made(try Tensor.zip(tensor, other.tensor, f), tapes: tapes | other.tapes, inheriting: (self, other, nil))
    }

    func compare(_ f: BinaryFunction, _ other: Transient) throws -> Transient {
        try made(try Tensor.zip(tensor, other.tensor, f), untracked: .comparison(f))
    }

    static func select(_ condition: Transient, _ a: Transient, _ b: Transient) throws -> Transient {
        try condition.made(try Tensor.select(condition.tensor, a.tensor, b.tensor), tapes: condition.tapes | a.tapes | b.tapes,
                           inheriting: (condition, a, b))
    }

    func constant(_ scalar: Double) -> Transient {
        Transient(scalar, serial: context._withUnsafeGuaranteedRef { $0.nextSerial() }, tapes: 0, context)
    }
}

/// What a backward pass carries from step to step: values (a recorded or observed pass) or transients.
protocol Cotangent: GradientArithmetic {
    /// An existing value.
    static func wrapping(_ value: Value) throws -> Self
    /// A value of the recorded graph (which the pass's targets keep alive).
    static func ofGraph(_ value: Unmanaged<Value>) throws -> Self
    /// Whether the tensor holds a NaN or Inf (a value's tensor is read only when not checked before).
    var hasNonFinite: Bool { get }
    /// The value itself, or the one a transient stands for.
    func value() throws -> Value
    /// The value of a result of the pass, given the results before it and the last serial number before the pass.
    func result(among earlier: [Value?], after start: Int) throws -> Value
    func sumToShape(_ shape: [Int]) throws -> Self
    /// The gradients of a recorded node's inputs.
    static func pullback(_ node: Node, output: Value, cotangent dy: Self, needs: InputMask) throws -> InputGradients<Self>
}

extension Value: Cotangent {
    static func wrapping(_ value: Value) -> Value { value }
    static func ofGraph(_ value: Unmanaged<Value>) -> Value { value.takeUnretainedValue() }
    func value() -> Value { self }
    func result(among earlier: [Value?], after start: Int) -> Value { self }
    static func pullback(_ node: Node, output: Value, cotangent dy: Value, needs: InputMask) throws -> InputGradients<Value> {
        try node.primitive.pullback(node.inputs, output, dy, needs: needs)
    }
}

extension Transient: Cotangent {
    static func wrapping(_ value: Value) throws -> Transient { try Transient(value) }
    static func ofGraph(_ value: Unmanaged<Value>) throws -> Transient { try value._withUnsafeGuaranteedRef { try Transient($0) } }

    /// Results with one serial number stand for one value (a pullback can hand one gradient to several
    /// inputs), and stay one, as on values. A value that existed before the pass is not made again.
    func result(among earlier: [Value?], after start: Int) throws -> Value {
        if serial <= start { throw Unrepresentable() }
        for case let v? in earlier where v.serial == serial { return v }
        return try value()
    }

    /// Called only when the shapes differ, so the sum is a tensor: the pass runs again on values.
    func sumToShape(_ shape: [Int]) throws -> Transient {
        try Transient(try value().sumToShape(shape))
    }

    /// A rule on values (the elementwise rules run on transients; see `BackwardPlan.pass`).
    static func pullback(_ node: Node, output: Value, cotangent dy: Transient, needs: InputMask) throws -> InputGradients<Transient> {
        try node.primitive.pullback(node.inputs, output, dy.value(), needs: needs).map { try Transient($0) }
    }
}
