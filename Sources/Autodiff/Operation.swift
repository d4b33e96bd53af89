import TensorCore

/// A primitive declared in one place by its user (the language's built-in declarations): its forward
/// kernel, its vector-Jacobian product written with differentiable operations (so higher orders come
/// free), and its rule for `explain`, side by side, in the spirit of JAX's `lax.py`.
///
/// Parameters that are not tensors (an axis, `alpha`) are captured by the closures: one `Operation` is
/// made per call site.
public final class Operation {
    /// The name listings show (`atan2`).
    public let name: String
    /// How many tensor inputs it takes.
    public let arity: Int
    /// The output from the inputs' tensors.
    let forward: ([Tensor]) throws -> Tensor
    /// (inputs, output, cotangent, which inputs need a gradient) → one gradient per input, nil for a symbolic
    /// zero. A gradient may have the broadcast shape; the backward pass sums it back to its input's shape.
    let pullback: ([Value], Value, Value, [Bool]) throws -> [Value?]
    /// The local rule with the inputs named as given.
    let rule: ([String]) -> DerivativeRule
    /// Whether output element i depends only on element i of each broadcast input.
    public let isElementwise: Bool
    /// Whether every output element is one of the inputs' elements or zero (max_pool2d's forward, its
    /// gradient where windows are disjoint): a finite input then gives a finite output.
    public let copiesElements: Bool

    public convenience init(name: String, arity: Int, elementwise: Bool = false, copiesElements: Bool = false,
                            forward: @escaping ([Tensor]) throws -> Tensor,
                            pullback: @escaping (_ inputs: [Value], _ output: Value, _ cotangent: Value) throws -> [Value?],
                            rule: @escaping (_ inputs: [String]) -> DerivativeRule) {
        self.init(name: name, arity: arity, elementwise: elementwise, copiesElements: copiesElements, forward: forward,
                  pullbackOfNeeded: { x, y, g, _ in try pullback(x, y, g) }, rule: rule)
    }

    /// `pullbackOfNeeded` is told which inputs need a gradient (`needs[i]`), for a primitive whose gradients
    /// each cost a kernel as large as its forward (conv2d's), so that it computes only those.
    public init(name: String, arity: Int, elementwise: Bool = false, copiesElements: Bool = false,
                forward: @escaping ([Tensor]) throws -> Tensor,
                pullbackOfNeeded: @escaping (_ inputs: [Value], _ output: Value, _ cotangent: Value, _ needs: [Bool]) throws -> [Value?],
                rule: @escaping (_ inputs: [String]) -> DerivativeRule) {
        self.name = name
        self.arity = arity
        self.isElementwise = elementwise
        self.copiesElements = copiesElements
        self.forward = forward
        self.pullback = pullbackOfNeeded
        self.rule = rule
    }

    /// Runs the operation on values: the output, recorded on the tapes that track an input.
    public func callAsFunction(_ inputs: Value...) throws -> Value {
        try apply(inputs)
    }

    public func apply(_ inputs: [Value]) throws -> Value {
        guard inputs.count == arity, let first = inputs.first else {
            throw GradientError("\(name) takes \(arity) input\(arity == 1 ? "" : "s"), got \(inputs.count)")
        }
        return try first.context.apply(.operation(self), inputs)
    }
}

extension DerivativeRule {
    /// An elementwise rule: per input, the partial derivative (nil: no gradient); the pullback is g times it.
    public static func elementwise(_ partials: [String?], _ words: String) -> DerivativeRule {
        DerivativeRule(partials: partials, pullbacks: partials.map { $0.map { "g · " + parenthesizedFactor($0) } }, words: words)
    }

    /// A rule given by each input's gradient in terms of `g` (nil: no gradient).
    public static func pullbacks(_ pullbacks: [String?], _ words: String) -> DerivativeRule {
        DerivativeRule(partials: pullbacks.map { _ in nil }, pullbacks: pullbacks, words: words)
    }
}
