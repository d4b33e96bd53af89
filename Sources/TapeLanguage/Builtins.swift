import Portable
import TensorCore
import Autodiff
import TapeSyntax

/// The arguments of a built-in call, evaluated on demand so each error points at its argument.
struct CallArguments {
    let session: Session
    let name: String
    let positional: [Argument]
    /// The labelled arguments, in the order given (a call has few; most have none, and make no dictionary).
    let keywords: [Argument]
    let span: SourceSpan
    /// A declared built-in's parameters (empty for the others).
    let parameters: [BuiltinParameter]

    // NOTE: the fields are set last, once nothing can throw: set first, every call paid for a copy of the
    // whole struct and its destruction (W2 calls `sin` 20,000 times). Labels are looked at in place.
    init(session: Session, name: String, builtin: Builtin, arguments: [Argument], span: SourceSpan) throws {
        var labelled = false
        for i in arguments.indices { if case .some = arguments[i].label { labelled = true; break } }
        let positional: [Argument], keywords: [Argument]
        if labelled {
            var found: [Argument] = []
            positional = arguments.filter { $0.label == nil }
            for a in arguments {
                guard let label = a.label else { continue }
                if found.contains(where: { $0.label?.name == label.name }) {
                    throw EvaluationError("keyword argument '\(label.name)' is given twice", at: label.span)
                }
                if !builtin.keywords.contains(label.name) {
                    let accepted = builtin.keywords.isEmpty ? "\(name) takes no keyword arguments" : "\(name) accepts " + builtin.keywords.map { "'\($0)'" }.joined(separator: ", ")
                    throw EvaluationError("unknown keyword argument '\(label.name)' for \(name)", at: label.span, note: accepted)
                }
                found.append(a)
            }
            keywords = found
        } else {
            positional = arguments
            keywords = []
        }
        // A declared built-in's parameters may be named: they count, once each.
        let count = positional.count + (builtin.parameters.isEmpty ? 0 : keywords.count)
        for k in keywords where !builtin.parameters.isEmpty {
            if let p = builtin.parameters.firstIndex(where: { $0.name == k.label?.name }), p < positional.count, let label = k.label {
                throw EvaluationError("'\(label.name)' is given twice, by position and by name", at: label.span)
            }
        }
        if count < builtin.minimum || (builtin.maximum.map { count > $0 } ?? false) {
            let expected: String
            if let maximum = builtin.maximum {
                expected = maximum == builtin.minimum ? "\(maximum)" : "\(builtin.minimum) to \(maximum)"
            } else {
                expected = "at least \(builtin.minimum)"
            }
            throw EvaluationError("\(name) takes \(expected) argument\(expected == "1" || expected == "at least 1" ? "" : "s"), got \(count)", at: span,
                                  note: "usage: \(builtin.usage)")
        }
        self.session = session
        self.name = name
        self.span = span
        self.positional = positional
        self.keywords = keywords
        self.parameters = builtin.parameters
    }

    var count: Int { positional.count }

    func value(_ i: Int) throws -> Value { try session.evaluate(positional[i].value) }
    func values() throws -> [Value] { try positional.map { try session.evaluate($0.value) } }
    func tensor(_ i: Int) throws -> Tensor { try value(i).tensor }

    /// A keyword argument, or the positional one at `position`.
    func argument(_ keyword: String, position: Int?) -> Argument? {
        if let a = keywords.first(where: { $0.label?.name == keyword }) { return a }
        if let p = position, p < positional.count { return positional[p] }
        return nil
    }

    func number(_ keyword: String, position: Int?, default value: Double? = nil) throws -> Double {
        guard let a = argument(keyword, position: position) else {
            if let value { return value }
            throw EvaluationError("\(name) needs '\(keyword)'", at: span)
        }
        let v = try session.evaluate(a.value)
        guard v.tensor.count == 1 else { throw EvaluationError("'\(keyword)' must be a number, got shape \(Shape.describe(v.shape))", at: a.value.span) }
        return v.tensor.firstScalar
    }

    func int(_ keyword: String, position: Int?, default value: Int? = nil) throws -> Int {
        guard let a = argument(keyword, position: position) else {
            if let value { return value }
            throw EvaluationError("\(name) needs '\(keyword)'", at: span)
        }
        return try session.integer(a.value, what: "'\(keyword)'")
    }

    /// A list of whole numbers (a shape or an axis list); a single number is a list of one.
    func ints(_ keyword: String, position: Int?) throws -> [Int]? {
        guard let a = argument(keyword, position: position) else { return nil }
        let v = try session.evaluate(a.value)
        guard v.tensor.rank <= 1 else { throw EvaluationError("'\(keyword)' must be a number or a list of numbers", at: a.value.span) }
        return try v.tensor.scalars.map { try session.wholeNumber($0, what: "'\(keyword)'", at: a.value.span) }
    }

    func flag(_ keyword: String) throws -> Bool {
        try number(keyword, position: nil, default: 0) != 0
    }

    func string(_ i: Int) throws -> String {
        guard i < positional.count, case .string(let s) = positional[i].value.kind else {
            throw EvaluationError("\(name) needs a file name in double quotes", at: i < positional.count ? positional[i].value.span : span)
        }
        return s
    }

    var ctx: GradientContext { session.context }
}

/// One built-in function: how many positional arguments, which keywords, and what it does.
// NOTE: a class: looking a built-in up on every call of a loop copies one reference, not seven fields.
final class Builtin {
    let minimum: Int
    let maximum: Int?
    let keywords: [String]
    let usage: String
    let summary: String
    let run: (CallArguments) throws -> [Value]
    /// The same, for built-ins with exactly one result (saves an array on every call).
    let single: ((CallArguments) throws -> Value)?
    /// The elementwise function of a one-argument built-in such as `sin`: a call of it with one positional
    /// argument is evaluated directly (`Session.evaluate`), as `run` would, without the arguments' set-up.
    let elementwise: UnaryFunction?
    /// How the exported scripts write a call (see `BuiltinExport`).
    let export: BuiltinExport
    /// The parameters by name, for a declared built-in (`Declaration`); empty for the others.
    let parameters: [BuiltinParameter]
    /// Whether the result is never tracked (no gradient), for the exporter.
    let untracked: Bool
    /// Whether a group argument stands for its members, in order (`global_norm`, `clip_by_global_norm`).
    let takesGroups: Bool

    init(minimum: Int, maximum: Int?, keywords: [String], usage: String, summary: String, takesGroups: Bool = false,
         run: @escaping (CallArguments) throws -> [Value], single: ((CallArguments) throws -> Value)? = nil,
         elementwise: UnaryFunction? = nil, export: BuiltinExport = .exporter, parameters: [BuiltinParameter] = [],
         untracked: Bool = false) {
        self.minimum = minimum
        self.maximum = maximum
        self.keywords = keywords
        self.usage = usage
        self.summary = summary
        self.run = run
        self.single = single
        self.elementwise = elementwise
        self.export = export
        self.parameters = parameters
        self.untracked = untracked
        self.takesGroups = takesGroups
    }
}

enum Builtins {
    static var names: [String] { table.keys }

    /// The built-in `name`, if there is one. The declared built-ins (`Declarations.all`, over a hundred
    /// entries with their signatures, help and export templates) are built only when a name is not among
    /// the ones written here: a session that calls only `sum`, `tanh` and `load` never builds them.
    static func named(_ name: String) -> Builtin? { written[name] ?? declared[name] }

    /// Every built-in, the declared ones included: for `names`, help, completion and export.
    static let table: NameTable<Builtin> = {
        var t = written
        for (name, builtin) in declared { t[name] = builtin }
        return t
    }()

    /// The declared built-ins (no name of theirs is among `written`'s, a test checks).
    static let declared: NameTable<Builtin> = {
        var t = NameTable<Builtin>()
        for d in Declarations.all { t[d.name] = d.builtin }
        return t
    }()

    private static func one(_ min: Int, _ max: Int?, _ keywords: [String] = [], _ usage: String, _ summary: String,
                            elementwise: UnaryFunction? = nil, takesGroups: Bool = false,
                            _ f: @escaping (CallArguments) throws -> Value) -> Builtin {
        Builtin(minimum: min, maximum: max, keywords: keywords, usage: usage, summary: summary, takesGroups: takesGroups,
                run: { [try f($0)] }, single: f, elementwise: elementwise)
    }

    private static func unary(_ name: String, _ f: UnaryFunction, _ summary: String) -> (String, Builtin) {
        (name, one(1, 1, [], "\(name)(x)", summary, elementwise: f) { try $0.value(0).map(f) })
    }

    private static func compare(_ name: String, _ f: BinaryFunction, _ words: String) -> (String, Builtin) {
        (name, one(2, 2, [], "\(name)(a, b)", "1 where a \(words) b, else 0 (no gradient)") { args in
            try args.value(0).compare(f, args.value(1))
        })
    }

    private static func reduction(_ name: String, _ summary: String, _ f: @escaping (Value, [Int]?, Bool) throws -> Value) -> (String, Builtin) {
        (name, one(1, 2, ["axis", "keepdims"], "\(name)(x, axis=None, keepdims=0)", summary) { args in
            try f(args.value(0), args.ints("axis", position: 1), args.flag("keepdims"))
        })
    }

    /// The built-ins written in this file.
    static let written: NameTable<Builtin> = {
        var t = NameTable<Builtin>()
        let unaries: [(String, UnaryFunction, String)] = [
            ("sin", .sin, "sine"), ("cos", .cos, "cosine"), ("tan", .tan, "tangent"),
            ("asin", .asin, "arcsine"), ("acos", .acos, "arccosine"), ("atan", .atan, "arctangent"),
            ("sinh", .sinh, "hyperbolic sine"), ("cosh", .cosh, "hyperbolic cosine"), ("tanh", .tanh, "hyperbolic tangent"),
            ("exp", .exp, "e^x"), ("log", .log, "natural logarithm"), ("log1p", .log1p, "log(1 + x), accurate near 0"),
            ("expm1", .expm1, "e^x - 1, accurate near 0"), ("sqrt", .sqrt, "square root"), ("square", .square, "x²"),
            ("abs", .abs, "absolute value (gradient 0 at 0)"), ("sigmoid", .sigmoid, "1 / (1 + e^-x)"),
            ("relu", .relu, "max(x, 0) (gradient 0 at 0)"), ("softplus", .softplus, "log(1 + e^x)"), ("erf", .erf, "error function"),
            ("sign", .sign, "-1, 0 or 1 (zero gradient, as TensorFlow)"),
        ]
        for (name, f, summary) in unaries { let (n, b) = unary(name, f, summary); t[n] = b }
        for (name, f, words) in [("lt", BinaryFunction.less, "<"), ("gt", .greater, ">"), ("le", .lessEqual, "<="),
                                 ("ge", .greaterEqual, ">="), ("eq", .equal, "=="), ("ne", .notEqual, "!=")] {
            let (n, b) = compare(name, f, words); t[n] = b
        }
        t["pow"] = one(2, 2, [], "pow(x, y)", "x^y") { try $0.value(0).pow($0.value(1)) }
        t["maximum"] = one(2, 2, [], "maximum(a, b)", "elementwise larger; ties send the gradient to a") { try $0.value(0).maximum($0.value(1)) }
        t["minimum"] = one(2, 2, [], "minimum(a, b)", "elementwise smaller; ties send the gradient to a") { try $0.value(0).minimum($0.value(1)) }
        t["where"] = one(3, 3, [], "where(c, a, b)", "a where c is non-zero, else b") { args in
            try Value.select(args.value(0), args.value(1), args.value(2))
        }
        t["clip"] = one(3, 3, [], "clip(x, lo, hi)", "x limited to [lo, hi]") { args in
            try args.value(0).maximum(args.value(1)).minimum(args.value(2))
        }
        t["clip_by_value"] = one(3, 3, [], "clip_by_value(t, lo, hi)", "TensorFlow's name for clip") { args in
            try args.value(0).maximum(args.value(1)).minimum(args.value(2))
        }

        // Reductions
        for (name, kind) in [("sum", Reduction.sum), ("max", .max), ("min", .min), ("prod", .product)] {
            let (n, b) = reduction(name, kind == .sum ? "sum over axes" : kind == .product ? "product over axes" :
                                    "\(name)imum over axes; ties share the gradient") { x, axes, keep in
                try x.reduce(kind, axes: axes, keepDims: keep)
            }
            t[n] = b
        }
        t["mean"] = reduction("mean", "mean over axes") { try $0.mean(axes: $1, keepDims: $2) }.1
        t["norm"] = reduction("norm", "Euclidean norm over axes (gradient NaN at 0)") { try $0.norm(axes: $1, keepDims: $2) }.1
        t["logsumexp"] = reduction("logsumexp", "log(sum(exp(x))), stable") { try $0.logSumExp(axes: $1, keepDims: $2) }.1
        for (name, largest) in [("argmax", true), ("argmin", false)] {
            t[name] = one(1, 2, ["axis", "keepdims"], "\(name)(x, axis=None, keepdims=0)", "index of the \(largest ? "largest" : "smallest") element (no gradient)") { args in
                let x = try args.value(0)
                let axis = try args.ints("axis", position: 1)?.first
                var indices = try x.tensor.argExtreme(largest: largest, axis: axis)
                // NumPy's keepdims: the reduced axis (every axis, without one) stays, with size 1.
                if try args.flag("keepdims") {
                    var kept = x.shape
                    if let axis { kept[try Shape.axis(axis, rank: kept.count)] = 1 } else { kept = kept.map { _ in 1 } }
                    indices = try indices.reshaped(kept)
                }
                return args.ctx.nonDifferentiable(indices, operation: name)
            }
        }
        t["softmax"] = one(1, 2, ["axis"], "softmax(x, axis=-1)", "exp(x) / sum(exp(x)) along an axis") { args in
            try args.value(0).softmax(axis: args.int("axis", position: 1, default: -1))
        }
        t["log_softmax"] = one(1, 2, ["axis"], "log_softmax(x, axis=-1)", "x - logsumexp(x) along an axis") { args in
            try args.value(0).logSoftmax(axis: args.int("axis", position: 1, default: -1))
        }

        // Shapes
        t["reshape"] = one(2, 2, ["shape"], "reshape(x, [2, 3])", "the same elements in a new shape; one dimension may be -1") { args in
            try args.value(0).reshaped(args.ints("shape", position: 1) ?? [])
        }
        t["transpose"] = one(1, 2, ["axes"], "transpose(x) or transpose(x, [1, 0, 2])", "axes reversed or permuted") { args in
            try args.value(0).transposed(args.ints("axes", position: 1))
        }
        t["expand_dims"] = one(2, 2, ["axis"], "expand_dims(x, axis)", "a new axis of size 1") { args in
            try args.value(0).expandDims(axis: args.int("axis", position: 1))
        }
        t["squeeze"] = one(1, 2, ["axis"], "squeeze(x, axis=None)", "removes axes of size 1") { args in
            try args.value(0).squeezed(axes: args.ints("axis", position: 1))
        }
        t["flatten"] = one(1, 1, [], "flatten(x)", "all elements in one axis") { try $0.value(0).reshaped([-1]) }
        t["concat"] = one(1, nil, ["axis"], "concat(a, b, ..., axis=0)", "joins tensors along an existing axis") { args in
            try Value.concat(args.values(), axis: args.int("axis", position: nil, default: 0))
        }
        t["stack"] = one(1, nil, ["axis"], "stack(a, b, ..., axis=0)", "joins tensors along a new axis") { args in
            try Value.stack(args.values(), axis: args.int("axis", position: nil, default: 0))
        }
        t["shape"] = one(1, 1, [], "shape(x)", "the shape as a vector (no gradient)") { args in
            let x = try args.value(0)
            return args.ctx.nonDifferentiable(Tensor(vector: x.shape.map(Double.init)), operation: "shape")
        }
        t["size"] = one(1, 1, [], "size(x)", "the number of elements (no gradient)") { args in
            args.ctx.nonDifferentiable(Tensor(Double(try args.value(0).tensor.count)), operation: "size")
        }
        t["rank"] = one(1, 1, [], "rank(x)", "the number of axes (no gradient)") { args in
            args.ctx.nonDifferentiable(Tensor(Double(try args.value(0).shape.count)), operation: "rank")
        }

        // Linear algebra
        t["matmul"] = one(2, 2, [], "matmul(a, b)", "matrix product with NumPy's rules (a @ b)") { try Value.numpyMatmul($0.value(0), $0.value(1)) }
        t["dot"] = one(2, 2, [], "dot(a, b)", "inner product of vectors, or matrix product") { args in
            let a = try args.value(0), b = try args.value(1)
            if a.shape.count == 1 && b.shape.count == 1 {
                guard a.shape == b.shape else { throw TensorError("dot: vectors of lengths \(a.shape[0]) and \(b.shape[0])") }
                return try (a * b).sum()
            }
            if a.shape.isEmpty || b.shape.isEmpty { return try a * b }
            return try Value.numpyMatmul(a, b)
        }
        t["outer"] = one(2, 2, [], "outer(a, b)", "outer product of two vectors") { args in
            let a = try args.value(0).reshaped([-1, 1]), b = try args.value(1).reshaped([1, -1])
            return try a * b
        }
        t["trace"] = one(1, 1, [], "trace(x)", "sum of the diagonal") { args in
            let x = try args.value(0)
            guard x.shape.count == 2 else { throw TensorError("trace needs a matrix, got shape \(Shape.describe(x.shape))") }
            let n = min(x.shape[0], x.shape[1])
            let diagonal = try x.reshaped([-1]).slice([.range(start: 0, stop: n * x.shape[1], step: x.shape[1] + 1)])
            return try diagonal.sum()
        }
        t["inv"] = one(1, 1, [], "inv(a)", "matrix inverse") { try $0.value(0).inverse() }
        t["det"] = one(1, 1, [], "det(a)", "determinant") { try $0.value(0).determinant() }

        // Constructors
        func shape(_ args: CallArguments) throws -> [Int] {
            let s = try args.ints("shape", position: 0) ?? []
            try Shape.checkAllocation(s)
            return s
        }
        t["zeros"] = one(1, 1, [], "zeros([2, 3])", "a tensor of zeros") { args in args.ctx.constant(try Tensor.zeros(shape(args))) }
        t["ones"] = one(1, 1, [], "ones([2, 3])", "a tensor of ones") { args in args.ctx.constant(try Tensor.ones(shape(args))) }
        t["eye"] = one(1, 2, [], "eye(3) or eye(2, 3)", "the identity matrix") { args in
            let n = try args.int("n", position: 0), m = try args.ints("m", position: 1)?.first
            guard n >= 0, (m ?? 0) >= 0 else { throw TensorError("eye needs non-negative sizes") }
            try Shape.checkAllocation([n, m ?? n])
            return args.ctx.constant(try Tensor.eye(n, m))
        }
        t["arange"] = one(1, 3, [], "arange(stop), arange(start, stop), arange(start, stop, step)", "evenly spaced values, stop excluded") { args in
            let a = try args.number("start", position: 0)
            if args.count == 1 { return args.ctx.constant(try Tensor.arange(0, a, 1)) }
            return args.ctx.constant(try Tensor.arange(a, args.number("stop", position: 1), args.number("step", position: 2, default: 1)))
        }
        t["randn"] = one(1, 1, [], "randn([2, 3])", "standard normal random numbers") { args in
            args.ctx.constant(try args.session.random.tensor(shape: shape(args), normal: true))
        }
        t["rand"] = one(1, 1, [], "rand([2, 3])", "uniform random numbers in [0, 1)") { args in
            args.ctx.constant(try args.session.random.tensor(shape: shape(args), normal: false))
        }
        t["set_seed"] = Builtin(minimum: 1, maximum: 1, keywords: [], usage: "set_seed(42)", summary: "makes rand and randn reproducible") { args in
            let seed = try args.int("seed", position: 0)
            args.session.setSeed(UInt64(bitPattern: Int64(seed)))
            return []
        }

        // Gradient management
        t["stop_gradient"] = one(1, 1, [], "stop_gradient(x)", "the value of x, untracked: gradients do not flow through it") { args in
            args.ctx.stopGradient(try args.value(0))
        }
        t["clip_by_norm"] = one(2, 2, [], "clip_by_norm(t, c)", "t rescaled so its norm is at most c (TensorFlow's rule)") { args in
            // TensorFlow's formula, safe at 0: the gradient passes through there.
            let x = try args.value(0), c = try args.value(1)
            let l2sum = try x.map(.square).sum()
            let positive = try l2sum.compare(.greater, args.ctx.constant(0))
            let safe = try Value.select(positive, l2sum, args.ctx.constant(1))
            let l2norm = try Value.select(positive, safe.map(.sqrt), l2sum)
            return try x * c / l2norm.maximum(c)
        }
        t["global_norm"] = one(1, nil, [], "global_norm(t1, t2, ...)", "the norm of all tensors together", takesGroups: true) { args in
            try globalNorm(args.values())
        }
        t["clip_by_global_norm"] = Builtin(minimum: 2, maximum: nil, keywords: [], usage: "a, b = clip_by_global_norm(c, a, b)",
                                           summary: "rescales tensors together so their global norm is at most c; one result per tensor",
                                           takesGroups: true) { args in
            let all = try args.values()
            let c = all[0], ts = Array(all.dropFirst())
            let norm = try globalNorm(ts)
            // TensorFlow: scale = c * min(1 / norm, 1 / c).
            let scale = try c * (1.0 / norm).minimum(1.0 / c)
            return try ts.map { try $0 * scale }
        }

        // Losses
        t["mse"] = one(2, 2, [], "mse(prediction, target)", "mean squared error") { args in
            try (args.value(0) - args.value(1)).map(.square).mean()
        }
        t["cross_entropy"] = one(2, 2, [], "cross_entropy(logits, labels)",
                                 "mean softmax cross-entropy; labels are probabilities shaped like logits, or class indices") { args in
            let logits = try args.value(0), labels = try args.value(1)
            let logp = try logits.logSoftmax(axis: -1)
            if labels.shape == logits.shape {
                return try (-(labels * logp).sum(axes: [-1])).mean()
            }
            guard logits.shape.count >= 1, labels.shape == Array(logits.shape.dropLast()) else {
                throw TensorError("cross_entropy: labels of shape \(Shape.describe(labels.shape)) fit neither logits \(Shape.describe(logits.shape)) nor their batch shape")
            }
            let classes = logits.shape.last!
            var onehot = [Double](repeating: 0, count: logits.tensor.count)
            for (i, label) in labels.tensor.scalars.enumerated() {
                guard label >= 0, label < Double(classes), label == label.rounded() else {
                    throw TensorError("cross_entropy: label \(plainNumber(label)) is not a class index in 0..<\(classes)")
                }
                onehot[i * classes + Int(label)] = 1
            }
            let target = args.ctx.constant(Tensor(shape: logits.shape, scalars: onehot))
            return try (-(target * logp).sum(axes: [-1])).mean()
        }

        // Files
        t["load"] = one(1, 1, [], "load(\"x.npy\")", "reads a NumPy .npy file or a .csv of numbers") { args in
            let file = try args.string(0)
            let start = monotonicNanoseconds()
            defer { args.session.fileReadingSeconds += Double(monotonicNanoseconds() - start) / 1e9 }
            if let kept = args.session.keptFiles?[args.session.path(file)] {
                return args.ctx.constant(try Tensor.load(bytes: kept, name: args.session.path(file)))
            }
            return args.ctx.constant(try Tensor.load(path: args.session.path(file)))
        }
        return t
    }()

    static func globalNorm(_ ts: [Value]) throws -> Value {
        guard var total = try ts.first?.map(.square).sum() else { throw TensorError("global_norm needs at least one tensor") }
        for t in ts.dropFirst() { total = try total + t.map(.square).sum() }
        return try total.map(.sqrt)
    }
}
