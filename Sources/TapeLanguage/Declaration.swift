import Portable
import TensorCore
import Autodiff
import TapeSyntax

/// A parameter of a declared built-in, from its signature (`alpha=0.2`): its name and its default.
struct BuiltinParameter {
    enum Default { case number(Double), string(String), absent }
    let name: String
    /// nil: the parameter is required.
    let defaultValue: Default?
}

/// How an exported script writes a call of a built-in.
enum BuiltinExport {
    /// Written by the exporter's own code (`Export+Library.swift`): the built-ins that came before declarations.
    case exporter
    /// One template per library: `{x}` is the argument for parameter `x` as a tensor, `{x!}` as written
    /// (a number or a string), `{x#}` as whole numbers written in the call (`1`, `(0, 1)`), with the
    /// parameter's default where the call leaves it out (`None` for an absent one).
    case spelled([ExportTarget: String])
    /// The libraries have no faithful translation, and why.
    case notExported(String)
}

/// One built-in declared in one place, side by side: its signature, its help, its export spellings, and
/// what it computes. A primitive's kernel, pullback and rule are an `Operation` in the same declaration
/// (JAX's `lax.py`: a primitive's rules on adjacent lines); a composite's gradient comes from the
/// operations it is made of.
struct Declaration {
    let name: String
    let usage: String
    let parameters: [BuiltinParameter]
    let help: String
    let export: BuiltinExport
    let run: (CallArguments) throws -> Value
    /// Whether the result is never tracked (a function with no gradient).
    var untracked = false
    /// For a built-in with several results (`v, i = top_k(x, 2)`): what it computes, instead of `run`.
    var several: ((CallArguments) throws -> [Value])? = nil

    /// `signature` lists the parameters as a call shows them: `leaky_relu(x, alpha=0.2)`,
    /// `pad(x, widths, value=0)`, `conv2d(x, k, stride=1, padding="valid")`.
    init(_ signature: String, _ help: String, export: BuiltinExport, run: @escaping (CallArguments) throws -> Value) {
        let open = signature.firstIndex(of: "(")!
        name = String(signature[..<open])
        usage = signature
        let inside = signature[signature.index(after: open)..<signature.index(before: signature.endIndex)]
        parameters = inside.split(separator: ",").map { part in
            let text = String(part).trimmingWhitespace()
            guard let eq = text.firstIndex(of: "=") else { return BuiltinParameter(name: text, defaultValue: nil) }
            let value = String(text[text.index(after: eq)...])
            let d: BuiltinParameter.Default = value == "None" ? .absent
                : value.hasPrefix("\"") ? .string(String(value.dropFirst().dropLast())) : .number(Double(value)!)
            return BuiltinParameter(name: String(text[..<eq]), defaultValue: d)
        }
        self.help = help
        self.export = export
        self.run = run
    }

    /// A primitive applied to the tensor parameters named first in the signature.
    init(_ signature: String, _ help: String, export: BuiltinExport, primitive: Operation) {
        self.init(signature, help, export: export) { args in
            try primitive.apply(try (0..<primitive.arity).map { try args.value(args.parameters[$0].name) })
        }
    }

    /// A function with no gradient (TensorFlow registers none): its output is never tracked, and a
    /// gradient through it is None, saying so.
    init(_ signature: String, _ help: String, export: BuiltinExport, noGradient forward: @escaping ([Tensor]) throws -> Tensor, arity: Int) {
        let name = String(signature.prefix { $0 != "(" })
        self.init(signature, help, export: export) { args in
            let inputs = try (0..<arity).map { try args.value(args.parameters[$0].name).tensor }
            return args.ctx.nonDifferentiable(try forward(inputs), operation: name)
        }
        untracked = true
    }

    /// A built-in with several results, bound with `a, b = ...`.
    init(_ signature: String, _ help: String, export: BuiltinExport, several: @escaping (CallArguments) throws -> [Value]) {
        let single: (CallArguments) throws -> Value = { args in
            guard let first = try several(args).first else { throw TensorError("no result") }
            return first
        }
        self.init(signature, help, export: export, run: single)
        self.several = several
    }

    var builtin: Builtin {
        let required = parameters.filter { $0.defaultValue == nil }.count
        let run = self.run
        if let several {
            return Builtin(minimum: required, maximum: parameters.count, keywords: parameters.map(\.name), usage: usage, summary: help,
                           run: several, export: export, parameters: parameters, untracked: untracked)
        }
        return Builtin(minimum: required, maximum: parameters.count, keywords: parameters.map(\.name), usage: usage, summary: help,
                       run: { [try run($0)] }, single: run, export: export, parameters: parameters,
                       untracked: untracked)
    }
}

extension CallArguments {
    /// The argument for a declared parameter: by keyword, else by position, else its default.
    func argument(named parameter: String) -> Argument? {
        guard let position = parameters.firstIndex(where: { $0.name == parameter }) else { return nil }
        return argument(parameter, position: position)
    }

    private func declaredDefault(_ parameter: String) -> BuiltinParameter.Default? {
        parameters.first(where: { $0.name == parameter })?.defaultValue
    }

    /// A tensor argument of a declared built-in.
    func value(_ parameter: String) throws -> Value {
        if let a = argument(named: parameter) { return try session.evaluate(a.value) }
        if case .number(let d)? = declaredDefault(parameter) { return ctx.constant(d) }
        throw EvaluationError("\(name) needs '\(parameter)'", at: span)
    }

    /// A number argument of a declared built-in (`alpha`, `delta`).
    func number(_ parameter: String) throws -> Double {
        let position = parameters.firstIndex(where: { $0.name == parameter })
        if case .number(let d)? = declaredDefault(parameter) { return try number(parameter, position: position, default: d) }
        return try number(parameter, position: position)
    }

    /// A whole-number argument of a declared built-in (`k`, `axis`).
    func int(_ parameter: String) throws -> Int {
        let position = parameters.firstIndex(where: { $0.name == parameter })
        if case .number(let d)? = declaredDefault(parameter) { return try int(parameter, position: position, default: Int(d)) }
        return try int(parameter, position: position)
    }

    /// A word argument of a declared built-in (`padding="same"`), one of `choices`.
    func word(_ parameter: String, _ choices: [String]) throws -> String {
        guard let a = argument(named: parameter) else {
            if case .string(let s)? = declaredDefault(parameter) { return s }
            throw EvaluationError("\(name) needs '\(parameter)'", at: span)
        }
        guard case .string(let s) = a.value.kind else {
            throw EvaluationError("'\(parameter)' must be a word in double quotes: " + choices.map { "\"\($0)\"" }.joined(separator: " or "), at: a.value.span)
        }
        guard choices.contains(s) else {
            throw EvaluationError("'\(parameter)' must be " + choices.map { "\"\($0)\"" }.joined(separator: " or ") + ", got \"\(s)\"", at: a.value.span)
        }
        return s
    }
}
