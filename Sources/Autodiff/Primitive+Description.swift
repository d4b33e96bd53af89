import TensorCore
import Portable

/// A primitive's local derivative rule, in symbols and in words, for `explain` and `graph`.
///
/// Inputs are named by the caller (`a`, `b` for a rule; the user's names for a graph's edges); `g` is
/// the gradient flowing in from the output.
public struct DerivativeRule: Equatable {
    /// Per input: the local derivative ∂y/∂input in terms of the input names (`b` for `a * b`), for
    /// elementwise operations; nil for the others and for inputs with no gradient.
    public var partials: [String?]
    /// Per input: the gradient the input gets, in terms of `g` (`g * b`, `g @ bᵀ`); nil: no gradient.
    public var pullbacks: [String?]
    /// The rule in words.
    public var words: String

    /// The rule in symbols: `∂(a * b)/∂a = b, ∂(a * b)/∂b = a` for elementwise operations, otherwise
    /// `a gets g @ bᵀ, b gets aᵀ @ g`. `shown`, when given, says which inputs' parts to write.
    public func symbols(expression: String, inputs: [String], shown: [Bool]? = nil) -> String {
        let wrapped = isCall(expression) ? expression : "(\(expression))"
        var parts: [String] = []
        var counts: [String: Int] = [:]
        for (i, name) in inputs.enumerated() where shown.map({ i < $0.count && $0[i] }) ?? true {
            let part: String
            if i < partials.count, let p = partials[i] {
                part = "∂\(wrapped)/∂\(name) = \(p)"
            } else if i < pullbacks.count, let p = pullbacks[i] {
                part = "\(name) gets \(p)"
            } else { continue }
            if counts[part] == nil { parts.append(part) }
            counts[part, default: 0] += 1
        }
        // One input in several places (`x * x`): its rule once, with how many places add up, rather than
        // the same line twice, which reads as if ∂(x * x)/∂x were x.
        parts = parts.map { part in
            guard let n = counts[part], n > 1 else { return part }
            return part + " at each of its \(n) places (they add up)"
        }
        return parts.isEmpty ? "no gradient" : parts.joined(separator: ",  ")
    }
}

extension Primitive {
    /// Runs the primitive's forward kernel on tensors (to replay a recorded graph). A custom
    /// operation's forward is its definition, which the language evaluates; this throws for it.
    public func evaluateForward(_ inputs: [Tensor]) throws -> Tensor { try forward(inputs) }

    /// Whether the output's element i depends only on element i of each (broadcast) input.
    public var isElementwise: Bool {
        switch self {
        case .unary, .binary, .select: return true
        case .operation(let o): return o.isElementwise
        case .reduce, .reshape, .view, .scatter, .gather, .scatterAdd, .concat, .matmul, .inverse, .determinant, .custom: return false
        }
    }

    /// Whether every element of the output is an element of the input or zero (a reshape, a view, a gather,
    /// max_pool2d's forward): an input without NaN or Inf then gives an output without them.
    var copiesElements: Bool {
        switch self {
        case .reshape, .view, .gather: return true
        case .operation(let o): return o.copiesElements
        case .unary, .binary, .select, .reduce, .scatter, .scatterAdd, .concat, .matmul, .inverse, .determinant, .custom: return false
        }
    }

    /// The operation written as an expression of `inputs` (names or placeholders): `a * b`, `sin(a)`,
    /// `sum(a, axis=0)`. `shapes`, when given, are the inputs' shapes (a full reduction then shows no axes).
    public func expression(of inputs: [String], shapes: [[Int]] = []) -> String {
        func input(_ i: Int) -> String { i < inputs.count ? inputs[i] : "?" }
        let a = input(0), b = input(1)
        switch self {
        case .unary(.negate): return "-" + a
        case .unary(.positiveMask): return "positive_mask(\(a))"
        case .unary(let f): return "\(f.rawValue)(\(a))"
        case .binary(let f):
            switch f {
            case .add: return "\(a) + \(b)"
            case .subtract: return "\(a) - \(b)"
            case .multiply: return "\(a) * \(b)"
            case .divide: return "\(a) / \(b)"
            case .power: return "\(a) ^ \(b)"
            default: return "\(f.rawValue)(\(a), \(b))"
            }
        case .select: return "where(\(a), \(b), \(input(2)))"
        case .reduce(_, let axes, let keepDims):
            var arguments = [a]
            let full = shapes.first.map { axes == Array(0..<$0.count) } ?? false
            if !full { arguments.append("axis=" + (axes.count == 1 ? String(axes[0]) : Shape.describe(axes))) }
            if keepDims { arguments.append("keepdims=1") }
            return "\(name)(" + arguments.joined(separator: ", ") + ")"
        case .reshape(let shape): return "reshape(\(a), \(Shape.describe(shape)))"
        case .view(let view, let kind):
            switch kind {
            case .transpose: return "transpose(\(a))"
            case .broadcast: return "broadcast(\(a), \(Shape.describe(view.shape)))"
            case .slice: return "\(a)[…]"
            }
        case .scatter(_, let shape, _): return "\(name)(\(a), \(Shape.describe(shape)))"
        case .gather(let axis, let indices, _):
            let shown = indices.count <= 6 ? Shape.describe(indices) : "[…]"
            return axis == 0 ? "\(a)[\(shown)]" : "gather(\(a), \(shown), axis=\(axis))"
        case .scatterAdd(let axis, _, let shape): return "scatter_add(\(a), \(Shape.describe(shape)), axis=\(axis))"
        case .concat(let axis): return "concat(" + inputs.joined(separator: ", ") + (axis == 0 ? ")" : ", axis=\(axis))")
        case .matmul(let ta, let tb): return "\(a)\(ta ? "ᵀ" : "") @ \(b)\(tb ? "ᵀ" : "")"
        case .inverse: return "inv(\(a))"
        case .determinant: return "det(\(a))"
        case .custom(let c): return "\(c.name)(" + inputs.joined(separator: ", ") + ")"
        case .operation(let o): return "\(o.name)(" + inputs.joined(separator: ", ") + ")"
        }
    }

    /// The local derivative rule with the inputs named `inputs` (default `a`, `b`, `c`).
    public func derivativeRule(inputs: [String]? = nil) -> DerivativeRule {
        let names = inputs ?? ["a", "b", "c"]
        func input(_ i: Int) -> String { i < names.count ? names[i] : "?" }
        let a = input(0), b = input(1)
        /// An elementwise rule: the pullback is g times the partial.
        func elementwise(_ partials: [String?], _ words: String) -> DerivativeRule {
            DerivativeRule(partials: partials, pullbacks: partials.map { $0.map { "g · " + parenthesizedFactor($0) } }, words: words)
        }
        func vjp(_ pullbacks: [String?], _ words: String) -> DerivativeRule {
            DerivativeRule(partials: pullbacks.map { _ in nil }, pullbacks: pullbacks, words: words)
        }
        switch self {
        case .unary(let f):
            let chain = "the chain rule: g times the derivative at the input"
            switch f {
            case .negate: return elementwise(["-1"], "the gradient flows through negated")
            case .sin: return elementwise(["cos(\(a))"], chain)
            case .cos: return elementwise(["-sin(\(a))"], chain)
            case .tan: return elementwise(["1/cos(\(a))²"], chain)
            case .asin: return elementwise(["1/sqrt(1 - \(a)²)"], chain)
            case .acos: return elementwise(["-1/sqrt(1 - \(a)²)"], chain)
            case .atan: return elementwise(["1/(1 + \(a)²)"], chain)
            case .sinh: return elementwise(["cosh(\(a))"], chain)
            case .cosh: return elementwise(["sinh(\(a))"], chain)
            case .tanh: return elementwise(["1 - tanh(\(a))²"], chain + ", from the output: 1 - y²")
            case .exp: return elementwise(["exp(\(a))"], "exp is its own derivative: g times the output")
            case .log: return elementwise(["1/\(a)"], chain + "; infinite at 0")
            case .log1p: return elementwise(["1/(1 + \(a))"], chain)
            case .expm1: return elementwise(["exp(\(a))"], chain + ", from the output: y + 1")
            case .sqrt: return elementwise(["1/(2·sqrt(\(a)))"], chain + " (0 where g is 0, even at 0)")
            case .abs: return elementwise(["sign(\(a))"], "the gradient keeps its sign where a > 0 and flips where a < 0 (0 at 0)")
            case .sign, .floor, .ceil, .round, .positiveMask:
                return DerivativeRule(partials: ["0"], pullbacks: [nil], words: "\(f.rawValue) is piecewise constant: no gradient flows")
            case .erf: return elementwise(["2/√π · exp(-\(a)²)"], chain)
            case .sigmoid: return elementwise(["sigmoid(\(a)) · (1 - sigmoid(\(a)))"], chain + ", from the output: y·(1 - y)")
            case .relu: return elementwise(["1 where \(a) > 0, else 0"], "the gradient passes where the input is positive (at 0 it is 0)")
            case .softplus: return elementwise(["sigmoid(\(a))"], chain)
            case .reciprocal: return elementwise(["-1/\(a)²"], chain)
            case .square: return elementwise(["2·\(a)"], chain)
            }
        case .binary(let f):
            switch f {
            case .add: return elementwise(["1", "1"], "the gradient flows through unchanged to both inputs")
            case .subtract: return elementwise(["1", "-1"], "the gradient flows to the left input unchanged and to the right one negated")
            case .multiply: return elementwise([b, a], "each input gets the gradient times the other input")
            case .divide: return elementwise(["1/\(b)", "-\(a)/\(b)²"], "the quotient rule")
            case .power:
                return elementwise(["\(b)·\(a)^(\(b) - 1)", "\(a)^\(b)·log(\(a)) where \(a) > 0, else 0"],
                                   "the power rule for the base; the exponent's gradient only where the base is positive")
            case .maximum:
                return elementwise(["1 where \(a) ≥ \(b), else 0", "1 where \(a) < \(b), else 0"],
                                   "the gradient goes to the input that was chosen (ties go to the left one)")
            case .minimum:
                return elementwise(["1 where \(a) ≤ \(b), else 0", "1 where \(a) > \(b), else 0"],
                                   "the gradient goes to the input that was chosen (ties go to the left one)")
            case .tanhGrad:
                return elementwise(["-2·\(a)·\(b)", "1 - \(a)²"], "tanh's gradient, \(b)·(1 - \(a)²), differentiated again")
            case .reluGrad:
                return DerivativeRule(partials: ["0", "1 where \(a) > 0, else 0"], pullbacks: [nil, "g where \(a) > 0, else 0"],
                                      words: "relu's gradient, \(b) where \(a) > 0, differentiated again: nothing flows to \(a)")
            case .less, .greater, .lessEqual, .greaterEqual, .equal, .notEqual:
                return DerivativeRule(partials: [nil, nil], pullbacks: [nil, nil], words: "comparisons have no gradient")
            }
        case .select:
            let c = a, x = b, y = input(2)
            return DerivativeRule(partials: [nil, "1 where \(c), else 0", "0 where \(c), else 1"],
                                  pullbacks: [nil, "where(\(c), g, 0)", "where(\(c), 0, g)"],
                                  words: "the gradient goes to the branch that was selected (\(x) or \(y)); the condition gets none")
        case .reduce(let kind, _, _):
            switch kind {
            case .sum: return vjp(["g broadcast to the shape of \(a)"], "every element gets the gradient of the sum")
            case .max: return vjp(["g where \(a) is the largest, else 0"], "the gradient goes to the largest element, shared evenly among ties")
            case .min: return vjp(["g where \(a) is the smallest, else 0"], "the gradient goes to the smallest element, shared evenly among ties")
            case .product: return vjp(["g · (product of the other elements)"], "each element gets the gradient times the product of the others")
            }
        case .reshape: return vjp(["reshape(g, shape of \(a))"], "the gradient is reshaped back to the input's shape")
        case .view(_, let kind):
            switch kind {
            case .transpose: return vjp(["g transposed back"], "the gradient is transposed back")
            case .broadcast: return vjp(["g summed back to the shape of \(a)"], "a broadcast copies, so its gradient sums the copies")
            case .slice: return vjp(["g in the sliced positions, 0 elsewhere"], "the gradient goes back to the positions that were read")
            }
        case .scatter(_, _, let kind):
            return vjp([kind == .broadcast ? "g broadcast back" : "g read at the same positions"], "the adjoint of a view: the gradient is read back")
        case .gather: return vjp(["g added into the gathered positions"], "the gradient goes back to the positions that were read; repeated ones add up")
        case .scatterAdd: return vjp(["g read at the same positions"], "the gradient is read back from the positions that were written")
        case .concat: return vjp(names.indices.map { _ in "its slice of g" }, "each input gets its slice of the gradient")
        case .matmul(let ta, let tb):
            let pair: [String]
            switch (ta, tb) {
            case (false, false): pair = ["g @ \(b)ᵀ", "\(a)ᵀ @ g"]
            case (true, false): pair = ["\(b) @ gᵀ", "\(a) @ g"]
            case (false, true): pair = ["g @ \(b)", "gᵀ @ \(a)"]
            case (true, true): pair = ["\(b)ᵀ @ gᵀ", "gᵀ @ \(a)ᵀ"]
            }
            return vjp(pair, "the product rule for matrices")
        case .inverse: return vjp(["-inv(\(a))ᵀ @ g @ inv(\(a))ᵀ"], "d(A⁻¹) = -A⁻¹ · dA · A⁻¹")
        case .determinant:
            return DerivativeRule(partials: ["det(\(a))·inv(\(a))ᵀ"], pullbacks: ["g · det(\(a))·inv(\(a))ᵀ"], words: "Jacobi's formula")
        case .custom(let c):
            return vjp(names.map { _ in "the custom gradient" }, "the custom gradient of \(c.name), as its definition gives it")
        case .operation(let o):
            return o.rule(names)
        }
    }
}

/// `x` as a factor: wrapped in parentheses when it has a space (`(1 - y²)`).
func parenthesizedFactor(_ x: String) -> String {
    x.containsText(" ") && !(x.hasPrefix("(") && x.hasSuffix(")")) ? "(\(x))" : x
}

/// Whether `x` is one call, `f(...)`, that needs no parentheses around it.
private func isCall(_ x: String) -> Bool {
    guard let first = x.first, first.isLetter, x.hasSuffix(")"), let open = x.firstIndex(of: "(") else { return false }
    var depth = 0
    for i in x[open...].indices {
        if x[i] == "(" { depth += 1 } else if x[i] == ")" { depth -= 1 }
        if depth == 0 { return x.index(after: i) == x.endIndex }
    }
    return false
}

extension Primitive {
    /// Why this operation makes NaN or Inf from finite inputs (`log at 0`), where its rule knows.
    public func nonFiniteReason(_ inputs: [Tensor], pass: NonFiniteOrigin.Pass) -> String? {
        nonFiniteExplanation(inputs, pass: pass)
    }
}

extension Value {
    /// The identity gradients accumulate under: a variable's (shared across its updates), or this value's own.
    public var accumulationKey: ObjectIdentifier { gradientKey }
}

extension Value {
    /// For the output of `stop_gradient` (or a value computed from one): the tracked value it was cut from.
    public var stopGradientSource: Value? { cutFrom }
}
