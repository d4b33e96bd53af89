import TensorCore

/// The operations the elementwise vector-Jacobian products are written in (`Primitive.unaryPullback` and
/// `Primitive.binaryPullback`).
///
/// Two types provide them. `Value` records each operation on the tapes that record, so a recorded backward
/// pass can itself be differentiated. `Transient` gives what the same operation on values would give (the
/// number, its serial number, the tapes it would be tracked on and why not) without making the value, for
/// a deferred pass over scalars. Each rule is written once, over this protocol, and serves both.
protocol GradientArithmetic {
    var tensor: Tensor { get }
    func map(_ f: UnaryFunction) throws -> Self
    func binary(_ f: BinaryFunction, _ other: Self) throws -> Self
    /// A 0/1 comparison: never tracked.
    func compare(_ f: BinaryFunction, _ other: Self) throws -> Self
    static func select(_ condition: Self, _ a: Self, _ b: Self) throws -> Self
    /// An untracked scalar of the same session.
    func constant(_ scalar: Double) -> Self
}

// NOTE: the operators below are what generic rules see; `Value` has the same ones of its own (concrete, so
// preferred where the type is known), each making the same operations in the same order.
extension GradientArithmetic {
    static func + (a: Self, b: Self) throws -> Self { try a.binary(.add, b) }
    static func - (a: Self, b: Self) throws -> Self { try a.binary(.subtract, b) }
    static func * (a: Self, b: Self) throws -> Self { try a.binary(.multiply, b) }
    static func / (a: Self, b: Self) throws -> Self { try a.binary(.divide, b) }
    static prefix func - (a: Self) throws -> Self { try a.map(.negate) }

    static func + (a: Self, b: Double) throws -> Self { try a + a.constant(b) }
    static func - (a: Self, b: Double) throws -> Self { try a - a.constant(b) }
    static func * (a: Self, b: Double) throws -> Self { try a * a.constant(b) }
    static func - (a: Double, b: Self) throws -> Self { try b.constant(a) - b }

    func pow(_ exponent: Self) throws -> Self { try binary(.power, exponent) }
}

extension Value: GradientArithmetic {
    func constant(_ scalar: Double) -> Value { context.constant(scalar) }
}
